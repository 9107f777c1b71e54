import { z } from "zod";

const perMTok = z.number().min(0).describe("Price per million tokens");

export const llmPriceSchema = z
  .object({
    currency: z.enum(["USD", "BRL"]).default("USD"),
    inputPerMTok: perMTok,
    outputPerMTok: perMTok,
    cachedInputPerMTok: perMTok.optional().describe("Cached input tokens (default: the input price)"),
    reasoningPerMTok: perMTok.optional().describe("Reasoning/thinking tokens (default: the output price)"),
  })
  .strict();

export type LlmPriceConfig = z.infer<typeof llmPriceSchema>;

/**
 * Built-in price table, USD per million tokens (both providers bill in USD), per provider and model
 * id. List prices of standard on-demand text calls as published on
 * cloud.google.com/vertex-ai/generative-ai/pricing and openai.com/api/pricing in 2025 (Gemini 2.5 Pro:
 * prompts up to 200k tokens). PRICES CHANGE: check them before relying on cost reports, and override or
 * add entries under `llm.prices` (merged over these, model by model). Self-hosted servers (Ollama, vLLM,
 * llama.cpp) cost 0 per token here: you pay for the machine, which this table does not model. A model
 * missing from the table reports cost as unknown (null), never 0.
 */
export const DEFAULT_LLM_PRICES: Record<"vertex" | "openai-compatible", Record<string, LlmPriceConfig>> = {
  vertex: {
    "gemini-2.5-flash": {
      currency: "USD",
      inputPerMTok: 0.3,
      outputPerMTok: 2.5,
      cachedInputPerMTok: 0.03,
      reasoningPerMTok: 2.5,
    },
    "gemini-2.5-flash-lite": {
      currency: "USD",
      inputPerMTok: 0.1,
      outputPerMTok: 0.4,
      cachedInputPerMTok: 0.01,
      reasoningPerMTok: 0.4,
    },
    "gemini-2.5-pro": {
      currency: "USD",
      inputPerMTok: 1.25,
      outputPerMTok: 10,
      cachedInputPerMTok: 0.125,
      reasoningPerMTok: 10,
    },
  },
  "openai-compatible": {
    "gpt-4o-mini": { currency: "USD", inputPerMTok: 0.15, outputPerMTok: 0.6, cachedInputPerMTok: 0.075 },
    "gpt-4.1-mini": { currency: "USD", inputPerMTok: 0.4, outputPerMTok: 1.6, cachedInputPerMTok: 0.1 },
    "gpt-4.1-nano": { currency: "USD", inputPerMTok: 0.1, outputPerMTok: 0.4, cachedInputPerMTok: 0.025 },
    // Self-hosted defaults (Ollama tags): per-token cost 0.
    "qwen2.5:7b-instruct": { currency: "USD", inputPerMTok: 0, outputPerMTok: 0 },
    "llama3.1:8b": { currency: "USD", inputPerMTok: 0, outputPerMTok: 0 },
    "mistral-nemo:12b": { currency: "USD", inputPerMTok: 0, outputPerMTok: 0 },
  },
};

/** Which language model phrases answers and (with assistant.understanding = llm) understands. */
export const llmConfigSchema = z
  .object({
    /** local: no model (templates and the offline engine); vertex: Gemini on Vertex AI; openai-compatible: Ollama, vLLM, llama.cpp, OpenAI. */
    provider: z.enum(["local", "vertex", "openai-compatible"]).default("local"),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .default(20_000)
      .describe("Budget of one model call, retries included; past it the turn falls back to local"),
    maxRetries: z
      .number()
      .int()
      .min(0)
      .max(5)
      .default(1)
      .describe("AI SDK retries of a 429/5xx/network failure before falling back"),
    vertex: z
      .object({
        project: z.string().min(1).optional().describe("GCP project (default: gcp.project)"),
        location: z
          .string()
          .default("us-central1")
          .describe("Vertex AI location serving the model (us-central1, global, southamerica-east1 …)"),
        model: z.string().min(1).default("gemini-2.5-flash"),
        baseURL: z
          .string()
          .optional()
          .describe("Override of https://{location}-aiplatform.googleapis.com (tests, proxies)"),
        apiKeyEnv: z
          .string()
          .optional()
          .describe("Variable holding a Vertex express-mode API key; unset: Application Default Credentials"),
      })
      .strict()
      .prefault({}),
    openaiCompatible: z
      .object({
        baseURL: z
          .string()
          .default("http://127.0.0.1:11434/v1")
          .describe("Ending in /v1: Ollama :11434, vLLM :8000, llama.cpp :8080, https://api.openai.com/v1"),
        model: z.string().min(1).default("qwen2.5:7b-instruct"),
        apiKeyEnv: z
          .string()
          .default("LLM_API_KEY")
          .describe("NAME of the variable holding the API key (not TELCO_*: those are config keys)"),
        structuredOutputs: z
          .boolean()
          .default(true)
          .describe("Send response_format json_schema (Ollama ≥0.5, vLLM, llama.cpp, OpenAI all accept it)"),
      })
      .strict()
      .prefault({}),
    prices: z
      .object({
        vertex: z.record(z.string(), llmPriceSchema).default({}),
        "openai-compatible": z.record(z.string(), llmPriceSchema).default({}),
      })
      .strict()
      .prefault({})
      .describe("Per provider and model, merged over DEFAULT_LLM_PRICES"),
  })
  .strict();

export type LlmConfig = z.infer<typeof llmConfigSchema>;

/** The configured price of a model: `llm.prices` first, then the built-in table; undefined if neither has it. */
export function llmPriceFor(
  config: LlmConfig,
  provider: "vertex" | "openai-compatible",
  model: string,
): LlmPriceConfig | undefined {
  return config.prices[provider][model] ?? DEFAULT_LLM_PRICES[provider][model];
}
