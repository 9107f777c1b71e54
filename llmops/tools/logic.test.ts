import { describe, expect, it } from "vitest";
import { displayCpf, displayEmail, displayPhone } from "../../platform/pii/index.ts";
import type { InvoiceDetail, InvoiceItem } from "../../platform/ports/billing.ts";
import type { Contract } from "../../platform/ports/crm.ts";
import type { CatalogPlan } from "../../platform/ports/offers.ts";
import { SystemRejectedError, SystemUnavailableError } from "../../platform/ports/operator-systems.ts";
import { digest, idempotencyKey, ToolFailure, toToolError } from "./core.ts";
import { internetFinding, speedSummary } from "./diagnose-internet.ts";
import { classifyChanges } from "./explain-invoice.ts";
import { choosePlan } from "./recommend-plan.ts";

// Pure decisions of the tools, checked without any system; the sandbox tests check the tools end to end.

function invoice(month: string, items: [string, string, number][]): InvoiceDetail {
  const its: InvoiceItem[] = items.map(([item_type, description, amount_brl], i) => ({
    line_no: i + 1,
    item_type,
    description,
    amount_brl,
  }));
  return {
    invoice_id: `INV-${month}`,
    customer_id: "AUR-1",
    contract_id: "CTR-1",
    reference_month: `${month}-01`,
    issue_date: `${month}-05`,
    due_date: `${month}-15`,
    amount_brl: Math.round(its.reduce((s, x) => s + x.amount_brl, 0) * 100) / 100,
    discount_brl: 0,
    tax_brl: 0,
    status: "open",
    items: its,
  };
}

const contract = (start: string): Contract => ({
  contract_id: "CTR-1",
  customer_id: "AUR-1",
  plan_id: "POS50",
  product: "mobile_pos",
  start_date: start,
  fidelity_months: 12,
  fidelity_end_date: null,
  fidelity_fine_brl: 300,
  monthly_price_brl: 109.99,
  status: "active",
  cancel_date: null,
  cancel_reason: null,
});

describe("explain_invoice: the difference to the previous month", () => {
  it("names the end of a promotion, an extra data package and roaming, and they add up to the difference", () => {
    const prev = invoice("2026-02", [
      ["plan", "Mensalidade Aurora Pós 50GB", 80],
      ["discount", "Desconto promocional 20%", -16],
      ["tax", "Tributos", 20],
    ]);
    const cur = invoice("2026-03", [
      ["plan", "Mensalidade Aurora Pós 50GB", 80],
      ["extra", "Pacote adicional de dados 2GB", 11],
      ["roaming", "Roaming internacional, 1 diária(s) Américas", 22],
      ["tax", "Tributos", 27],
    ]);
    const changes = classifyChanges(cur, prev, contract("2024-01-10"));
    const kinds = Object.fromEntries(changes.map((c) => [c.kind, c.delta_brl]));
    expect(kinds).toEqual({ promotion_ended: 16, extra_data_package: 11, roaming: 22, tax: 7 });
    const total = changes.reduce((s, c) => s + c.delta_brl, 0);
    expect(Math.round(total * 100) / 100).toBe(Math.round((cur.amount_brl - prev.amount_brl) * 100) / 100);
  });

  it("a higher plan line is a price adjustment, a pro rata after the first month, a plan change when the plan differs", () => {
    const prev = invoice("2026-02", [["plan", "Mensalidade Aurora Pós 50GB", 80]]);
    const up = invoice("2026-03", [["plan", "Mensalidade Aurora Pós 50GB", 84]]);
    expect(classifyChanges(up, prev, contract("2024-01-10")).map((c) => c.kind)).toEqual([
      "price_adjustment",
    ]);
    const partial = invoice("2026-02", [["plan", "Mensalidade Aurora Pós 50GB", 30]]);
    expect(classifyChanges(up, partial, contract("2026-02-18")).map((c) => c.kind)).toEqual(["pro_rata"]);
    const other = invoice("2026-03", [["plan", "Mensalidade Aurora Pós 100GB", 120]]);
    expect(classifyChanges(other, prev, contract("2024-01-10")).map((c) => c.kind)).toEqual(["plan_change"]);
  });

  it("fines and late fees are their own kinds; no previous invoice means no changes", () => {
    const prev = invoice("2026-02", [["plan", "Mensalidade", 80]]);
    const cur = invoice("2026-03", [
      ["plan", "Mensalidade", 80],
      ["late_fee", "Multa e juros por atraso", 2.5],
      ["fine", "Multa de fidelidade", 150],
    ]);
    expect(classifyChanges(cur, prev, null).map((c) => c.kind)).toEqual(["fine", "late_fee"]);
    expect(classifyChanges(cur, null, null)).toEqual([]);
  });
});

