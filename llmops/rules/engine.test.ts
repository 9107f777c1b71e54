import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CATALOG_PATH, loadCatalog } from "../../mlops/simulator/catalog.ts";
import { cancellationPolicy, evaluateOffers, fidelityFine, loadRules, RULES_DIR } from "./engine.ts";
import { BUSINESS_DATE, contractFacts, offerFacts } from "./testing/facts.ts";
import type { OfferEvaluation, OfferFacts } from "./types.ts";

const rules = loadRules();

const evaluate = (facts: OfferFacts) => evaluateOffers(rules, facts);
const allowedIds = (e: OfferEvaluation) => e.allowed.map((a) => a.offer_id);
const reasonsOf = (e: OfferEvaluation, offer: string) =>
  e.rejected.find((r) => r.offer_id === offer)?.reasons ?? [];
const isAllowed = (facts: OfferFacts, offer: string) => allowedIds(evaluate(facts)).includes(offer);

describe("loading the rules", () => {
  const dirs: string[] = [];
  const copy = () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-rules-"));
    dirs.push(dir);
    cpSync(RULES_DIR, dir, { recursive: true });
    return dir;
  };
  const edit = (dir: string, file: string, from: string | RegExp, to: string) => {
    const path = join(dir, file);
    const text = readFileSync(path, "utf8");
    const next = text.replace(from, to);
    expect(next).not.toBe(text);
    writeFileSync(path, next);
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("versions the rules as declared version + content hash of every rule file", () => {
    expect(rules.version).toMatch(/^2026\.01\.1\+[0-9a-f]{12}$/);
    expect(rules.version.startsWith(`${rules.declared_version}+`)).toBe(true);
    const dir = copy();
    expect(loadRules(dir).version).toBe(rules.version);
    // The folder or its retention-offers file load the same rules.
    expect(loadRules(join(dir, "retention-offers.yaml")).version).toBe(rules.version);
    edit(dir, "fidelity.yaml", "# Fidelity", "# Fidelity (edited)");
    const edited = loadRules(dir);
    expect(edited.declared_version).toBe(rules.declared_version);
    expect(edited.version).not.toBe(rules.version);
  });

  it("refuses a discount above the ceiling, naming the file, the line and the field", () => {
    const dir = copy();
    edit(dir, "retention-offers.yaml", /\n {4}discount_pct: 20\n/, "\n    discount_pct: 35\n");
    let err: unknown;
    try {
      loadRules(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "validation" });
    const message = (err as Error).message;
    expect(message).toContain("retention-offers.yaml:");
    expect(message).toContain("offers[1].discount_pct");
    expect(message).toMatch(/35% is above the ceiling limits\.max_discount_pct \(30%\)/);
    const line = Number(/retention-offers\.yaml:(\d+)/.exec(message)?.[1]);
    const lines = readFileSync(join(dir, "retention-offers.yaml"), "utf8").split("\n");
    expect(lines[line - 1]).toContain("discount_pct: 35");
  });

  it("refuses a discount above the agent's limit without supervisor approval", () => {
    const dir = copy();
    edit(dir, "retention-offers.yaml", /approval: supervisor\n/, "approval: agent\n");
    expect(() => loadRules(dir)).toThrow(/offers\[2\]\.approval: .*needs approval: supervisor/);
  });

  it("refuses an unknown fact, a clause with two operators, and rules that would obstruct cancellation", () => {
    const a = copy();
    edit(a, "retention-offers.yaml", "fact: customer.tenure_months", "fact: customer.tenure");
    expect(() => loadRules(a)).toThrow(/offers\[1\]\.when\[1\]\.fact: unknown fact "customer\.tenure"/);
    const b = copy();
    edit(b, "retention-offers.yaml", "gte: 12\n", "gte: 12\n        lt: 99\n");
    expect(() => loadRules(b)).toThrow(/offers\[1\]\.when\[1\].*2 operators/);
    const c = copy();
    edit(c, "retention-offers.yaml", "obstruct: false", "obstruct: true");
    expect(() => loadRules(c)).toThrow(/cancellation\.obstruct: must be false/);
    const d = copy();
    edit(d, "fidelity.yaml", "waiver_as_retention_tool: false", "waiver_as_retention_tool: true");
    expect(() => loadRules(d)).toThrow(/fidelity\.yaml:\d+ fine\.waiver_as_retention_tool/);
    const e = copy();
    edit(e, "retention-offers.yaml", "version: ", "version: [");
    expect(() => loadRules(e)).toThrow(/retention-offers\.yaml:\d+: not valid YAML/);
  });

  it("has the catalog's retention offers, with the same terms", () => {
    const catalog = JSON.parse(readFileSync(CATALOG_PATH, "utf8")) as {
      retention_offers: { offer_id: string; max_discount_pct: number; months: number; approval: string }[];
    };
    const fromCatalog = catalog.retention_offers.map((o) => o.offer_id).sort();
    const fromRules = rules.retention.offers.map((o) => o.offer_id).sort();
    expect(fromRules).toEqual(fromCatalog);
    for (const c of catalog.retention_offers) {
      const r = rules.retention.offers.find((o) => o.offer_id === c.offer_id);
      expect({ pct: r?.discount_pct, months: r?.months, approval: r?.approval }).toEqual({
        pct: c.max_discount_pct,
        months: c.months,
        approval: c.approval,
      });
    }
  });

  it("has an upgrade step for every fibra speed of the catalog below 1 Giga, and none from 1 Giga", () => {
    const upgrade = rules.retention.offers.find((o) => o.offer_id === "RET-UPGRADE");
    const speeds = [
      ...new Set(
        loadCatalog()
          .plans.map((p) => p.speed_mbps)
          .filter((s) => s !== null),
      ),
    ];
    for (const s of speeds) {
      const step = upgrade?.speed_upgrades?.find((u) => u.from_mbps === s);
      if (s >= 1000) expect(step).toBeUndefined();
      else {
        expect(step).toBeDefined();
        expect(speeds).toContain(step?.to_mbps);
      }
    }
  });
});

