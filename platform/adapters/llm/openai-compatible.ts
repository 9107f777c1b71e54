import type { LlmPrice, LlmProvider } from "../../ports/llm.ts";

/** Settings of an OpenAI-compatible chat endpoint: Ollama, vLLM, the llama.cpp server, OpenAI. */
export interface OpenAiCompatibleLlmSettings {
  /** Base URL ending in /v1 (…/chat/completions is appended); a URL without /v1 gets it added. */
  baseURL: string;
  model: string;
  /** The key itself (read by the factory from the variable `llm.openaiCompatible.apiKeyEnv` names). */
  apiKey?: string;
  /** Send `response_format: json_schema` for structured output (else `json_object`). */
  structuredOutputs?: boolean;
  price: LlmPrice | null;
  timeoutMs: number;
  maxRetries: number;
  /** Replaces global fetch (tests, proxies). */
  fetch?: typeof globalThis.fetch;
}

/** Normalises …, …/ and …/v1/ to …/v1. */
export function openAiBaseURL(url: string): string {
  const base = url.replace(/\/+$/, "");
  return /\/v\d+$/.test(base) ? base : `${base}/v1`;
}

/**
 * POST {baseURL}/chat/completions through @ai-sdk/openai-compatible, streaming with
 * `stream_options.include_usage` so streamed turns report tokens too. Loaded on first use so the CLI
 * starts without the AI SDK when the provider is local.
 */
export async function createOpenAiCompatibleLlm(s: OpenAiCompatibleLlmSettings): Promise<LlmProvider> {
  const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible");
  const client = createOpenAICompatible({
    name: "openai-compatible",
    baseURL: openAiBaseURL(s.baseURL),
    apiKey: s.apiKey,
    includeUsage: true,
    supportsStructuredOutputs: s.structuredOutputs ?? true,
    fetch: s.fetch,
  });
  return {
    provider: "openai-compatible",
    modelId: s.model,
    model: client.chatModel(s.model),
    price: s.price,
    timeoutMs: s.timeoutMs,
    maxRetries: s.maxRetries,
  };
}
