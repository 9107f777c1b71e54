import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import type {
  SeedContract,
  SeedInvoice,
  SeedTicket,
  SystemsSeed,
  SystemsSeeder,
  SystemsSeedReport,
} from "../../platform/ports/systems-seed.ts";
import type { DataContract } from "../ingestion/contract.ts";
import { loadSyntheticContracts } from "./contracts.ts";
import type { DeliveryManifest } from "./generate.ts";
import { checkCell, type RawRow, readDeliveryTable } from "./read-delivery.ts";

/**
 * Reads a synthetic delivery folder into the operator sandbox's seed: the same ids as the lake.
 * Rows that break their data contract (a dirty delivery) are left out and counted in `skipped`;
 * a duplicated key keeps its first row. The business date is the last day of the delivery window.
 */
export function systemsSeedFromDelivery(dir: string): SystemsSeed {
  const delivery = resolve(dir);
  const manifestPath = join(delivery, "manifest.json");
  if (!existsSync(manifestPath)) {
    throw new NotFoundError(`delivery manifest ${manifestPath}`, {
      hint: "Generate a delivery with `telco data generate` (or run `telco up`).",
    });
  }
  let manifest: DeliveryManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as DeliveryManifest;
  } catch (err) {
    throw new ValidationError(manifestPath, `not valid JSON: ${(err as Error).message}`);
  }
  const asOf = manifest.window?.end_date;
  if (typeof asOf !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(asOf)) {
    throw new ValidationError(`${manifestPath}:window.end_date`, "missing or not a date");
  }
  const contracts = loadSyntheticContracts();
  const skipped: Record<string, number> = {};

  /** Valid rows of one table (contract-checked, first row per primary key). */
  const table = (name: string): RawRow[] => {
    const contract = contracts.get(name) as DataContract;
    if (!existsSync(join(delivery, contract.file))) {
      throw new NotFoundError(`delivery file ${join(delivery, contract.file)}`);
    }
    const rows = readRows(delivery, contract);
    const out: RawRow[] = [];
    const seen = new Set<string>();
    // Cells repeat a lot (dates, enums, plans): each distinct value of a column is checked once.
    const checks = contract.columns.map((col) => {
      if (col.type !== "date" && !col.enum) return (v: string | null) => checkCell(col, v) === "";
      const memo = new Map<string | null, boolean>();
      return (v: string | null) => {
        let ok = memo.get(v);
        if (ok === undefined) {
          ok = checkCell(col, v) === "";
          if (memo.size < 100_000) memo.set(v, ok);
        }
        return ok;
      };
    });
    const names = contract.columns.map((c) => c.name);
    let bad = 0;
    for (const row of rows) {
      let ok = true;
      for (let i = 0; i < names.length; i++) {
        if (!(checks[i] as (v: string | null) => boolean)(row[names[i] as string] ?? null)) {
          ok = false;
          break;
        }
      }
      if (ok) {
        const key = contract.primaryKey.map((k) => row[k]).join("\u0000");
        if (seen.has(key)) ok = false;
        else seen.add(key);
      }
      if (ok) out.push(row);
      else bad++;
    }
    skipped[name] = bad;
    return out;
  };
  const s = (row: RawRow, k: string) => row[k] as string;
  const n = (row: RawRow, k: string) => Number(row[k]);
  const nn = (row: RawRow, k: string) => (row[k] === null ? null : Number(row[k]));

  const customers = table("crm_customers").map((r) => ({
    customer_id: s(r, "customer_id"),
    name: s(r, "name"),
    cpf: s(r, "cpf"),
    birth_date: s(r, "birth_date"),
    phone: s(r, "phone"),
    uf: s(r, "uf"),
    city: s(r, "city"),
    cep: s(r, "cep"),
    segment: s(r, "segment"),
    signup_date: s(r, "signup_date"),
  }));
  const contractRows: SeedContract[] = table("crm_contracts").map((r) => ({
    contract_id: s(r, "contract_id"),
    customer_id: s(r, "customer_id"),
    plan_id: s(r, "plan_id"),
    product: s(r, "product"),
    start_date: s(r, "start_date"),
    fidelity_months: n(r, "fidelity_months"),
    fidelity_end_date: r.fidelity_end_date,
    fidelity_fine_brl: n(r, "fidelity_fine_brl"),
    monthly_price_brl: n(r, "monthly_price_brl"),
    status: s(r, "status") as SeedContract["status"],
    cancel_date: r.cancel_date,
    cancel_reason: r.cancel_reason,
  }));
  const invoices: SeedInvoice[] = table("billing_invoices").map((r) => ({
    invoice_id: s(r, "invoice_id"),
    customer_id: s(r, "customer_id"),
    contract_id: s(r, "contract_id"),
    reference_month: s(r, "reference_month"),
    issue_date: s(r, "issue_date"),
    due_date: s(r, "due_date"),
    amount_brl: n(r, "amount_brl"),
    discount_brl: n(r, "discount_brl"),
    tax_brl: n(r, "tax_brl"),
    status: s(r, "status") as SeedInvoice["status"],
  }));
  const invoice_items = table("billing_invoice_items").map((r) => ({
    invoice_id: s(r, "invoice_id"),
    line_no: n(r, "line_no"),
    item_type: s(r, "item_type"),
    description: s(r, "description"),
    amount_brl: n(r, "amount_brl"),
  }));
  const payments = table("billing_payments").map((r) => ({
    payment_id: s(r, "payment_id"),
    invoice_id: s(r, "invoice_id"),
    customer_id: s(r, "customer_id"),
    due_date: s(r, "due_date"),
    paid_date: r.paid_date,
    amount_brl: n(r, "amount_brl"),
    method: s(r, "method"),
    days_late: n(r, "days_late"),
  }));
  const disputes = table("billing_disputes").map((r) => ({
    dispute_id: s(r, "dispute_id"),
    invoice_id: s(r, "invoice_id"),
    customer_id: s(r, "customer_id"),
    opened_date: s(r, "opened_date"),
    reason: s(r, "reason"),
    status: s(r, "status"),
    resolved_date: r.resolved_date,
  }));
  const usage = table("usage_monthly").map((r) => ({
    customer_id: s(r, "customer_id"),
    month: s(r, "month"),
    data_gb: n(r, "data_gb"),
    voice_minutes: n(r, "voice_minutes"),
    sms: n(r, "sms"),
    roaming_mb: n(r, "roaming_mb"),
  }));
  const outages = table("network_outages").map((r) => ({
    outage_id: s(r, "outage_id"),
    uf: s(r, "uf"),
    city: r.city,
    started_at: s(r, "started_at"),
    ended_at: s(r, "ended_at"),
    cause: s(r, "cause"),
    affected_product: s(r, "affected_product"),
  }));
  const speed_tests = table("network_quality").map((r) => ({
    customer_id: s(r, "customer_id"),
    measured_at: s(r, "measured_at"),
    latency_ms: n(r, "latency_ms"),
    packet_loss_pct: n(r, "packet_loss_pct"),
    download_mbps: n(r, "download_mbps"),
    contracted_mbps: nn(r, "contracted_mbps"),
  }));
  const tickets: SeedTicket[] = table("support_tickets").map((r) => ({
    ticket_id: s(r, "ticket_id"),
    customer_id: s(r, "customer_id"),
    opened_at: s(r, "opened_at"),
    channel: s(r, "channel"),
    category: s(r, "category"),
    resolved_at: r.resolved_at,
    resolution_hours: nn(r, "resolution_hours"),
    repeat_contact: r.repeat_contact === "true",
    satisfaction: nn(r, "satisfaction"),
  }));

  const fingerprint = fingerprintOf(manifest);
  return {
    source: {
      delivery,
      fingerprint,
      generator: `${manifest.generator ?? "unknown"}@${manifest.generator_version ?? "?"}`,
      customers: customers.length,
      months: manifest.params?.months ?? 0,
    },
    as_of: asOf,
    customers,
    contracts: contractRows,
    invoices,
    invoice_items,
    payments,
    disputes,
    usage,
    outages,
    speed_tests,
    tickets,
    skipped,
  };
}

