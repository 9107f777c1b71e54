import type { LanguageModelV4CallOptions, LanguageModelV4GenerateResult } from "@ai-sdk/provider";
import { APICallError } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { describe, expect, it } from "vitest";
import type { LlmProvider } from "../../../platform/ports/llm.ts";
import type {
  Command,
  DialogueState,
  Understanding,
  UnderstandingEngine,
} from "../../conversation/commands.ts";
import { loadPrompt } from "../../prompts/loader.ts";
import { LlmUnderstanding } from "./llm.ts";
import { LocalUnderstanding } from "./local.ts";

// The llm engine offline: a MockLanguageModelV4 answers with recorded structured output (the JSON
// text a provider returns for the command schema), or fails the way providers fail.

const TODAY = "2026-05-15";
const idle: DialogueState = { active_flow: null, awaiting_slot: null, listed_options: [], language: "pt-BR" };

function recorded(commands: unknown): LanguageModelV4GenerateResult {
  return {
    content: [{ type: "text", text: JSON.stringify({ commands }) }],
    finishReason: { unified: "stop", raw: "stop" },
    usage: {
      inputTokens: { total: 1490, noCache: 1490, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: 42, text: 42, reasoning: undefined },
    },
    warnings: [],
  };
}

function provider(model: MockLanguageModelV4 | null, timeoutMs = 2000): LlmProvider {
  return { provider: "openai-compatible", modelId: "mock-7b", model, price: null, timeoutMs, maxRetries: 0 };
}

/** The local stand-in records that it was asked. */
function localSpy(): UnderstandingEngine & { calls: string[] } {
  const calls: string[] = [];
  const engine = new LocalUnderstanding({ businessDate: () => TODAY });
  return {
    name: "local",
    calls,
    async understand(text: string, state: DialogueState): Promise<Understanding> {
      calls.push(text);
      return engine.understand(text, state);
    },
  };
}

function engineWith(model: MockLanguageModelV4 | null, timeoutMs?: number) {
  const local = localSpy();
  const llm = new LlmUnderstanding({ llm: provider(model, timeoutMs), local, businessDate: () => TODAY });
  return { llm, local };
}

describe("LlmUnderstanding with recorded structured output", () => {
  it("sends the command-generation prompt with the state and the command schema; returns the model's commands", async () => {
    const model = new MockLanguageModelV4({
      doGenerate: recorded([
        { type: "start_flow", flow: "invoice_copy" },
        { type: "set_slot", slot: "invoice_month", value: "2026-04" },
      ]),
    });
    const { llm, local } = engineWith(model);
    const u = await llm.understand("preciso da segunda via da conta do mês passado", idle);

    expect(u.engine).toBe("llm");
    expect(u.fallback).toBeUndefined();
    expect(u.commands).toEqual([
      { type: "start_flow", flow: "invoice_copy" },
      { type: "set_slot", slot: "invoice_month", value: "2026-04" },
    ]);
    expect(u.intents.map((i) => i.intent)).toEqual(["invoice_copy", "inform"]);
    expect(u.language).toBe("pt-BR");
    expect(local.calls).toEqual([]);

    const prompt = loadPrompt("command-generation");
    expect(u.prompts).toEqual([prompt.ref]);
    expect(u.trace).toMatchObject({
      purpose: "understand",
      outcome: "llm",
      model: "mock-7b",
      prompts: [prompt.ref],
    });
    expect(u.trace.usage).toMatchObject({ inputTokens: 1490, outputTokens: 42 });

    const call = model.doGenerateCalls[0] as LanguageModelV4CallOptions;
    const sent = call.prompt
      .flatMap((m): unknown[] => (Array.isArray(m.content) ? m.content : []))
      .map((part) => {
        const p = part as { type: string; text?: string };
        return p.type === "text" ? (p.text ?? "") : "";
      })
      .join("\n");
    expect(sent).toContain("preciso da segunda via da conta do mês passado");
    expect(sent).toContain(`Today: ${TODAY}`);
    expect(sent).toContain('"active_flow": null');
    expect(call.responseFormat?.type).toBe("json");
    const schema = JSON.stringify(call.responseFormat?.type === "json" ? call.responseFormat.schema : null);
    for (const type of [
      "start_flow",
      "set_slot",
      "answer_knowledge",
      "correct_slot",
      "cancel_flow",
      "hand_off",
    ])
      expect(schema).toContain(type);
  });

  it("normalises slot values to the local formats and drops the ones that fail the checks", async () => {
    const state: DialogueState = {
      active_flow: "plan_recommendation",
      awaiting_slot: "choice",
      listed_options: ["FIB500", "FIB1000"],
      language: "pt-BR",
    };
    const model = new MockLanguageModelV4({
      doGenerate: recorded([
        { type: "set_slot", slot: "cpf", value: "529.982.247-25" },
        { type: "set_slot", slot: "phone", value: "(11) 98765-4321" },
        { type: "set_slot", slot: "amount_brl", value: "R$ 129,90" },
        { type: "set_slot", slot: "invoice_month", value: "março" },
        { type: "set_slot", slot: "choice", value: 2 },
        { type: "set_slot", slot: "cpf", value: "123.456.789-00" },
        { type: "set_slot", slot: "plan_id", value: "FIBRA9000" },
        { type: "set_slot", slot: "choice", value: 3 },
        { type: "correct_slot", slot: "birth_date", value: "2090-01-01" },
      ]),
    });
    const { llm } = engineWith(model);
    const u = await llm.understand("qualquer coisa", state);
    expect(u.engine).toBe("llm");
    expect(u.commands).toEqual([
      { type: "set_slot", slot: "cpf", value: "52998224725" },
      { type: "set_slot", slot: "phone", value: "+5511987654321" },
      { type: "set_slot", slot: "amount_brl", value: 129.9 },
      { type: "set_slot", slot: "invoice_month", value: "2026-03" },
      { type: "set_slot", slot: "choice", value: 2 },
    ]);
    expect(u.dropped.map((d) => d.reason)).toEqual([
      'cpf: "123.456.789-00" is not a valid CPF',
      'plan_id: "FIBRA9000" is not a catalog plan',
      "choice: choice 3 but 2 options were listed",
      'birth_date: "2090-01-01" is not a past date',
    ]);
  });

  it("sees the language of each message (a switch to English mid-conversation)", async () => {
    const model = new MockLanguageModelV4({
      doGenerate: recorded([{ type: "start_flow", flow: "internet_diagnosis" }]),
    });
    const { llm } = engineWith(model);
    const u = await llm.understand("my internet keeps dropping", { ...idle, active_flow: "invoice_copy" });
    expect(u.language).toBe("en");
  });
});

