import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createEmbeddingProvider as buildEmbedder } from "../../../platform/adapters/embeddings/factory.ts";
import { OpenAiCompatibleEmbedder, VertexEmbedder } from "../../../platform/adapters/embeddings/remote.ts";
import { TransformersEmbedder } from "../../../platform/adapters/embeddings/transformers.ts";
import { configSchema } from "../../../platform/config/schema.ts";
import { contextFromConfig } from "../../../platform/context.ts";
import { createEmbeddingProvider } from "./factory.ts";
import { LocalHashEmbedder } from "./local.ts";

const recorded = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, "..", "fixtures", "http", name), "utf8")) as {
    request: unknown;
    response: unknown;
  };

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe("LocalHashEmbedder", () => {
  const e = new LocalHashEmbedder(256);

  it("is deterministic, unit-length and of the configured dimension", async () => {
    const [a] = await e.embed(["segunda via da fatura"]);
    const [b] = await new LocalHashEmbedder(256).embed(["segunda via da fatura"]);
    expect(a).toHaveLength(256);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(cosine(a, a)).toBeCloseTo(1, 5);
  });

  it("places typos and inflections near the original, unrelated text far", async () => {
    const [base, typo, other] = await e.embed([
      "portabilidade do número",
      "portabilidde do numero",
      "senha do roteador wi-fi",
    ]);
    expect(cosine(base, typo)).toBeGreaterThan(0.5);
    expect(cosine(base, other)).toBeLessThan(0.2);
  });

  it("analyses each language-tagged segment with its own stemmer", () => {
    const text = "segunda via da fatura";
    // One Portuguese segment is the plain embedding.
    expect(Array.from(e.embedWeighted([{ text, language: "pt", weight: 1 }]))).toEqual(
      Array.from(e.embedOne(text)),
    );
    // Portuguese glossary words added to an English question: stemmed as Portuguese they meet the
    // Portuguese document; stemmed as English (the whole text one language) they do not as well.
    const doc = e.embedOne("cancelamento da assinatura");
    const question = "how do I end my subscription";
    const glossary = "cancelar cancelamento assinatura";
    const segmented = e.embedWeighted([
      { text: question, language: "en", weight: 1 },
      { text: glossary, language: "pt", weight: 1 },
    ]);
    const oneLanguage = e.embedWeighted(`${question}\n${glossary}`);
    expect(cosine(segmented, doc)).toBeGreaterThan(cosine(oneLanguage, doc));
    // A segment weight scales its features' share.
    const lighter = e.embedWeighted([
      { text: question, language: "en", weight: 1 },
      { text: glossary, language: "pt", weight: 0.2 },
    ]);
    expect(cosine(lighter, doc)).toBeLessThan(cosine(segmented, doc));
  });
});

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** A fake HTTP API on 127.0.0.1 that records requests and replays a fixed reply. */
async function fakeServer(reply: (req: IncomingMessage, body: unknown) => { status: number; json: unknown }) {
  const requests: { url: string; headers: IncomingMessage["headers"]; body: unknown }[] = [];
  server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const body = raw ? JSON.parse(raw) : undefined;
      requests.push({ url: req.url ?? "", headers: req.headers, body });
      const r = reply(req, body);
      res.writeHead(r.status, { "content-type": "application/json" });
      res.end(JSON.stringify(r.json));
    });
  });
  await new Promise<void>((ok) => server!.listen(0, "127.0.0.1", ok));
  const { port } = server!.address() as AddressInfo;
  return { baseURL: `http://127.0.0.1:${port}`, requests };
}

