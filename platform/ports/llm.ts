import type { LanguageModel, LanguageModelUsage } from "ai";
import { TelcoError } from "../errors.ts";

/**
 * Llm port, version 1 (LLM_PORT_VERSION). The composition root (`AppContext.llm()`) builds one
 * `LlmProvider` from `llm.*` config; domain code calls the AI SDK (`generateText`, `streamText`,
 * `Output.object`, tools) with `provider.model` and never imports a provider package.
 *
 * `local` has no generative model (`model: null`): the offline understanding engine and the
 * templates answer. Callers wrap every model call in `withFallback` (llmops/prompts/fallback.ts) so a
 * provider error or timeout falls back to local for that turn and the trace says so.
 *
 * Changing a field's meaning or removing one bumps the version; adding optional fields does not.
 */
export const LLM_PORT_VERSION = 1;

export type LlmProviderName = "local" | "vertex" | "openai-compatible";

/** A generative model object as the AI SDK takes it (never a gateway id string). */
export type LlmModel = Exclude<LanguageModel, string>;

/**
 * Price per million tokens, in `currency`. `cachedInputPerMTok` defaults to the input price and
 * `reasoningPerMTok` to the output price when a provider does not bill them apart.
 */
export interface LlmPrice {
  currency: "USD" | "BRL";
  inputPerMTok: number;
  outputPerMTok: number;
  cachedInputPerMTok?: number;
  reasoningPerMTok?: number;
}

export interface LlmProvider {
  readonly provider: LlmProviderName;
  /** As sent to the API (`gemini-2.5-flash`, `qwen2.5:7b-instruct`); `offline` for local. */
  readonly modelId: string;
  /** null for `local`: no generative model, templates and the offline engine answer. */
  readonly model: LlmModel | null;
  /** From the config's price table; null when the model has no price there (cost is then unknown). */
  readonly price: LlmPrice | null;
  /** Budget of one model call (all retries included); `withFallback` enforces it. */
  readonly timeoutMs: number;
  /** Retries of a failed HTTP call inside the AI SDK (429/5xx/network), before falling back. */
  readonly maxRetries: number;
}

/** `provider:modelId`, the LLM version a trace records. */
export function llmRef(p: Pick<LlmProvider, "provider" | "modelId">): string {
  return `${p.provider}:${p.modelId}`;
}

/**
 * Token counts of one call (or one turn, summed). `inputTokens` includes `cachedInputTokens`;
 * `outputTokens` includes `reasoningTokens` (the AI SDK's convention for both Gemini and OpenAI).
 */
export interface LlmUsage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  totalTokens: number;
}

export interface LlmCost {
  currency: LlmPrice["currency"];
  input: number;
  cachedInput: number;
  output: number;
  reasoning: number;
  total: number;
}

export const ZERO_USAGE: LlmUsage = Object.freeze({
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  totalTokens: 0,
});

/** The AI SDK's usage (fields may be undefined when a server does not report them) as counts. */
export function usageFromSdk(u: LanguageModelUsage | undefined): LlmUsage {
  if (!u) return { ...ZERO_USAGE };
  const input = u.inputTokens ?? 0;
  const output = u.outputTokens ?? 0;
  return {
    inputTokens: input,
    cachedInputTokens: u.inputTokenDetails?.cacheReadTokens ?? 0,
    outputTokens: output,
    reasoningTokens: u.outputTokenDetails?.reasoningTokens ?? 0,
    totalTokens: u.totalTokens ?? input + output,
  };
}

export function addUsage(a: LlmUsage, b: LlmUsage): LlmUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}

/**
 * Cost of `usage` at `price`: uncached input, cached input, output text and reasoning tokens each at
 * their rate. null when the price is unknown (never a made-up 0).
 */
export function costOf(usage: LlmUsage, price: LlmPrice | null): LlmCost | null {
  if (!price) return null;
  const perTok = (perM: number) => perM / 1_000_000;
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const reasoning = Math.min(usage.reasoningTokens, usage.outputTokens);
  const input = (usage.inputTokens - cached) * perTok(price.inputPerMTok);
  const cachedInput = cached * perTok(price.cachedInputPerMTok ?? price.inputPerMTok);
  const output = (usage.outputTokens - reasoning) * perTok(price.outputPerMTok);
  const reasoningCost = reasoning * perTok(price.reasoningPerMTok ?? price.outputPerMTok);
  return {
    currency: price.currency,
    input,
    cachedInput,
    output,
    reasoning: reasoningCost,
    total: input + cachedInput + output + reasoningCost,
  };
}

/** Why a model call failed; every reason makes `withFallback` answer locally for the turn. */
export type LlmFailureReason =
  | "timeout"
  | "server_error"
  | "rate_limited"
  | "auth"
  | "bad_request"
  | "network"
  | "invalid_output"
  | "unknown";

/** A model call failed; `withFallback` turns it into a local answer and a trace entry. */
export class LlmCallError extends TelcoError {
  readonly provider: LlmProviderName;
  readonly modelId: string;
  readonly reason: LlmFailureReason;
  /** HTTP status the provider answered with, when it answered. */
  readonly status: number | undefined;
  constructor(
    p: Pick<LlmProvider, "provider" | "modelId">,
    reason: LlmFailureReason,
    message: string,
    opts: { status?: number; cause?: unknown } = {},
  ) {
    super("llm_call_failed", `${llmRef(p)} failed (${reason}): ${message}`, {
      details: { provider: p.provider, model: p.modelId, reason, status: opts.status },
      cause: opts.cause,
      hint: "Check llm.* in the config (docs/llmops/llm-providers.md); the assistant answered with the local engine.",
    });
    this.name = "LlmCallError";
    this.provider = p.provider;
    this.modelId = p.modelId;
    this.reason = reason;
    this.status = opts.status;
  }
}