describe("RET-DESC10: any active customer with churn risk medium or high", () => {
  it("is allowed at medium and high risk, not at low risk or without a score", () => {
    expect(isAllowed(offerFacts({ churn: { band: "medium" } }), "RET-DESC10")).toBe(true);
    expect(isAllowed(offerFacts({ churn: { band: "high" } }), "RET-DESC10")).toBe(true);
    const low = evaluate(offerFacts({ churn: { band: "low" } }));
    expect(allowedIds(low)).not.toContain("RET-DESC10");
    expect(reasonsOf(low, "RET-DESC10").map((r) => r.split(":")[0])).toEqual([
      "low_risk_no_discount",
      "risk_medium_or_high",
    ]);
    const unknown = evaluate(offerFacts({ churn: null }));
    expect(reasonsOf(unknown, "RET-DESC10").join(" ")).toContain("churn.band is unknown");
  });

  it("gives 10% for 6 months on the plan's price (Fibra 500: R$ 119,99 → R$ 107,99)", () => {
    const e = evaluate(offerFacts({ churn: { band: "medium" } }));
    const a = e.allowed.find((x) => x.offer_id === "RET-DESC10");
    expect(a?.rule_id).toBe("retention.desc10.v1");
    expect(a?.rules_version).toBe(rules.version);
    expect(a?.terms).toMatchObject({
      discount_pct: 10,
      months: 6,
      approval: "agent",
      requires_supervisor_approval: false,
      contract_id: "CTR-FIB500",
      monthly_price_brl: 119.99,
      resulting_monthly_price_brl: 107.99,
      monthly_saving_brl: 12,
      new_fidelity: false,
    });
  });

  it("is not allowed on a suspended contract", () => {
    const e = evaluate(offerFacts({ contracts: [contractFacts("FIB500", { status: "suspended" })] }));
    expect(e.allowed).toEqual([]);
    expect(reasonsOf(e, "RET-DESC10")[0]).toMatch(
      /^contract_active: contract\.status = suspended, needs = active/,
    );
  });
});

