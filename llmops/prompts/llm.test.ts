import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateText, Output } from "ai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  type FakeLlmServer,
  type LlmFixture,
  loadLlmFixture,
  type RecordedExchange,
  startFakeLlmServer,
} from "../../platform/adapters/llm/fake-server.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import type { LlmProvider } from "../../platform/ports/llm.ts";
import { type Command, commandSchema, type DialogueState } from "../conversation/commands.ts";
import { genAiAttributes, toLlmCallError, withFallback } from "./fallback.ts";
import { composePrompts } from "./loader.ts";

// The LLM understanding path end to end: the command-generation prompt, structured output with the
// assistant's command schema, through the provider AppContext.llm() builds, inside withFallback.

const outputSchema = z.object({ commands: z.array(commandSchema) });
const COMMAND_TYPES = commandSchema.options.map((o) => o.shape.type.value);
const LOCAL_COMMANDS: Command[] = [{ type: "cannot_handle", reason: "local engine stand-in" }];

const state: DialogueState = {
  active_flow: null,
  awaiting_slot: null,
  listed_options: [],
  language: "pt-BR",
};
const message = "preciso da segunda via da conta do mês passado";

let fake: FakeLlmServer | undefined;
let home: string | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  if (home) rmSync(home, { recursive: true, force: true });
  home = undefined;
  vi.unstubAllEnvs();
});

async function llmFor(llm: Record<string, unknown>, gcp: Record<string, unknown> = {}): Promise<LlmProvider> {
  home = mkdtempSync(join(tmpdir(), "telco-llm-"));
  return contextFromConfig(configSchema.parse({ llm, gcp }), home).llm();
}

async function serve(exchanges: RecordedExchange[]) {
  fake = await startFakeLlmServer(exchanges);
  return fake;
}

function understand(llm: LlmProvider, opts: { timeoutMs?: number; abortSignal?: AbortSignal } = {}) {
  const prompt = composePrompts({
    prompt: "command-generation",
    vars: { today: "2026-03-10", state, history: [], message },
  });
  return {
    prompt,
    run: () =>
      withFallback(llm, {
        purpose: "understand",
        prompts: prompt.refs,
        ...opts,
        call: ({ model, abortSignal, maxRetries }) =>
          generateText({
            model,
            abortSignal,
            maxRetries,
            prompt: prompt.text,
            output: Output.object({ schema: outputSchema }),
          }),
        local: () => ({ output: { commands: LOCAL_COMMANDS } }),
      }),
  };
}

const EXPECTED: Command[] = [
  { type: "start_flow", flow: "invoice_copy" },
  { type: "set_slot", slot: "invoice_month", value: "2026-02" },
];

/** The command alternatives a request's JSON schema offers, by their `type` (const, or enum on Gemini). */
function schemaTypes(schema: unknown): string[] {
  type Alt = { properties: { type: { const?: string; enum?: string[] } } };
  const s = schema as { properties: { commands: { items: { oneOf: Alt[] } } } };
  return s.properties.commands.items.oneOf.map(
    (o) => o.properties.type.const ?? o.properties.type.enum?.[0] ?? "",
  );
}

