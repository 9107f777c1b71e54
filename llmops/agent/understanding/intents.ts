import type { FlowName } from "../../conversation/commands.ts";

/** The intents the local classifier knows (one YAML file each in data/assistant/utterances/). */
export const INTENTS = [
  "internet_problem",
  "invoice_explain",
  "invoice_copy",
  "cancel",
  "plan_change",
  "human_agent",
  "knowledge_question",
  "identity",
  "greeting",
  "thanks",
  "goodbye",
  "affirm",
  "deny",
  "stop",
  "out_of_scope",
  "abuse",
] as const;
export type Intent = (typeof INTENTS)[number];

/** Intents that start a journey, and the flow each starts. */
export const INTENT_FLOW: Readonly<Partial<Record<Intent, FlowName>>> = {
  internet_problem: "internet_diagnosis",
  invoice_explain: "invoice_explanation",
  invoice_copy: "invoice_copy",
  cancel: "cancellation",
  plan_change: "plan_recommendation",
  identity: "identity",
};

export function isIntent(value: string): value is Intent {
  return (INTENTS as readonly string[]).includes(value);
}
