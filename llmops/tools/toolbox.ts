import { type Tool, tool } from "ai";
import { z } from "zod";
import { displayPhone } from "../../platform/pii/index.ts";
import type { Interaction } from "../../platform/ports/crm.ts";
import type { languageSchema } from "../conversation/commands.ts";
import { applyOfferTool } from "./apply-offer.ts";
import { changePlanTool } from "./change-plan.ts";
import {
  emitAudit,
  firstName,
  idempotencyKey,
  type ToolboxShared,
  ToolContext,
  type ToolDefinition,
  type ToolError,
  ToolFailure,
  type ToolFailureOutput,
  toolFailureOutputSchema,
  toToolError,
} from "./core.ts";
import { diagnoseInternetTool } from "./diagnose-internet.ts";
import { escalateToHumanTool } from "./escalate-to-human.ts";
import { explainInvoiceTool } from "./explain-invoice.ts";
import { getChurnRiskTool } from "./get-churn-risk.ts";
import { getCustomerProfileTool } from "./get-customer-profile.ts";
import { getEligibleOffersTool } from "./get-eligible-offers.ts";
import { issueInvoiceCopyTool } from "./issue-invoice-copy.ts";
import { recommendPlanTool } from "./recommend-plan.ts";
import { registerInteractionTool } from "./register-interaction.ts";
import { offerRulesFromEngine } from "./rules.ts";
import { scheduleTechnicianTool } from "./schedule-technician.ts";
import { searchKnowledgeBaseTool } from "./search-knowledge-base.ts";
import {
  CONSENT_ACTIONS,
  type ConsentAction,
  type SessionConsent,
  TOOL_NAMES,
  type ToolDeps,
  type ToolName,
  type ToolSession,
  toolSessionSchema,
} from "./types.ts";

export { TOOL_ERROR_CODES, type ToolError, type ToolErrorCode, type ToolErrorSource } from "./core.ts";
export type { KnowledgeHit, KnowledgeSearch, KnowledgeSearchResponse } from "./knowledge.ts";
// The names, deps and session state core.ts and the tools share live in types.ts (below them all).
export {
  CONSENT_ACTIONS,
  type ConsentAction,
  type OfferRules,
  type SessionConsent,
  type SessionOfferDecision,
  sessionConsentSchema,
  sessionOfferDecisionSchema,
  TOOL_NAMES,
  type ToolAuditEvent,
  type ToolDeps,
  type ToolName,
  type ToolSession,
  toolSessionSchema,
} from "./types.ts";

/**
 * The assistant's hands: one tool per action, each an AI SDK `tool()` with zod input and output
 * schemas. Authorisation, consent and idempotency are enforced here, in code, for every caller (the
 * deterministic flows through `call()`, an LLM tool loop through `tools`). Tools return facts and ids.
 */
const DEFINITIONS = {
  get_customer_profile: getCustomerProfileTool,
  explain_invoice: explainInvoiceTool,
  issue_invoice_copy: issueInvoiceCopyTool,
  diagnose_internet: diagnoseInternetTool,
  schedule_technician: scheduleTechnicianTool,
  get_churn_risk: getChurnRiskTool,
  get_eligible_offers: getEligibleOffersTool,
  apply_offer: applyOfferTool,
  recommend_plan: recommendPlanTool,
  change_plan: changePlanTool,
  search_knowledge_base: searchKnowledgeBaseTool,
  register_interaction: registerInteractionTool,
  escalate_to_human: escalateToHumanTool,
} as const;

type Definitions = typeof DEFINITIONS;
/** What each tool accepts (after defaults), e.g. `ToolInputs["apply_offer"]`. */
export type ToolInputs = { [N in ToolName]: z.output<Definitions[N]["input"]> };
/** What each tool accepts from a caller (before defaults). */
export type ToolArgs = { [N in ToolName]: z.input<Definitions[N]["input"]> };
/** What each tool returns on success, e.g. `ToolOutputs["diagnose_internet"]`. */
export type ToolOutputs = { [N in ToolName]: z.output<Definitions[N]["output"]> };

/** The schemas, for callers that validate or document them (docs, tests, the LLM adapter). */
export function toolSchemas<N extends ToolName>(
  name: N,
): { description: string; input: Definitions[N]["input"]; output: Definitions[N]["output"] } {
  const d = DEFINITIONS[name];
  return { description: d.description, input: d.input, output: d.output };
}

export function newToolSession(init: {
  session_id: string;
  channel: Interaction["channel"];
  language: z.infer<typeof languageSchema>;
}): ToolSession {
  return {
    session_id: init.session_id,
    channel: init.channel,
    language: init.language,
    customer_id: null,
    pending_login: null,
    auth_failures: 0,
    consents: [],
    offer_decisions: [],
    offered_slots: [],
    idempotency: {},
  };
}

/** Validates a persisted session (bad state is rejected naming the field, never trusted). */
export function parseToolSession(value: unknown): ToolSession {
  return toolSessionSchema.parse(value);
}

