import type { SystemsSeed, SystemsSeeder } from "../ports/systems-seed.ts";
import { loadSandboxCatalog } from "./catalog.ts";
import { buildScenarioOverlays, type SandboxScenarios } from "./scenarios.ts";
import { SANDBOX_SCHEMA_VERSION, SANDBOX_TABLES, SandboxStore, type SandboxStoreOptions } from "./store.ts";

export interface SeedReport {
  path: string;
  business_date: string;
  delivery: string;
  fingerprint: string;
  rows: Record<string, number>;
  skipped: Record<string, number>;
  scenarios: SandboxScenarios;
  duration_ms: number;
}

const TICKET_CHANNEL: Record<string, string> = {
  telefone: "phone",
  app: "chat",
  chat: "chat",
  whatsapp: "whatsapp",
  loja: "store",
  anatel: "phone",
};

const CATEGORY_LABEL: Record<string, string> = {
  cobranca: "billing question",
  tecnico_internet: "internet technical issue",
  tecnico_movel: "mobile technical issue",
  tecnico_tv: "TV technical issue",
  plano: "plan question",
  cancelamento: "cancellation request",
  outros: "other request",
};

/** The sandbox as the `SystemsSeeder` port: each `seed()` (re)seeds the store at `path`. */
export function sandboxSeeder(path: string, opts: SandboxStoreOptions = {}): SystemsSeeder<SeedReport> {
  return { seed: (seed) => seedSandbox(path, seed, opts) };
}

/**
 * (Re)seeds the sandbox store at `path` from a delivery's seed, in one transaction: every table is
 * emptied, the delivery's rows are inserted and the scenario overlays at the business date added.
 * A server holding the same file open sees the old state until the commit, then the new one.
 */
export function seedSandbox(path: string, seed: SystemsSeed, opts: SandboxStoreOptions = {}): SeedReport {
  const started = performance.now();
  const { catalog } = loadSandboxCatalog();
  const overlays = buildScenarioOverlays(seed, catalog.plans);
  const store = SandboxStore.open(path, { ...opts, create: true });
  try {
    store.db.exec("begin immediate");
    try {
      store.ensureSchema();
      for (const t of SANDBOX_TABLES) store.db.exec(`delete from ${t}`);
      store.db.exec("delete from meta");
      insertAll(store, seed, overlays);
      const meta: Record<string, string> = {
        schema_version: SANDBOX_SCHEMA_VERSION,
        business_date: seed.as_of,
        delivery: seed.source.delivery,
        fingerprint: seed.source.fingerprint,
        generator: seed.source.generator,
        catalog_version: catalog.version,
        seeded_at: new Date().toISOString(),
        scenarios: JSON.stringify(overlays.scenarios),
        skipped: JSON.stringify(seed.skipped),
      };
      for (const [k, v] of Object.entries(meta)) store.setMeta(k, v);
      store.db.exec("commit");
    } catch (err) {
      if (store.db.isTransaction) store.db.exec("rollback");
      throw err;
    }
    return {
      path,
      business_date: seed.as_of,
      delivery: seed.source.delivery,
      fingerprint: seed.source.fingerprint,
      rows: store.counts(),
      skipped: seed.skipped,
      scenarios: overlays.scenarios,
      duration_ms: Math.round(performance.now() - started),
    };
  } finally {
    store.close();
  }
}

