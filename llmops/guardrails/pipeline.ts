import type { GuardrailAction, GuardrailsConfig } from "../../platform/config/sections/guardrails.ts";
import type { PiiKind } from "../../platform/pii/index.ts";
import type { Language } from "../conversation/commands.ts";
import { createAbuseGuardrail } from "./abuse.ts";
import { createFraudGuardrail } from "./fraud.ts";
import { collectFacts } from "./grounding.ts";
import { createInputPiiGuardrail, maskForLogs } from "./input-pii.ts";
import { createOutputCitationsGuardrail } from "./output-citations.ts";
import { createOutputGroundingGuardrail } from "./output-grounding.ts";
import { createOutputPiiGuardrail } from "./output-pii.ts";
import { createOutputPromisesGuardrail } from "./output-promises.ts";
import { createOutputPromptLeakGuardrail } from "./output-prompt-leak.ts";
import { createPromptInjectionGuardrail } from "./prompt-injection.ts";
import { createScopeGuardrail } from "./scope.ts";
import { template } from "./templates.ts";
import { contentWords } from "./text.ts";
import type { GuardrailTrigger, InputGuardrail, OutputFacts, OutputGuardrail } from "./types.ts";

/**
 * The guardrails in order, with their configured actions, and the two runners. Input: pii, prompt
 * injection, fraud, scope, abuse — each sees the text the previous ones left. Output: grounding,
 * promises, citations, pii, prompt leak — each sees the reply the previous ones left. Any exception
 * inside a guardrail stops the turn with a safe template (fail closed): nothing unchecked goes out.
 */

interface Configured<G> {
  guardrail: G;
  enabled: boolean;
  action: GuardrailAction;
}

export interface GuardrailSet {
  input: Configured<InputGuardrail>[];
  output: Configured<OutputGuardrail>[];
}

export function createGuardrailSet(
  config: GuardrailsConfig,
  extra: { promptShingles?: Set<string> } = {},
): GuardrailSet {
  const i = config.input;
  const o = config.output;
  return {
    input: [
      {
        guardrail: createInputPiiGuardrail({ maskBeforeAssistant: i.pii.maskBeforeAssistant as PiiKind[] }),
        ...i.pii,
      },
      { guardrail: createPromptInjectionGuardrail(), ...i.promptInjection },
      { guardrail: createFraudGuardrail(), ...i.fraud },
      { guardrail: createScopeGuardrail(), ...i.scope },
      { guardrail: createAbuseGuardrail(), ...i.abuse },
    ],
    output: [
      { guardrail: createOutputGroundingGuardrail(), ...o.grounding },
      { guardrail: createOutputPromisesGuardrail(), ...o.promises },
      { guardrail: createOutputCitationsGuardrail(), ...o.citations },
      { guardrail: createOutputPiiGuardrail(), ...o.pii },
      { guardrail: createOutputPromptLeakGuardrail({ shingles: extra.promptShingles }), ...o.promptLeak },
    ],
  };
}

export interface InputDecision {
  /** What reaches the assistant; null: the turn stops here and `reply` answers it. */
  text: string | null;
  /** The customer's message as logs, traces and metrics may hold it (every PII kind masked). */
  masked: string;
  reply: string | null;
  /** Hand the conversation to a person (an `escalate` action fired). */
  escalate: boolean;
  triggers: GuardrailTrigger[];
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export function runInputGuardrails(set: GuardrailSet, message: string, lang: Language): InputDecision {
  const triggers: GuardrailTrigger[] = [];
  const masked = safeMaskForLogs(message);
  let text = message;
  const stop = (reply: string, escalate = false): InputDecision => ({
    text: null,
    masked,
    reply,
    escalate,
    triggers,
  });
  for (const { guardrail: g, enabled, action } of set.input) {
    if (!enabled) continue;
    try {
      const f = g.check(text);
      if (!f) continue;
      triggers.push({
        guardrail: g.name,
        stage: "input",
        action,
        reason: f.reason,
        ...(f.detail ? { detail: f.detail } : {}),
      });
      if (action === "mask") {
        const next = g.mask(text, f);
        if (contentWords(next) < 1) return stop(g.template(lang, f));
        text = next;
        continue;
      }
      if (action === "block") return stop(template("blocked", lang));
      if (action === "escalate")
        return { text: null, masked, reply: g.template(lang, f), escalate: true, triggers };
      return stop(g.template(lang, f));
    } catch (err) {
      triggers.push({
        guardrail: g.name,
        stage: "input",
        action: "block",
        reason: `guardrail error (fail closed): ${errorText(err)}`,
      });
      return stop(template("failClosed", lang));
    }
  }
  return { text, masked, reply: null, escalate: false, triggers };
}

function safeMaskForLogs(message: string): string {
  try {
    return maskForLogs(message);
  } catch {
    return "[message withheld: PII masking failed]";
  }
}

export interface OutputDecision {
  reply: string;
  changed: boolean;
  escalate: boolean;
  triggers: GuardrailTrigger[];
}

export function runOutputGuardrails(set: GuardrailSet, reply: string, facts: OutputFacts): OutputDecision {
  const triggers: GuardrailTrigger[] = [];
  let text = reply;
  const done = (r: string, escalate = false): OutputDecision => ({
    reply: r,
    changed: r !== reply,
    escalate,
    triggers,
  });
  for (const { guardrail: g, enabled, action } of set.output) {
    if (!enabled) continue;
    try {
      const f = g.check(text, facts);
      if (!f) continue;
      triggers.push({
        guardrail: g.name,
        stage: "output",
        action,
        reason: f.reason,
        ...(f.detail ? { detail: f.detail } : {}),
      });
      if (action === "mask") {
        const next = g.mask(text, f, facts);
        if (!next.trim()) return done(g.template(facts.lang, f));
        text = next;
        continue;
      }
      if (action === "block") return done(template("blocked", facts.lang));
      return done(g.template(facts.lang, f), action === "escalate");
    } catch (err) {
      triggers.push({
        guardrail: g.name,
        stage: "output",
        action: "block",
        reason: `guardrail error (fail closed): ${errorText(err)}`,
      });
      return done(template("failClosed", facts.lang));
    }
  }
  return done(text);
}

let warmed = false;

/**
 * Runs the guardrails once on a neutral message when the assistant is opened: the prompt files are
 * read and the always-on expressions (PII, abuse, grounding) compiled then, not on a customer's first
 * message. The large gated expressions compile on the first message that needs them. Once per process.
 */
export function warmUpGuardrails(set: GuardrailSet): void {
  if (warmed) return;
  warmed = true;
  const facts: OutputFacts = {
    lang: "pt-BR",
    customerId: null,
    grounding: collectFacts([]),
    allowedOfferIds: new Set(),
    passages: [],
    citations: [],
    extractive: false,
    ownData: new Set(),
  };
  try {
    runInputGuardrails(set, "Olá, tudo bem? Meu CPF é 529.982.247-25.", "pt-BR");
    runOutputGuardrails(set, "Olá! Como posso ajudar? Sua fatura é de R$ 10,00.", facts);
  } catch {
    // Warming is an optimisation; a failing guardrail fails closed on the real turn.
  }
}
