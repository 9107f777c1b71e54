import type {
  AppliedOffer,
  Catalog,
  OfferDecisionRecord,
  OffersSystem,
  PlanChange,
} from "../ports/offers.ts";
import type { WriteOptions } from "../ports/operator-systems.ts";
import { loadSandboxCatalog, productFamily } from "./catalog.ts";
import { reject } from "./crm.ts";
import { addMonths, type SandboxStore } from "./store.ts";

const offersReject = (status: number, code: string, message: string) =>
  reject("offers", status, code, message);

interface DecisionRow {
  decision_id: string;
  customer_id: string;
  session_id: string | null;
  rules_version: string;
  churn_model_version: string | null;
  inputs: string;
  allowed: string;
  rejected: string;
  created_at: string;
}

function toDecision(r: DecisionRow): OfferDecisionRecord {
  return {
    decision_id: r.decision_id,
    customer_id: r.customer_id,
    session_id: r.session_id,
    rules_version: r.rules_version,
    churn_model_version: r.churn_model_version,
    inputs: JSON.parse(r.inputs) as OfferDecisionRecord["inputs"],
    allowed: JSON.parse(r.allowed) as OfferDecisionRecord["allowed"],
    rejected: JSON.parse(r.rejected) as OfferDecisionRecord["rejected"],
    created_at: r.created_at,
  };
}

/**
 * The sandbox offers system: the catalog file, recorded rule decisions, applied retention offers
 * and plan changes. It does not decide eligibility (the rules engine does): it refuses to apply an
 * offer no recorded decision of this customer allowed, and refuses stacking two retention offers.
 */
export class SandboxOffers implements OffersSystem {
  private readonly store: SandboxStore;
  constructor(store: SandboxStore) {
    this.store = store;
  }

  private requireCustomer(customerId: string): void {
    if (!this.store.get("select 1 as x from customers where customer_id = ?", String(customerId)))
      throw offersReject(404, "customer_not_found", `no customer ${customerId}`);
  }

  private contract(customerId: string, contractId: string) {
    const c = this.store.get<{
      contract_id: string;
      customer_id: string;
      plan_id: string;
      product: string;
      status: string;
      monthly_price_brl: number;
    }>("select * from contracts where contract_id = ?", String(contractId));
    if (!c) throw offersReject(404, "contract_not_found", `no contract ${contractId}`);
    if (c.customer_id !== customerId)
      throw offersReject(422, "contract_not_owned", `contract ${contractId} is not this customer's`);
    if (c.status !== "active")
      throw offersReject(409, "contract_not_active", `contract ${contractId} is ${c.status}`);
    return c;
  }

  private consent(customerId: string, consentId: string, action: string, subject: string): void {
    const c = this.store.get<{ customer_id: string; action: string; subject: string }>(
      "select customer_id, action, subject from consents where consent_id = ?",
      String(consentId),
    );
    if (!c || c.customer_id !== customerId || c.action !== action || c.subject !== subject)
      throw offersReject(
        422,
        "consent_required",
        `no recorded consent of ${customerId} to ${action} ${subject} (consent ${consentId})`,
      );
  }

  async catalog(): Promise<Catalog> {
    return loadSandboxCatalog().catalog;
  }

