import type { WriteOptions } from "./write-options.ts";

/**
 * Offers port: the catalog (data/sample/operator-catalog.json is its single source of truth),
 * recorded eligibility decisions, applied retention offers and plan changes. Which offers a
 * customer may get is decided by the rules engine (llmops/rules); this system records each
 * decision and refuses to apply an offer that no recorded decision allowed.
 */
export interface CatalogPlan {
  plan_id: string;
  name: string;
  product: string;
  monthly_price_brl: number;
  data_gb: number | null;
  speed_mbps: number | null;
  fidelity_months: number;
  fidelity_benefit_brl: number;
}

export interface CatalogRetentionOffer {
  offer_id: string;
  description: string;
  max_discount_pct: number;
  months: number;
  approval: "agent" | "supervisor";
  eligibility: string;
}

export interface Catalog {
  /** Content hash of the catalog file. */
  version: string;
  effective_date: string;
  plans: CatalogPlan[];
  retention_offers: CatalogRetentionOffer[];
}

export interface OfferDecisionRecord {
  decision_id: string;
  customer_id: string;
  session_id: string | null;
  rules_version: string;
  churn_model_version: string | null;
  /** The facts the rules saw (tenure, plan, debts, fidelity, usage, churn band and reasons, …). */
  inputs: Record<string, unknown>;
  /** Offers allowed, each with the rule that allowed it. */
  allowed: { offer_id: string; rule_id: string; terms: Record<string, unknown> }[];
  /** Offers not allowed, each with the reasons. */
  rejected: { offer_id: string; reasons: string[] }[];
  created_at: string;
}

export interface AppliedOffer {
  application_id: string;
  customer_id: string;
  contract_id: string;
  offer_id: string;
  decision_id: string;
  consent_id: string;
  /** pending_approval: the offer needs a supervisor (RET-DESC30) and is not active yet. */
  status: "applied" | "pending_approval";
  applied_at: string;
  ends_at: string;
}

export interface PlanChange {
  change_id: string;
  customer_id: string;
  contract_id: string;
  from_plan_id: string;
  to_plan_id: string;
  consent_id: string;
  old_price_brl: number;
  new_price_brl: number;
  effective_at: string;
}

export interface OffersSystem {
  catalog(): Promise<Catalog>;
  recordDecision(
    decision: Omit<OfferDecisionRecord, "decision_id" | "created_at">,
    opts: WriteOptions,
  ): Promise<OfferDecisionRecord>;
  getDecision(decisionId: string): Promise<OfferDecisionRecord | null>;
  /** Newest first. */
  listDecisions(customerId: string): Promise<OfferDecisionRecord[]>;
  /** Refused (SystemRejectedError 409/422) unless `decision_id` is this customer's and allowed `offer_id`. */
  applyOffer(
    input: {
      customer_id: string;
      contract_id: string;
      offer_id: string;
      decision_id: string;
      consent_id: string;
    },
    opts: WriteOptions,
  ): Promise<AppliedOffer>;
  listAppliedOffers(customerId: string): Promise<AppliedOffer[]>;
  changePlan(
    input: { customer_id: string; contract_id: string; to_plan_id: string; consent_id: string },
    opts: WriteOptions,
  ): Promise<PlanChange>;
  listPlanChanges(customerId: string): Promise<PlanChange[]>;
}
