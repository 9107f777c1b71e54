import type { TelcoConfig } from "../../config/schema.ts";
import { llmPriceFor } from "../../config/sections/llm.ts";
import { ConfigError } from "../../errors.ts";
import type { LlmPrice, LlmProvider } from "../../ports/llm.ts";
import { createLocalLlm } from "./local.ts";

export interface CreateLlmOptions {
  /** Where API keys and tokens are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Replaces global fetch for the provider's HTTP calls (tests, proxies). */
  fetch?: typeof globalThis.fetch;
  /** Vertex only: the OAuth token source (default: GOOGLE_OAUTH_ACCESS_TOKEN, else ADC). */
  accessToken?: () => Promise<string>;
}

/**
 * The LLM provider `llm.provider` selects, with its price from the table. Hosted SDKs are imported only
 * for the provider in use. Environment read:
 * - openai-compatible: the variable `llm.openaiCompatible.apiKeyEnv` names (default LLM_API_KEY);
 *   unset means no Authorization header (Ollama, llama.cpp and vLLM need none by default).
 * - vertex: `llm.vertex.apiKeyEnv` (or GOOGLE_VERTEX_API_KEY) → express mode; otherwise
 *   GOOGLE_OAUTH_ACCESS_TOKEN if set, else Application Default Credentials.
 */
export async function createLlmProvider(
  config: TelcoConfig,
  opts: CreateLlmOptions = {},
): Promise<LlmProvider> {
  const env = opts.env ?? process.env;
  const llm = config.llm;
  const common = { timeoutMs: llm.timeoutMs, maxRetries: llm.maxRetries };
  switch (llm.provider) {
    case "local":
      return createLocalLlm(common);
    case "openai-compatible": {
      const s = llm.openaiCompatible;
      const { createOpenAiCompatibleLlm } = await import("./openai-compatible.ts");
      return createOpenAiCompatibleLlm({
        ...common,
        baseURL: s.baseURL,
        model: s.model,
        apiKey: env[s.apiKeyEnv] || undefined,
        structuredOutputs: s.structuredOutputs,
        price: toPrice(llmPriceFor(llm, "openai-compatible", s.model)),
        fetch: opts.fetch,
      });
    }
    case "vertex": {
      const s = llm.vertex;
      const project = s.project ?? config.gcp.project;
      const apiKey = env[s.apiKeyEnv ?? "GOOGLE_VERTEX_API_KEY"] || undefined;
      if (!project && !apiKey)
        throw new ConfigError("llm.vertex.project (or gcp.project) is required for llm.provider: vertex", {
          hint: "Set gcp.project in telco.config.yaml or TELCO_GCP__PROJECT, or use an express-mode key (llm.vertex.apiKeyEnv).",
        });
      const staticToken = env.GOOGLE_OAUTH_ACCESS_TOKEN;
      const { createVertexLlm } = await import("./vertex.ts");
      return createVertexLlm({
        ...common,
        project: project ?? "",
        location: s.location,
        model: s.model,
        baseURL: s.baseURL,
        apiKey,
        accessToken: opts.accessToken ?? (staticToken ? async () => staticToken : undefined),
        price: toPrice(llmPriceFor(llm, "vertex", s.model)),
        fetch: opts.fetch,
      });
    }
  }
}

function toPrice(p: ReturnType<typeof llmPriceFor>): LlmPrice | null {
  return p ? { ...p } : null;
}
