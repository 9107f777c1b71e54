import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FakeGoogleApi,
  recordedResponse,
  startFakeGoogleApi,
} from "../../platform/adapters/gcp/testing/fake-google-api.ts";
import { VertexAiSearchRetriever } from "../../platform/adapters/gcp/vertex-ai-search-retriever.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { knowledgeSearchFromApp } from "./knowledge.ts";

// The fake replays a Discovery Engine search response hand-written from the REST reference (not recorded).
let search: FakeGoogleApi;
const home = mkdtempSync(join(tmpdir(), "telco-knowledge-managed-"));
beforeAll(async () => {
  search = await startFakeGoogleApi(() => ({
    status: 200,
    body: recordedResponse("discoveryengine-search.json"),
  }));
});
afterAll(async () => {
  await search.close();
  rmSync(home, { recursive: true, force: true });
});

describe("search_knowledge_base's source under gcp", () => {
  it("uses the profile's managed retriever (Vertex AI Search) when the context provides one", async () => {
    const base = contextFromConfig(
      configSchema.parse({
        profile: "gcp",
        gcp: { project: "aurora-prod", searchDataStore: "telco-kb-prod" },
      }),
      home,
    );
    const app: AppContext = {
      ...base,
      // The context's retriever, pointed at the local fake instead of discoveryengine.googleapis.com.
      retriever: () =>
        new VertexAiSearchRetriever({
          project: "aurora-prod",
          dataStore: "telco-kb-prod",
          endpoint: search.url,
        }),
    };
    const res = await knowledgeSearchFromApp(app).search("segunda via", { k: 2 });
    expect(search.requests.at(-1)?.body).toMatchObject({ query: "segunda via", pageSize: 2 });
    expect(res.index_version).toMatch(/dataStores\/telco-kb-prod\/servingConfigs\/default_config$/);
    expect(res.results.map((h) => h.title)).toEqual(["Segunda via da fatura", "Política de vencimento"]);
    expect(Object.keys(res.results[0]).sort()).toEqual(
      ["chunk_id", "doc_id", "score", "section", "source", "text", "title"].sort(),
    );
  });
});