describe("RET-DESC20: high risk, tenure ≥ 12 months, no debt over 30 days", () => {
  it("holds at the tenure boundary (12 yes, 11 no)", () => {
    expect(isAllowed(offerFacts({ customer: { tenure_months: 12 } }), "RET-DESC20")).toBe(true);
    const e = evaluate(offerFacts({ customer: { tenure_months: 11 } }));
    expect(reasonsOf(e, "RET-DESC20")).toEqual([
      "tenure_12_months: customer.tenure_months = 11, needs ≥ 12 (tenure of at least 12 months)",
    ]);
  });

  it("holds at the debt boundary (30 days overdue yes, 31 no)", () => {
    expect(isAllowed(offerFacts({ debt: { max_days_overdue: 30 } }), "RET-DESC20")).toBe(true);
    const e = evaluate(offerFacts({ debt: { max_days_overdue: 31, overdue_invoices: 1 } }));
    expect(reasonsOf(e, "RET-DESC20")).toEqual([
      "no_debt_over_30_days: debt.max_days_overdue = 31, needs ≤ 30 (no invoice overdue for more than 30 days)",
    ]);
    // Debt does not block the 10% offer (its policy line has no debt condition).
    expect(allowedIds(e)).toContain("RET-DESC10");
  });

  it("needs high risk (medium is not enough)", () => {
    const e = evaluate(offerFacts({ churn: { band: "medium" } }));
    expect(reasonsOf(e, "RET-DESC20")[0]).toMatch(/^risk_high: churn\.band = medium, needs in \[high\]/);
  });

  it("gives 20% for 6 months (Combo 500: R$ 199,99 → R$ 159,99)", () => {
    const e = evaluate(offerFacts({ contracts: [contractFacts("COMBO500")] }));
    expect(e.allowed.find((a) => a.offer_id === "RET-DESC20")?.terms).toMatchObject({
      discount_pct: 20,
      months: 6,
      approval: "agent",
      resulting_monthly_price_brl: 159.99,
    });
  });
});

describe("RET-DESC30: high risk, tenure ≥ 24 months, ARPU ≥ R$ 150, supervisor approval", () => {
  it("holds at the tenure boundary (24 yes, 23 no) and the ARPU boundary (150.00 yes, 149.99 no)", () => {
    expect(isAllowed(offerFacts({ customer: { tenure_months: 24, arpu_3m_brl: 150 } }), "RET-DESC30")).toBe(
      true,
    );
    expect(isAllowed(offerFacts({ customer: { tenure_months: 23 } }), "RET-DESC30")).toBe(false);
    const e = evaluate(offerFacts({ customer: { arpu_3m_brl: 149.99 } }));
    expect(reasonsOf(e, "RET-DESC30")).toEqual([
      "arpu_150: customer.arpu_3m_brl = 149.99, needs ≥ 150 (ARPU (3-month mean monthly revenue) of at least R$ 150.00)",
    ]);
    expect(reasonsOf(evaluate(offerFacts({ customer: { arpu_3m_brl: null } })), "RET-DESC30")[0]).toContain(
      "customer.arpu_3m_brl is unknown",
    );
  });

  it("needs a supervisor and keeps the price until approved (Combo 1 Giga + TV: R$ 349,90 → R$ 244,93)", () => {
    const e = evaluate(offerFacts({ contracts: [contractFacts("COMBO1000TV")] }));
    expect(e.allowed.find((a) => a.offer_id === "RET-DESC30")?.terms).toMatchObject({
      discount_pct: 30,
      months: 3,
      approval: "supervisor",
      requires_supervisor_approval: true,
      disclose_price_before_approval: false,
      monthly_price_brl: 349.9,
      resulting_monthly_price_brl: 244.93,
    });
  });

  it("every allowed discount stays within the ceiling, and above the agent's limit only with a supervisor", () => {
    for (const band of ["low", "medium", "high"] as const)
      for (const plan of ["FIB300", "COMBO1000TV", "POS100", "PRE15"]) {
        const e = evaluate(offerFacts({ churn: { band }, contracts: [contractFacts(plan)] }));
        for (const a of e.allowed) {
          expect(a.terms.discount_pct).toBeLessThanOrEqual(30);
          if (a.terms.discount_pct > 20) expect(a.terms.approval).toBe("supervisor");
        }
      }
  });
});

