import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataContract } from "../ingestion/contract.ts";
import { CHURN_DRIVERS, NON_DRIVERS } from "./churn-model.ts";
import { loadSyntheticContracts, SYNTHETIC_TABLES } from "./contracts.ts";
import { isValidCpf } from "./cpf.ts";
import type { DriftScenario } from "./drift.ts";
import { type GenerateResult, generateOperatorData } from "./generate.ts";
import { checkCell, type RawRow, readDeliveryTable } from "./read-delivery.ts";

const CUSTOMERS = 2000;
const contracts = loadSyntheticContracts();
const root = mkdtempSync(join(tmpdir(), "aurora-sim-"));
const runs = new Map<string, GenerateResult>();

async function run(
  name: string,
  drift: DriftScenario = "none",
  extra: { seed?: number; dirtyRate?: number } = {},
) {
  const r = await generateOperatorData({
    customers: CUSTOMERS,
    seed: extra.seed ?? 7,
    months: 12,
    start: "2025-01",
    drift,
    dirtyRate: extra.dirtyRate ?? 0,
    outDir: join(root, name),
  });
  runs.set(name, r);
  return r;
}

const cache = new Map<string, RawRow[]>();
function rows(runName: string, table: string): RawRow[] {
  const key = `${runName}/${table}`;
  let r = cache.get(key);
  if (!r) {
    const res = runs.get(runName) as GenerateResult;
    r = readDeliveryTable(res.outDir, contracts.get(table) as DataContract).rows;
    cache.set(key, r);
  }
  return r;
}

const num = (v: string | null | undefined) => Number(v);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
};
/** Two samples have the same mean up to sampling noise (|Δ| < 4 standard errors). */
function expectSameMean(a: number[], b: number[]) {
  const se = Math.sqrt(variance(a) / a.length + variance(b) / b.length);
  expect(Math.abs(mean(a) - mean(b))).toBeLessThan(4 * se);
}