describe("LLM understanding through structured output", () => {
  it("vertex: sends the rendered prompt and the command schema as responseJsonSchema; commands parse; trace priced", async () => {
    vi.stubEnv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.test");
    const fixture = loadLlmFixture("vertex-structured-output.json");
    const server = await serve(fixture.exchanges);
    const llm = await llmFor(
      { provider: "vertex", vertex: { baseURL: server.baseURL } },
      { project: "aurora-demo" },
    );
    const { prompt, run } = understand(llm);
    const result = await run();

    const body = server.requests[0].body as {
      contents: { parts: { text: string }[] }[];
      generationConfig: { responseMimeType: string; responseJsonSchema: unknown };
    };
    expect(server.requests[0].url).toBe(fixture.exchanges[0].request.path);
    expect(server.requests[0].headers.authorization).toBe("Bearer ya29.test");
    expect(body.contents[0].parts[0].text).toBe(prompt.text);
    expect(body.contents[0].parts[0].text).toContain(message);
    expect(body.generationConfig.responseMimeType).toBe("application/json");
    expect(schemaTypes(body.generationConfig.responseJsonSchema)).toEqual(COMMAND_TYPES);

    expect(result.source).toBe("llm");
    expect(result.value.output.commands).toEqual(EXPECTED);
    expect(result.trace).toMatchObject({
      purpose: "understand",
      provider: "vertex",
      model: "gemini-2.5-flash",
      outcome: "llm",
      prompts: [expect.stringMatching(/^command-generation@\d+\.\d+\.\d+#[0-9a-f]{12}$/)],
      usage: { inputTokens: 1510, outputTokens: 38 },
    });
    expect(result.trace.prompts).toEqual(prompt.refs);
    expect(result.trace.cost?.total).toBeCloseTo((1510 * 0.3 + 38 * 2.5) / 1e6, 12);
    expect(genAiAttributes(result.trace)).toMatchObject({
      "gen_ai.provider.name": "gcp.vertex_ai",
      "gen_ai.request.model": "gemini-2.5-flash",
      "gen_ai.usage.input_tokens": 1510,
      "gen_ai.usage.output_tokens": 38,
      "telco.llm.outcome": "llm",
      "telco.prompts": prompt.refs[0],
    });
  });

  it("openai-compatible: sends response_format json_schema with the command schema; commands parse", async () => {
    const fixture = loadLlmFixture("openai-chat-structured-output.json");
    const server = await serve(fixture.exchanges);
    const llm = await llmFor({
      provider: "openai-compatible",
      openaiCompatible: { baseURL: server.baseURL },
    });
    const { prompt, run } = understand(llm);
    const result = await run();

    const body = server.requests[0].body as {
      model: string;
      messages: { role: string; content: string }[];
      response_format: { type: string; json_schema: { schema: unknown } };
    };
    expect(body.model).toBe("qwen2.5:7b-instruct");
    expect(body.messages).toEqual([{ role: "user", content: prompt.text }]);
    expect(body.response_format.type).toBe("json_schema");
    expect(schemaTypes(body.response_format.json_schema.schema)).toEqual(COMMAND_TYPES);
    expect(result.source).toBe("llm");
    expect(result.value.output.commands).toEqual(EXPECTED);
    // Self-hosted default: priced at 0 per token, so the cost is a known 0, not unknown.
    expect(result.trace.cost?.total).toBe(0);
    expect(result.trace.usage).toMatchObject({ inputTokens: 1488, outputTokens: 41 });
  });
});

describe("fallback to local for the turn", () => {
  it("vertex 500 (after the configured retry): local answers, the trace says server_error 500", async () => {
    vi.stubEnv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.test");
    const fixture = loadLlmFixture("vertex-error-500.json");
    fixture.exchanges[0].response.headers = { "retry-after-ms": "5" };
    const server = await serve(fixture.exchanges);
    const llm = await llmFor(
      { provider: "vertex", maxRetries: 1, vertex: { baseURL: server.baseURL } },
      { project: "aurora-demo" },
    );
    const result = await understand(llm).run();
    expect(server.requests).toHaveLength(2);
    expect(result.source).toBe("local");
    expect(result.value.output.commands).toEqual(LOCAL_COMMANDS);
    expect(result.trace).toMatchObject({
      outcome: "fallback",
      provider: "vertex",
      error: { reason: "server_error", status: 500 },
      usage: null,
      cost: null,
    });
    expect(result.trace.error?.message).toMatch(/Internal error encountered/);
    expect(genAiAttributes(result.trace)).toMatchObject({ "telco.llm.fallback_reason": "server_error" });
  });

  it("openai-compatible 500: local answers, the trace keeps the server's message", async () => {
    const fixture = loadLlmFixture("openai-error-500.json");
    const server = await serve(fixture.exchanges);
    const llm = await llmFor({
      provider: "openai-compatible",
      maxRetries: 0,
      openaiCompatible: { baseURL: server.baseURL },
    });
    const result = await understand(llm).run();
    expect(server.requests).toHaveLength(1);
    expect(result.source).toBe("local");
    expect(result.trace.error).toMatchObject({ reason: "server_error", status: 500 });
    expect(result.trace.error?.message).toMatch(/llama runner process has terminated/);
  });

  it("a server that never answers: the call is cut at llm.timeoutMs and local answers", async () => {
    const server = await serve([
      { request: { path: "/v1/chat/completions" }, response: { status: 200, hang: true } },
    ]);
    const llm = await llmFor({
      provider: "openai-compatible",
      timeoutMs: 200,
      maxRetries: 0,
      openaiCompatible: { baseURL: server.baseURL },
    });
    const result = await understand(llm).run();
    expect(server.requests).toHaveLength(1);
    expect(result.source).toBe("local");
    expect(result.trace.error).toMatchObject({ reason: "timeout" });
    expect(result.trace.error?.message).toMatch(/no complete answer within 200 ms/);
  });

  it("output that is not JSON, or violates the command schema, is invalid_output", async () => {
    const notJson = loadLlmFixture("openai-chat-structured-output.json");
    const body = notJson.exchanges[0].response.body as { choices: { message: { content: string } }[] };
    body.choices[0].message.content = "Claro! Vou te ajudar com a segunda via.";
    const badFlow = loadLlmFixture("openai-chat-structured-output.json");
    (badFlow.exchanges[0].response.body as typeof body).choices[0].message.content =
      '{"commands":[{"type":"start_flow","flow":"pizza_delivery"}]}';
    for (const fixture of [notJson, badFlow] as LlmFixture[]) {
      const server = await serve(fixture.exchanges);
      const llm = await llmFor({
        provider: "openai-compatible",
        maxRetries: 0,
        openaiCompatible: { baseURL: server.baseURL },
      });
      const result = await understand(llm).run();
      expect(result.source).toBe("local");
      expect(result.trace.error?.reason).toBe("invalid_output");
      await server.close();
      fake = undefined;
    }
  });

  it("nothing listening: network; 429: rate_limited; 401: auth", async () => {
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, "127.0.0.1", ok));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((ok) => closed.close(() => ok()));
    const down = await llmFor({
      provider: "openai-compatible",
      maxRetries: 0,
      openaiCompatible: { baseURL: `http://127.0.0.1:${port}/v1` },
    });
    expect((await understand(down).run()).trace.error?.reason).toBe("network");

    for (const [status, reason] of [
      [429, "rate_limited"],
      [401, "auth"],
    ] as const) {
      const server = await serve([
        {
          request: { path: "/v1/chat/completions" },
          response: {
            status,
            body: { error: { message: `status ${status}`, type: "error", param: null, code: null } },
          },
        },
      ]);
      const llm = await llmFor({
        provider: "openai-compatible",
        maxRetries: 0,
        openaiCompatible: { baseURL: server.baseURL },
      });
      const result = await understand(llm).run();
      expect(result.trace.error).toMatchObject({ reason, status });
      await server.close();
      fake = undefined;
    }
  });

  it("local provider: no HTTP at all, outcome local, no error", async () => {
    const llm = await llmFor({ provider: "local" });
    const result = await understand(llm).run();
    expect(result).toMatchObject({
      source: "local",
      value: { output: { commands: LOCAL_COMMANDS } },
      trace: { outcome: "local", provider: "local", usage: null, cost: null },
    });
    expect(result.trace.error).toBeUndefined();
  });

  it("the caller's own abort is rethrown, not turned into a fallback", async () => {
    const server = await serve([
      { request: { path: "/v1/chat/completions" }, response: { status: 200, hang: true } },
    ]);
    const llm = await llmFor({
      provider: "openai-compatible",
      maxRetries: 0,
      openaiCompatible: { baseURL: server.baseURL },
    });
    const controller = new AbortController();
    const pending = understand(llm, { abortSignal: controller.signal }).run();
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort(new Error("client went away"));
    await expect(pending).rejects.toThrow();
  });
});

describe("toLlmCallError", () => {
  const p = { provider: "vertex", modelId: "gemini-2.5-flash" } as const;
  it("unwraps the SDK's RetryError to the last attempt and names unknown errors unknown", () => {
    const apiError = { name: "AI_APICallError", message: "Service Unavailable", statusCode: 503 };
    const retry = { name: "AI_RetryError", message: "Failed after 3 attempts", lastError: apiError };
    expect(toLlmCallError(retry, p)).toMatchObject({
      reason: "server_error",
      status: 503,
      code: "llm_call_failed",
    });
    expect(toLlmCallError({ name: "AI_APICallError", message: "x", statusCode: 504 }, p).reason).toBe(
      "timeout",
    );
    expect(toLlmCallError({ name: "AI_APICallError", message: "bad", statusCode: 400 }, p).reason).toBe(
      "bad_request",
    );
    expect(toLlmCallError(new Error("boom"), p).reason).toBe("unknown");
    expect(toLlmCallError(new Error("boom"), p).message).toBe(
      "vertex:gemini-2.5-flash failed (unknown): boom",
    );
  });
});