describe("RET-UPGRADE: fibra or combo with a speed shortfall or outages in 90 days, not 1 Giga", () => {
  it("holds at the 80% speed boundary (79% yes, 80% no) and with one outage", () => {
    const at = (ratio: number, outages = 0) =>
      offerFacts({
        contracts: [contractFacts("FIB300", { speed_worst_month_ratio: ratio, outages_90d: outages })],
      });
    expect(isAllowed(at(0.79), "RET-UPGRADE")).toBe(true);
    const e = evaluate(at(0.8));
    expect(reasonsOf(e, "RET-UPGRADE")).toHaveLength(1);
    expect(reasonsOf(e, "RET-UPGRADE")[0]).toMatch(
      /^network_problem_90_days: none of speed_shortfall: contract\.speed_worst_month_ratio = 0\.8, needs < 0\.8/,
    );
    expect(isAllowed(at(0.8, 1), "RET-UPGRADE")).toBe(true);
    // Without speed tests, outages alone decide.
    const noTests = contractFacts("FIB300", {
      speed_worst_month_ratio: null,
      speed_tests: 0,
      outages_90d: 0,
    });
    expect(isAllowed(offerFacts({ contracts: [noTests] }), "RET-UPGRADE")).toBe(false);
  });

  it("upgrades 300 → 500 and 500 → 1 Giga at the same price, with no new fidelity", () => {
    for (const [plan, from, to] of [
      ["FIB300", 300, 500],
      ["FIB500", 500, 1000],
      ["COMBO500", 500, 1000],
    ] as const) {
      const e = evaluate(offerFacts({ contracts: [contractFacts(plan, { outages_90d: 2 })] }));
      const t = e.allowed.find((a) => a.offer_id === "RET-UPGRADE")?.terms;
      expect(t).toMatchObject({ from_speed_mbps: from, to_speed_mbps: to, months: 12, new_fidelity: false });
      expect(t?.resulting_monthly_price_brl).toBe(t?.monthly_price_brl);
    }
  });

  it("is not for 1 Giga plans nor for mobile, and needs no risk band (it is not a discount)", () => {
    for (const plan of ["FIB1000", "COMBO1000TV"]) {
      const e = evaluate(offerFacts({ contracts: [contractFacts(plan, { outages_90d: 3 })] }));
      expect(reasonsOf(e, "RET-UPGRADE")[0]).toMatch(
        /^not_1_giga: contract\.speed_mbps = 1000, needs < 1000/,
      );
    }
    const mobile = evaluate(offerFacts({ contracts: [contractFacts("POS50", { outages_90d: 3 })] }));
    expect(reasonsOf(mobile, "RET-UPGRADE")[0]).toMatch(/^fibra_or_combo: contract\.product = mobile_pos/);
    const low = evaluate(
      offerFacts({ churn: { band: "low" }, contracts: [contractFacts("FIB300", { outages_90d: 1 })] }),
    );
    expect(allowedIds(low)).toEqual(["RET-UPGRADE"]);
  });
});

