import type { ChurnRiskReason } from "../../platform/ports/churn-risk.ts";
import type { Contract } from "../../platform/ports/crm.ts";
import type {
  CancellationPolicy,
  FidelityRules,
  OfferKind,
  Operator,
  RetentionRules,
  Scalar,
} from "./schema.ts";

/**
 * Types shared by the rules engine (engine.ts), the facts it reads (facts.ts), the recorded
 * decisions (decide.ts) and the tools. Field names are snake_case: these objects are recorded
 * (offers system) and returned as JSON as they are.
 */

/** The loaded rule files with their version. */
export interface RuleSet {
  /** `<declared version of retention-offers.yaml>+<first 12 hex of the sha256 of every rule file>`. */
  version: string;
  declared_version: string;
  content_hash: string;
  /** Absolute paths of the files read. */
  files: string[];
  retention: RetentionRules;
  fidelity: FidelityRules;
}

/** What the churn model says about the customer (from ChurnRiskService). */
export interface ChurnFacts {
  band: "low" | "medium" | "high";
  probability: number;
  reasons: ChurnRiskReason[];
  model_name: string;
  model_version: string;
  data_version: string | null;
  as_of: string;
}

/** One retention offer applied to a contract (offers system), as the no-stacking rules see it. */
export interface AppliedOfferFact {
  offer_id: string;
  status: string;
  applied_at: string;
  ends_at: string;
}

export interface SpeedMonth {
  /** yyyy-mm */
  month: string;
  tests: number;
  avg_download_mbps: number;
  contracted_mbps: number;
  /** Mean of download ÷ contracted over the month's tests. */
  ratio: number;
}

/** Facts about one contract of the customer. */
export interface ContractFacts {
  contract_id: string;
  status: Contract["status"];
  plan_id: string;
  plan_name: string | null;
  product: string;
  monthly_price_brl: number;
  /** From the catalog: contracted fibra speed (null for mobile/TV plans). */
  speed_mbps: number | null;
  /** From the catalog: mobile data allowance (null for fibra/TV plans). */
  data_gb: number | null;
  start_date: string;
  fidelity_months: number;
  fidelity_end_date: string | null;
  /** The full fidelity benefit (Contract.fidelity_fine_brl). */
  fidelity_benefit_brl: number;
  fidelity_months_remaining: number;
  /** The proportional fine if cancelled on the business date (fidelityFine). */
  fidelity_fine_brl: number;
  has_active_retention_offer: boolean;
  active_retention_offer: AppliedOfferFact | null;
  last_offer_ended_at: string | null;
  days_since_last_offer_ended: number | null;
  /** Speed tests in the network lookback window (fibra/combo contracts; 0 otherwise). */
  speed_tests: number;
  speed_monthly: SpeedMonth[];
  /** Lowest monthly ratio in the window; null without speed tests. */
  speed_worst_month_ratio: number | null;
  /** Outages in the customer's city or state hitting this contract's product, in the window. */
  outages_90d: number;
  outage_ids: string[];
}

/** Everything the rules read about one customer on one business date. */
export interface OfferFacts {
  customer_id: string;
  /** The operator's business date (yyyy-mm-dd) the facts describe. */
  business_date: string;
  /** Version (content hash) of the offers system's catalog the plans were read from. */
  catalog_version: string | null;
  customer: {
    status: "active" | "cancelled";
    /** At least one contract with status active (policy-elegibilidade §1). */
    active: boolean;
    segment: string;
    uf: string;
    city: string;
    signup_date: string;
    /** Start of the oldest active contract (signup date when none is active). */
    tenure_since: string;
    /** Whole months since tenure_since (policy-elegibilidade §1). */
    tenure_months: number;
    /** Mean monthly invoiced revenue over the last `arpu_months` months, all contracts; null if unknown. */
    arpu_3m_brl: number | null;
    arpu_source: "invoices" | "contract_prices" | null;
    arpu_months: string[];
  };
  debt: {
    /** Days since the oldest unpaid due date (0 without overdue debt). */
    max_days_overdue: number;
    overdue_invoices: number;
    open_amount_brl: number;
    oldest_due_date: string | null;
  };
  usage: {
    months: string[];
    avg_data_gb: number | null;
    avg_voice_minutes: number | null;
    avg_sms: number | null;
    avg_roaming_mb: number | null;
  };
  contracts: ContractFacts[];
  contact: {
    session_id: string | null;
    /** Offers already presented in this contact (they are presented once per contact). */
    offers_presented: string[];
  };
  /** null when the churn service had no score (the reason in churn_error). */
  churn: ChurnFacts | null;
  churn_error: string | null;
}