  async recordDecision(
    decision: Omit<OfferDecisionRecord, "decision_id" | "created_at">,
    opts: WriteOptions,
  ): Promise<OfferDecisionRecord> {
    return this.store.idempotent("offers", "recordDecision", opts.idempotencyKey, decision, () => {
      this.requireCustomer(decision.customer_id);
      if (!decision.rules_version)
        throw offersReject(422, "invalid_rules_version", "rules_version is required");
      const known = new Set(loadSandboxCatalog().catalog.retention_offers.map((o) => o.offer_id));
      const allowed = Array.isArray(decision.allowed) ? decision.allowed : [];
      const rejected = Array.isArray(decision.rejected) ? decision.rejected : [];
      for (const a of allowed) {
        if (!a || !known.has(a.offer_id))
          throw offersReject(422, "unknown_offer", `allowed offer ${a?.offer_id} is not in the catalog`);
        if (!a.rule_id)
          throw offersReject(422, "invalid_rule_id", `allowed offer ${a.offer_id} has no rule_id`);
      }
      const d: OfferDecisionRecord = {
        decision_id: `DEC-${String(this.store.nextSeq("decision")).padStart(9, "0")}`,
        customer_id: decision.customer_id,
        session_id: decision.session_id ?? null,
        rules_version: String(decision.rules_version),
        churn_model_version: decision.churn_model_version ?? null,
        inputs: decision.inputs ?? {},
        allowed: allowed.map((a) => ({ offer_id: a.offer_id, rule_id: a.rule_id, terms: a.terms ?? {} })),
        rejected: rejected.map((r) => ({
          offer_id: String(r.offer_id),
          reasons: (r.reasons ?? []).map(String),
        })),
        created_at: this.store.now(),
      };
      this.store.run(
        "insert into decisions values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        d.decision_id,
        d.customer_id,
        d.session_id,
        d.rules_version,
        d.churn_model_version,
        JSON.stringify(d.inputs),
        JSON.stringify(d.allowed),
        JSON.stringify(d.rejected),
        d.created_at,
      );
      return d;
    });
  }

  async getDecision(decisionId: string): Promise<OfferDecisionRecord | null> {
    const r = this.store.get<DecisionRow>(
      "select * from decisions where decision_id = ?",
      String(decisionId),
    );
    return r ? toDecision(r) : null;
  }

  async listDecisions(customerId: string): Promise<OfferDecisionRecord[]> {
    this.requireCustomer(customerId);
    return this.store
      .all<DecisionRow>(
        "select * from decisions where customer_id = ? order by created_at desc, decision_id desc limit 200",
        customerId,
      )
      .map(toDecision);
  }

  async applyOffer(
    input: {
      customer_id: string;
      contract_id: string;
      offer_id: string;
      decision_id: string;
      consent_id: string;
    },
    opts: WriteOptions,
  ): Promise<AppliedOffer> {
    return this.store.idempotent("offers", "applyOffer", opts.idempotencyKey, input, () => {
      this.requireCustomer(input.customer_id);
      const offer = loadSandboxCatalog().catalog.retention_offers.find((o) => o.offer_id === input.offer_id);
      if (!offer)
        throw offersReject(404, "offer_not_found", `no retention offer ${input.offer_id} in the catalog`);
      this.contract(input.customer_id, input.contract_id);
      const d = this.store.get<DecisionRow>(
        "select * from decisions where decision_id = ?",
        String(input.decision_id),
      );
      if (!d) throw offersReject(404, "decision_not_found", `no decision ${input.decision_id}`);
      if (d.customer_id !== input.customer_id)
        throw offersReject(
          409,
          "decision_not_for_customer",
          `decision ${input.decision_id} is not this customer's`,
        );
      const allowed = (JSON.parse(d.allowed) as OfferDecisionRecord["allowed"]).find(
        (a) => a.offer_id === input.offer_id,
      );
      if (!allowed)
        throw offersReject(
          422,
          "offer_not_allowed",
          `decision ${input.decision_id} did not allow ${input.offer_id}`,
        );
      // The rules decide the contract an offer applies to (terms.contract_id): not another one.
      const decidedContract = allowed.terms?.contract_id;
      if (typeof decidedContract === "string" && decidedContract !== input.contract_id)
        throw offersReject(
          422,
          "offer_not_allowed",
          `decision ${input.decision_id} allowed ${input.offer_id} on contract ${decidedContract}, not ${input.contract_id}`,
        );
      this.consent(input.customer_id, input.consent_id, "apply_offer", input.offer_id);
      const now = this.store.now();
      const active = this.store.get<{ application_id: string; offer_id: string }>(
        "select application_id, offer_id from applied_offers where contract_id = ? and status in ('applied', 'pending_approval') and ends_at > ?",
        input.contract_id,
        now,
      );
      if (active)
        throw offersReject(
          409,
          "offer_stacking",
          `contract ${input.contract_id} already has retention offer ${active.offer_id} (${active.application_id}); offers do not stack`,
        );
      const a: AppliedOffer = {
        application_id: `APL-${String(this.store.nextSeq("application")).padStart(9, "0")}`,
        customer_id: input.customer_id,
        contract_id: input.contract_id,
        offer_id: offer.offer_id,
        decision_id: d.decision_id,
        consent_id: input.consent_id,
        status: offer.approval === "supervisor" ? "pending_approval" : "applied",
        applied_at: now,
        ends_at: `${addMonths(this.store.businessDate(), offer.months)}T23:59:59Z`,
      };
      this.store.run(
        "insert into applied_offers values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        a.application_id,
        a.customer_id,
        a.contract_id,
        a.offer_id,
        a.decision_id,
        a.consent_id,
        a.status,
        a.applied_at,
        a.ends_at,
      );
      return a;
    });
  }