describe("diagnose_internet: finding and next step", () => {
  const good = speedSummary(
    [
      { measured_at: "x", download_mbps: 290, contracted_mbps: 300, latency_ms: 10, packet_loss_pct: 0 },
      { measured_at: "y", download_mbps: 280, contracted_mbps: 300, latency_ms: 10, packet_loss_pct: 0 },
    ],
    300,
  );
  const slow = speedSummary(
    [{ measured_at: "x", download_mbps: 150, contracted_mbps: 300, latency_ms: 10, packet_loss_pct: 0 }],
    300,
  );

  it("summarises speed tests against the Anatel guarantees (80% average, 40% instant)", () => {
    expect(good).toMatchObject({ tests: 2, average_mbps: 285, below_average_guarantee: false });
    expect(slow).toMatchObject({
      average_ratio: 0.5,
      below_average_guarantee: true,
      below_instant_guarantee: false,
    });
    expect(speedSummary([], 300)).toBeNull();
  });

  it("a network fault or loss of signal needs a technician; home problems get guided steps", () => {
    expect(internetFinding({ line: "down", ont: "los" }, null, "network")).toMatchObject({
      finding: "fiber_signal_loss",
      next_step: "technician",
    });
    expect(internetFinding({ line: "degraded", ont: "online" }, slow, "network")).toMatchObject({
      finding: "network_fault",
      next_step: "technician",
    });
    const home = internetFinding({ line: "up", ont: "online" }, slow, "customer_side");
    expect(home.finding).toBe("speed_below_contracted");
    expect(home.next_step).toBe("guided_steps");
    expect(home.guided_steps[0]).toBe("test_wired_connection");
    expect(internetFinding({ line: "up", ont: "online" }, good, "ok")).toMatchObject({
      finding: "no_fault_found",
      next_step: "guided_steps",
    });
    expect(internetFinding({ line: "down", ont: "offline" }, good, "ok").finding).toBe("equipment_offline");
  });
});

describe("recommend_plan: choice for the usage", () => {
  const plan = (plan_id: string, product: string, price: number, gb: number | null): CatalogPlan => ({
    plan_id,
    name: plan_id,
    product,
    monthly_price_brl: price,
    data_gb: gb,
    speed_mbps: null,
    fidelity_months: 0,
    fidelity_benefit_brl: 0,
  });
  const plans = [
    plan("PRE15", "mobile_pre", 25, 15),
    plan("CTRL25", "mobile_controle", 54.99, 25),
    plan("POS50", "mobile_pos", 109.99, 50),
    plan("POS100", "mobile_pos", 159.99, 100),
    plan("FIB300", "fibra", 99.99, null),
  ];
  it("the cheapest plan that covers the heaviest month, an upgrade when nothing smaller does", () => {
    expect(choosePlan(plans[3], plans, 22).plan_id).toBe("CTRL25");
    expect(choosePlan(plans[1], plans, 60).plan_id).toBe("POS100");
    expect(choosePlan(plans[2], plans, 45).plan_id).toBe("POS50");
    // Nothing covers 300 GB: the largest allowance of the family.
    expect(choosePlan(plans[1], plans, 300).plan_id).toBe("POS100");
    // Prepaid never jumps to a postpaid plan; fibra has no allowance to fit.
    expect(choosePlan(plans[0], plans, 40).plan_id).toBe("CTRL25");
    expect(choosePlan(plans[4], plans, 40).plan_id).toBe("FIB300");
  });
});

describe("core", () => {
  it("masks personal data", () => {
    expect(displayCpf("123.456.789-09")).toBe("***.456.***-**");
    expect(displayPhone("+55 (11) 98765-4321")).toBe("***4321");
    expect(displayEmail("maria.silva@example.com")).toBe("m***@example.com");
  });

  it("idempotency keys are stable, per session, and carry no raw text", () => {
    const a = idempotencyKey("S1", "register_interaction", digest({ b: 1, a: "x" }));
    expect(a).toBe(idempotencyKey("S1", "register_interaction", digest({ a: "x", b: 1 })));
    expect(a).not.toBe(idempotencyKey("S2", "register_interaction", digest({ a: "x", b: 1 })));
    expect(idempotencyKey("S1", "t", "Maria Silva, CPF 123")).not.toContain("Maria");
    // The systems accept keys of at most 200 characters, whatever the session id.
    const long = idempotencyKey("s".repeat(400), "register_interaction", "AUR-1:x");
    expect(long.length).toBeLessThanOrEqual(200);
    expect(long).toBe(idempotencyKey("s".repeat(400), "register_interaction", "AUR-1:x"));
  });

  it("maps every failure to a typed error", () => {
    expect(toToolError(new SystemUnavailableError("billing", "down", "connection refused"))).toMatchObject({
      code: "system_unavailable",
      system: "billing",
    });
    expect(toToolError(new SystemRejectedError("offers", 404, "not_found", "no such offer"))).toMatchObject({
      code: "not_found",
      system: "offers",
    });
    expect(toToolError(new SystemRejectedError("offers", 409, "conflict", "x"))).toMatchObject({
      code: "rejected",
    });
    expect(toToolError(new ToolFailure("forbidden", "no", { field: "customer_id" }))).toEqual({
      code: "forbidden",
      message: "no",
      field: "customer_id",
    });
    expect(toToolError(new TypeError("boom"))).toMatchObject({ code: "internal", message: "boom" });
  });
});
