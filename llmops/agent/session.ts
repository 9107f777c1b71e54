import { z } from "zod";
import type { Interaction, InteractionOutcome } from "../../platform/ports/crm.ts";
import { FLOW_NAMES, type Language, languageSchema } from "../conversation/commands.ts";
import { newToolSession, toolSessionSchema } from "../tools/toolbox.ts";
import { flowFrameSchema } from "./flows/flow.ts";

/**
 * The engine-owned state of one assistant session, persisted as JSON through the session-store port
 * after every turn (so a conversation survives a restart) and validated on load: a corrupt or
 * hand-edited state is rejected naming the field, never trusted.
 */

const OUTCOMES = [
  "resolved",
  "retained",
  "cancel_requested",
  "escalated",
  "visit_scheduled",
  "plan_changed",
  "invoice_copy_issued",
  "abandoned",
  "unresolved",
] as const satisfies readonly InteractionOutcome[];

/** Something done in this contact that is registered when the conversation ends or goes idle. */
const pendingSchema = z.object({
  category: z.string(),
  outcome: z.enum(OUTCOMES),
  summary: z.string(),
  offers_made: z.array(z.string()).optional(),
});

export const conversationSchema = z.object({
  started_at: z.string(),
  /** Retention offers presented in this contact (policy: once per contact). */
  offers_presented: z.array(z.string()),
  retention_decision_id: z.string().nullable(),
  /** Knowledge answers and abandoned flows, not registered yet. */
  pending: z.array(pendingSchema),
  /** Interactions registered in this contact, and the protocols given. */
  registered: z.array(z.string()),
  protocols: z.array(z.string()),
  sentiment: z.enum(["positive", "neutral", "negative"]),
  /** Consecutive turns nothing was understood. */
  misunderstood: z.number().int().min(0),
  /** The flow that ended last, with the turn it ended at: "não, a de março" right after re-runs it. */
  last_ended: z.object({ frame: flowFrameSchema, turn: z.number().int() }).nullable(),
});
export type ConversationState = z.infer<typeof conversationSchema>;

export const assistantStateSchema = z.object({
  v: z.literal(1),
  language: languageSchema,
  /** The dialogue stack: the active flow last. */
  stack: z.array(flowFrameSchema),
  tool_session: toolSessionSchema,
  conversation: conversationSchema,
  /** Recent messages (for a generative model's context), newest last. */
  history: z.array(z.object({ role: z.enum(["user", "assistant"]), text: z.string() })),
  turns: z.number().int().min(0),
  /** Journeys started over the session (statistics and the REPL's /json). */
  flows_started: z.array(z.enum(FLOW_NAMES)),
});
export type AssistantState = z.infer<typeof assistantStateSchema>;

export function newConversation(now: string): ConversationState {
  return {
    started_at: now,
    offers_presented: [],
    retention_decision_id: null,
    pending: [],
    registered: [],
    protocols: [],
    sentiment: "neutral",
    misunderstood: 0,
    last_ended: null,
  };
}

export function newAssistantState(init: {
  session_id: string;
  channel: Interaction["channel"];
  language: Language;
  customer_id: string | null;
  now: string;
}): AssistantState {
  const tool = newToolSession({
    session_id: init.session_id,
    channel: init.channel,
    language: init.language,
  });
  // A trusted channel (operator key + asserted customer, a login token, the local CLI) has already
  // identified the customer; other channels start anonymous and run the identity flow.
  tool.customer_id = init.customer_id;
  return {
    v: 1,
    language: init.language,
    stack: [],
    tool_session: tool,
    conversation: newConversation(init.now),
    history: [],
    turns: 0,
    flows_started: [],
  };
}

/** Validates a stored state; the error names the field that is wrong. */
export function parseAssistantState(value: unknown, sessionId: string): AssistantState {
  const r = assistantStateSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new Error(
    `session ${sessionId}: stored state is invalid at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
  );
}