describe("LlmUnderstanding falls back to the local engine for the turn", () => {
  const message = "minha net caiu e quero a segunda via";
  const localCommands: Command[] = [
    { type: "start_flow", flow: "internet_diagnosis" },
    { type: "start_flow", flow: "invoice_copy" },
  ];

  it("on a provider error", async () => {
    const model = new MockLanguageModelV4({
      doGenerate: async () => {
        throw new APICallError({
          message: "Internal Server Error",
          url: "http://127.0.0.1/v1/chat/completions",
          requestBodyValues: {},
          statusCode: 500,
          isRetryable: false,
        });
      },
    });
    const { llm, local } = engineWith(model);
    const u = await llm.understand(message, idle);
    expect(local.calls).toEqual([message]);
    expect(u.engine).toBe("local");
    expect(u.fallback).toEqual({
      from: "llm",
      error: expect.stringMatching(/^server_error 500: .*Internal Server Error/),
    });
    expect(u.commands).toEqual(localCommands);
    expect(u.trace.outcome).toBe("fallback");
    expect(u.prompts).toEqual([loadPrompt("command-generation").ref]);
  });

  it("on a timeout", async () => {
    const model = new MockLanguageModelV4({
      doGenerate: (options) =>
        new Promise((_, reject) => {
          options.abortSignal?.addEventListener("abort", () => reject(options.abortSignal?.reason));
        }),
    });
    const { llm, local } = engineWith(model, 50);
    const u = await llm.understand(message, idle);
    expect(local.calls).toEqual([message]);
    expect(u.fallback?.error).toMatch(/^timeout: /);
    expect(u.commands.map((c) => c.type)).toEqual(["start_flow", "start_flow"]);
  });

  it("on output that is not the schema", async () => {
    const model = new MockLanguageModelV4({
      doGenerate: {
        ...recorded([]),
        content: [{ type: "text", text: '{"commands":[{"type":"launch_rocket"}]}' }],
      },
    });
    const { llm } = engineWith(model);
    const u = await llm.understand(message, idle);
    expect(u.engine).toBe("local");
    expect(u.fallback?.error).toMatch(/^invalid_output: /);
  });

  it("when every command fails the checks, or there is none", async () => {
    const bad = new MockLanguageModelV4({
      doGenerate: recorded([{ type: "set_slot", slot: "cpf", value: "111" }]),
    });
    const u = await engineWith(bad).llm.understand(message, idle);
    expect(u.fallback?.error).toMatch(/^invalid_output: .*no usable command: cpf: "111" is not a valid CPF/);
    const empty = new MockLanguageModelV4({ doGenerate: recorded([]) });
    const v = await engineWith(empty).llm.understand(message, idle);
    expect(v.fallback?.error).toMatch(/the model returned no command/);
  });

  it("without a model (llm.provider local) the local engine answers and nothing is a fallback", async () => {
    const { llm, local } = engineWith(null);
    const u = await llm.understand(message, idle);
    expect(local.calls).toEqual([message]);
    expect(u.engine).toBe("local");
    expect(u.fallback).toBeUndefined();
    expect(u.trace.outcome).toBe("local");
    expect(u.prompts).toEqual([]);
  });
});
