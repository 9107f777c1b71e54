import { MockLanguageModelV4 } from "ai/test";
import type { LlmPrice, LlmProvider } from "../../platform/ports/llm.ts";

/**
 * A generative model for tests (the AI SDK's MockLanguageModelV4 behind the Llm port): it answers with
 * what `respond` returns for the system text and the user text of each call, and reports the token
 * counts given, so tracing, cost and the judge are tested without a provider.
 */
export interface MockLlmOptions {
  modelId?: string;
  respond(call: { system: string; prompt: string }): string;
  usage?: { input: number; cachedInput?: number; output: number; reasoning?: number };
  price?: LlmPrice | null;
  /** Throw this instead of answering (a provider failure). */
  fail?: () => Error | null;
}

export function mockLlmProvider(
  o: MockLlmOptions,
): LlmProvider & { calls: { system: string; prompt: string }[] } {
  const calls: { system: string; prompt: string }[] = [];
  const u = o.usage ?? { input: 100, output: 20 };
  const model = new MockLanguageModelV4({
    provider: "mock",
    modelId: o.modelId ?? "mock-model",
    doGenerate: async (options) => {
      const err = o.fail?.();
      if (err) throw err;
      const system = options.prompt
        .filter((m) => m.role === "system")
        .map((m) => m.content)
        .join("\n");
      const prompt = options.prompt
        .filter((m) => m.role === "user")
        .flatMap((m) => m.content.map((p) => (p.type === "text" ? p.text : "")))
        .join("\n");
      calls.push({ system, prompt });
      return {
        content: [{ type: "text", text: o.respond({ system, prompt }) }],
        finishReason: { unified: "stop", raw: "stop" },
        usage: {
          inputTokens: {
            total: u.input,
            noCache: u.input - (u.cachedInput ?? 0),
            cacheRead: u.cachedInput ?? 0,
            cacheWrite: 0,
          },
          outputTokens: { total: u.output, text: u.output - (u.reasoning ?? 0), reasoning: u.reasoning ?? 0 },
        },
        warnings: [],
      };
    },
  });
  return {
    provider: "openai-compatible",
    modelId: o.modelId ?? "mock-model",
    model,
    price: o.price === undefined ? { currency: "USD", inputPerMTok: 1, outputPerMTok: 2 } : o.price,
    timeoutMs: 5000,
    maxRetries: 0,
    calls,
  };
}

/** The phrasing prompt's template answer: a mock phraser that says exactly what the templates said. */
export function templateAnswerOf(system: string): string {
  const m = /Template answer:\n([\s\S]*?)\n\nTool results:/.exec(system);
  return m ? m[1] : "";
}
