import { z } from "zod";
import type { InteractionOutcome } from "../../../platform/ports/crm.ts";
import {
  type Command,
  FLOW_NAMES,
  type FlowName,
  type Language,
  SLOT_NAMES,
  type SlotName,
  type Understanding,
} from "../../conversation/commands.ts";
import type {
  AuthenticateInput,
  AuthenticateResult,
  CallRecord,
  ConsentAction,
  LoginCodeResult,
  SessionConsent,
  ToolArgs,
  ToolCallRecord,
  ToolName,
} from "../../tools/toolbox.ts";

/**
 * The flow framework (Rasa CALM's flow policy, in TypeScript): a journey is a typed state machine of
 * named steps. A step reads the frame's slots, calls tools, says things and returns a transition:
 * ask for a slot (the turn ends there), go to another step, push another flow, or end. Steps that call
 * tools go to a separate collect step before asking, so re-running an asking step (after a digression
 * or an answer that filled nothing) never repeats a tool call.
 */

export type SlotValue = string | number | boolean;

export const slotValueSchema = z.union([z.string(), z.number(), z.boolean()]);

/** One flow on the dialogue stack, persisted with the session (plain JSON). */
export const flowFrameSchema = z.object({
  flow: z.enum(FLOW_NAMES),
  step: z.string(),
  slots: z.partialRecord(z.enum(SLOT_NAMES), slotValueSchema),
  /** Tool results the flow keeps between turns (offers listed, slots offered, the invoice chosen). */
  facts: z.record(z.string(), z.unknown()),
  /** The slot the current step asked for, or null while running. */
  awaiting: z.enum(SLOT_NAMES).nullable(),
  /** Ids the current question listed (offer, slot or plan ids), for "a primeira". */
  options: z.array(z.string()),
  /** How many times the current question went unanswered. */
  retries: z.number().int().min(0),
});
export type FlowFrame = z.infer<typeof flowFrameSchema>;

export function newFrame(flow: FlowName, first: string): FlowFrame {
  return { flow, step: first, slots: {}, facts: {}, awaiting: null, options: [], retries: 0 };
}

/** How a finished flow is registered in the CRM (register_interaction), or not (outcome null). */
export interface FlowEnd {
  outcome: InteractionOutcome | null;
  /** One line for the CRM record, in English (agents' working language is the record's, not the chat's). */
  summary: string;
  protocol?: string | null;
  offers_made?: string[];
  offer_accepted?: string | null;
  /** Identity failed: every flow that needs a customer is dropped. */
  identityFailed?: boolean;
  /** The flow registered the interaction itself (its id); the engine does not register it again. */
  registered?: string;
  /** Register when the contact ends, unless the same journey finishes again before (then that counts). */
  defer?: boolean;
  /**
   * Hand the request to a person once this flow is closed (what the systems cannot do here), with the
   * request in the agent's summary and the topic of the queue.
   */
  handoff?: {
    reason: "cannot_handle";
    detail: string;
    topic: "billing" | "technical" | "retention" | "cancellation" | "other";
  };
}

export type Transition =
  | { type: "ask"; slot: SlotName; options?: string[] }
  | { type: "goto"; step: string }
  | { type: "end"; end: FlowEnd }
  | { type: "push"; flow: FlowName; resume: string; reason?: string };

export const ask = (slot: SlotName, options?: string[]): Transition => ({ type: "ask", slot, options });
export const goto = (step: string): Transition => ({ type: "goto", step });
export const end = (e: FlowEnd): Transition => ({ type: "end", end: e });

/** The two languages of every reply set; each value is a function of the facts it shows. */
export interface ReplySet<R> {
  "pt-BR": R;
  en: R;
}

// biome-ignore lint/suspicious/noExplicitAny: reply functions take any fact shape; each set types its own.
type ReplyFn = (...args: any[]) => string;

/** Declares a flow's replies in both languages; the type checker keeps the two in step. */
export function replies<R extends Record<string, ReplyFn>>(set: ReplySet<R>): ReplySet<R> {
  return set;
}

