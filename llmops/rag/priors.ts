/**
 * Document priors from the dialogue's intent: the understanding layer classifies a message before
 * the knowledge base is searched, and its top intent says which kinds of documents are likely to
 * answer (an internet problem → fibre manuals and the diagnosis procedure; a question about fines
 * or the bill → FAQ and policies rather than device manuals). Priors are on document metadata only
 * (`type`, `product`), never on document ids, so they hold for any knowledge base with those fields.
 * Values are in [−1, 1]; the reranker multiplies them by `rag.retrieval.intentWeight`.
 */
interface IntentPrior {
  type?: Partial<Record<string, number>>;
  product?: Partial<Record<string, number>>;
}

const BILLING: IntentPrior = {
  type: { faq: 0.5, policy: 0.25, regulation: 0.25, manual: -1 },
  product: { all: 0.5, fibra: -0.5, mobile: -0.5, tv: -0.5 },
};
const INTERNET: IntentPrior = {
  type: { manual: 0.5, policy: 0.25, catalog: -0.5 },
  product: { fibra: 1, mobile: -1, tv: -0.5 },
};
const MOBILE: IntentPrior = {
  type: { manual: 0.25, faq: 0.25, catalog: -0.25 },
  product: { mobile: 1, fibra: -1, tv: -1 },
};
const TV: IntentPrior = { product: { tv: 1, fibra: -0.25, mobile: -1 } };
const CANCEL: IntentPrior = {
  type: { faq: 0.5, regulation: 0.5, policy: 0.25, manual: -1 },
  product: { all: 0.5 },
};
const PLANS: IntentPrior = { type: { catalog: 1, faq: 0.5, policy: 0.25, manual: -1 } };
const KNOWLEDGE: IntentPrior = { type: { faq: 0.5, policy: 0.25, regulation: 0.25, catalog: 0.25 } };
const SUPPORT: IntentPrior = {
  type: { policy: 0.5, regulation: 0.5, faq: 0.25, manual: -1 },
  product: { all: 0.5 },
};

/**
 * Intent names → priors. The flow names of llmops/conversation/commands.ts and the usual intent names of a
 * support classifier (with aliases) are accepted; an unknown intent has no prior.
 */
const INTENT_PRIORS: Record<string, IntentPrior> = {
  internet_problem: INTERNET,
  internet_diagnosis: INTERNET,
  no_internet: INTERNET,
  slow_internet: INTERNET,
  wifi_problem: INTERNET,
  technician_visit: INTERNET,
  mobile_problem: MOBILE,
  no_signal: MOBILE,
  mobile_data: MOBILE,
  roaming: MOBILE,
  portability: MOBILE,
  lost_or_stolen: MOBILE,
  tv_problem: TV,
  invoice_explanation: BILLING,
  invoice_question: BILLING,
  invoice_copy: BILLING,
  billing: BILLING,
  payment: BILLING,
  late_payment: BILLING,
  billing_dispute: BILLING,
  cancellation: CANCEL,
  cancel: CANCEL,
  retention: CANCEL,
  plan_recommendation: PLANS,
  plan_change: PLANS,
  plan_info: PLANS,
  upgrade: PLANS,
  knowledge_question: KNOWLEDGE,
  faq: KNOWLEDGE,
  policy_question: KNOWLEDGE,
  human_handoff: SUPPORT,
  complaint: SUPPORT,
  privacy: SUPPORT,
};

/** Intent names that have a prior (for docs and validation messages). */
export const KNOWN_INTENTS: readonly string[] = Object.keys(INTENT_PRIORS);

/** Normalises "Internet-Problem", "internet problem" → "internet_problem". */
export function normaliseIntent(intent: string): string {
  return intent
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
}

/** Whether an intent has a prior (unknown intents are accepted and ignored). */
export function hasIntentPrior(intent: string): boolean {
  return Object.hasOwn(INTENT_PRIORS, normaliseIntent(intent));
}

/** Prior of a chunk of this type and product under the intent, clamped to [−1, 1]; 0 when unknown. */
export function intentPrior(intent: string | undefined, type: string, product: string): number {
  return intentPriorFor(intent)(type, product);
}

/** The prior function of one intent, resolved once per query (unknown or no intent: always 0). */
export function intentPriorFor(intent: string | undefined): (type: string, product: string) => number {
  const key = intent ? normaliseIntent(intent) : "";
  if (!key || !Object.hasOwn(INTENT_PRIORS, key)) return () => 0;
  const p = INTENT_PRIORS[key];
  return (type, product) => Math.max(-1, Math.min(1, (p.type?.[type] ?? 0) + (p.product?.[product] ?? 0)));
}
