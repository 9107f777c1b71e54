import { generateText, streamText, tool } from "ai";
import { convertArrayToReadableStream, MockLanguageModelV4 } from "ai/test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { guardrailsConfigSchema } from "../../platform/config/sections/guardrails.ts";
import type { AppContext } from "../../platform/context.ts";
import type { LlmProvider } from "../../platform/ports/llm.ts";
import { PiiVault, shieldedApp, shieldLlm } from "./llm-shield.ts";

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 5, text: 5, reasoning: 0 },
};
const finish = { unified: "stop" as const, raw: "stop" };

function provider(model: MockLanguageModelV4): LlmProvider {
  return {
    provider: "openai-compatible",
    modelId: "mock",
    model,
    price: null,
    timeoutMs: 5000,
    maxRetries: 0,
  };
}

/** Every string the model was sent, flattened. */
function sent(model: MockLanguageModelV4): string {
  return (
    JSON.stringify(model.doGenerateCalls.map((c) => c.prompt)) +
    JSON.stringify(model.doStreamCalls.map((c) => c.prompt))
  );
}

describe("LLM PII shield", () => {
  it("sends placeholders and puts the values back in the answer", async () => {
    const model = new MockLanguageModelV4({
      doGenerate: async () => ({
        content: [
          {
            type: "text",
            text: "Recebi o CPF [CPF_1] e o telefone [PHONE_1]; o cartão [CARD_1] não é necessário.",
          },
        ],
        finishReason: finish,
        usage,
        warnings: [],
      }),
    });
    const r = await generateText({
      model: shieldLlm(provider(model)).model!,
      system: "Você é a Aurora.",
      prompt: "meu CPF é 529.982.247-25, cel (21) 99876-5432, cartão 4111 1111 1111 1111",
    });
    const wire = sent(model);
    expect(wire).not.toMatch(/529\.982|99876|4111 1111/);
    expect(wire).toContain("[CPF_1]");
    expect(r.text).toBe(
      "Recebi o CPF 529.982.247-25 e o telefone (21) 99876-5432; o cartão **** **** **** 1111 não é necessário.",
    );
  });

  it("restores placeholders in tool-call inputs, so the tool gets the real value the model never saw", async () => {
    let received: unknown = null;
    const model = new MockLanguageModelV4({
      doGenerate: [
        {
          content: [
            {
              type: "tool-call",
              toolCallId: "c1",
              toolName: "lookup",
              input: JSON.stringify({ cpf: "[CPF_1]" }),
            },
          ],
          finishReason: { unified: "tool-calls", raw: "tool_calls" },
          usage,
          warnings: [],
        },
        { content: [{ type: "text", text: "ok" }], finishReason: finish, usage, warnings: [] },
      ],
    });
    await generateText({
      model: shieldLlm(provider(model)).model!,
      prompt: "confere o CPF 529.982.247-25",
      tools: {
        lookup: tool({
          inputSchema: z.object({ cpf: z.string() }),
          execute: async (input) => {
            received = input;
            return { name: "Ana Souza", phone: "+55 21 99876-5432" };
          },
        }),
      },
      stopWhen: () => model.doGenerateCalls.length >= 2,
    });
    expect(received).toEqual({ cpf: "529.982.247-25" });
    // The tool result went back to the model masked too (values under personal keys whole).
    expect(sent(model)).not.toMatch(/Ana Souza|99876/);
  });

  it("restores a placeholder split across stream chunks", async () => {
    const model = new MockLanguageModelV4({
      doStream: async () => ({
        stream: convertArrayToReadableStream([
          { type: "text-start", id: "t" },
          { type: "text-delta", id: "t", delta: "Seu CPF é [CP" },
          { type: "text-delta", id: "t", delta: "F_1], confirmado." },
          { type: "text-end", id: "t" },
          { type: "finish", finishReason: finish, usage },
        ]),
      }),
    });
    const r = streamText({ model: shieldLlm(provider(model)).model!, prompt: "CPF 529.982.247-25" });
    expect(await r.text).toBe("Seu CPF é 529.982.247-25, confirmado.");
    expect(sent(model)).not.toContain("529.982");
  });

  it("leaves a provider without a model (local) as it is", () => {
    const local: LlmProvider = {
      provider: "local",
      modelId: "offline",
      model: null,
      price: null,
      timeoutMs: 1,
      maxRetries: 0,
    };
    expect(shieldLlm(local)).toBe(local);
  });

  it("gives one value one placeholder and leaves unknown placeholders alone", () => {
    const v = new PiiVault();
    expect(v.mask("CPF 529.982.247-25 e de novo 529.982.247-25")).toBe("CPF [CPF_1] e de novo [CPF_1]");
    expect(v.restore("[CPF_1] [CPF_9] [nota]")).toBe("529.982.247-25 [CPF_9] [nota]");
    expect(v.restore('{"cpf":"[CPF_1]"}', true)).toBe('{"cpf":"529.982.247-25"}');
  });

  it("gives engines built from the app the shielded model, unless the config turns it off", async () => {
    const model = new MockLanguageModelV4({
      doGenerate: async () => ({
        content: [{ type: "text", text: "ok" }],
        finishReason: finish,
        usage,
        warnings: [],
      }),
    });
    const base = provider(model);
    const app = { llm: async () => base, config: {} } as unknown as AppContext;
    const on = shieldedApp(app, guardrailsConfigSchema.parse({}));
    await generateText({ model: (await on.llm()).model!, prompt: "CPF 529.982.247-25" });
    expect(sent(model)).not.toContain("529.982");
    expect(await on.llm()).toBe(await on.llm());
    expect(shieldedApp(app, guardrailsConfigSchema.parse({ maskLlmPrompts: false }))).toBe(app);
    expect(shieldedApp(app, guardrailsConfigSchema.parse({ enabled: false }))).toBe(app);
  });
});
