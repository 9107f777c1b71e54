import type { Warehouse } from "../../../platform/ports/warehouse.ts";
import { type FixtureRow, insertRows } from "./silver-fixtures.ts";

/**
 * A small seeded random operator (all 11 silver tables, events spread over 2025) for the
 * point-in-time tests, and `extractAt`: the same data as an extract taken at date T would
 * have shown it (events from T on absent, later resolutions/payments/cancellations unknown,
 * extract-date snapshot columns scrambled). Deliberately independent of the simulator so the
 * leakage proof does not depend on how realistic the generated data is.
 */
export type OperatorRows = Record<string, FixtureRow[]>;

const UFS: Record<string, string[]> = {
  SP: ["São Paulo", "Campinas"],
  RJ: ["Rio de Janeiro", "Niterói"],
  MG: ["Belo Horizonte"],
};
const PLANS = [
  { plan_id: "FIB300", product: "fibra", price: 99.99, mbps: 300 },
  { plan_id: "POS50", product: "mobile_pos", price: 109.99, mbps: null },
  { plan_id: "COMBO500", product: "combo", price: 199.99, mbps: 500 },
  { plan_id: "TVESS", product: "tv", price: 79.9, mbps: null },
];

/** mulberry32: tiny deterministic PRNG, enough for fixtures. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const ts = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");
const ms = (date: string) =>
  Date.parse(`${date.slice(0, 10)}T${date.length > 10 ? date.slice(11) : "00:00:00"}Z`);

/** Generates the operator's rows for `customers` customers. */
export function randomOperator(seed: number, customers = 60): OperatorRows {
  const r = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const out: OperatorRows = {
    crm_customers: [],
    crm_contracts: [],
    billing_invoices: [],
    billing_invoice_items: [],
    billing_payments: [],
    billing_disputes: [],
    usage_monthly: [],
    network_outages: [],
    network_quality: [],
    support_tickets: [],
    market_competitor_offers: [],
  };
  const yearStart = ms("2025-01-01");
  for (let i = 0; i < customers; i++) {
    const id = `C${String(i).padStart(4, "0")}`;
    const uf = pick(Object.keys(UFS));
    const plan = pick(PLANS);
    const start = ms("2023-06-01") + int(0, 900) * DAY;
    const fidelity = r() < 0.6;
    const cancel = r() < 0.45 ? Math.max(start + 20 * DAY, yearStart + int(0, 380) * DAY) : undefined;
    out.crm_customers.push({
      customer_id: id,
      birth_date: iso(ms("1950-01-01") + int(0, 18000) * DAY),
      uf,
      city: pick(UFS[uf]),
      segment: r() < 0.8 ? "consumer" : "smb",
      signup_date: iso(start),
    });
    out.crm_contracts.push({
      contract_id: `K${i}`,
      customer_id: id,
      plan_id: plan.plan_id,
      product: plan.product,
      start_date: iso(start),
      fidelity_months: fidelity ? 12 : 0,
      fidelity_end_date: fidelity ? iso(start + 365 * DAY) : null,
      monthly_price_brl: plan.price,
      status: cancel ? "cancelled" : "active",
      cancel_date: cancel ? iso(cancel) : null,
      cancel_reason: cancel ? "preco" : null,
    });
    const reajusteMonth = int(1, 12);
    for (let m = 1; m <= 12; m++) {
      const ref = `2025-${String(m).padStart(2, "0")}-01`;
      const refMs = ms(ref);
      if (start >= refMs + 28 * DAY || (cancel !== undefined && cancel <= refMs)) continue;
      const price = m >= reajusteMonth ? Math.round(plan.price * 104.5) / 100 : plan.price;
      const extra = r() < 0.3 ? int(5, 40) : 0;
      const invoiceId = `INV-${m}-${id}`;
      const due = refMs + pick([5, 10, 15, 20, 25]) * DAY;
      out.billing_invoices.push({
        invoice_id: invoiceId,
        customer_id: id,
        contract_id: `K${i}`,
        reference_month: ref,
        issue_date: iso(refMs + int(0, 4) * DAY),
        due_date: iso(due),
        amount_brl: price + extra,
        status: pick(["paid", "open", "overdue"]),
      });
      out.billing_invoice_items.push({
        invoice_id: invoiceId,
        line_no: 1,
        item_type: "plan",
        amount_brl: price,
      });
      if (extra)
        out.billing_invoice_items.push({
          invoice_id: invoiceId,
          line_no: 2,
          item_type: "extra",
          amount_brl: extra,
        });
      const paid = r() < 0.1 ? undefined : due + int(-6, 45) * DAY;
      out.billing_payments.push({
        payment_id: `PAY-${m}-${id}`,
        invoice_id: invoiceId,
        customer_id: id,
        due_date: iso(due),
        paid_date: paid === undefined ? null : iso(paid),
        amount_brl: paid === undefined ? 0 : price + extra,
        days_late: int(0, 99),
      });
      if (r() < 0.12) {
        const opened = refMs + int(3, 30) * DAY;
        out.billing_disputes.push({
          dispute_id: `D-${m}-${id}`,
          invoice_id: invoiceId,
          customer_id: id,
          opened_date: iso(opened),
          resolved_date: r() < 0.7 ? iso(opened + int(1, 60) * DAY) : null,
          status: pick(["open", "upheld", "rejected"]),
        });
      }
      out.usage_monthly.push({ customer_id: id, month: ref, data_gb: Math.round(r() * 8000) / 100 });
    }
    for (let t = int(0, 10); t > 0; t--) {
      const at = yearStart + int(0, 364) * DAY + int(0, 86_399) * 1000;
      out.network_quality.push({
        measurement_id: `M-${id}-${t}`,
        customer_id: id,
        measured_at: ts(at),
        download_mbps: plan.mbps ? Math.round(plan.mbps * (0.3 + r())) : Math.round(r() * 80),
        contracted_mbps: plan.mbps,
        latency_ms: int(5, 120),
        packet_loss_pct: Math.round(r() * 300) / 100,
      });
    }
    for (let t = int(0, 7); t > 0; t--) {
      const opened = yearStart + int(0, 364) * DAY + int(0, 86_399) * 1000;
      const resolved = r() < 0.8 ? opened + int(1, 400) * 3_600_000 : undefined;
      out.support_tickets.push({
        ticket_id: `T-${id}-${t}`,
        customer_id: id,
        opened_at: ts(opened),
        channel: pick(["telefone", "app", "anatel"]),
        category: pick(["cobranca", "tecnico_internet", "cancelamento"]),
        resolved_at: resolved === undefined ? null : ts(resolved),
        resolution_hours: resolved === undefined ? null : (resolved - opened) / 3_600_000,
        repeat_contact: r() < 0.3,
        satisfaction: resolved !== undefined && r() < 0.7 ? int(1, 5) : null,
      });
    }
  }
  for (let o = 0; o < 80; o++) {
    const uf = pick(Object.keys(UFS));
    const started = yearStart + int(0, 364) * DAY + int(0, 86_399) * 1000;
    const minutes = int(10, 3000);
    out.network_outages.push({
      outage_id: `O${o}`,
      uf,
      city: r() < 0.4 ? null : pick(UFS[uf]),
      started_at: ts(started),
      ended_at: ts(started + minutes * 60_000),
      duration_min: minutes,
      affected_product: pick(["mobile", "fibra", "tv", "all"]),
    });
  }
  for (let o = 0; o < 20; o++) {
    const start = yearStart + int(0, 340) * DAY;
    out.market_competitor_offers.push({
      offer_id: `X${o}`,
      uf: pick(Object.keys(UFS)),
      start_date: iso(start),
      end_date: iso(start + int(5, 60) * DAY),
      discount_pct: int(5, 40),
    });
  }
  return out;
}

