import type { LanguageModelUsage } from "ai";
import {
  costOf,
  LlmCallError,
  type LlmCost,
  type LlmFailureReason,
  type LlmModel,
  type LlmProvider,
  type LlmProviderName,
  type LlmUsage,
  usageFromSdk,
} from "../../platform/ports/llm.ts";

/** What one model call (or its local stand-in) leaves in the turn's trace. */
export interface LlmCallTrace {
  /** What the call was for: `understand`, `phrase`, `tool_loop`, `judge` … */
  purpose: string;
  provider: LlmProviderName;
  model: string;
  /**
   * `llm`: the model answered. `fallback`: the model failed or timed out and the local engine answered
   * this turn (see `error`). `local`: no model is configured (llm.provider = local).
   */
  outcome: "llm" | "fallback" | "local";
  error?: { reason: LlmFailureReason; message: string; status?: number };
  durationMs: number;
  /** Tokens the provider reported; null when no model answered. */
  usage: LlmUsage | null;
  /** From the config's price table; null when no model answered or the model has no price. */
  cost: LlmCost | null;
  /** `name@version#hash` of every prompt sent (from `composePrompts`). */
  prompts: string[];
}

export interface LlmCallContext {
  model: LlmModel;
  /** Pass to the AI SDK call: it fires at the timeout and when the caller's own signal aborts. */
  abortSignal: AbortSignal;
  /** Pass to the AI SDK call (`llm.maxRetries`). */
  maxRetries: number;
}

export interface WithFallbackOptions<T> {
  purpose: string;
  /** The model call, e.g. `({ model, abortSignal, maxRetries }) => generateText({ model, abortSignal, maxRetries, … })`. */
  call(ctx: LlmCallContext): Promise<T>;
  /** The local engine's answer for this turn; also the only answer when `llm.model` is null. */
  local(): T | Promise<T>;
  /** Tokens of a successful call; default: `value.totalUsage ?? value.usage` (generateText results). */
  usage?(value: T): LanguageModelUsage | undefined;
  prompts?: string[];
  /** Default `llm.timeoutMs`. */
  timeoutMs?: number;
  /** The caller's cancellation (client went away): rethrown, never turned into a fallback. */
  abortSignal?: AbortSignal;
}

export interface FallbackResult<T> {
  value: T;
  source: "llm" | "local";
  trace: LlmCallTrace;
}

/**
 * Runs a model call with a hard deadline; on any provider failure (HTTP error after the SDK's retries,
 * network error, timeout, output that does not parse or validate) answers with `local()` instead and
 * records why. A caller's own abort is rethrown.
 */
export async function withFallback<T>(
  llm: LlmProvider,
  opts: WithFallbackOptions<T>,
): Promise<FallbackResult<T>> {
  const started = performance.now();
  const base = {
    purpose: opts.purpose,
    provider: llm.provider,
    model: llm.modelId,
    prompts: opts.prompts ?? [],
  };
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  if (!llm.model) {
    const value = await opts.local();
    return {
      value,
      source: "local",
      trace: { ...base, outcome: "local", durationMs: elapsed(), usage: null, cost: null },
    };
  }
  const timeoutMs = opts.timeoutMs ?? llm.timeoutMs;
  const controller = new AbortController();
  const outer = opts.abortSignal;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  outer?.addEventListener("abort", onOuterAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  // The race also ends calls that ignore the abort signal (a stream consumer stuck on a silent server).
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new LlmCallError(llm, "timeout", `no complete answer within ${timeoutMs} ms`);
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    const value = await Promise.race([
      opts.call({ model: llm.model, abortSignal: controller.signal, maxRetries: llm.maxRetries }),
      deadline,
    ]);
    const usage = usageFromSdk((opts.usage ?? defaultUsage)(value));
    return {
      value,
      source: "llm",
      trace: { ...base, outcome: "llm", durationMs: elapsed(), usage, cost: costOf(usage, llm.price) },
    };
  } catch (err) {
    if (outer?.aborted) throw err;
    const error = toLlmCallError(err, llm);
    const value = await opts.local();
    return {
      value,
      source: "local",
      trace: {
        ...base,
        outcome: "fallback",
        error: {
          reason: error.reason,
          message: error.message,
          ...(error.status === undefined ? {} : { status: error.status }),
        },
        durationMs: elapsed(),
        usage: null,
        cost: null,
      },
    };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onOuterAbort);
  }
}

