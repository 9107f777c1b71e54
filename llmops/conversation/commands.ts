import { z } from "zod";

/**
 * The command language between understanding and the dialogue engine (the Rasa CALM split: the
 * model only understands; flows in code decide). Both understanding engines — `local` (offline
 * classifier + entity extraction) and `llm` (structured output through the Llm port) — emit exactly
 * these commands, validated by `commandSchema`.
 */

export const FLOW_NAMES = [
  "identity",
  "internet_diagnosis",
  "invoice_explanation",
  "invoice_copy",
  "cancellation",
  "plan_recommendation",
  "human_handoff",
] as const;
export type FlowName = (typeof FLOW_NAMES)[number];

/** Slots flows ask for; values are normalised by entity extraction (dates ISO, money numbers, CPF digits). */
export const SLOT_NAMES = [
  "cpf",
  "birth_date",
  "phone",
  "cep",
  "login_code",
  /** yyyy-mm of the invoice the customer means ("a conta de março", "mês passado"). */
  "invoice_month",
  "invoice_id",
  "amount_brl",
  "plan_id",
  /** 1-based choice among the options the assistant listed ("a primeira"). */
  "choice",
  "offer_id",
  "slot_id",
  /** yes/no answer to the assistant's last question. */
  "confirm",
  "cancel_reason",
] as const;
export type SlotName = (typeof SLOT_NAMES)[number];

export const languageSchema = z.enum(["pt-BR", "en"]);
export type Language = z.infer<typeof languageSchema>;

const slotValue = z.union([z.string(), z.number(), z.boolean()]);

export const commandSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("start_flow"), flow: z.enum(FLOW_NAMES) }),
  z.object({ type: z.literal("set_slot"), slot: z.enum(SLOT_NAMES), value: slotValue }),
  /** A question the knowledge base answers (policy, FAQ, how-to); `query` is the question as asked. */
  z.object({ type: z.literal("answer_knowledge"), query: z.string().min(1) }),
  /** "não, é a de março": replaces a slot value given earlier. */
  z.object({ type: z.literal("correct_slot"), slot: z.enum(SLOT_NAMES), value: slotValue }),
  /** "esquece", "deixa pra lá": stops the active flow. */
  z.object({ type: z.literal("cancel_flow") }),
  z.object({ type: z.literal("hand_off"), reason: z.string().min(1) }),
  z.object({
    type: z.literal("chitchat"),
    kind: z.enum(["greeting", "thanks", "goodbye", "smalltalk", "abuse"]),
  }),
  z.object({ type: z.literal("cannot_handle"), reason: z.string().min(1) }),
]);
export type Command = z.infer<typeof commandSchema>;

/** What understanding sees besides the message: where the conversation stands. */
export interface DialogueState {
  active_flow: FlowName | null;
  /** The slot the assistant just asked for, so a bare "sim" or "a segunda" fills it. */
  awaiting_slot: SlotName | null;
  /** Options the assistant listed last (offer ids, slot ids, plan ids), for ordinals. */
  listed_options: string[];
  language: Language;
}

export interface Understanding {
  language: Language;
  /** Ranked intents with confidences (the local classifier's posterior, or the model's). */
  intents: { intent: string; confidence: number }[];
  commands: Command[];
  /** Which engine produced this, and whether it fell back to `local` after a provider failure. */
  engine: "local" | "llm";
  fallback?: { from: "llm"; error: string };
  /** Prompts sent to a model to understand this turn, as name@version#hash (none for local). */
  prompts?: string[];
}

export interface UnderstandingEngine {
  readonly name: "local" | "llm";
  understand(text: string, state: DialogueState): Promise<Understanding>;
}