/** One call as the dialogue records it; `ok: false` carries a typed error, never an exception. */
export type CallRecord<Name extends string, R> = {
  name: Name;
  args: unknown;
  /** Wall time of the call in milliseconds. */
  ms: number;
} & ({ ok: true; result: R; error?: undefined } | { ok: false; result?: undefined; error: ToolError });

export type ToolCallRecord<N extends ToolName = ToolName> = CallRecord<N, ToolOutputs[N]>;

export type AuthenticateInput = { cpf: string; birth_date: string } | { customer_id?: string; code: string };

export interface LoginCodeResult {
  /** Masked phone the code went to, e.g. "***4321". */
  sent_to: string;
  expires_at: string;
  /**
   * The code itself when the CRM returns it: the sandbox's simulated SMS. Show it only as the SMS
   * would be shown (the local chat prints it apart); never give it to a model.
   */
  simulated_sms_code: string | null;
}

export interface AuthenticateResult {
  customer_id: string;
  /** To greet the customer; the rest of the profile comes from get_customer_profile (masked). */
  first_name: string;
  method: "cpf_birth_date" | "login_code";
}

/** The tools as a `ToolSet` for an LLM tool loop; a failed call returns `{ ok: false, error }`. */
export type ToolboxTools = { [N in ToolName]: Tool<ToolInputs[N], ToolOutputs[N] | ToolFailureOutput> };

export interface Toolbox {
  /** The session, mutated in place by calls (persist it after each turn). */
  readonly session: ToolSession;
  readonly tools: ToolboxTools;
  /** The dialogue's way to call a tool: validates args, enforces the rules, never throws. */
  call<N extends ToolName>(name: N, args: ToolArgs[N]): Promise<ToolCallRecord<N>>;
  /**
   * Sends a one-time code to the customer found by CPF or phone (CRM port); `{ resend: true }` sends a
   * new one to the phone on file of the customer this session already knows (the pending login's, or the
   * identified one's), never to a number the message gives.
   */
  requestLoginCode(
    input: { cpf: string } | { phone: string } | { resend: true },
  ): Promise<CallRecord<"request_login_code", LoginCodeResult>>;
  /** CPF + birth date, or (customer id +) one-time code; on success sets `session.customer_id`. */
  authenticate(input: AuthenticateInput): Promise<CallRecord<"authenticate", AuthenticateResult>>;
  /**
   * Records, through the CRM, the session customer's explicit yes to one side-effecting action on
   * one subject (offer id, plan id, slot id). Call it only after an explicit yes (or a button click).
   */
  recordConsent(input: {
    action: ConsentAction;
    subject: string;
  }): Promise<CallRecord<"record_consent", SessionConsent>>;
}

const MAX_AUTH_FAILURES = 5;

const authenticateSchema = z.union([
  z.object({ cpf: z.string().min(11), birth_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }).strict(),
  z.object({ customer_id: z.string().min(1).optional(), code: z.string().regex(/^\d{4,8}$/) }).strict(),
]);
const loginCodeSchema = z.union([
  z.object({ cpf: z.string().min(11) }).strict(),
  z.object({ phone: z.string().min(8) }).strict(),
  z.object({ resend: z.literal(true) }).strict(),
]);
const consentInputSchema = z.object({ action: z.enum(CONSENT_ACTIONS), subject: z.string().min(1) }).strict();