/** The result of one clause on one contract. */
export interface ClauseCheck {
  id: string;
  /** guard: a limit every offer passes (no stacking, cooldown, …); offer: the offer's own eligibility. */
  scope: "guard" | "offer";
  text: string;
  fact: string | null;
  op: Operator | "any_of";
  expected: Scalar | Scalar[] | null;
  /** The fact's value (undefined facts are reported as null). */
  actual: unknown;
  passed: boolean;
  /** The fact was unknown (null/absent); `passed` then follows the clause's `missing`. */
  missing: boolean;
  source: string | null;
  any_of?: ClauseCheck[];
}

/** The terms of an allowed offer for one contract. */
export interface OfferTerms {
  offer_id: string;
  kind: OfferKind;
  contract_id: string;
  plan_id: string;
  discount_pct: number;
  months: number;
  approval: "agent" | "supervisor";
  requires_supervisor_approval: boolean;
  /** false: tell the price only after the supervisor approved (RET-DESC30). */
  disclose_price_before_approval: boolean;
  monthly_price_brl: number;
  resulting_monthly_price_brl: number;
  monthly_saving_brl: number;
  /** Retention offers never start a new loyalty period (policy §1.2). */
  new_fidelity: boolean;
  from_speed_mbps?: number;
  to_speed_mbps?: number;
  extra_data_gb?: number;
  data_gb?: number;
  resulting_data_gb?: number;
}

export interface AllowedOffer {
  offer_id: string;
  rule_id: string;
  rules_version: string;
  contract_id: string;
  terms: OfferTerms;
}

export interface RejectedOffer {
  offer_id: string;
  rule_id: string;
  /** Every failed clause, e.g. "tenure_12_months: customer.tenure_months = 8, needs ≥ 12 (tenure of at least 12 months)". */
  reasons: string[];
}

/** Why one offer was or was not allowed: the clauses of every contract considered. */
export interface OfferExplanation {
  offer_id: string;
  rule_id: string;
  kind: OfferKind;
  source: string;
  allowed: boolean;
  /** The contract the offer is for (allowed), or null. */
  contract_id: string | null;
  contracts: { contract_id: string; allowed: boolean; checks: ClauseCheck[] }[];
  reasons: string[];
}

export interface OfferEvaluation {
  customer_id: string;
  business_date: string;
  rules_version: string;
  /** `<model name>@<version>` of the churn score the rules used, or null. */
  churn_model_version: string | null;
  allowed: AllowedOffer[];
  rejected: RejectedOffer[];
  /** One per rule-file offer, in the file's order. */
  offers: OfferExplanation[];
  /** false: the allowed offers are alternatives; one of them is applied (policy §4). */
  combinable: boolean;
  cancellation: CancellationPolicy;
}

/** The contract fields the fine needs. */
export type FineContract = Pick<
  Contract,
  "contract_id" | "fidelity_months" | "fidelity_end_date" | "fidelity_fine_brl"
>;

export interface FidelityFine {
  contract_id: string;
  in_fidelity: boolean;
  fidelity_end_date: string | null;
  fidelity_months: number;
  benefit_brl: number;
  months_remaining: number;
  fine_brl: number;
  /** e.g. "600.00 × 5 ÷ 12 = 250.00" */
  formula: string;
  exemption: { id: string; text: string; proof: string } | null;
  rules_version: string;
}
