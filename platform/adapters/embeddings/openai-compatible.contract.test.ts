import { embeddingsContract } from "../../ports/testing/embeddings.contract.ts";
import { OpenAiCompatibleEmbedder } from "./remote.ts";
import { type FakeEmbeddingApi, startFakeOpenAiEmbeddings } from "./testing/fake-embedding-apis.ts";

// The port's shared contract against the OpenAI-compatible adapter (through the AI SDK), over HTTP to
// a fake /v1/embeddings written from the API reference (testing/fake-embedding-apis.ts).
embeddingsContract("OpenAiCompatibleEmbedder (fake /v1/embeddings)", async () => {
  const servers: FakeEmbeddingApi[] = [];
  const api = await startFakeOpenAiEmbeddings({ dimension: 12 });
  const down = await startFakeOpenAiEmbeddings({ dimension: 12, failing: true });
  servers.push(api, down);
  const settings = { model: "text-embedding-3-small", dimension: 12, apiKey: "sk-test", maxBatch: 5 };
  return {
    provider: new OpenAiCompatibleEmbedder({ ...settings, baseURL: api.url }),
    requests: () => api.batches,
    failing: () => new OpenAiCompatibleEmbedder({ ...settings, baseURL: down.url }),
    async dispose() {
      for (const s of servers) await s.close();
    },
  };
});