/**
 * The rows as an extract taken at the start of `cutoff` (YYYY-MM-DD) would show them:
 * nothing that happened at or after the cutoff is visible.
 */
export function extractAt(rows: OperatorRows, cutoff: string): OperatorRows {
  const before = (v: unknown) => v !== null && v !== undefined && String(v) < cutoff;
  const unknownLater = (v: unknown) => (before(v) ? v : null);
  const invoices = rows.billing_invoices
    .filter((i) => before(i.issue_date))
    .map((i): FixtureRow => ({ ...i, status: "scrambled" }));
  const kept = new Set(invoices.map((i) => i.invoice_id));
  return {
    crm_customers: rows.crm_customers.filter((c) => before(c.signup_date)),
    crm_contracts: rows.crm_contracts
      .filter((c) => before(c.start_date))
      .map((c) => ({
        ...c,
        cancel_date: unknownLater(c.cancel_date),
        cancel_reason: before(c.cancel_date) ? c.cancel_reason : null,
        status: before(c.cancel_date) ? "cancelled" : "active",
        monthly_price_brl: -1,
      })),
    billing_invoices: invoices,
    billing_invoice_items: rows.billing_invoice_items.filter((i) => kept.has(i.invoice_id)),
    billing_payments: rows.billing_payments
      .filter((p) => kept.has(p.invoice_id))
      .map((p) => ({ ...p, paid_date: unknownLater(p.paid_date), days_late: -1 })),
    billing_disputes: rows.billing_disputes
      .filter((d) => before(d.opened_date))
      .map((d) => ({ ...d, resolved_date: unknownLater(d.resolved_date), status: "open" })),
    usage_monthly: rows.usage_monthly.filter((u) => before(u.month)),
    network_outages: rows.network_outages
      .filter((o) => before(o.started_at))
      // an outage still running at the extract: its end is not known; the NOC reports "so far"
      .map((o) => (before(o.ended_at) ? o : { ...o, ended_at: `${cutoff} 00:00:00`, duration_min: -1 })),
    network_quality: rows.network_quality.filter((q) => before(q.measured_at)),
    support_tickets: rows.support_tickets
      .filter((t) => before(t.opened_at))
      .map((t) =>
        before(t.resolved_at) ? t : { ...t, resolved_at: null, resolution_hours: null, satisfaction: null },
      ),
    market_competitor_offers: rows.market_competitor_offers.filter((o) => before(o.start_date)),
  };
}

/** Loads every table of `rows` into the warehouse's (empty) silver tables. */
export async function loadOperator(wh: Warehouse, rows: OperatorRows): Promise<void> {
  for (const [table, tableRows] of Object.entries(rows)) await insertRows(wh, table, tableRows);
}
