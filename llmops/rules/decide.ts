import { createHash } from "node:crypto";
import type { OfferDecisionRecord } from "../../platform/ports/offers.ts";
import { cancellationPolicy, evaluateOffers, fidelityFine, loadRules } from "./engine.ts";
import { gatherOfferFacts, type OfferFactsDeps } from "./facts.ts";
import type { CancellationPolicy } from "./schema.ts";
import type { FidelityFine, FineContract, OfferEvaluation, RuleSet } from "./types.ts";

export type DecideDeps = OfferFactsDeps;

export interface DecideOptions {
  /** The assistant session (contact) the decision belongs to; null for the CLI. */
  sessionId: string | null;
  /** Offers already presented in this contact (presented once per contact). */
  presentedOffers?: readonly string[];
  /** Defaults to a hash of customer, session, rules version and facts: the same decision is recorded once. */
  idempotencyKey?: string;
}

/** The recorded decision (offers system) with the full explanation of every offer. */
export type OfferDecision = OfferDecisionRecord & { evaluation: OfferEvaluation };

/**
 * Decides a customer's retention offers now: gathers the facts through the ports, evaluates the
 * rules, and records the decision (inputs, rules version, churn model version, allowed offers with
 * the rule that allowed each and their terms, rejected offers with every reason) through
 * `systems.offers.recordDecision`. `apply_offer` later refers to the returned `decision_id`.
 */
export async function decideOffers(
  customerId: string,
  deps: DecideDeps,
  opts: DecideOptions,
): Promise<OfferDecision> {
  const rules = deps.rules ?? loadRules();
  const facts = await gatherOfferFacts(
    customerId,
    { ...deps, rules },
    { sessionId: opts.sessionId, presentedOffers: opts.presentedOffers },
  );
  const evaluation = evaluateOffers(rules, facts);
  const decision: Omit<OfferDecisionRecord, "decision_id" | "created_at"> = {
    customer_id: customerId,
    session_id: opts.sessionId,
    rules_version: rules.version,
    churn_model_version: evaluation.churn_model_version,
    inputs: facts as unknown as Record<string, unknown>,
    allowed: evaluation.allowed.map((a) => ({
      offer_id: a.offer_id,
      rule_id: a.rule_id,
      terms: { ...a.terms, rules_version: a.rules_version },
    })),
    rejected: evaluation.rejected.map((r) => ({ offer_id: r.offer_id, reasons: r.reasons })),
  };
  const key =
    opts.idempotencyKey ??
    `offers-decision:${createHash("sha256").update(JSON.stringify(decision)).digest("hex").slice(0, 32)}`;
  const record = await deps.systems.offers.recordDecision(decision, { idempotencyKey: key });
  return { ...record, evaluation };
}

/** The rules engine bound to its dependencies, as the tools and the dialogue use it. */
export interface OfferRulesService {
  readonly rules: RuleSet;
  decideOffers(customerId: string, opts: DecideOptions): Promise<OfferDecision>;
  fidelityFine(contract: FineContract, businessDate: string, opts?: { exemption?: string }): FidelityFine;
  cancellationPolicy(): CancellationPolicy;
}

/** Binds the rules (loaded once, default data/rules) to the systems and the churn service. */
export function createOfferRules(deps: DecideDeps): OfferRulesService {
  const rules = deps.rules ?? loadRules();
  const bound = { ...deps, rules };
  return {
    rules,
    decideOffers: (customerId, opts) => decideOffers(customerId, bound, opts),
    fidelityFine: (contract, businessDate, opts = {}) =>
      fidelityFine(contract, businessDate, { ...opts, rules }),
    cancellationPolicy: () => cancellationPolicy(rules),
  };
}