export function createToolbox(toolDeps: ToolDeps, session: ToolSession): Toolbox {
  const deps: ToolDeps = toolDeps.rules ? toolDeps : { ...toolDeps, rules: offerRulesFromEngine(toolDeps) };
  const shared: ToolboxShared = {};

  async function timed<Name extends string, R>(
    name: Name,
    args: unknown,
    fn: () => Promise<R>,
  ): Promise<CallRecord<Name, R>> {
    const t0 = performance.now();
    try {
      const result = await fn();
      return { name, args, ok: true, result, ms: performance.now() - t0 };
    } catch (err) {
      return { name, args, ok: false, error: toToolError(err), ms: performance.now() - t0 };
    }
  }

  async function call<N extends ToolName>(name: N, args: unknown): Promise<ToolCallRecord<N>> {
    const def = DEFINITIONS[name] as unknown as ToolDefinition | undefined;
    if (!def) {
      return {
        name,
        args,
        ok: false,
        error: { code: "invalid_input", message: `unknown tool ${String(name)}`, field: "name" },
        ms: 0,
      } as ToolCallRecord<N>;
    }
    return timed(name, args, async () => {
      const input = def.input.parse(args ?? {});
      const out = await def.run(new ToolContext(deps, session, name, shared), input);
      const checked = def.output.safeParse(out);
      if (!checked.success)
        throw new ToolFailure(
          "internal",
          `${name} produced output outside its schema: ${checked.error.message}`,
        );
      return checked.data as ToolOutputs[N];
    });
  }

  const tools = {} as Record<ToolName, Tool>;
  for (const name of TOOL_NAMES) {
    const def = DEFINITIONS[name] as unknown as ToolDefinition;
    tools[name] = tool({
      description: def.description,
      inputSchema: def.input,
      outputSchema: z.union([def.output, toolFailureOutputSchema]),
      execute: async (input: unknown) => {
        const r = await call(name, input);
        return r.ok ? r.result : { ok: false as const, error: r.error };
      },
    }) as Tool;
  }

  function refuseLocked(): void {
    if (session.auth_failures >= MAX_AUTH_FAILURES)
      throw new ToolFailure("too_many_attempts", "identity checks are locked for this session");
  }

  function authFailed(method: string): never {
    session.auth_failures += 1;
    emitAudit(deps, session, { kind: "auth_failed", detail: { method, failures: session.auth_failures } });
    throw new ToolFailure("unauthenticated", "identity not verified", { system: "crm" });
  }

  async function setCustomer(
    customerId: string,
    method: AuthenticateResult["method"],
  ): Promise<AuthenticateResult> {
    const profile = await deps.systems.crm.getCustomer(customerId);
    if (!profile) return authFailed(method);
    if (session.customer_id && session.customer_id !== customerId) {
      // A new identity in the same conversation: nothing consented or decided for the previous one carries over.
      session.consents = [];
      session.offer_decisions = [];
      session.offered_slots = [];
    }
    session.customer_id = customerId;
    session.pending_login = null;
    session.auth_failures = 0;
    emitAudit(deps, session, { kind: "authenticated", detail: { method } });
    return { customer_id: customerId, first_name: firstName(profile.name), method };
  }

  return {
    session,
    tools: tools as unknown as ToolboxTools,
    call: call as Toolbox["call"],

    requestLoginCode(input) {
      return timed("request_login_code", input, async () => {
        refuseLocked();
        const q = loginCodeSchema.parse(input);
        let profile: Awaited<ReturnType<typeof deps.systems.crm.getCustomer>>;
        if ("resend" in q) {
          const known = session.pending_login?.customer_id ?? session.customer_id;
          if (!known)
            throw new ToolFailure(
              "invalid_input",
              "no customer is known in this session to resend a code to",
              {
                field: "resend",
              },
            );
          profile = await deps.systems.crm.getCustomer(known);
        } else profile = await deps.systems.crm.findCustomer(q);
        if (!profile) return authFailed("login_code");
        const counter = `request_login_code:${profile.customer_id}`;
        const n = session.idempotency[counter] ?? 0;
        const issued = await deps.systems.crm.issueLoginCode(profile.customer_id, {
          idempotencyKey: idempotencyKey(
            session.session_id,
            "request_login_code",
            `${profile.customer_id}#${n}`,
          ),
        });
        session.idempotency[counter] = n + 1;
        session.pending_login = { customer_id: profile.customer_id, expires_at: issued.expires_at };
        emitAudit(deps, session, { kind: "login_code_issued" });
        return {
          sent_to: displayPhone(profile.phone),
          expires_at: issued.expires_at,
          simulated_sms_code: issued.code ?? null,
        };
      });
    },

    authenticate(input) {
      return timed("authenticate", input, async () => {
        refuseLocked();
        const q = authenticateSchema.parse(input);
        if ("cpf" in q) {
          const id = await deps.systems.crm.verifyIdentity({ cpf: q.cpf, birth_date: q.birth_date });
          if (!id) return authFailed("cpf_birth_date");
          return setCustomer(id, "cpf_birth_date");
        }
        const customerId = q.customer_id ?? session.pending_login?.customer_id;
        if (!customerId)
          throw new ToolFailure("invalid_input", "no login code was requested in this session", {
            field: "customer_id",
          });
        if (!(await deps.systems.crm.verifyLoginCode(customerId, q.code))) return authFailed("login_code");
        return setCustomer(customerId, "login_code");
      });
    },

    recordConsent(input) {
      return timed("record_consent", input, async () => {
        const q = consentInputSchema.parse(input);
        const customerId = session.customer_id;
        if (!customerId) {
          emitAudit(deps, session, { kind: "refused", code: "unauthenticated", tool: "record_consent" });
          throw new ToolFailure("unauthenticated", "no customer is authenticated in this session");
        }
        const existing = session.consents.find(
          (c) => c.action === q.action && c.subject === q.subject && c.customer_id === customerId,
        );
        if (existing) return existing;
        const rec = await deps.systems.crm.recordConsent(
          { customer_id: customerId, session_id: session.session_id, action: q.action, subject: q.subject },
          {
            idempotencyKey: idempotencyKey(
              session.session_id,
              "record_consent",
              `${customerId}:${q.action}:${q.subject}`,
            ),
          },
        );
        const consent: SessionConsent = {
          consent_id: rec.consent_id,
          customer_id: customerId,
          action: q.action,
          subject: q.subject,
          given_at: rec.given_at,
        };
        session.consents.push(consent);
        emitAudit(deps, session, {
          kind: "consent_recorded",
          detail: { action: q.action, subject: q.subject },
        });
        return consent;
      });
    },
  };
}
