import { generateText, type LanguageModelUsage, Output } from "ai";
import { z } from "zod";
import { LlmCallError, type LlmProvider } from "../../../platform/ports/llm.ts";
import {
  type Command,
  commandSchema,
  type DialogueState,
  type SlotName,
  type Understanding,
  type UnderstandingEngine,
} from "../../conversation/commands.ts";
import { type LlmCallTrace, withFallback } from "../../prompts/fallback.ts";
import { composePrompts } from "../../prompts/loader.ts";
import { loadUnderstandingCatalog, type UnderstandingCatalog } from "./catalog.ts";
import { extractEntities, isValidCpf, parseAmount } from "./entities.ts";
import { INTENT_FLOW, type Intent } from "./intents.ts";
import { detectMessageLanguage } from "./language.ts";

/**
 * The `llm` understanding engine: the same command language as the local engine, produced by the
 * configured model through structured output (AI SDK `generateText` with `Output.object` over the
 * command schema — `generateObject` is deprecated in AI SDK 7) from the versioned
 * `command-generation` prompt (llmops/prompts/templates/command-generation.md).
 *
 * The model's commands are checked beyond the schema: slot values are normalised to the formats the
 * local engine produces (CPF digits with valid check digits, phone +55…, yyyy-mm months, catalog
 * plan and offer ids, choices within the listed options); a command that fails is dropped. A provider
 * error, a timeout, output that does not parse, or no usable command falls back to the local engine
 * for that turn (`fallback` is set and the call trace says why).
 */

export const COMMAND_GENERATION_PROMPT = "command-generation";

/** The structured output asked of the model. */
export const llmCommandsSchema = z.object({ commands: z.array(commandSchema).max(12) });

export interface LlmUnderstandingOptions {
  /** The configured provider (AppContext.llm()); with `model: null` the local engine answers. */
  llm: LlmProvider;
  /** The engine that answers when the model cannot (usually LocalUnderstanding). */
  local: UnderstandingEngine;
  catalog?: UnderstandingCatalog;
  /** Today for the operator (yyyy-mm-dd), for "mês passado"; defaults to the UTC date. */
  businessDate?: () => string | Promise<string>;
  /** Per-call budget; default `llm.timeoutMs`. */
  timeoutMs?: number;
}

/** What the LLM engine returns: the Understanding plus the model call's trace. */
export interface LlmUnderstandingResult extends Understanding {
  /** Provider, model, outcome (llm / fallback / local), error, tokens, cost, prompt refs. */
  trace: LlmCallTrace;
  /** Commands the model produced that failed the checks, with why. */
  dropped: { command: unknown; reason: string }[];
}

type CallValue =
  | {
      source: "llm";
      commands: Command[];
      dropped: LlmUnderstandingResult["dropped"];
      usage?: LanguageModelUsage;
    }
  | { source: "local"; understanding: Understanding };

export class LlmUnderstanding implements UnderstandingEngine {
  readonly name = "llm" as const;
  readonly #llm: LlmProvider;
  readonly #local: UnderstandingEngine;
  readonly #catalog: UnderstandingCatalog;
  readonly #businessDate: () => string | Promise<string>;
  readonly #timeoutMs: number | undefined;

  constructor(options: LlmUnderstandingOptions) {
    this.#llm = options.llm;
    this.#local = options.local;
    this.#catalog = options.catalog ?? loadUnderstandingCatalog();
    this.#businessDate = options.businessDate ?? (() => new Date().toISOString().slice(0, 10));
    this.#timeoutMs = options.timeoutMs;
  }

