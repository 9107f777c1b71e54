import type { GuardrailAction } from "../../platform/config/sections/guardrails.ts";
import type { Language } from "../conversation/commands.ts";
import type { Citation } from "../conversation/knowledge.ts";
import type { GroundingFacts } from "./grounding.ts";

export type { GuardrailAction } from "../../platform/config/sections/guardrails.ts";

export type GuardrailStage = "input" | "retrieved" | "output";

export const INPUT_GUARDRAILS = ["pii", "promptInjection", "fraud", "scope", "abuse"] as const;
export type InputGuardrailName = (typeof INPUT_GUARDRAILS)[number];
export const OUTPUT_GUARDRAILS = ["grounding", "promises", "citations", "pii", "promptLeak"] as const;
export type OutputGuardrailName = (typeof OUTPUT_GUARDRAILS)[number];

/** One guardrail that fired in a turn: which, where, what it did and why (never the PII itself). */
export interface GuardrailTrigger {
  guardrail: string;
  stage: GuardrailStage;
  action: GuardrailAction;
  reason: string;
  /** Machine-readable extras: category, document id, kinds… (PII-free). */
  detail?: Record<string, unknown>;
}

export interface Span {
  start: number;
  end: number;
}

/** What a guardrail found: the reason (PII-free), the spans in the text it checked, a category. */
export interface Finding {
  reason: string;
  spans: Span[];
  category?: string;
  detail?: Record<string, unknown>;
}

export interface InputGuardrail {
  readonly name: InputGuardrailName;
  check(text: string): Finding | null;
  /** The text with the finding masked or removed (the `mask` action). */
  mask(text: string, finding: Finding): string;
  /** The safe reply (the `rewrite`, `block` and `escalate` actions). */
  template(lang: Language, finding: Finding): string;
}

/** What the output guardrails check a reply against: this session's facts. */
export interface OutputFacts {
  lang: Language;
  customerId: string | null;
  /** Tool results of this turn, the facts the session's flows keep, and offer decisions. */
  grounding: GroundingFacts;
  /** Offer ids the offers tools returned as allowed in this session (decisions, applications). */
  allowedOfferIds: Set<string>;
  /** Passages retrieved in this turn (after neutralisation). */
  passages: { doc_id: string; title: string; section: string; text: string }[];
  citations: Citation[];
  /** Whether the reply is the extractive knowledge answer (quoted sentences + sources). */
  extractive: boolean;
  /** Letters-and-digits forms of the session customer's own data found in tool results. */
  ownData: Set<string>;
}

export interface OutputGuardrail {
  readonly name: OutputGuardrailName;
  check(reply: string, facts: OutputFacts): Finding | null;
  mask(reply: string, finding: Finding, facts: OutputFacts): string;
  template(lang: Language, finding: Finding): string;
}
