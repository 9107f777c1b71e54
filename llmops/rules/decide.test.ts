import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChurnRisk, ChurnRiskService } from "../../platform/ports/churn-risk.ts";
import { SystemUnavailableError } from "../../platform/ports/operator-systems.ts";
import { type SandboxFixture, sandboxFixture } from "../testing/sandbox-fixture.ts";
import { createOfferRules, decideOffers } from "./decide.ts";
import { daysBetween, fidelityFine, loadRules, wholeMonthsBetween } from "./engine.ts";
import { gatherOfferFacts } from "./facts.ts";

/**
 * Facts and recorded decisions against the operator sandbox seeded from a synthetic delivery.
 * The churn score is a stand-in with a chosen band per customer (the in-process churn service has
 * its own tests in mlops/serving/churn-risk.test.ts): these tests are about the rules' side.
 */
class BandChurn implements ChurnRiskService {
  readonly bands = new Map<string, ChurnRisk["band"]>();
  failing = false;
  async risk(customerId: string): Promise<ChurnRisk | null> {
    if (this.failing) throw new Error("churn model not loaded");
    const band = this.bands.get(customerId) ?? "high";
    return {
      customer_id: customerId,
      probability: band === "high" ? 0.8 : band === "medium" ? 0.4 : 0.1,
      band,
      reasons: [{ feature: "fidelity_months_left", label: "fidelidade termina em 1 mês", contribution: 0.5 }],
      model_name: "churn",
      model_version: "7",
      data_version: "ds-test",
      as_of: "2026-01-01",
    };
  }
}

const rules = loadRules();