  async listAppliedOffers(customerId: string): Promise<AppliedOffer[]> {
    this.requireCustomer(customerId);
    return this.store.all<AppliedOffer>(
      "select * from applied_offers where customer_id = ? order by applied_at desc, application_id desc",
      customerId,
    );
  }

  async changePlan(
    input: { customer_id: string; contract_id: string; to_plan_id: string; consent_id: string },
    opts: WriteOptions,
  ): Promise<PlanChange> {
    return this.store.idempotent("offers", "changePlan", opts.idempotencyKey, input, () => {
      this.requireCustomer(input.customer_id);
      const c = this.contract(input.customer_id, input.contract_id);
      const plans = loadSandboxCatalog().catalog.plans;
      const to = plans.find((p) => p.plan_id === input.to_plan_id);
      if (!to) throw offersReject(404, "plan_not_found", `no plan ${input.to_plan_id} in the catalog`);
      if (to.plan_id === c.plan_id)
        throw offersReject(409, "same_plan", `contract ${c.contract_id} is already on ${to.plan_id}`);
      if (productFamily(to.product) !== productFamily(c.product))
        throw offersReject(
          422,
          "plan_family_mismatch",
          `${to.plan_id} is a ${to.product} plan; contract ${c.contract_id} is ${c.product}`,
        );
      this.consent(input.customer_id, input.consent_id, "change_plan", to.plan_id);
      const pc: PlanChange = {
        change_id: `PCH-${String(this.store.nextSeq("plan_change")).padStart(9, "0")}`,
        customer_id: input.customer_id,
        contract_id: c.contract_id,
        from_plan_id: c.plan_id,
        to_plan_id: to.plan_id,
        consent_id: input.consent_id,
        old_price_brl: c.monthly_price_brl,
        new_price_brl: to.monthly_price_brl,
        effective_at: this.store.now(),
      };
      this.store.run(
        "update contracts set plan_id = ?, product = ?, monthly_price_brl = ? where contract_id = ?",
        to.plan_id,
        to.product,
        to.monthly_price_brl,
        c.contract_id,
      );
      this.store.run(
        "insert into plan_changes values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        pc.change_id,
        pc.customer_id,
        pc.contract_id,
        pc.from_plan_id,
        pc.to_plan_id,
        pc.consent_id,
        pc.old_price_brl,
        pc.new_price_brl,
        pc.effective_at,
      );
      return pc;
    });
  }

  async listPlanChanges(customerId: string): Promise<PlanChange[]> {
    this.requireCustomer(customerId);
    return this.store.all<PlanChange>(
      "select * from plan_changes where customer_id = ? order by effective_at desc, change_id desc",
      customerId,
    );
  }
}
