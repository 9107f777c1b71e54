import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { featuresConfigSchema } from "../../platform/config/sections/features.ts";
import { FEATURE_NAMES } from "./definitions.ts";
import { buildLatestFeatures, buildTrainingSet, dataRange, TRAINING_TABLE } from "./offline.ts";
import { insertRows, silverWarehouse } from "./testing/silver-fixtures.ts";

/**
 * Known answers on a hand-made operator: every expected value below is worked out by hand
 * from the fixture rows (see the comments), including rows that must NOT count.
 */
const cfg = featuresConfigSchema.parse({});
let wh: DuckDbWarehouse;

async function seed(w: DuckDbWarehouse): Promise<void> {
  await insertRows(w, "crm_customers", [
    { customer_id: "C1", birth_date: "1990-06-02", uf: "SP", city: "São Paulo", segment: "consumer" },
    { customer_id: "C2", birth_date: "1980-01-01", uf: "RJ", city: "Rio de Janeiro", segment: "smb" },
    { customer_id: "C3", birth_date: "2000-01-01", uf: "SP", city: "Campinas" },
    { customer_id: "C4", birth_date: "1970-01-01", uf: "MG", city: "Belo Horizonte" },
  ]);
  await insertRows(w, "crm_contracts", [
    // status / monthly_price_brl are extract-date snapshots: set to nonsense to prove they are unused
    {
      contract_id: "K1",
      customer_id: "C1",
      plan_id: "FIB300",
      product: "fibra",
      start_date: "2024-01-15",
      fidelity_end_date: "2025-06-11",
      cancel_date: "2025-06-30",
      status: "cancelled",
      monthly_price_brl: 9999,
    },
    {
      contract_id: "K2",
      customer_id: "C2",
      plan_id: "POS50",
      product: "mobile_pos",
      start_date: "2025-02-10",
      fidelity_end_date: "2026-02-10",
      cancel_date: "2025-07-01",
    },
    { contract_id: "K3", customer_id: "C3", plan_id: "FIB500", product: "fibra", start_date: "2025-06-01" },
    {
      contract_id: "K4",
      customer_id: "C4",
      plan_id: "TVESS",
      product: "tv",
      start_date: "2024-05-01",
      fidelity_end_date: "2025-01-20",
      cancel_date: "2025-05-20",
    },
  ]);
  // C1 invoices: plan 99.99 until March (5.00 off in February), 105.00 from April (reajuste); +10.00
  // extra each month; all prices with taxes.
  const invoices = [];
  const items = [];
  for (const [m, plan, discount] of [
    ["01", 99.99, 0],
    ["02", 99.99, 5],
    ["03", 99.99, 0],
    ["04", 105, 0],
    ["05", 105, 0],
    ["06", 105, 0],
  ] as const) {
    const id = `INV-2025${m}-C1`;
    invoices.push({
      invoice_id: id,
      customer_id: "C1",
      contract_id: "K1",
      reference_month: `2025-${m}-01`,
      issue_date: `2025-${m}-05`,
      due_date: `2025-${m}-20`,
      amount_brl: plan + 10 - discount,
      tax_brl: 0.25 * (plan + 10 - discount),
    });
    // lines are net of the 25% tax: the plan price with taxes is recovered by grossing up
    items.push(
      { invoice_id: id, line_no: 1, item_type: "plan", amount_brl: 0.75 * plan },
      { invoice_id: id, line_no: 2, item_type: "extra", amount_brl: 7.5 },
      { invoice_id: id, line_no: 3, item_type: "tax", amount_brl: 0.25 * (plan + 10 - discount) },
    );
    if (discount)
      items.push({ invoice_id: id, line_no: 4, item_type: "discount", amount_brl: -0.75 * discount });
  }
  await insertRows(w, "billing_invoices", invoices);
  await insertRows(w, "billing_invoice_items", items);
  // days_late is an extract-date snapshot: 999 proves it is not read.
  await insertRows(w, "billing_payments", [
    { payment_id: "P2", customer_id: "C1", due_date: "2025-02-20", paid_date: "2025-03-30", days_late: 999 },
    { payment_id: "P3", customer_id: "C1", due_date: "2025-03-20", paid_date: "2025-03-18", days_late: 999 },
    { payment_id: "P4", customer_id: "C1", due_date: "2025-04-20", paid_date: "2025-04-25", days_late: 999 },
    { payment_id: "P5", customer_id: "C1", due_date: "2025-05-20", paid_date: "2025-06-05", days_late: 999 },
    { payment_id: "P6", customer_id: "C1", due_date: "2025-06-20", paid_date: "2025-06-20", days_late: 999 },
  ]);
  await insertRows(w, "billing_disputes", [
    {
      dispute_id: "D1",
      customer_id: "C1",
      opened_date: "2025-05-01",
      resolved_date: "2025-06-10",
      status: "upheld",
    },
    {
      dispute_id: "D2",
      customer_id: "C1",
      opened_date: "2025-04-01",
      resolved_date: "2025-04-15",
      status: "open",
    },
    { dispute_id: "D3", customer_id: "C1", opened_date: "2025-06-01", status: "open" },
  ]);
  await insertRows(
    w,
    "usage_monthly",
    [10, 20, 30, 40, 60, 999].map((gb, i) => ({
      customer_id: "C1",
      month: `2025-0${i + 1}-01`,
      data_gb: gb,
    })),
  );
  await insertRows(w, "network_outages", [
    // counted for C1 (SP, São Paulo, fibra): whole-state fibra outage, 120 min
    {
      outage_id: "O1",
      uf: "SP",
      city: null,
      started_at: "2025-05-01 10:00:00",
      ended_at: "2025-05-01 12:00:00",
      affected_product: "fibra",
    },
    // counted: city outage of all products, only its 60 min before the cutoff count
    {
      outage_id: "O2",
      uf: "SP",
      city: "São Paulo",
      started_at: "2025-05-31 23:00:00",
      ended_at: "2025-06-01 02:00:00",
      affected_product: "all",
    },
    {
      outage_id: "O3",
      uf: "SP",
      city: "Campinas",
      started_at: "2025-05-02 10:00:00",
      ended_at: "2025-05-02 11:00:00",
      affected_product: "fibra",
    },
    {
      outage_id: "O4",
      uf: "SP",
      city: "São Paulo",
      started_at: "2025-05-03 10:00:00",
      ended_at: "2025-05-03 11:00:00",
      affected_product: "mobile",
    },
    // C2 (RJ, mobile): 30 min
    {
      outage_id: "O5",
      uf: "RJ",
      city: null,
      started_at: "2025-04-10 08:00:00",
      ended_at: "2025-04-10 08:30:00",
      affected_product: "all",
    },
    {
      outage_id: "O6",
      uf: "SP",
      city: null,
      started_at: "2025-02-20 10:00:00",
      ended_at: "2025-02-20 11:00:00",
      affected_product: "fibra",
    },
    {
      outage_id: "O7",
      uf: "SP",
      city: null,
      started_at: "2025-06-01 00:00:00",
      ended_at: "2025-06-01 05:00:00",
      affected_product: "fibra",
    },
  ]);
  await insertRows(w, "network_quality", [
    {
      measurement_id: "M1",
      customer_id: "C1",
      measured_at: "2025-05-10 12:00:00",
      download_mbps: 240,
      contracted_mbps: 300,
      latency_ms: 20,
      packet_loss_pct: 0.1,
    },
    {
      measurement_id: "M2",
      customer_id: "C1",
      measured_at: "2025-05-20 12:00:00",
      download_mbps: 150,
      contracted_mbps: 300,
      latency_ms: 40,
      packet_loss_pct: 0.3,
    },
    {
      measurement_id: "M3",
      customer_id: "C1",
      measured_at: "2025-06-01 00:00:01",
      download_mbps: 0,
      contracted_mbps: 300,
      latency_ms: 900,
      packet_loss_pct: 50,
    },
  ]);
  await insertRows(w, "support_tickets", [
    {
      ticket_id: "T1",
      customer_id: "C1",
      opened_at: "2025-05-10 09:00:00",
      resolved_at: "2025-05-11 09:00:00",
      satisfaction: 2,
      repeat_contact: false,
      channel: "app",
    },
    // resolved after the cutoff: unresolved at it, and its score is not known yet
    {
      ticket_id: "T2",
      customer_id: "C1",
      opened_at: "2025-05-25 09:00:00",
      resolved_at: "2025-06-03 09:00:00",
      satisfaction: 5,
      repeat_contact: true,
      channel: "anatel",
    },
    {
      ticket_id: "T3",
      customer_id: "C1",
      opened_at: "2025-02-01 09:00:00",
      satisfaction: 1,
      category: "cancelamento",
    },
    { ticket_id: "T4", customer_id: "C1", opened_at: "2025-06-02 09:00:00", category: "cancelamento" },
  ]);
  await insertRows(w, "market_competitor_offers", [
    { offer_id: "X1", uf: "SP", start_date: "2025-05-01", end_date: "2025-05-31", discount_pct: 20 },
    { offer_id: "X2", uf: "SP", start_date: "2025-06-01", end_date: "2025-06-30", discount_pct: 50 },
    { offer_id: "X3", uf: "RJ", start_date: "2025-05-01", end_date: "2025-05-30", discount_pct: 15 },
  ]);
}

