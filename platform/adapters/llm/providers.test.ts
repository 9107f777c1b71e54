import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { configSchema } from "../../config/schema.ts";
import { costOf, type LlmProvider, usageFromSdk } from "../../ports/llm.ts";
import { createLlmProvider } from "./factory.ts";
import { type FakeLlmServer, type LlmFixture, loadLlmFixture, startFakeLlmServer } from "./fake-server.ts";
import { createOpenAiCompatibleLlm, openAiBaseURL } from "./openai-compatible.ts";
import { startRecorder } from "./record.ts";
import { createVertexLlm, vertexBaseURL } from "./vertex.ts";

let fake: FakeLlmServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function serve(fixture: LlmFixture): Promise<FakeLlmServer> {
  fake = await startFakeLlmServer(fixture.exchanges);
  return fake;
}

/** Each request matches its recorded exchange: method, path and the recorded subset of the body. */
function expectRequestsMatch(server: FakeLlmServer, fixture: LlmFixture): void {
  expect(server.requests).toHaveLength(fixture.exchanges.length);
  fixture.exchanges.forEach((ex, i) => {
    expect(server.requests[i].method).toBe(ex.request.method ?? "POST");
    expect(server.requests[i].url).toBe(ex.request.path);
    if (ex.request.body !== undefined)
      expect(server.requests[i].body).toMatchObject(ex.request.body as object);
  });
}

const invoiceTool = (calls: unknown[]) =>
  tool({
    description: "The customer's invoice for a month (yyyy-mm).",
    inputSchema: z.object({ month: z.string() }),
    execute: async ({ month }) => {
      calls.push({ month });
      return { invoice_id: "INV-2026-03-0042", month, total_brl: 119.99, due_date: "2026-03-10" };
    },
  });

const vertexPrice = {
  currency: "USD" as const,
  inputPerMTok: 0.3,
  outputPerMTok: 2.5,
  cachedInputPerMTok: 0.03,
};

async function vertex(baseURL: string, extra: Partial<Parameters<typeof createVertexLlm>[0]> = {}) {
  return createVertexLlm({
    project: "aurora-demo",
    location: "us-central1",
    model: "gemini-2.5-flash",
    baseURL,
    accessToken: async () => "token-123",
    price: vertexPrice,
    timeoutMs: 5000,
    maxRetries: 0,
    ...extra,
  });
}

async function rejectionOf<E>(call: Promise<unknown>): Promise<E> {
  try {
    await call;
  } catch (err) {
    return err as E;
  }
  throw new Error("expected the call to fail");
}

function modelOf(p: LlmProvider) {
  if (!p.model) throw new Error(`${p.provider} has no model`);
  return p.model;
}