/** What a step can do: read slots, call tools (recorded in the turn), say things, consent. */
export interface FlowContext {
  readonly frame: FlowFrame;
  readonly lang: Language;
  readonly customerId: string | null;
  /** The customer's words this turn (free-text slots such as a cancellation reason). */
  readonly text: string;
  call<N extends ToolName>(name: N, args: ToolArgs[N]): Promise<ToolCallRecord<N>>;
  authenticate(input: AuthenticateInput): Promise<CallRecord<"authenticate", AuthenticateResult>>;
  requestLoginCode(
    input: { cpf: string } | { phone: string } | { resend: true },
  ): Promise<CallRecord<"request_login_code", LoginCodeResult>>;
  /** Records the customer's explicit yes to one side-effecting action (CRM consent). */
  consent(action: ConsentAction, subject: string): Promise<CallRecord<"record_consent", SessionConsent>>;
  say<R extends Record<string, ReplyFn>, K extends keyof R & string>(
    set: ReplySet<R>,
    key: K,
    ...args: Parameters<R[K]>
  ): void;
  /** Offers shown to the customer this turn (the turn's `offers`). */
  showOffers(offers: { offer_id: string; [k: string]: unknown }[]): void;
  /** A message for the person outside the reply (the simulated SMS of a login code). */
  notice(kind: "simulated_sms", text: string): void;
  /** Reads a slot and clears it: an answer to a yes/no question counts for that question only. */
  take(slot: SlotName): SlotValue | undefined;
  /** The conversation so far: offers already presented in this contact, flows finished. */
  readonly conversation: ConversationFacts;
}

/** Facts of the whole contact that policies depend on (offers once per contact). */
export interface ConversationFacts {
  offers_presented: string[];
  retention_decision_id: string | null;
}

export type StepFn = (ctx: FlowContext) => Promise<Transition>;

export interface FlowDefinition {
  name: FlowName;
  /** Needs an authenticated customer: the identity flow runs first on channels without one. */
  needsIdentity: boolean;
  first: string;
  steps: Record<string, StepFn>;
  /** Which step to go back to when the customer corrects `slot` ("não, é a de março"); null: ignore. */
  onCorrect?(slot: SlotName, frame: FlowFrame): string | null;
  /** Slots this flow accepts when they arrive with the message that starts it, or unasked later. */
  accepts: readonly SlotName[];
  /** The customer restated this flow's intent while it runs ("quero cancelar!"): the step to go to. */
  onRestart?(frame: FlowFrame): string | null;
  /**
   * While this flow awaits an answer, whether the message is that answer even though understanding read
   * it otherwise ("quero o bônus de internet" naming a listed offer; any words as a cancellation reason).
   * A claim's slots are set, and commands that would start other journeys from it are dropped.
   */
  claims?(
    frame: FlowFrame,
    text: string,
    commands: readonly Command[],
    intents: Understanding["intents"],
  ): Claim | null;
  /** "Esquece" while this flow runs: the step that handles it, or null to drop the flow (abandoned). */
  onCancel?(frame: FlowFrame): string | null;
}

/** A flow's reading of the customer's answer to its own question. */
export interface Claim {
  slots: Partial<Record<SlotName, SlotValue>>;
  /** The message is only this answer: every other command is dropped but a hand-off (always honoured). */
  exclusive?: boolean;
}

export function defineFlow(def: FlowDefinition): FlowDefinition {
  return def;
}

/** A yes/no slot value as a boolean (entity extraction gives booleans; a model may give strings). */
export function yesNo(v: SlotValue | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  const s = v.trim().toLowerCase();
  if (["true", "yes", "sim", "s", "y"].includes(s)) return true;
  if (["false", "no", "não", "nao", "n"].includes(s)) return false;
  return undefined;
}

/** The option a "choice" (1-based) or a named id picks among the listed options. */
export function pickOption(frame: FlowFrame, idSlot: SlotName): string | undefined {
  const named = frame.slots[idSlot];
  if (typeof named === "string" && frame.options.includes(named)) return named;
  const choice = frame.slots.choice;
  if (choice !== undefined) {
    const n = typeof choice === "number" ? choice : Number(choice);
    if (Number.isInteger(n) && n >= 1 && n <= frame.options.length) return frame.options[n - 1];
  }
  return undefined;
}