let defaultSummary: Awaited<ReturnType<typeof buildTrainingSet>>;
beforeAll(async () => {
  wh = await silverWarehouse();
  await seed(wh);
  defaultSummary = await buildTrainingSet(wh, cfg);
});
afterAll(async () => {
  await wh.close();
});

async function trainingRow(customer: string, cutoff: string): Promise<Record<string, unknown>> {
  const rows = await wh.query(
    `select * from ${TRAINING_TABLE} where customer_id = ? and cutoff_date = cast(? as date)`,
    [customer, cutoff],
  );
  expect(rows, `${customer} @ ${cutoff}`).toHaveLength(1);
  return rows[0];
}

describe("offline feature store on a hand-made operator", () => {
  it("derives the data range and monthly cutoffs with a complete label window", async () => {
    expect(await dataRange(wh)).toEqual({ firstMonth: "2025-01-01", lastEventDate: "2025-07-01" });
    const summary = defaultSummary;
    expect(summary.asOf).toBe("2025-07-02");
    // warm-up of 3 months from January; June 1 + 30 days <= July 2; July 1 + 30 days is not.
    expect(summary.cutoffs.map((c) => c.cutoffDate)).toEqual(["2025-04-01", "2025-05-01", "2025-06-01"]);
  });

  it("keeps only contracts active at each cutoff and labels cancellations within the horizon", async () => {
    const rows = await wh.query<{ customer_id: string; cutoff: string; label: number }>(
      `select customer_id, cast(cutoff_date as varchar) as cutoff, label from ${TRAINING_TABLE} order by 2, 1`,
    );
    expect(rows.map((r) => `${r.cutoff} ${r.customer_id} ${r.label}`)).toEqual([
      "2025-04-01 C1 0",
      "2025-04-01 C2 0",
      "2025-04-01 C4 0",
      "2025-05-01 C1 0",
      "2025-05-01 C2 0",
      // cancelled 2025-05-20 < 2025-05-01 + 30 days
      "2025-05-01 C4 1",
      // C1 cancels 2025-06-30 < 2025-07-01; C2 cancels 2025-07-01, exactly the horizon end: 0
      "2025-06-01 C1 1",
      "2025-06-01 C2 0",
      // C3 starts on 2025-06-01 (not before the cutoff) and C4 left in May: absent
    ]);
  });

  it("computes each feature group's known answer for C1 at 2025-06-01", async () => {
    const r = await trainingRow("C1", "2025-06-01");
    expect(r).toMatchObject({
      age_years: 34, // born 1990-06-02: turns 35 the day after the cutoff
      segment: "consumer",
      uf: "SP",
      product: "fibra",
      plan_id: "FIB300",
      tenure_months: 16, // 2024-01-15 → 2025-05-15 is 16 complete months
      fidelity_months_left: 1, // ends 2025-06-11: 10 days, rounded up
      monthly_price_brl: 105, // May invoice; the June one is issued after the cutoff
      arpu_brl: 113.33, // (109.99 + 115 + 115) / 3
      late_payments_90d: 2, // April (5 days) and May (unpaid at the cutoff: 12 days); Feb is outside 90 days
      max_days_late_90d: 12,
      days_overdue: 12,
      open_disputes: 1, // D1 (resolved after the cutoff)
      data_gb_last_month: 60, // June's 999 is an incomplete month
      data_usage_trend_pct: 100, // 60 vs mean(20, 30, 40)
      outages_90d: 2, // O1 + O2
      outage_minutes_90d: 180, // 120 + the 60 min of O2 before midnight
      speed_shortfall_pct_90d: 35, // mean(240/300, 150/300) = 0.65
      avg_latency_ms_90d: 30,
      avg_packet_loss_pct_90d: 0.2,
      tickets_90d: 2,
      repeat_contacts_90d: 1,
      unresolved_tickets_90d: 1,
      cancellation_tickets_90d: 0,
      anatel_complaints_90d: 1,
      avg_satisfaction_90d: 2, // T2's 5 arrives after the cutoff
      competitor_offer_active: true, // X1 runs through 2025-05-31
      competitor_max_discount_pct: 20,
    });
    // May vs February, whose plan price was 99.99 - 5.00 discount
    expect(r.price_change_pct_3m).toBeCloseTo(100 * (105 / 94.99 - 1), 2);
    expect(r.arpu_trend_pct_3m).toBeCloseTo(100 * (115 / 104.99 - 1), 2);
  });

  it("counts months since the loyalty period ended, empty while it runs or when there was none", async () => {
    // C4's loyalty ended 2025-01-20: 3 complete months before 2025-05-01
    expect(await trainingRow("C4", "2025-05-01")).toMatchObject({
      fidelity_months_left: 0,
      months_since_fidelity_end: 3,
    });
    expect((await trainingRow("C1", "2025-06-01")).months_since_fidelity_end).toBeNull();
    expect((await trainingRow("C2", "2025-06-01")).months_since_fidelity_end).toBeNull();
  });

  it("fills count features with 0 and unknowns with null for a customer without events", async () => {
    const r = await trainingRow("C2", "2025-06-01");
    expect(r).toMatchObject({
      fidelity_months_left: 9, // 8 complete months to 2026-02-01, plus 9 days
      tenure_months: 3,
      outages_90d: 1, // O5: whole RJ, all products
      outage_minutes_90d: 30,
      tickets_90d: 0,
      open_disputes: 0,
      late_payments_90d: 0,
      competitor_offer_active: false, // X3 ended 2025-05-30
      competitor_max_discount_pct: 0,
      monthly_price_brl: null,
      data_gb_last_month: null,
      speed_shortfall_pct_90d: null,
      avg_satisfaction_90d: null,
    });
  });

  it("exposes gold.synthetic_training with the agreed shape and no leakage columns", async () => {
    const cols = await wh.query<{ column_name: string; data_type: string }>(
      `select column_name, data_type from information_schema.columns
       where table_schema = 'gold' and table_name = 'synthetic_training' order by ordinal_position`,
    );
    expect(cols.map((c) => c.column_name)).toEqual(["customer_id", "label", "cutoff_date", ...FEATURE_NAMES]);
    expect(cols.slice(0, 3).map((c) => c.data_type)).toEqual(["VARCHAR", "INTEGER", "DATE"]);
    for (const leak of ["cancel_date", "churn_date", "cancel_reason", "status", "contract_id"]) {
      expect(cols.map((c) => c.column_name)).not.toContain(leak);
    }
  });

  it("restricts the training set to labels observable by --as-of and refuses dates past the data", async () => {
    const s = await buildTrainingSet(wh, cfg, { asOf: "2025-06-15" });
    expect(s.cutoffs.map((c) => c.cutoffDate)).toEqual(["2025-04-01", "2025-05-01"]);
    expect(s.positives).toBe(1);
    await expect(buildTrainingSet(wh, cfg, { asOf: "2025-09-01" })).rejects.toThrow(
      /--as-of.*after the data ends/,
    );
    await expect(buildTrainingSet(wh, cfg, { asOf: "2025-02-30" })).rejects.toThrow(/--as-of.*YYYY-MM-DD/);
    await expect(buildTrainingSet(wh, cfg, { asOf: "2025-04-15" })).rejects.toThrow(/no monthly cutoff/);
  });

  it("builds gold.customer_features with one row per active customer as of a date", async () => {
    const s = await buildLatestFeatures(wh, { asOf: "2025-06-01" });
    expect(s.rows).toBe(2);
    const rows = await wh.query(`select * from gold.customer_features order by customer_id`);
    expect(rows.map((r) => r.customer_id)).toEqual(["C1", "C2"]);
    await buildTrainingSet(wh, cfg);
    // same features as the training row at that cutoff
    const training = await trainingRow("C1", "2025-06-01");
    for (const name of FEATURE_NAMES) expect(rows[0][name], name).toEqual(training[name]);
    const latest = await buildLatestFeatures(wh);
    expect(latest.asOf).toBe("2025-07-02");
    // C3 started 2025-06-01; C1 cancelled 2025-06-30 and C2 on 2025-07-01: only C3 remains
    expect(latest.rows).toBe(1);
  });
});