describe("RET-BONUS-GB: postpaid or controle mobile (alone or in a combo), not prepaid", () => {
  it("adds 10GB a month for 6 months (Pós 50GB → 60GB, Controle 25GB → 35GB, Combo 500 → 60GB)", () => {
    for (const [plan, gb] of [
      ["POS50", 60],
      ["CTRL25", 35],
      ["COMBO500", 60],
    ] as const) {
      const t = evaluate(offerFacts({ contracts: [contractFacts(plan)] })).allowed.find(
        (a) => a.offer_id === "RET-BONUS-GB",
      )?.terms;
      expect(t).toMatchObject({ extra_data_gb: 10, resulting_data_gb: gb, months: 6, discount_pct: 0 });
    }
  });

  it("is not for prepaid, fibra or TV", () => {
    const pre = evaluate(offerFacts({ contracts: [contractFacts("PRE15")] }));
    expect(reasonsOf(pre, "RET-BONUS-GB")[0]).toMatch(
      /^postpaid_or_controle_mobile: contract\.product = mobile_pre/,
    );
    for (const plan of ["FIB500", "TVESS"])
      expect(isAllowed(offerFacts({ contracts: [contractFacts(plan)] }), "RET-BONUS-GB")).toBe(false);
  });
});

describe("limits across offers", () => {
  it("no stacking: a retention offer active on the contract blocks every offer on it", () => {
    const active = contractFacts("COMBO500", {
      outages_90d: 1,
      has_active_retention_offer: true,
      active_retention_offer: {
        offer_id: "RET-DESC10",
        status: "applied",
        applied_at: "2026-05-01",
        ends_at: "2026-11-01",
      },
    });
    const e = evaluate(offerFacts({ contracts: [active] }));
    expect(e.allowed).toEqual([]);
    expect(e.rejected).toHaveLength(5);
    for (const r of e.rejected)
      expect(r.reasons[0]).toBe(
        "no_stacking: contract.has_active_retention_offer = true, needs = false (no retention offer is active on the contract)",
      );
  });

  it("a new offer only 30 days after the previous one ended (29 no, 30 yes)", () => {
    const endedDaysAgo = (days: number) =>
      offerFacts({
        contracts: [
          contractFacts("FIB500", { last_offer_ended_at: "2026-05-01", days_since_last_offer_ended: days }),
        ],
      });
    const e = evaluate(endedDaysAgo(29));
    expect(e.allowed).toEqual([]);
    expect(reasonsOf(e, "RET-DESC10")[0]).toMatch(
      /^cooldown_after_previous: contract\.days_since_last_offer_ended = 29, needs ≥ 30/,
    );
    expect(allowedIds(evaluate(endedDaysAgo(30)))).toEqual(["RET-DESC10", "RET-DESC20", "RET-DESC30"]);
  });

  it("an offer is presented once per contact", () => {
    const e = evaluate(offerFacts({ presented: ["RET-DESC20"] }));
    expect(allowedIds(e)).toEqual(["RET-DESC10", "RET-DESC30"]);
    expect(reasonsOf(e, "RET-DESC20")).toEqual([
      "offer_once_per_contact: offer.presented_this_contact = true, needs = false (the offer was not presented before in this contact)",
    ]);
  });

  it("low risk gets no discount offer", () => {
    const e = evaluate(offerFacts({ churn: { band: "low" }, contracts: [contractFacts("COMBO500")] }));
    expect(allowedIds(e)).toEqual(["RET-BONUS-GB"]);
    for (const id of ["RET-DESC10", "RET-DESC20", "RET-DESC30"])
      expect(reasonsOf(e, id).some((r) => r.startsWith("low_risk_no_discount:"))).toBe(true);
  });

  it("the allowed offers are alternatives (never combined) and regulation stands above retention", () => {
    const e = evaluate(offerFacts());
    expect(e.combinable).toBe(false);
    expect(e.cancellation).toEqual(cancellationPolicy(rules));
    expect(cancellationPolicy(rules)).toMatchObject({
      obstruct: false,
      offer_once_per_contact: true,
      register_immediately: true,
      effective_hours: 48,
      allowed_with_open_debt: true,
    });
  });

  it("with several contracts, each offer goes to a contract it fits (discounts to the priciest)", () => {
    const fibra = contractFacts("FIB300", { contract_id: "CTR-A", speed_worst_month_ratio: 0.6 });
    const mobile = contractFacts("POS100", { contract_id: "CTR-B" });
    const cancelled = contractFacts("COMBO1000TV", { contract_id: "CTR-C", status: "cancelled" });
    const e = evaluate(offerFacts({ contracts: [fibra, mobile, cancelled] }));
    const to = Object.fromEntries(e.allowed.map((a) => [a.offer_id, a.contract_id]));
    expect(to).toEqual({
      "RET-DESC10": "CTR-B",
      "RET-DESC20": "CTR-B",
      "RET-DESC30": "CTR-B",
      "RET-UPGRADE": "CTR-A",
      "RET-BONUS-GB": "CTR-B",
    });
    // Explanations cover the active contracts only.
    expect(e.offers[0].contracts.map((c) => c.contract_id)).toEqual(["CTR-B", "CTR-A"]);
  });

  it("explains every clause with its fact value and is deterministic", () => {
    const facts = offerFacts({ customer: { tenure_months: 20 } });
    const frozen = JSON.stringify(facts);
    const a = evaluate(facts);
    const b = evaluate(facts);
    expect(b).toEqual(a);
    expect(JSON.stringify(facts)).toBe(frozen);
    const desc30 = a.offers.find((o) => o.offer_id === "RET-DESC30");
    const checks = desc30?.contracts[0].checks ?? [];
    expect(checks.map((c) => c.id)).toEqual([
      "contract_active",
      "no_stacking",
      "cooldown_after_previous",
      "offer_once_per_contact",
      "low_risk_no_discount",
      "risk_high",
      "tenure_24_months",
      "arpu_150",
    ]);
    expect(checks.find((c) => c.id === "tenure_24_months")).toMatchObject({
      fact: "customer.tenure_months",
      op: "gte",
      expected: 24,
      actual: 20,
      passed: false,
    });
    expect(a.churn_model_version).toBe("churn@3");
    expect(a.business_date).toBe(BUSINESS_DATE);
  });
});