describe("offer facts and decisions on the operator sandbox", () => {
  let sb: SandboxFixture;
  const churn = new BandChurn();

  beforeAll(async () => {
    sb = await sandboxFixture();
  }, 120_000);
  afterAll(async () => {
    await sb?.cleanup();
  });

  const deps = () => ({ systems: sb.systems, churn, rules });
  const pick = (scenario: keyof SandboxFixture["scenarios"]["customers"], n = 0) => {
    const id = sb.scenarios.customers[scenario][n];
    expect(id, `a ${scenario} customer in the sandbox`).toBeDefined();
    return id as string;
  };

  it("gathers the facts from the systems: tenure, ARPU, debt, fidelity fine, churn", async () => {
    const id = pick("overdue_invoice");
    const facts = await gatherOfferFacts(id, deps());
    expect(facts.business_date).toBe(sb.businessDate);
    expect(facts.catalog_version).toBe((await sb.systems.offers.catalog()).version);
    const [contracts, invoices] = await Promise.all([
      sb.systems.crm.listContracts(id),
      sb.systems.billing.listInvoices(id),
    ]);
    const active = contracts.filter((c) => c.status === "active");
    const since = active.map((c) => c.start_date).sort()[0];
    expect(facts.customer.tenure_months).toBe(wholeMonthsBetween(since, sb.businessDate));
    // ARPU: the 3 latest invoiced months, all contracts, averaged.
    const months = [...new Set(invoices.map((i) => i.reference_month.slice(0, 7)))]
      .sort()
      .reverse()
      .slice(0, 3);
    const sum = invoices
      .filter((i) => months.includes(i.reference_month.slice(0, 7)) && i.status !== "cancelled")
      .reduce((s, i) => s + i.amount_brl, 0);
    expect(facts.customer.arpu_3m_brl).toBeCloseTo(sum / months.length, 2);
    // Overdue debt counted from the oldest unpaid due date.
    const unpaid = invoices.filter(
      (i) => ["open", "overdue"].includes(i.status) && i.due_date < sb.businessDate,
    );
    expect(unpaid.length).toBeGreaterThan(0);
    const oldest = unpaid.map((i) => i.due_date).sort()[0];
    expect(facts.debt).toMatchObject({
      overdue_invoices: unpaid.length,
      oldest_due_date: oldest,
      max_days_overdue: daysBetween(oldest, sb.businessDate),
    });
    expect(facts.churn).toMatchObject({ band: "high", model_version: "7" });

    const fid = pick("fidelity_active");
    const ff = await gatherOfferFacts(fid, deps());
    const contract = (await sb.systems.crm.listContracts(fid)).find(
      (c) => c.status === "active" && c.fidelity_end_date && c.fidelity_end_date > sb.businessDate,
    );
    const fc = ff.contracts.find((c) => c.contract_id === contract?.contract_id);
    const expected = fidelityFine(contract as NonNullable<typeof contract>, sb.businessDate, { rules });
    expect(fc?.fidelity_fine_brl).toBe(expected.fine_brl);
    expect(fc?.fidelity_months_remaining).toBe(expected.months_remaining);
  });

  it("sees the speed-test shortfall of a slow fibra line and allows the upgrade below 1 Giga", async () => {
    const ids = sb.scenarios.customers.slow_speed;
    let checked = 0;
    for (const id of ids.slice(0, 10)) {
      const facts = await gatherOfferFacts(id, deps());
      const c = facts.contracts.find((x) => x.status === "active" && x.speed_mbps !== null);
      if (!c) continue;
      expect(c.speed_worst_month_ratio).not.toBeNull();
      expect(c.speed_worst_month_ratio ?? 1).toBeLessThan(0.8);
      const decision = await decideOffers(id, deps(), { sessionId: null });
      const upgrade = decision.allowed.find((a) => a.offer_id === "RET-UPGRADE");
      if ((c.speed_mbps ?? 0) < 1000) expect(upgrade?.terms).toMatchObject({ contract_id: c.contract_id });
      else expect(upgrade).toBeUndefined();
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("records the decision with inputs, rules version, churn model version and result, once per same facts", async () => {
    const id = pick("mobile_postpaid");
    churn.bands.set(id, "medium");
    const d = await decideOffers(id, deps(), { sessionId: "S-record" });
    expect(d.rules_version).toBe(rules.version);
    expect(d.churn_model_version).toBe("churn@7");
    expect(d.allowed.map((a) => a.offer_id)).toEqual(d.evaluation.allowed.map((a) => a.offer_id));
    expect(d.allowed.map((a) => a.offer_id)).toContain("RET-BONUS-GB");
    expect(d.rejected.find((r) => r.offer_id === "RET-DESC20")?.reasons[0]).toMatch(
      /^risk_high: churn\.band = medium/,
    );
    const stored = await sb.systems.offers.getDecision(d.decision_id);
    expect(stored).toMatchObject({
      customer_id: id,
      session_id: "S-record",
      rules_version: rules.version,
      churn_model_version: "churn@7",
    });
    expect(stored?.inputs).toMatchObject({ customer_id: id, churn: { band: "medium" } });
    expect(stored?.allowed.find((a) => a.offer_id === "RET-BONUS-GB")).toMatchObject({
      rule_id: "retention.bonus_gb.v1",
      terms: { extra_data_gb: 10, rules_version: rules.version },
    });
    const again = await decideOffers(id, deps(), { sessionId: "S-record" });
    expect(again.decision_id).toBe(d.decision_id);
    const all = await sb.systems.offers.listDecisions(id);
    expect(all.filter((x) => x.session_id === "S-record")).toHaveLength(1);
  });

  it("does not stack: after an offer is applied, nothing more for that contract", async () => {
    const id = pick("mobile_postpaid", 1);
    churn.bands.set(id, "high");
    const offers = createOfferRules(deps());
    const first = await offers.decideOffers(id, { sessionId: "S-stack" });
    const pickOffer = first.allowed[0];
    expect(pickOffer).toBeDefined();
    const contractId = String(pickOffer.terms.contract_id);
    const consent = await sb.systems.crm.recordConsent(
      { customer_id: id, session_id: "S-stack", action: "apply_offer", subject: pickOffer.offer_id },
      { idempotencyKey: `consent-${id}` },
    );
    await sb.systems.offers.applyOffer(
      {
        customer_id: id,
        contract_id: contractId,
        offer_id: pickOffer.offer_id,
        decision_id: first.decision_id,
        consent_id: consent.consent_id,
      },
      { idempotencyKey: `apply-${id}` },
    );
    const after = await offers.decideOffers(id, { sessionId: "S-stack-2" });
    const fact = (
      after.inputs as { contracts: { contract_id: string; active_retention_offer: unknown }[] }
    ).contracts.find((c) => c.contract_id === contractId);
    expect(fact?.active_retention_offer).toMatchObject({ offer_id: pickOffer.offer_id });
    const forContract = after.allowed.filter((a) => a.terms.contract_id === contractId);
    expect(forContract).toEqual([]);
    for (const r of after.rejected) expect(r.reasons.some((x) => x.includes("no_stacking"))).toBe(true);
  });

  it("presents an offer once per contact (offers made in the session's interactions)", async () => {
    const id = pick("mobile_postpaid", 2);
    churn.bands.set(id, "medium");
    await sb.systems.crm.recordInteraction(
      {
        customer_id: id,
        channel: "chat",
        category: "retention",
        summary: "offered 10% discount, customer thinking",
        sentiment: "neutral",
        outcome: "unresolved",
        offers_made: ["RET-DESC10"],
        offer_accepted: null,
        session_id: "S-once",
      },
      { idempotencyKey: `interaction-${id}` },
    );
    const same = await decideOffers(id, deps(), { sessionId: "S-once" });
    expect(same.allowed.map((a) => a.offer_id)).not.toContain("RET-DESC10");
    expect(same.rejected.find((r) => r.offer_id === "RET-DESC10")?.reasons[0]).toMatch(
      /^offer_once_per_contact/,
    );
    const other = await decideOffers(id, deps(), { sessionId: "S-other" });
    expect(other.allowed.map((a) => a.offer_id)).toContain("RET-DESC10");
    const told = await decideOffers(id, deps(), { sessionId: "S-other", presentedOffers: ["RET-BONUS-GB"] });
    expect(told.allowed.map((a) => a.offer_id)).not.toContain("RET-BONUS-GB");
  });

  it("without a churn score, decides only the offers that need none", async () => {
    const id = pick("mobile_postpaid", 3);
    churn.failing = true;
    try {
      const d = await decideOffers(id, deps(), { sessionId: "S-nochurn" });
      expect(d.churn_model_version).toBeNull();
      expect((d.inputs as { churn_error: string }).churn_error).toContain("churn model not loaded");
      expect(d.allowed.map((a) => a.offer_id)).toEqual(["RET-BONUS-GB"]);
      expect(d.rejected.find((r) => r.offer_id === "RET-DESC10")?.reasons.join(" ")).toContain(
        "churn.band is unknown",
      );
    } finally {
      churn.failing = false;
    }
  });

  it("refuses an unknown customer and records nothing when a system is down", async () => {
    await expect(decideOffers("AUR-99999999", deps(), { sessionId: null })).rejects.toMatchObject({
      code: "not_found",
    });
    const id = pick("healthy_internet");
    const before = (await sb.systems.offers.listDecisions(id)).length;
    const systems = await sb.http.connect({ retries: 0, breakerFailures: 100 });
    sb.http.setFault("billing", { down: true });
    try {
      await expect(
        decideOffers(id, { systems, churn, rules }, { sessionId: "S-down" }),
      ).rejects.toBeInstanceOf(SystemUnavailableError);
    } finally {
      sb.http.clearFaults();
    }
    expect(await sb.systems.offers.listDecisions(id)).toHaveLength(before);
    // Over HTTP, once billing is back, the same decision as in-process.
    const viaHttp = await decideOffers(id, { systems, churn, rules }, { sessionId: "S-http" });
    const inProcess = await gatherOfferFacts(id, deps(), { sessionId: "S-http" });
    expect(viaHttp.inputs).toEqual(JSON.parse(JSON.stringify(inProcess)));
  });
});