/**
 * Reads the delivery at `dir` and (re)seeds the operator's systems with it through the seeder the
 * composition root built (locally `sandboxSeeder(app.paths.systems)`).
 */
export function seedSystemsFromDelivery<R extends SystemsSeedReport>(
  seeder: SystemsSeeder<R>,
  dir: string,
): R & { read_ms: number } {
  const started = performance.now();
  const seed = systemsSeedFromDelivery(dir);
  const read_ms = Math.round(performance.now() - started);
  return { ...seeder.seed(seed), read_ms };
}

/** The fingerprint a delivery would seed with, without reading its tables (for "did it change?"). */
export function deliveryFingerprint(dir: string): string | null {
  const manifestPath = join(resolve(dir), "manifest.json");
  if (!existsSync(manifestPath)) return null;
  try {
    return fingerprintOf(JSON.parse(readFileSync(manifestPath, "utf8")) as DeliveryManifest);
  } catch {
    return null;
  }
}

/**
 * A delivery table as raw rows. Fast path for CSV files without quotes (what the simulator writes):
 * plain line splitting; anything else goes through the general reader.
 */
function readRows(dir: string, contract: DataContract): RawRow[] {
  if (contract.format === "csv") {
    const text = readFileSync(join(dir, contract.file), "utf8");
    if (!text.includes('"') && !text.includes("\r")) {
      const lines = text.split("\n");
      const header = (lines[0] ?? "").split(",");
      const rows: RawRow[] = [];
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i] as string;
        if (!line) continue;
        const cells = line.split(",");
        const row: RawRow = {};
        for (let j = 0; j < header.length; j++) {
          const v = cells[j];
          row[header[j] as string] = v === undefined || v === "" ? null : v;
        }
        rows.push(row);
      }
      return rows;
    }
  } else {
    const text = readFileSync(join(dir, contract.file), "utf8");
    const rows: RawRow[] = [];
    for (const line of text.split("\n")) {
      if (!line) continue;
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        rows.push({}); // counted as a bad row (required cells missing)
        continue;
      }
      const row: RawRow = {};
      for (const k in obj) {
        const v = obj[k];
        row[k] = v === null || v === undefined ? null : typeof v === "string" ? v : String(v);
      }
      rows.push(row);
    }
    return rows;
  }
  return readDeliveryTable(dir, contract).rows;
}

function fingerprintOf(manifest: DeliveryManifest): string {
  return createHash("sha256")
    .update(
      JSON.stringify({
        generator: manifest.generator_version,
        files: (manifest.files ?? []).map((f) => [f.file, f.sha256]),
      }),
    )
    .digest("hex")
    .slice(0, 16);
}
