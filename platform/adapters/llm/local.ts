import type { LlmProvider } from "../../ports/llm.ts";

/**
 * The offline provider: no generative model. Understanding uses the local classifier and entity
 * extraction, answers come from templates and extractive knowledge answers; nothing is priced.
 */
export function createLocalLlm(opts: { timeoutMs?: number; maxRetries?: number } = {}): LlmProvider {
  return {
    provider: "local",
    modelId: "offline",
    model: null,
    price: null,
    timeoutMs: opts.timeoutMs ?? 20_000,
    maxRetries: opts.maxRetries ?? 0,
  };
}
