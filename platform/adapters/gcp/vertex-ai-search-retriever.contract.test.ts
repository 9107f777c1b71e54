import { retrievalContract } from "../../ports/testing/retrieval.contract.ts";
import { type FakeGoogleApi, startFakeGoogleApi } from "./testing/fake-google-api.ts";
import { VertexAiSearchRetriever } from "./vertex-ai-search-retriever.ts";

// The port's shared contract against Vertex AI Search, over HTTP to a fake Discovery Engine v1 API
// whose data store holds the contract's documents. The fake ranks documents by the question's words
// they contain (Vertex's ranking is its own; the contract checks only what the port promises) and
// answers in the `servingConfigs/*:search` shape of the REST reference: at most `pageSize` results,
// each with structData, derivedStructData.title/link, one extractive segment and a <b>-marked snippet.
const SERVING =
  "projects/aurora-prod/locations/global/collections/default_collection/dataStores/telco-kb-test/servingConfigs/default_config";

const words = (text: string) =>
  new Set(
    text
      .normalize("NFD")
      .replace(/\p{M}/gu, "")
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 2),
  );

retrievalContract("VertexAiSearchRetriever (fake Discovery Engine API)", async (corpus) => {
  const fake: FakeGoogleApi = await startFakeGoogleApi(({ method, path, body }) => {
    if (method !== "POST" || path !== `/v1/${SERVING}:search`)
      return { status: 404, body: { error: { code: 404, message: `no ${path}`, status: "NOT_FOUND" } } };
    const { query, pageSize } = body as { query: string; pageSize?: number };
    const asked = words(query);
    const ranked = corpus
      .map((d) => {
        const have = words(`${d.title} ${d.section} ${d.text}`);
        return { d, hits: [...asked].filter((w) => have.has(w)).length };
      })
      .filter((x) => x.hits > 0)
      .sort((a, b) => b.hits - a.hits || a.d.doc_id.localeCompare(b.d.doc_id))
      .slice(0, pageSize ?? 10);
    return {
      status: 200,
      body: {
        results: ranked.map(({ d, hits }) => ({
          id: `doc-${d.doc_id}`,
          document: {
            name: `${SERVING.replace(/servingConfigs\/.*$/, "")}branches/0/documents/doc-${d.doc_id}`,
            id: `doc-${d.doc_id}`,
            structData: { doc_id: d.doc_id, section: d.section },
            derivedStructData: {
              title: d.title,
              link: `gs://aurora-prod-kb/${d.doc_id}.md`,
              snippets: [
                { snippet: `<b>${d.title}</b>: ${d.text.slice(0, 60)}…`, snippet_status: "SUCCESS" },
              ],
              extractive_segments: [{ content: d.text, relevanceScore: hits / asked.size, pageNumber: "1" }],
            },
          },
        })),
        totalSize: ranked.length,
        attributionToken: "tok",
      },
    };
  });
  return {
    retriever: new VertexAiSearchRetriever({
      project: "aurora-prod",
      dataStore: "telco-kb-test",
      endpoint: fake.url,
      accessToken: async () => "token",
    }),
    dispose: () => fake.close(),
  };
});
