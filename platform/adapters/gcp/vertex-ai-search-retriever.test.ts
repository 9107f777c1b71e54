import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeGoogleApi, recordedResponse, startFakeGoogleApi } from "./testing/fake-google-api.ts";
import { VertexAiSearchRetriever } from "./vertex-ai-search-retriever.ts";

// The fake replays a response hand-written from the Discovery Engine v1 REST reference (not recorded).
const SERVING =
  "projects/aurora-prod/locations/global/collections/default_collection/dataStores/telco-kb-prod/servingConfigs/default_config";
let fake: FakeGoogleApi;
beforeAll(async () => {
  fake = await startFakeGoogleApi(({ path }) =>
    path === `/v1/${SERVING}:search`
      ? { status: 200, body: recordedResponse("discoveryengine-search.json") }
      : { status: 404, body: { error: { code: 404, message: `no ${path}`, status: "NOT_FOUND" } } },
  );
});
afterAll(() => fake.close());

describe("VertexAiSearchRetriever (retrieval port) against a fake Discovery Engine API", () => {
  it("sends the search with page size k and extractive segments, and maps results to passages in order", async () => {
    const r = new VertexAiSearchRetriever({
      project: "aurora-prod",
      dataStore: "telco-kb-prod",
      endpoint: fake.url,
      accessToken: async () => "tok",
    });
    const res = await r.search("como tiro a segunda via?", { k: 3 });
    const sent = fake.requests.at(-1);
    expect(sent?.headers.authorization).toBe("Bearer tok");
    expect(sent?.headers["x-goog-user-project"]).toBe("aurora-prod");
    expect(sent?.body).toEqual({
      query: "como tiro a segunda via?",
      pageSize: 3,
      contentSearchSpec: {
        snippetSpec: { returnSnippet: true },
        extractiveContentSpec: { maxExtractiveSegmentCount: 1, returnExtractiveSegmentScore: true },
      },
    });
    expect(res.index_version).toBe(SERVING);
    // The third result has neither segment nor snippet: nothing to quote, so it is left out.
    expect(res.results.map((p) => [p.doc_id, p.title, p.section, p.source])).toEqual([
      [
        "faq/segunda-via",
        "Segunda via da fatura",
        "Como pedir a segunda via",
        "gs://aurora-prod-kb/faq/segunda-via.md",
      ],
      ["policy-vencimento", "Política de vencimento", "", "gs://aurora-prod-kb/policy/vencimento.pdf"],
    ]);
    expect(res.results[0].text).toMatch(/^Você pode pedir a segunda via da fatura pelo app Aurora/);
    expect(res.results[0].fused_score).toBe(0.91);
    // A snippet becomes plain text: no <b> marks, entities decoded.
    expect(res.results[1].text).toBe(
      "A data de vencimento pode ser alterada uma vez a cada 6 meses & sem custo.",
    );
    const scores = res.results.map((p) => p.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it("names the HTTP failure (a wrong data store) and skips the call for an empty question", async () => {
    const r = new VertexAiSearchRetriever({ project: "aurora-prod", dataStore: "nope", endpoint: fake.url });
    await expect(r.search("fatura")).rejects.toThrow(/Vertex AI Search POST .* failed: HTTP 404 NOT_FOUND/);
    const before = fake.requests.length;
    expect((await r.search("   ")).results).toEqual([]);
    expect(fake.requests.length).toBe(before);
  });

  it("refuses to start without a data store or serving config", () => {
    expect(() => new VertexAiSearchRetriever({ project: "p" })).toThrow(/data store id or a serving config/);
  });
});