describe("vertex adapter (Gemini on Vertex AI)", () => {
  it("generateText: sends system + user contents with a bearer token, reads text and usage", async () => {
    const fixture = loadLlmFixture("vertex-generate-text.json");
    const server = await serve(fixture);
    const llm = await vertex(server.baseURL);
    const result = await generateText({
      model: modelOf(llm),
      system: "Você é a Aurora, assistente da Aurora Telecom.",
      prompt: "qual o valor da minha fatura de março?",
      maxRetries: llm.maxRetries,
    });
    expectRequestsMatch(server, fixture);
    expect(server.requests[0].headers.authorization).toBe("Bearer token-123");
    expect(result.text).toBe("Sua fatura de março é de R$ 119,99 e vence no dia 10.");
    const usage = usageFromSdk(result.totalUsage);
    // Gemini counts thinking tokens apart from candidates; the SDK adds them into output.
    expect(usage).toEqual({
      inputTokens: 1200,
      cachedInputTokens: 1024,
      outputTokens: 18 + 64,
      reasoningTokens: 64,
      totalTokens: 1282,
    });
    const cost = costOf(usage, llm.price);
    const expected = (176 * 0.3 + 1024 * 0.03 + 18 * 2.5 + 64 * 2.5) / 1e6;
    expect(cost?.total).toBeCloseTo(expected, 12);
    expect(cost?.currency).toBe("USD");
  });

  it("streamText: posts :streamGenerateContent?alt=sse and yields the chunks in order", async () => {
    const fixture = loadLlmFixture("vertex-stream-text.json");
    const server = await serve(fixture);
    const llm = await vertex(server.baseURL);
    const stream = streamText({ model: modelOf(llm), prompt: "minha internet caiu", maxRetries: 0 });
    const chunks: string[] = [];
    for await (const delta of stream.textStream) chunks.push(delta);
    expectRequestsMatch(server, fixture);
    expect(chunks.join("")).toBe(
      "Entendo o seu incômodo. Vou verificar a sua conexão agora; isso leva até 1 minuto.",
    );
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(usageFromSdk(await stream.totalUsage)).toMatchObject({ inputTokens: 412, outputTokens: 21 });
  });

  it("tool calls: declares the tool, runs it, sends the functionResponse back, answers from it", async () => {
    const fixture = loadLlmFixture("vertex-tool-call.json");
    const server = await serve(fixture);
    const llm = await vertex(server.baseURL);
    const calls: unknown[] = [];
    const result = await generateText({
      model: modelOf(llm),
      prompt: "quanto veio a conta de março?",
      tools: { get_invoice: invoiceTool(calls) },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    expectRequestsMatch(server, fixture);
    expect(calls).toEqual([{ month: "2026-03" }]);
    expect(result.steps).toHaveLength(2);
    expect(result.text).toContain("R$ 119,99");
    // Both steps' tokens are summed in totalUsage (thinking tokens of step 1 included).
    expect(usageFromSdk(result.totalUsage)).toMatchObject({
      inputTokens: 96 + 180,
      outputTokens: 15 + 40 + 24,
      reasoningTokens: 40,
    });
  });

  it("a 500 is retried maxRetries times (honouring retry-after-ms), then surfaces with its status", async () => {
    const fixture = loadLlmFixture("vertex-error-500.json");
    fixture.exchanges[0].response.headers = { "retry-after-ms": "5" };
    const server = await serve(fixture);
    const llm = await vertex(server.baseURL, { maxRetries: 1 });
    const error = await rejectionOf<{ name: string; lastError?: { statusCode?: number; message: string } }>(
      generateText({ model: modelOf(llm), prompt: "oi", maxRetries: llm.maxRetries }),
    );
    expect(server.requests).toHaveLength(2);
    expect(error).toMatchObject({ name: "AI_RetryError" });
    expect(error.lastError?.statusCode).toBe(500);
    expect(error.lastError?.message).toMatch(/Internal error encountered/);
  });

  it("express mode sends x-goog-api-key to /v1/publishers/google, without OAuth", async () => {
    const fixture = loadLlmFixture("vertex-generate-text.json");
    const server = await serve(fixture);
    const llm = await vertex(server.baseURL, { apiKey: "express-key", accessToken: undefined });
    await generateText({ model: modelOf(llm), prompt: "oi", maxRetries: 0 });
    expect(server.requests[0].url).toBe("/v1/publishers/google/models/gemini-2.5-flash:generateContent");
    expect(server.requests[0].headers["x-goog-api-key"]).toBe("express-key");
    expect(server.requests[0].headers.authorization).toBeUndefined();
  });

  it("builds the regional, global and overridden base URLs", () => {
    expect(vertexBaseURL({ project: "p", location: "southamerica-east1" })).toBe(
      "https://southamerica-east1-aiplatform.googleapis.com/v1beta1/projects/p/locations/southamerica-east1/publishers/google",
    );
    expect(vertexBaseURL({ project: "p", location: "global" })).toBe(
      "https://aiplatform.googleapis.com/v1beta1/projects/p/locations/global/publishers/google",
    );
    expect(vertexBaseURL({ project: "p", location: "us-central1", baseURL: "http://127.0.0.1:9/" })).toBe(
      "http://127.0.0.1:9/v1beta1/projects/p/locations/us-central1/publishers/google",
    );
  });
});

async function openai(
  baseURL: string,
  model: string,
  extra: Partial<Parameters<typeof createOpenAiCompatibleLlm>[0]> = {},
) {
  return createOpenAiCompatibleLlm({
    baseURL,
    model,
    price: null,
    timeoutMs: 5000,
    maxRetries: 0,
    ...extra,
  });
}

describe("openai-compatible adapter (Ollama, vLLM, llama.cpp, OpenAI)", () => {
  it("generateText: POST /v1/chat/completions with the key as bearer; cached and reasoning tokens read back", async () => {
    const fixture = loadLlmFixture("openai-chat-text.json");
    const server = await serve(fixture);
    const llm = await openai(server.baseURL, "gpt-4.1-mini", {
      apiKey: "sk-test",
      price: { currency: "USD", inputPerMTok: 0.4, outputPerMTok: 1.6, cachedInputPerMTok: 0.1 },
    });
    const result = await generateText({
      model: modelOf(llm),
      system: "Você é a Aurora, assistente da Aurora Telecom.",
      prompt: "qual o valor da minha fatura de março?",
      maxRetries: 0,
    });
    expectRequestsMatch(server, fixture);
    expect(server.requests[0].headers.authorization).toBe("Bearer sk-test");
    expect(result.text).toBe("Sua fatura de março é de R$ 119,99 e vence no dia 10.");
    const usage = usageFromSdk(result.totalUsage);
    expect(usage).toEqual({
      inputTokens: 1200,
      cachedInputTokens: 1024,
      outputTokens: 18,
      reasoningTokens: 0,
      totalTokens: 1218,
    });
    expect(costOf(usage, llm.price)?.total).toBeCloseTo((176 * 0.4 + 1024 * 0.1 + 18 * 1.6) / 1e6, 12);
  });

  it("streamText: asks for include_usage and reads the usage-only last chunk", async () => {
    const fixture = loadLlmFixture("openai-chat-stream.json");
    const server = await serve(fixture);
    const llm = await openai(server.baseURL, "qwen2.5:7b-instruct");
    const stream = streamText({ model: modelOf(llm), prompt: "minha internet caiu", maxRetries: 0 });
    const chunks: string[] = [];
    for await (const delta of stream.textStream) chunks.push(delta);
    expectRequestsMatch(server, fixture);
    expect(server.requests[0].headers.authorization).toBeUndefined();
    expect(chunks.join("")).toBe(
      "Entendo o seu incômodo. Vou verificar a sua conexão agora; isso leva até 1 minuto.",
    );
    expect(usageFromSdk(await stream.totalUsage)).toMatchObject({
      inputTokens: 412,
      outputTokens: 21,
      totalTokens: 433,
    });
  });

  it("tool calls: sends tools, runs the call, returns the result as a tool message, answers from it", async () => {
    const fixture = loadLlmFixture("openai-chat-tool-call.json");
    const server = await serve(fixture);
    const llm = await openai(server.baseURL, "qwen2.5:7b-instruct");
    const calls: unknown[] = [];
    const result = await generateText({
      model: modelOf(llm),
      prompt: "quanto veio a conta de março?",
      tools: { get_invoice: invoiceTool(calls) },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    expectRequestsMatch(server, fixture);
    expect(calls).toEqual([{ month: "2026-03" }]);
    expect(result.text).toBe("Sua fatura de março (INV-2026-03-0042) é de R$ 119,99 e vence em 10/03.");
    expect(usageFromSdk(result.totalUsage)).toMatchObject({ inputTokens: 171 + 239, outputTokens: 22 + 31 });
  });

  it("a 500 surfaces as an API error with the server's message", async () => {
    const fixture = loadLlmFixture("openai-error-500.json");
    const server = await serve(fixture);
    const llm = await openai(server.baseURL, "qwen2.5:7b-instruct");
    const error = await rejectionOf<{ name: string; statusCode?: number; message: string }>(
      generateText({ model: modelOf(llm), prompt: "oi", maxRetries: 0 }),
    );
    expect(server.requests).toHaveLength(1);
    expect(error).toMatchObject({ name: "AI_APICallError", statusCode: 500 });
    expect(error.message).toMatch(/llama runner process has terminated/);
  });

  it("normalises the base URL to …/v1", () => {
    expect(openAiBaseURL("http://127.0.0.1:11434")).toBe("http://127.0.0.1:11434/v1");
    expect(openAiBaseURL("http://127.0.0.1:11434/v1/")).toBe("http://127.0.0.1:11434/v1");
    expect(openAiBaseURL("https://api.openai.com/v1")).toBe("https://api.openai.com/v1");
  });
});

describe("provider selection from config", () => {
  it("local: no model, no price, nothing loaded", async () => {
    const llm = await createLlmProvider(configSchema.parse({}));
    expect(llm).toMatchObject({ provider: "local", modelId: "offline", model: null, price: null });
  });

  it("openai-compatible: key from the variable apiKeyEnv names, price from the table or llm.prices", async () => {
    const fixture = loadLlmFixture("openai-chat-text.json");
    const server = await serve(fixture);
    const config = configSchema.parse({
      llm: {
        provider: "openai-compatible",
        timeoutMs: 1234,
        maxRetries: 0,
        openaiCompatible: { baseURL: server.baseURL, model: "gpt-4.1-mini", apiKeyEnv: "MY_LLM_KEY" },
      },
    });
    const llm = await createLlmProvider(config, { env: { MY_LLM_KEY: "sk-from-env" } });
    expect(llm).toMatchObject({ provider: "openai-compatible", modelId: "gpt-4.1-mini", timeoutMs: 1234 });
    expect(llm.price).toEqual({
      currency: "USD",
      inputPerMTok: 0.4,
      outputPerMTok: 1.6,
      cachedInputPerMTok: 0.1,
    });
    await generateText({ model: modelOf(llm), prompt: "oi", maxRetries: 0 });
    expect(server.requests[0].headers.authorization).toBe("Bearer sk-from-env");

    const overridden = configSchema.parse({
      llm: {
        provider: "openai-compatible",
        openaiCompatible: { model: "my-finetune" },
        prices: {
          "openai-compatible": { "my-finetune": { currency: "BRL", inputPerMTok: 1, outputPerMTok: 4 } },
        },
      },
    });
    expect((await createLlmProvider(overridden, { env: {} })).price).toEqual({
      currency: "BRL",
      inputPerMTok: 1,
      outputPerMTok: 4,
    });
    const unpriced = configSchema.parse({
      llm: { provider: "openai-compatible", openaiCompatible: { model: "unknown-model" } },
    });
    expect((await createLlmProvider(unpriced, { env: {} })).price).toBeNull();
  });

  it("vertex: project from gcp.project, token from GOOGLE_OAUTH_ACCESS_TOKEN, clear error without a project", async () => {
    const fixture = loadLlmFixture("vertex-generate-text.json");
    const server = await serve(fixture);
    const config = configSchema.parse({
      gcp: { project: "aurora-demo" },
      llm: { provider: "vertex", vertex: { baseURL: server.baseURL } },
    });
    const llm = await createLlmProvider(config, { env: { GOOGLE_OAUTH_ACCESS_TOKEN: "ya29.static" } });
    expect(llm).toMatchObject({ provider: "vertex", modelId: "gemini-2.5-flash", maxRetries: 1 });
    expect(llm.price?.inputPerMTok).toBe(0.3);
    await generateText({ model: modelOf(llm), prompt: "oi", maxRetries: 0 });
    expect(server.requests[0].url).toBe(fixture.exchanges[0].request.path);
    expect(server.requests[0].headers.authorization).toBe("Bearer ya29.static");

    const noProject = configSchema.parse({ llm: { provider: "vertex" } });
    await expect(createLlmProvider(noProject, { env: {} })).rejects.toThrow(
      /llm.vertex.project \(or gcp.project\)/,
    );
  });

  it("rejects a bad llm section with the field's name", () => {
    expect(() => configSchema.parse({ llm: { provider: "anthropic" } })).toThrow(/provider/);
    expect(() =>
      configSchema.parse({ llm: { prices: { vertex: { m: { inputPerMTok: -1, outputPerMTok: 1 } } } } }),
    ).toThrow(/inputPerMTok/);
  });
});

describe("fixture recorder", () => {
  it("proxies to the upstream and writes what it answered as a replayable fixture (no credentials)", async () => {
    const original = loadLlmFixture("openai-chat-tool-call.json");
    const upstream = await serve(original);
    const recorder = await startRecorder(upstream.baseURL);
    const dir = mkdtempSync(join(tmpdir(), "telco-llm-record-"));
    try {
      const llm = await openai(recorder.baseURL, "qwen2.5:7b-instruct", { apiKey: "sk-secret" });
      const calls: unknown[] = [];
      const live = await generateText({
        model: modelOf(llm),
        prompt: "quanto veio a conta de março?",
        tools: { get_invoice: invoiceTool(calls) },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
      });
      expect(upstream.requests[0].headers.authorization).toBe("Bearer sk-secret");
      const file = join(dir, "recorded.json");
      await recorder.stop({ file, description: "d", source: "s" });
      const text = readFileSync(file, "utf8");
      expect(text).not.toContain("sk-secret");
      const recorded = JSON.parse(text) as LlmFixture;
      expect(recorded.exchanges.map((e) => e.response)).toEqual(original.exchanges.map((e) => e.response));

      // Replaying the recording gives the same conversation.
      await fake?.close();
      const replay = await serve(recorded);
      const again = await generateText({
        model: modelOf(await openai(replay.baseURL, "qwen2.5:7b-instruct")),
        prompt: "quanto veio a conta de março?",
        tools: { get_invoice: invoiceTool([]) },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
      });
      expectRequestsMatch(replay, recorded);
      expect(again.text).toBe(live.text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("records server-sent events event by event", async () => {
    const original = loadLlmFixture("openai-chat-stream.json");
    const upstream = await serve(original);
    const recorder = await startRecorder(upstream.baseURL);
    const stream = streamText({
      model: modelOf(await openai(recorder.baseURL, "qwen2.5:7b-instruct")),
      prompt: "minha internet caiu",
      maxRetries: 0,
    });
    await stream.text;
    const recorded = await recorder.stop();
    expect(recorded.exchanges[0].response.sse).toEqual(original.exchanges[0].response.sse);
  });
});