function defaultUsage(value: unknown): LanguageModelUsage | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as { totalUsage?: unknown; usage?: unknown };
  const u = v.totalUsage ?? v.usage;
  return typeof u === "object" && u !== null && "inputTokens" in u ? (u as LanguageModelUsage) : undefined;
}

const INVALID_OUTPUT = new Set([
  "AI_NoObjectGeneratedError",
  "AI_NoOutputGeneratedError",
  "AI_NoContentGeneratedError",
  "AI_TypeValidationError",
  "AI_JSONParseError",
  "AI_InvalidResponseDataError",
  "AI_InvalidToolInputError",
  "AI_NoSuchToolError",
  "AI_ToolCallRepairError",
]);

type ErrorLike = {
  name?: string;
  message?: string;
  statusCode?: number;
  lastError?: unknown;
  cause?: unknown;
};

/**
 * Classifies an AI SDK (or fetch) error. By error name rather than `instanceof`/`isInstance` so this
 * module loads without the AI SDK when the provider is local.
 */
export function toLlmCallError(err: unknown, llm: Pick<LlmProvider, "provider" | "modelId">): LlmCallError {
  if (err instanceof LlmCallError) return err;
  const e = (typeof err === "object" && err !== null ? err : {}) as ErrorLike;
  const message = e.message ?? String(err);
  const make = (reason: LlmFailureReason, status?: number) =>
    new LlmCallError(llm, reason, message, { status, cause: err });
  // RetryError: the SDK gave up after maxRetries; the last attempt says why.
  if (e.name === "AI_RetryError" && e.lastError) {
    const last = toLlmCallError(e.lastError, llm);
    return new LlmCallError(llm, last.reason, message, { status: last.status, cause: err });
  }
  if (e.name === "TimeoutError") return make("timeout");
  if (e.name === "AI_APICallError" || e.name === "AI_StreamProviderError") {
    const status = e.statusCode;
    if (status === undefined) return make("network");
    if (status === 408 || status === 504) return make("timeout", status);
    if (status === 429) return make("rate_limited", status);
    if (status === 401 || status === 403) return make("auth", status);
    if (status >= 500) return make("server_error", status);
    return make("bad_request", status);
  }
  if (e.name === "AI_LoadAPIKeyError") return make("auth");
  if (e.name && INVALID_OUTPUT.has(e.name)) {
    // Output errors may wrap the transport error that caused them (a stream that broke off).
    if (e.cause) {
      const inner = toLlmCallError(e.cause, llm);
      if (inner.reason !== "unknown")
        return new LlmCallError(llm, inner.reason, message, { status: inner.status, cause: err });
    }
    return make("invalid_output");
  }
  if (e.name === "TypeError" && /fetch failed/i.test(message)) return make("network");
  return make("unknown");
}

const GEN_AI_PROVIDER: Record<LlmProviderName, string> = {
  local: "local",
  vertex: "gcp.vertex_ai",
  "openai-compatible": "openai",
};

/**
 * The trace as OpenTelemetry attributes: GenAI semantic conventions (gen_ai.*) plus this project's
 * (telco.llm.*: purpose, outcome, fallback reason, cost, prompt versions).
 */
export function genAiAttributes(t: LlmCallTrace): Record<string, string | number> {
  const a: Record<string, string | number> = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": GEN_AI_PROVIDER[t.provider],
    "gen_ai.request.model": t.model,
    "telco.llm.purpose": t.purpose,
    "telco.llm.outcome": t.outcome,
    "telco.llm.duration_ms": t.durationMs,
  };
  if (t.usage) {
    a["gen_ai.usage.input_tokens"] = t.usage.inputTokens;
    a["gen_ai.usage.output_tokens"] = t.usage.outputTokens;
    a["telco.llm.usage.cached_input_tokens"] = t.usage.cachedInputTokens;
    a["telco.llm.usage.reasoning_tokens"] = t.usage.reasoningTokens;
  }
  if (t.cost) {
    a["telco.llm.cost"] = t.cost.total;
    a["telco.llm.cost_currency"] = t.cost.currency;
  }
  if (t.error) {
    a["error.type"] = t.error.reason;
    a["telco.llm.fallback_reason"] = t.error.reason;
  }
  if (t.prompts.length) a["telco.prompts"] = t.prompts.join(",");
  return a;
}