describe("OpenAiCompatibleEmbedder", () => {
  it("POSTs {baseURL}/v1/embeddings and returns normalised vectors in order", async () => {
    const fixture = recorded("openai-embeddings.json");
    const fake = await fakeServer(() => ({ status: 200, json: fixture.response }));
    const e = new OpenAiCompatibleEmbedder({
      baseURL: fake.baseURL,
      model: "text-embedding-3-small",
      dimension: 4,
      apiKey: "sk-test",
    });
    const vectors = await e.embed(["segunda via da fatura", "portabilidade"]);
    expect(fake.requests[0].url).toBe("/v1/embeddings");
    expect(fake.requests[0].headers.authorization).toBe("Bearer sk-test");
    expect(fake.requests[0].body).toMatchObject(fixture.request as object);
    expect(Array.from(vectors[0])).toEqual([0.6, 0, 0.8, 0].map(Math.fround));
    expect(Array.from(vectors[1])).toEqual([0, 0.6, 0, 0.8].map(Math.fround));
  });

  it("fails clearly on HTTP errors and on a wrong dimension", async () => {
    const fake = await fakeServer(() => ({ status: 401, json: { error: { message: "invalid api key" } } }));
    const bad = new OpenAiCompatibleEmbedder({ baseURL: fake.baseURL, model: "m", dimension: 4 });
    await expect(bad.embed(["x"])).rejects.toThrow(/openai-compatible embeddings at .* failed/);
    server?.close();
    const fixture = recorded("openai-embeddings.json");
    const ok = await fakeServer(() => ({ status: 200, json: fixture.response }));
    const wrong = new OpenAiCompatibleEmbedder({ baseURL: ok.baseURL, model: "m", dimension: 8 });
    await expect(wrong.embed(["a", "b"])).rejects.toThrow(
      /4-dimensional vector .* configured dimension is 8/,
    );
  });
});

describe("VertexEmbedder", () => {
  it("calls :predict with the retrieval task type and a bearer token", async () => {
    const fixture = recorded("vertex-predict.json");
    const fake = await fakeServer(() => ({ status: 200, json: fixture.response }));
    const e = new VertexEmbedder({
      project: "demo",
      location: "us-central1",
      model: "text-multilingual-embedding-002",
      dimension: 3,
      baseURL: fake.baseURL,
      accessToken: async () => "token-123",
    });
    const [v] = await e.embed(["como pagar com pix"], "query");
    expect(fake.requests[0].url).toBe(
      "/v1/projects/demo/locations/us-central1/publishers/google/models/text-multilingual-embedding-002:predict",
    );
    expect(fake.requests[0].headers.authorization).toBe("Bearer token-123");
    expect(fake.requests[0].body).toEqual(fixture.request);
    expect(Array.from(v)).toEqual([1 / 3, 2 / 3, 2 / 3].map(Math.fround));
  });

  it("reports the API's error message", async () => {
    const fake = await fakeServer(() => ({ status: 403, json: { error: { message: "Permission denied" } } }));
    const e = new VertexEmbedder({
      project: "p",
      location: "l",
      model: "m",
      dimension: 3,
      baseURL: fake.baseURL,
      accessToken: async () => "t",
    });
    await expect(e.embed(["x"], "document")).rejects.toThrow(/HTTP 403: Permission denied/);
  });
});

describe("provider selection", () => {
  it("builds the configured provider", () => {
    const local = createEmbeddingProvider(
      contextFromConfig(
        configSchema.parse({ rag: { providers: { local: { dimension: 128 } } } }),
        "/nonexistent",
      ),
    );
    expect(local).toBeInstanceOf(LocalHashEmbedder);
    expect([local.provider, local.dimension]).toEqual(["local", 128]);
    const own = (d: number) => new LocalHashEmbedder(d);
    const oa = buildEmbedder(configSchema.parse({ rag: { embeddings: "openai-compatible" } }), {
      local: own,
      env: {},
    });
    expect([oa.provider, oa.model, oa.dimension]).toEqual([
      "openai-compatible",
      "text-embedding-3-small",
      1536,
    ]);
    expect(() =>
      buildEmbedder(configSchema.parse({ rag: { embeddings: "vertex" } }), { local: own }),
    ).toThrow(/gcp.project/);
  });

  it("explains why the transformers provider is unavailable", async () => {
    expect(() => new TransformersEmbedder({ dimension: 384 })).toThrow(/needs a model directory/);
    expect(() => new TransformersEmbedder({ modelDir: "/no/such/dir", dimension: 384 })).toThrow(
      /does not exist/,
    );
    const e = new TransformersEmbedder({ modelDir: import.meta.dirname, dimension: 384 });
    await expect(e.embed(["x"])).rejects.toThrow(/@huggingface\/transformers is not installed/);
  });
});