describe("the proportional fidelity fine", () => {
  const contract = (end: string | null, benefit = 600, months = 12) => ({
    contract_id: "CTR-1",
    fidelity_months: months,
    fidelity_end_date: end,
    fidelity_fine_brl: benefit,
  });

  it("is benefit × whole months left ÷ fidelity months", () => {
    expect(fidelityFine(contract("2026-11-15"), "2026-06-15")).toMatchObject({
      in_fidelity: true,
      months_remaining: 5,
      fine_brl: 250,
      formula: "600.00 × 5 ÷ 12 = 250.00",
      rules_version: rules.version,
    });
    // A month already started is not charged: 4 months and 30 days left → 4 months.
    expect(fidelityFine(contract("2026-11-15"), "2026-06-16").months_remaining).toBe(4);
    expect(fidelityFine(contract("2026-09-20", 400), "2026-06-15").fine_brl).toBe(100);
    // Never more than the whole benefit.
    expect(fidelityFine(contract("2028-01-01"), "2026-06-15").fine_brl).toBe(600);
  });

  it("is zero in the last month, after the period, and without fidelity", () => {
    expect(fidelityFine(contract("2026-07-10", 800), "2026-06-15")).toMatchObject({
      months_remaining: 0,
      fine_brl: 0,
    });
    expect(fidelityFine(contract("2026-06-15", 800), "2026-06-15")).toMatchObject({
      in_fidelity: false,
      fine_brl: 0,
    });
    expect(fidelityFine(contract("2026-01-01"), "2026-06-15").fine_brl).toBe(0);
    expect(fidelityFine(contract(null, 0, 0), "2026-06-15")).toMatchObject({
      in_fidelity: false,
      fine_brl: 0,
    });
  });

  it("is waived for the policy's exemptions only", () => {
    const f = fidelityFine(contract("2026-11-15"), "2026-06-15", { exemption: "move_without_coverage" });
    expect(f).toMatchObject({ fine_brl: 0, months_remaining: 5, exemption: { id: "move_without_coverage" } });
    expect(() => fidelityFine(contract("2026-11-15"), "2026-06-15", { exemption: "retention" })).toThrow(
      /unknown exemption "retention"/,
    );
    expect(() => fidelityFine(contract("2026-11-15"), "15/06/2026")).toThrow(/businessDate/);
  });
});
