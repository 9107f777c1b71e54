import { z } from "zod";
import type { ChurnRiskService } from "../../platform/ports/churn-risk.ts";
import type { Contract } from "../../platform/ports/crm.ts";
import type { OfferDecisionRecord } from "../../platform/ports/offers.ts";
import type { OperatorSystems } from "../../platform/ports/operator-systems.ts";
import { languageSchema } from "../conversation/commands.ts";
import type { KnowledgeSearch } from "./knowledge.ts";

/**
 * What the toolbox (toolbox.ts), the shared machinery (core.ts) and the rules binding (rules.ts) all
 * name: the tool names, the toolbox's dependencies and the session state. It imports none of them, so
 * the tools folder has no import cycle; toolbox.ts re-exports every name for its importers.
 */

export const TOOL_NAMES = [
  "get_customer_profile",
  "explain_invoice",
  "issue_invoice_copy",
  "diagnose_internet",
  "schedule_technician",
  "get_churn_risk",
  "get_eligible_offers",
  "apply_offer",
  "recommend_plan",
  "change_plan",
  "search_knowledge_base",
  "register_interaction",
  "escalate_to_human",
] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** Tools that change something in the operator's systems and so need a consent of this session. */
export const CONSENT_ACTIONS = ["apply_offer", "change_plan", "schedule_technician"] as const;
export type ConsentAction = (typeof CONSENT_ACTIONS)[number];

/**
 * The offers rules engine as the tools use it: decisions and the proportional fine. Default: the
 * engine of llmops/rules over data/rules (`offerRulesFromEngine`); tests may pass their own.
 */
export interface OfferRules {
  /** Decides the offers allowed now for this customer and records the decision (offers system). */
  decideOffers(customerId: string, opts: { sessionId: string }): Promise<OfferDecisionRecord>;
  /** The proportional fidelity fine of one contract on the business date (Anatel RGC). */
  fidelityFine(contract: Contract, businessDate: string): { months_remaining: number; fine_brl: number };
}

export interface ToolAuditEvent {
  /** refused: a check of the tool layer said no; authenticated / auth_failed / consent_recorded; write. */
  kind: "refused" | "authenticated" | "auth_failed" | "login_code_issued" | "consent_recorded" | "write";
  session_id: string;
  /** The session's customer when the event happened (null before authentication). */
  customer_id: string | null;
  tool?: string;
  code?: string;
  /** The customer id a refused call asked for. */
  requested_customer_id?: string;
  detail?: Record<string, unknown>;
  at: string;
}

export interface ToolDeps {
  systems: OperatorSystems;
  churn: ChurnRiskService;
  knowledge: KnowledgeSearch;
  /** The offers rules engine; defaults to llmops/rules over data/rules. */
  rules?: OfferRules;
  /** Receives every refusal (forbidden, unauthenticated, consent_required…), login and write. */
  audit?: (event: ToolAuditEvent) => void;
}

export const sessionConsentSchema = z.object({
  consent_id: z.string(),
  customer_id: z.string(),
  action: z.enum(CONSENT_ACTIONS),
  subject: z.string(),
  given_at: z.string(),
});
export type SessionConsent = z.infer<typeof sessionConsentSchema>;

export const sessionOfferDecisionSchema = z.object({
  decision_id: z.string(),
  customer_id: z.string(),
  /** Offer ids the decision allowed: the only ones apply_offer accepts for it. */
  offer_ids: z.array(z.string()),
  rules_version: z.string(),
  created_at: z.string(),
});
export type SessionOfferDecision = z.infer<typeof sessionOfferDecisionSchema>;

const channelSchema = z.enum(["chat", "whatsapp", "api", "cli", "phone", "store"]);

/**
 * Plain JSON state of one conversation as the tools see it. The dialogue persists it between turns
 * and passes it back to `createToolbox`; the toolbox mutates it in place (`toolbox.session`).
 */
export const toolSessionSchema = z.object({
  session_id: z.string().min(1),
  channel: channelSchema,
  language: languageSchema,
  /** null until identity is verified through `authenticate()`. */
  customer_id: z.string().nullable(),
  /** A one-time code was sent to this customer in this session (not yet verified). */
  pending_login: z.object({ customer_id: z.string(), expires_at: z.string() }).nullable(),
  /** Failed identity checks in this session (5 lock the session's authentication). */
  auth_failures: z.number().int().min(0),
  consents: z.array(sessionConsentSchema),
  offer_decisions: z.array(sessionOfferDecisionSchema),
  /** Technician slot ids schedule_technician offered in this session (the only ones it books). */
  offered_slots: z.array(z.string()),
  /** `tool:subject` → successful writes so far, for writes that may repeat (see ToolContext.repeatableKey). */
  idempotency: z.record(z.string(), z.number().int().min(0)),
});
export type ToolSession = z.infer<typeof toolSessionSchema>;