function insertAll(
  store: SandboxStore,
  seed: SystemsSeed,
  overlays: ReturnType<typeof buildScenarioOverlays>,
) {
  const db = store.db;
  const customers = db.prepare(
    "insert or ignore into customers values (?, ?, ?, ?, ?, ?, ?, null, ?, ?, ?, ?, ?)",
  );
  for (const c of seed.customers) {
    customers.run(
      c.customer_id,
      c.name,
      c.cpf,
      c.cpf.replace(/\D/g, ""),
      c.birth_date,
      c.phone,
      c.phone.replace(/\D/g, ""),
      c.uf,
      c.city,
      c.cep,
      c.segment,
      c.signup_date,
    );
  }
  const contracts = db.prepare("insert or ignore into contracts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  for (const c of seed.contracts) {
    contracts.run(
      c.contract_id,
      c.customer_id,
      c.plan_id,
      c.product,
      c.start_date,
      c.fidelity_months,
      c.fidelity_end_date,
      c.fidelity_fine_brl,
      c.monthly_price_brl,
      c.status,
      c.cancel_date,
      c.cancel_reason,
    );
  }
  const invoices = db.prepare("insert or ignore into invoices values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  for (const i of seed.invoices) {
    invoices.run(
      i.invoice_id,
      i.customer_id,
      i.contract_id,
      i.reference_month,
      i.issue_date,
      i.due_date,
      i.amount_brl,
      i.discount_brl,
      i.tax_brl,
      i.status,
    );
  }
  const items = db.prepare("insert or ignore into invoice_items values (?, ?, ?, ?, ?)");
  for (const i of seed.invoice_items)
    items.run(i.invoice_id, i.line_no, i.item_type, i.description, i.amount_brl);
  const payments = db.prepare("insert or ignore into payments values (?, ?, ?, ?, ?, ?, ?, ?)");
  for (const p of seed.payments) {
    payments.run(
      p.payment_id,
      p.invoice_id,
      p.customer_id,
      p.due_date,
      p.paid_date,
      p.amount_brl,
      p.method,
      p.days_late,
    );
  }
  const disputes = db.prepare("insert or ignore into disputes values (?, ?, ?, ?, ?, ?, ?)");
  let maxDispute = 0;
  for (const d of seed.disputes) {
    disputes.run(
      d.dispute_id,
      d.invoice_id,
      d.customer_id,
      d.opened_date,
      d.reason,
      d.status,
      d.resolved_date,
    );
    maxDispute = Math.max(maxDispute, Number(d.dispute_id.slice(4)) || 0);
  }
  const usage = db.prepare("insert or ignore into usage values (?, ?, ?, ?, ?, ?)");
  for (const u of seed.usage)
    usage.run(u.customer_id, u.month, u.data_gb, u.voice_minutes, u.sms, u.roaming_mb);
  const outages = db.prepare("insert or ignore into outages values (?, ?, ?, ?, ?, ?, ?, ?)");
  for (const o of seed.outages) {
    outages.run(o.outage_id, o.uf, o.city, o.started_at, o.ended_at, null, o.cause, o.affected_product);
  }
  for (const o of overlays.outages) {
    outages.run(o.outage_id, o.uf, o.city, o.started_at, null, o.eta, o.cause, o.affected_product);
  }
  const tests = db.prepare("insert into speed_tests values (?, ?, ?, ?, ?, ?)");
  for (const t of [...seed.speed_tests, ...overlays.speedTests]) {
    tests.run(
      t.customer_id,
      t.measured_at,
      t.download_mbps,
      t.contracted_mbps,
      t.latency_ms,
      t.packet_loss_pct,
    );
  }
  const lines = db.prepare("insert or ignore into line_status values (?, ?, ?, ?, ?, ?, ?)");
  for (const l of overlays.lines) {
    lines.run(
      l.customer_id,
      l.contract_id,
      l.line,
      l.ont,
      l.last_change_at,
      l.line_test,
      l.line_test_details,
    );
  }
  const interactions = db.prepare(
    "insert or ignore into interactions values (?, ?, ?, ?, ?, ?, ?, '[]', null, ?, null, ?, 'delivery', ?)",
  );
  const protocols = db.prepare("insert or ignore into protocols values (?, ?, 'ticket', ?, ?)");
  let seq = 0;
  let maxTicket = 0;
  for (const t of seed.tickets) {
    const n = Number(t.ticket_id.slice(4)) || 0;
    maxTicket = Math.max(maxTicket, n);
    const protocol = `AUR${t.opened_at.slice(0, 10).replaceAll("-", "")}${String(n % 1e8).padStart(8, "0")}`;
    const label = CATEGORY_LABEL[t.category] ?? t.category;
    const channel = TICKET_CHANNEL[t.channel] ?? "phone";
    const summary = `${label} (ticket ${t.ticket_id} via ${t.channel})${
      t.resolved_at ? `, resolved in ${t.resolution_hours ?? "?"} h` : ", still open"
    }${t.repeat_contact ? "; repeat contact" : ""}`;
    const sentiment =
      t.satisfaction === null
        ? t.category === "cancelamento" || t.repeat_contact
          ? "negative"
          : "neutral"
        : t.satisfaction >= 4
          ? "positive"
          : t.satisfaction <= 2
            ? "negative"
            : "neutral";
    interactions.run(
      t.ticket_id,
      t.customer_id,
      channel,
      t.category,
      summary,
      sentiment,
      t.resolved_at ? "resolved" : "unresolved",
      protocol,
      t.opened_at,
      ++seq,
    );
    protocols.run(protocol, t.customer_id, summary, t.opened_at);
  }
  const counter = db.prepare("insert into counters (name, value) values (?, ?)");
  counter.run("dispute", maxDispute);
  counter.run("protocol", maxTicket);
  counter.run("interaction_seq", seq);
}