  async understand(text: string, state: DialogueState): Promise<LlmUnderstandingResult> {
    const today = await this.#businessDate();
    const composed = composePrompts({
      prompt: COMMAND_GENERATION_PROMPT,
      vars: { today, state, history: [], message: text },
    });
    const result = await withFallback<CallValue>(this.#llm, {
      purpose: "understand",
      prompts: composed.refs,
      ...(this.#timeoutMs === undefined ? {} : { timeoutMs: this.#timeoutMs }),
      call: async ({ model, abortSignal, maxRetries }) => {
        const r = await generateText({
          model,
          abortSignal,
          maxRetries,
          temperature: 0,
          prompt: composed.text,
          output: Output.object({ schema: llmCommandsSchema, name: "commands" }),
        });
        const { commands, dropped } = checkCommands(r.output.commands, state, today, this.#catalog);
        if (commands.length === 0)
          throw new LlmCallError(
            this.#llm,
            "invalid_output",
            r.output.commands.length === 0
              ? "the model returned no command"
              : `no usable command: ${dropped.map((d) => d.reason).join("; ")}`,
          );
        return { source: "llm", commands, dropped, usage: r.usage };
      },
      local: async () => ({ source: "local", understanding: await this.#local.understand(text, state) }),
      usage: (v) => (v.source === "llm" ? v.usage : undefined),
    });
    const value = result.value;
    if (value.source === "local") {
      const u = value.understanding;
      return {
        ...u,
        engine: "local",
        prompts: result.trace.outcome === "local" ? [] : composed.refs,
        trace: result.trace,
        dropped: [],
        ...(result.trace.outcome === "fallback"
          ? { fallback: { from: "llm" as const, error: fallbackMessage(result.trace) } }
          : {}),
      };
    }
    return {
      language: detectMessageLanguage(text) ?? state.language,
      intents: intentsOf(value.commands),
      commands: value.commands,
      engine: "llm",
      prompts: composed.refs,
      trace: result.trace,
      dropped: value.dropped,
    };
  }
}

function fallbackMessage(trace: LlmCallTrace): string {
  const e = trace.error;
  if (!e) return "unknown";
  return `${e.reason}${e.status === undefined ? "" : ` ${e.status}`}: ${e.message}`;
}

/** Intents implied by the commands (the model is not asked for posteriors: confidence 1). */
export function intentsOf(commands: readonly Command[]): { intent: string; confidence: number }[] {
  const flowIntent = new Map(Object.entries(INTENT_FLOW).map(([intent, flow]) => [flow, intent as Intent]));
  const out: string[] = [];
  const add = (i: string) => {
    if (!out.includes(i)) out.push(i);
  };
  for (const c of commands) {
    switch (c.type) {
      case "start_flow":
        add(flowIntent.get(c.flow) ?? (c.flow === "human_handoff" ? "human_agent" : c.flow));
        break;
      case "answer_knowledge":
        add("knowledge_question");
        break;
      case "hand_off":
        add("human_agent");
        break;
      case "cancel_flow":
        add("stop");
        break;
      case "chitchat":
        add(c.kind === "smalltalk" ? "smalltalk" : c.kind);
        break;
      case "cannot_handle":
        add("out_of_scope");
        break;
      case "set_slot":
      case "correct_slot":
        if (c.slot === "confirm") add(c.value === true ? "affirm" : "deny");
        else add("inform");
        break;
    }
  }
  return out.map((intent) => ({ intent, confidence: 1 }));
}

/**
 * The model's commands with slot values normalised and checked against the state and the catalog;
 * the rest dropped with the reason.
 */
export function checkCommands(
  raw: readonly Command[],
  state: DialogueState,
  today: string,
  catalog: UnderstandingCatalog,
): { commands: Command[]; dropped: LlmUnderstandingResult["dropped"] } {
  const commands: Command[] = [];
  const dropped: LlmUnderstandingResult["dropped"] = [];
  for (const c of raw) {
    if (c.type !== "set_slot" && c.type !== "correct_slot") {
      commands.push(c);
      continue;
    }
    const value = normaliseSlot(c.slot, c.value, state, today, catalog);
    if ("error" in value) dropped.push({ command: c, reason: `${c.slot}: ${value.error}` });
    else commands.push({ ...c, value: value.ok });
  }
  return { commands, dropped };
}

type Checked = { ok: string | number | boolean } | { error: string };

function normaliseSlot(
  slot: SlotName,
  value: string | number | boolean,
  state: DialogueState,
  today: string,
  catalog: UnderstandingCatalog,
): Checked {
  const text = String(value).trim();
  const options = state.listed_options;
  const fromEntities = (kind: string): string | number | undefined => {
    const e = extractEntities(text, { businessDate: today, catalog, awaitingSlot: slot }).entities.find(
      (x) => x.kind === kind,
    );
    return e === undefined ? undefined : (e.value as string | number);
  };
  switch (slot) {
    case "cpf": {
      const digits = text.replace(/\D/g, "");
      return isValidCpf(digits) ? { ok: digits } : { error: `"${text}" is not a valid CPF` };
    }
    case "birth_date": {
      const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : fromEntities("date");
      if (typeof iso !== "string") return { error: `"${text}" is not a date` };
      const d = new Date(`${iso}T00:00:00Z`);
      return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(iso) && iso <= today
        ? { ok: iso }
        : { error: `"${text}" is not a past date` };
    }
    case "phone": {
      let digits = text.replace(/\D/g, "");
      if (digits.length >= 12 && digits.startsWith("55")) digits = digits.slice(2);
      const phone = extractEntities(digits, {
        businessDate: today,
        catalog,
        awaitingSlot: "phone",
      }).entities.find((x) => x.kind === "phone");
      return phone ? { ok: phone.value as string } : { error: `"${text}" is not a Brazilian phone number` };
    }
    case "cep": {
      const digits = text.replace(/\D/g, "");
      return digits.length === 8 ? { ok: digits } : { error: `"${text}" is not a CEP` };
    }
    case "login_code": {
      const digits = text.replace(/\s/g, "");
      return /^\d{4,8}$/.test(digits) ? { ok: digits } : { error: `"${text}" is not a login code` };
    }
    case "invoice_month": {
      if (/^\d{4}-(0[1-9]|1[0-2])$/.test(text))
        return text.slice(0, 7) <= today.slice(0, 7) ? { ok: text } : { error: `${text} is in the future` };
      const m = fromEntities("month");
      return typeof m === "string" ? { ok: m } : { error: `"${text}" is not a month` };
    }
    case "amount_brl": {
      if (typeof value === "number") return value >= 0 ? { ok: value } : { error: "negative amount" };
      const n = parseAmount(text.replace(/^r\$\s*/i, ""));
      return Number.isFinite(n) && n >= 0 ? { ok: n } : { error: `"${text}" is not an amount` };
    }
    case "plan_id": {
      const id = catalog.plans.find((p) => p.plan_id.toLowerCase() === text.toLowerCase())?.plan_id;
      return id ? { ok: id } : { error: `"${text}" is not a catalog plan` };
    }
    case "offer_id": {
      const id = catalog.offer_ids.find((o) => o.toLowerCase() === text.toLowerCase());
      return id ? { ok: id } : { error: `"${text}" is not a retention offer` };
    }
    case "slot_id":
      return options.includes(text) ? { ok: text } : { error: `"${text}" is not among the listed options` };
    case "invoice_id":
      return text.length > 0 ? { ok: text } : { error: "empty invoice id" };
    case "choice": {
      const n = typeof value === "number" ? value : Number(text);
      if (!Number.isInteger(n) || n < 1) return { error: `"${text}" is not a 1-based choice` };
      return options.length === 0 || n <= options.length
        ? { ok: n }
        : { error: `choice ${n} but ${options.length} options were listed` };
    }
    case "confirm": {
      if (typeof value === "boolean") return { ok: value };
      if (/^(true|sim|yes|s)$/i.test(text)) return { ok: true };
      if (/^(false|nao|não|no|n)$/i.test(text)) return { ok: false };
      return { error: `"${text}" is not yes or no` };
    }
    case "cancel_reason":
      return text.length > 0 ? { ok: text.toLowerCase() } : { error: "empty reason" };
  }
}
