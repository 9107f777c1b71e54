import type { LanguageModelV4GenerateResult } from "@ai-sdk/provider";
import { APICallError, tool } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { assistantConfigSchema } from "../../platform/config/sections/assistant.ts";
import type { LlmProvider } from "../../platform/ports/llm.ts";
import { collectFacts, groundingViolations } from "../guardrails/grounding.ts";
import { loadPrompt } from "../prompts/loader.ts";
import type { Toolbox } from "../tools/toolbox.ts";
import { createPhraser, READ_ONLY_TOOLS } from "./phrasing.ts";

// A generative model phrases the template answer; what it says is sent only when every amount, date,
// plan and offer id in it comes from the turn's facts. Offline: a MockLanguageModelV4 replays answers.

const config = assistantConfigSchema.parse({});

function text(t: string): LanguageModelV4GenerateResult {
  return {
    content: [{ type: "text", text: t }],
    finishReason: { unified: "stop", raw: "stop" },
    usage: {
      inputTokens: { total: 900, noCache: 900, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: 40, text: 40, reasoning: undefined },
    },
    warnings: [],
  };
}

function provider(model: MockLanguageModelV4 | null): LlmProvider {
  return {
    provider: "openai-compatible",
    modelId: "mock-7b",
    model,
    price: null,
    timeoutMs: 2000,
    maxRetries: 0,
  };
}

const facts = [
  {
    invoice: {
      invoice_id: "INV-1",
      reference_month: "2026-03-01",
      due_date: "2026-03-10",
      amount_brl: 129.99,
    },
    previous: { amount_brl: 119.99 },
    difference_brl: 10,
  },
];
const template =
  "Sua fatura de março de 2026 é de R$ 129,99, com vencimento em 10/03/2026. Em relação a fevereiro (R$ 119,99), veio R$ 10,00 a mais.";
const input = {
  language: "pt-BR" as const,
  message: "pq a conta veio alta?",
  templateReply: template,
  facts,
  history: [],
};

describe("phrasing with a generative model", () => {
  it("sends the model's reply when every fact in it comes from the tool results, with the prompts used", async () => {
    const model = new MockLanguageModelV4({
      doGenerate: text(
        "Entendo a surpresa! Sua fatura de março ficou em R$ 129,99 (vence em 10/03/2026): R$ 10,00 a mais que a de fevereiro.",
      ),
    });
    const r = await createPhraser(provider(model), config).phrase(input);
    expect(r.trace.used).toBe("generated");
    expect(r.reply).toContain("Entendo a surpresa");
    expect(r.prompts).toContain(loadPrompt("phrasing").ref);
    expect(r.prompts).toContain(loadPrompt("system").ref);
    const sent = JSON.stringify(model.doGenerateCalls[0].prompt);
    expect(sent).toContain("129.99");
    expect(sent).toContain("pq a conta veio alta?");
  });

  it("falls back to the template when the model states an amount, a date or an offer no tool returned", async () => {
    for (const invented of [
      "Sua fatura é de R$ 139,99.",
      "Sua fatura de R$ 129,99 vence em 15/03/2026.",
      "Posso aplicar a oferta RET-DESC30 para você.",
      "Que tal o Aurora Pós 100GB?",
    ]) {
      const model = new MockLanguageModelV4({ doGenerate: text(invented) });
      const r = await createPhraser(provider(model), config).phrase(input);
      expect(r.reply, invented).toBe(template);
      expect(r.trace.used).toBe("template");
      expect(r.trace.violations?.length, invented).toBeGreaterThan(0);
    }
  });

  it("falls back to the template when the provider fails, and says so in the trace", async () => {
    const model = new MockLanguageModelV4({
      doGenerate: async () => {
        throw new APICallError({
          message: "upstream overloaded",
          url: "http://127.0.0.1/v1/chat/completions",
          requestBodyValues: {},
          statusCode: 503,
          isRetryable: false,
        });
      },
    });
    const r = await createPhraser(provider(model), config).phrase(input);
    expect(r.reply).toBe(template);
    expect(r.trace.fallback?.error).toMatch(/server_error|503/);
  });

  it("answers an open question through read-only tools only, grounded in their results", async () => {
    let calls = 0;
    const model = new MockLanguageModelV4({
      doGenerate: async () => {
        calls++;
        if (calls === 1)
          return {
            content: [
              {
                type: "tool-call",
                toolCallId: "c1",
                toolName: "get_customer_profile",
                input: JSON.stringify({}),
              },
            ],
            finishReason: { unified: "tool-calls", raw: "tool_calls" },
            usage: text("").usage,
            warnings: [],
          };
        return text("Seu plano é o Aurora Fibra 500 Mega, por R$ 119,99 por mês.");
      },
    });
    const executed: string[] = [];
    const tools = Object.fromEntries(
      READ_ONLY_TOOLS.map((name) => [
        name,
        tool({
          description: name,
          inputSchema: z.object({}),
          execute: async () => {
            executed.push(name);
            return {
              contracts: [
                { plan_id: "FIB500", plan_name: "Aurora Fibra 500 Mega", monthly_price_brl: 119.99 },
              ],
            };
          },
        }),
      ]),
    );
    const toolbox = { tools } as unknown as Toolbox;
    const r = await createPhraser(provider(model), config).answerOpen?.({
      language: "pt-BR",
      message: "qual é o meu plano mesmo?",
      history: [],
      toolbox,
    });
    expect(executed).toEqual(["get_customer_profile"]);
    expect(r?.reply).toBe("Seu plano é o Aurora Fibra 500 Mega, por R$ 119,99 por mês.");
    expect(r?.calls.map((c) => c.name)).toEqual(["get_customer_profile"]);
    const offered = (model.doGenerateCalls[0].tools ?? []).map((t) => t.name).sort();
    expect(offered).toEqual([...READ_ONLY_TOOLS].sort());
  });
});

describe("grounding check", () => {
  it("reads amounts and dates in both languages' formats", () => {
    const f = collectFacts([{ amount_brl: 1234.5, due_date: "2026-03-10" }]);
    expect(groundingViolations("R$ 1.234,50 vence em 10/03/2026", f)).toEqual([]);
    expect(groundingViolations("R$ 1,234.50 due Mar 10, 2026", f)).toEqual([]);
    expect(groundingViolations("vence em 10 de março", f)).toEqual([]);
    expect(groundingViolations("R$ 1.234,00", f).map((v) => v.kind)).toEqual(["amount"]);
    expect(groundingViolations("vence em 11/03/2026", f).map((v) => v.kind)).toEqual(["date"]);
  });
});