beforeAll(async () => {
  await run("base");
  await run("base-again");
  await run("other-seed", "none", { seed: 8 });
  await run("price", "price-increase");
  await run("network", "network-degradation");
  await run("competitor", "new-competitor");
  await run("dirty", "none", { dirtyRate: 0.05 });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("determinism", () => {
  it("same seed and params give byte-identical files and manifest", () => {
    const a = runs.get("base") as GenerateResult;
    const b = runs.get("base-again") as GenerateResult;
    expect(readFileSync(b.manifestPath, "utf8")).toBe(readFileSync(a.manifestPath, "utf8"));
    for (const f of a.manifest.files) {
      const bytesA = readFileSync(join(a.outDir, f.file));
      expect(readFileSync(join(b.outDir, f.file)).equals(bytesA)).toBe(true);
      expect(createHash("sha256").update(bytesA).digest("hex")).toBe(f.sha256);
      expect(bytesA.length).toBe(f.bytes);
    }
  });

  it("another seed gives different data", () => {
    const a = runs.get("base") as GenerateResult;
    const c = runs.get("other-seed") as GenerateResult;
    expect(c.manifest.files[0]?.sha256).not.toBe(a.manifest.files[0]?.sha256);
  });

  it("a dirty delivery keeps the clean rows' content (defects use their own random stream)", () => {
    const clean = rows("base", "crm_customers");
    const dirty = rows("dirty", "crm_customers");
    const dirtyById = new Map(dirty.map((r) => [r.customer_id, r]));
    let same = 0;
    for (const r of clean) if (JSON.stringify(dirtyById.get(r.customer_id)) === JSON.stringify(r)) same++;
    expect(same / clean.length).toBeGreaterThan(0.9);
  });
});

describe("contracts and integrity (clean delivery)", () => {
  it.each(SYNTHETIC_TABLES)("%s conforms to its contract with unique primary keys", (table) => {
    const contract = contracts.get(table) as DataContract;
    const res = runs.get("base") as GenerateResult;
    const { header, rows: data } = readDeliveryTable(res.outDir, contract);
    expect(header).toEqual(contract.columns.map((c) => c.name));
    expect(data.length).toBe(res.manifest.files.find((f) => f.table === table)?.rows);
    expect(data.length).toBeGreaterThan(0);
    const errors: string[] = [];
    const keys = new Set<string>();
    data.forEach((row, i) => {
      for (const col of contract.columns) {
        const problem = checkCell(col, row[col.name] ?? null);
        if (problem && errors.length < 5) errors.push(`row ${i + 1} ${col.name}: ${problem}`);
      }
      keys.add(contract.primaryKey.map((k) => row[k]).join("|"));
    });
    expect(errors).toEqual([]);
    expect(keys.size).toBe(data.length);
  });

  it("CPFs are valid and unique; ids follow the documented format", () => {
    const customers = rows("base", "crm_customers");
    expect(customers.every((r) => isValidCpf(r.cpf as string))).toBe(true);
    expect(new Set(customers.map((r) => r.cpf)).size).toBe(customers.length);
    expect(customers[0]?.customer_id).toBe("AUR-00000001");
    expect(customers.at(-1)?.customer_id).toBe(`AUR-${String(CUSTOMERS).padStart(8, "0")}`);
  });

  it("every foreign key points to an existing row", () => {
    const customerIds = new Set(rows("base", "crm_customers").map((r) => r.customer_id));
    const contractIds = new Set(rows("base", "crm_contracts").map((r) => r.contract_id));
    const invoiceIds = new Set(rows("base", "billing_invoices").map((r) => r.invoice_id));
    const dangling: string[] = [];
    const check = (table: string, column: string, ids: Set<string | null>) => {
      for (const r of rows("base", table))
        if (!ids.has(r[column] ?? null)) dangling.push(`${table}.${column}=${r[column]}`);
    };
    check("crm_contracts", "customer_id", customerIds);
    check("billing_invoices", "contract_id", contractIds);
    check("billing_invoices", "customer_id", customerIds);
    for (const t of ["billing_invoice_items", "billing_payments", "billing_disputes"])
      check(t, "invoice_id", invoiceIds);
    for (const t of [
      "billing_payments",
      "billing_disputes",
      "usage_monthly",
      "network_quality",
      "support_tickets",
    ])
      check(t, "customer_id", customerIds);
    expect(dangling.slice(0, 5)).toEqual([]);
  });

  it("invoice totals equal the sum of their items, and discounts match discount lines", () => {
    const sums = new Map<string, number>();
    const discounts = new Map<string, number>();
    for (const r of rows("base", "billing_invoice_items")) {
      const cents = Math.round(num(r.amount_brl) * 100);
      sums.set(r.invoice_id as string, (sums.get(r.invoice_id as string) ?? 0) + cents);
      if (r.item_type === "discount")
        discounts.set(r.invoice_id as string, (discounts.get(r.invoice_id as string) ?? 0) - cents);
    }
    const invoices = rows("base", "billing_invoices");
    const mismatched = invoices.filter(
      (inv) => sums.get(inv.invoice_id as string) !== Math.round(num(inv.amount_brl) * 100),
    );
    expect(mismatched.slice(0, 3)).toEqual([]);
    // discount lines are net of tax, so the invoice's gross discount is larger
    for (const inv of invoices.filter((i) => num(i.discount_brl) > 0))
      expect(discounts.get(inv.invoice_id as string) ?? 0).toBeGreaterThan(0);
  });

  it("prices and fidelity fines follow the operator catalog", async () => {
    const catalog = JSON.parse(
      readFileSync(new URL("../../data/sample/operator-catalog.json", import.meta.url), "utf8"),
    );
    const byPlan = new Map<
      string,
      { monthly_price_brl: number; fidelity_benefit_brl: number; product: string }
    >(catalog.plans.map((p: { plan_id: string }) => [p.plan_id, p]));
    for (const c of rows("base", "crm_contracts")) {
      const plan = byPlan.get(c.plan_id as string);
      expect(plan?.product).toBe(c.product);
      const price = num(c.monthly_price_brl);
      // start at the catalog price; at most a few annual reajustes (≤ 20% each) in 15 months
      expect(price).toBeGreaterThanOrEqual((plan?.monthly_price_brl ?? 0) - 0.005);
      expect(price).toBeLessThanOrEqual((plan?.monthly_price_brl ?? 0) * 1.21 * 1.21);
      expect(num(c.fidelity_fine_brl)).toBeLessThanOrEqual((plan?.fidelity_benefit_brl ?? 0) + 0.005);
    }
  });

  it("cancelled customers stop producing usage and invoices after the cancellation month", () => {
    const cancelMonth = new Map<string, string>();
    for (const c of rows("base", "crm_contracts")) {
      if (c.status === "cancelled") {
        expect(c.cancel_date).not.toBeNull();
        expect(c.cancel_reason).not.toBeNull();
        cancelMonth.set(c.customer_id as string, `${(c.cancel_date as string).slice(0, 7)}-01`);
      } else {
        expect(c.cancel_date).toBeNull();
        expect(c.cancel_reason).toBeNull();
      }
    }
    expect(cancelMonth.size).toBeGreaterThan(0);
    const rowsAfterCancel = (table: string, column: string) =>
      rows("base", table).filter((r) => {
        const cm = cancelMonth.get(r.customer_id as string);
        return cm !== undefined && (r[column] as string) > cm;
      });
    expect(rowsAfterCancel("usage_monthly", "month")).toEqual([]);
    expect(rowsAfterCancel("billing_invoices", "reference_month")).toEqual([]);
    // and they did produce rows before cancelling
    const withUsage = new Set(rows("base", "usage_monthly").map((u) => u.customer_id));
    expect([...cancelMonth.keys()].filter((id) => withUsage.has(id)).length).toBeGreaterThan(
      0.9 * cancelMonth.size,
    );
  });

  it("monthly churn is in a realistic range and matches the contracts", () => {
    const m = (runs.get("base") as GenerateResult).manifest;
    expect(m.churn.overall_monthly_rate).toBeGreaterThan(0.01);
    expect(m.churn.overall_monthly_rate).toBeLessThan(0.04);
    const cancelled = rows("base", "crm_contracts").filter((c) => c.status === "cancelled").length;
    expect(m.churn.by_month.reduce((a, b) => a + b.cancelled, 0)).toBe(cancelled);
  });

  it("CHURN_DRIVERS name only real tables and columns", () => {
    const refs = [...CHURN_DRIVERS.flatMap((d) => d.signals), ...NON_DRIVERS];
    for (const ref of refs) {
      for (const [, table, column] of ref.matchAll(/\b([a-z]+_[a-z_]+)\.([a-z_]+)/g)) {
        const contract = contracts.get(table as string);
        expect(contract, ref).toBeDefined();
        expect(
          contract?.columns.some((c) => c.name === column),
          ref,
        ).toBe(true);
      }
    }
    expect(new Set(CHURN_DRIVERS.map((d) => d.name)).size).toBe(CHURN_DRIVERS.length);
  });
});

describe("churn model is visible in the raw data", () => {
  const churnRate = (ids: string[]) => {
    const cancelled = new Set(
      rows("base", "crm_contracts")
        .filter((c) => c.status === "cancelled")
        .map((c) => c.customer_id as string),
    );
    return { n: ids.length, rate: ids.filter((id) => cancelled.has(id)).length / ids.length };
  };
  const perCustomer = (table: string, value: (r: RawRow) => number | null) => {
    const acc = new Map<string, number[]>();
    for (const r of rows("base", table)) {
      const v = value(r);
      if (v === null) continue;
      const list = acc.get(r.customer_id as string) ?? [];
      list.push(v);
      acc.set(r.customer_id as string, list);
    }
    return acc;
  };
  const where = (acc: Map<string, number[]>, keep: (values: number[]) => boolean) =>
    [...acc].filter(([, v]) => keep(v)).map(([id]) => id);

  it("customers with poor measured speed churn more (speed_shortfall)", () => {
    const ratio = perCustomer("network_quality", (r) =>
      r.contracted_mbps === null ? null : num(r.download_mbps) / num(r.contracted_mbps),
    );
    const poor = churnRate(where(ratio, (v) => mean(v) < 0.7));
    const fine = churnRate(where(ratio, (v) => mean(v) >= 0.85));
    expect(poor.n).toBeGreaterThan(30);
    expect(poor.rate).toBeGreaterThan(1.5 * fine.rate);
  });

  it("customers who often pay late churn more (late_payments)", () => {
    const late = perCustomer("billing_payments", (r) => (num(r.days_late) > 10 ? 1 : 0));
    const often = churnRate(where(late, (v) => mean(v) >= 0.25));
    const never = churnRate(where(late, (v) => mean(v) === 0));
    expect(often.n).toBeGreaterThan(30);
    expect(often.rate).toBeGreaterThan(1.3 * never.rate);
  });

  it("age, a non-driver, makes no significant difference", () => {
    const customers = rows("base", "crm_customers");
    const young = churnRate(
      customers.filter((c) => (c.birth_date as string) > "1990-01-01").map((c) => c.customer_id as string),
    );
    const old = churnRate(
      customers.filter((c) => (c.birth_date as string) < "1970-01-01").map((c) => c.customer_id as string),
    );
    const se = Math.sqrt((young.rate * (1 - young.rate)) / young.n + (old.rate * (1 - old.rate)) / old.n);
    expect(Math.abs(young.rate - old.rate)).toBeLessThan(4 * se);
  });
});

describe("drift scenarios shift only what the event touches", () => {
  const driftMonths = (runName: string) =>
    new Set((runs.get(runName) as GenerateResult).manifest.drift.months);
  const inMonths = (months: Set<string>, date: string | null) => months.has((date ?? "").slice(0, 7));
  const ufOf = (runName: string) => new Map(rows(runName, "crm_customers").map((c) => [c.customer_id, c.uf]));
  const invoiceAmounts = (runName: string, months: Set<string>) =>
    rows(runName, "billing_invoices")
      .filter((r) => inMonths(months, r.reference_month))
      .map((r) => num(r.amount_brl));
  const smsCounts = (runName: string, months: Set<string>) =>
    rows(runName, "usage_monthly")
      .filter((r) => inMonths(months, r.month))
      .map((r) => num(r.sms));
  const latencies = (runName: string, months: Set<string>, ufs?: Set<string>) => {
    const uf = ufOf(runName);
    return rows(runName, "network_quality")
      .filter((r) => inMonths(months, r.measured_at) && (!ufs || ufs.has(uf.get(r.customer_id) as string)))
      .map((r) => num(r.latency_ms));
  };

  it("price-increase raises invoice amounts and prices, not usage or network", () => {
    const months = driftMonths("price");
    expect(months.size).toBe(2);
    expect(mean(invoiceAmounts("price", months))).toBeGreaterThan(
      1.12 * mean(invoiceAmounts("base", months)),
    );
    const price = (run: string) => mean(rows(run, "crm_contracts").map((c) => num(c.monthly_price_brl)));
    expect(price("price")).toBeGreaterThan(1.1 * price("base"));
    expectSameMean(smsCounts("price", months), smsCounts("base", months));
    expectSameMean(latencies("price", months), latencies("base", months));
    const reasons = (run: string) =>
      rows(run, "crm_contracts").filter((c) => c.cancel_reason === "preco").length;
    expect(reasons("price")).toBeGreaterThan(reasons("base"));
  });

  it("network-degradation worsens quality and outages in the affected states only", () => {
    const m = (runs.get("network") as GenerateResult).manifest;
    const months = driftMonths("network");
    const affected = new Set(m.drift.affected_ufs);
    expect(affected.size).toBe(3);
    const others = new Set(
      rows("base", "crm_customers")
        .map((c) => c.uf as string)
        .filter((u) => !affected.has(u)),
    );
    expect(mean(latencies("network", months, affected))).toBeGreaterThan(
      1.3 * mean(latencies("base", months, affected)),
    );
    expectSameMean(latencies("network", months, others), latencies("base", months, others));
    const outages = (run: string) =>
      rows(run, "network_outages").filter(
        (o) => affected.has(o.uf as string) && inMonths(months, o.started_at),
      ).length;
    expect(outages("network")).toBeGreaterThan(2 * outages("base"));
    expectSameMean(invoiceAmounts("network", months), invoiceAmounts("base", months));
    expectSameMean(smsCounts("network", months), smsCounts("base", months));
  });

  it("new-competitor adds offers and churn in the affected states, leaving prices and network alone", () => {
    const m = (runs.get("competitor") as GenerateResult).manifest;
    const months = driftMonths("competitor");
    const affected = new Set(m.drift.affected_ufs);
    expect(affected.size).toBe(5);
    const offers = (run: string) =>
      rows(run, "market_competitor_offers").filter(
        (o) => affected.has(o.uf as string) && inMonths(months, o.start_date),
      );
    expect(offers("competitor").length).toBeGreaterThanOrEqual(offers("base").length + 5);
    const churnInAffected = (run: string) => {
      const uf = ufOf(run);
      return rows(run, "crm_contracts").filter(
        (c) =>
          c.status === "cancelled" &&
          affected.has(uf.get(c.customer_id) as string) &&
          inMonths(months, c.cancel_date),
      ).length;
    };
    expect(churnInAffected("competitor")).toBeGreaterThan(1.3 * churnInAffected("base"));
    expectSameMean(latencies("competitor", months), latencies("base", months));
    expectSameMean(smsCounts("competitor", months), smsCounts("base", months));
    // age is drawn before anything the drift touches: identical
    expect(rows("competitor", "crm_customers").map((c) => c.birth_date)).toEqual(
      rows("base", "crm_customers").map((c) => c.birth_date),
    );
  });
});

describe("dirty-rate", () => {
  it("injects every kind of defect at about the requested rate, and the checks catch them", () => {
    const m = (runs.get("dirty") as GenerateResult).manifest;
    const totals = { duplicate_key: 0, bad_date: 0, negative_amount: 0, blank_required: 0 };
    let rowsTotal = 0;
    for (const f of m.files) {
      rowsTotal += f.rows;
      for (const [k, v] of Object.entries(f.defects)) totals[k as keyof typeof totals] += v;
    }
    for (const v of Object.values(totals)) expect(v).toBeGreaterThan(0);
    const defectRate = Object.values(totals).reduce((a, b) => a + b, 0) / rowsTotal;
    expect(defectRate).toBeGreaterThan(0.03);
    expect(defectRate).toBeLessThan(0.07);

    const contract = contracts.get("billing_invoices") as DataContract;
    const data = rows("dirty", "billing_invoices");
    let bad = 0;
    for (const row of data) if (contract.columns.some((c) => checkCell(c, row[c.name] ?? null) !== "")) bad++;
    const ids = data.map((r) => r.invoice_id);
    expect(bad).toBeGreaterThan(0);
    expect(new Set(ids).size).toBeLessThan(ids.length);
  });
});
