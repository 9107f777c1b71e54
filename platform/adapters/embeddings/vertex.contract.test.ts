import { embeddingsContract } from "../../ports/testing/embeddings.contract.ts";
import { VertexEmbedder } from "./remote.ts";
import { type FakeEmbeddingApi, startFakeVertexEmbeddings } from "./testing/fake-embedding-apis.ts";

// The port's shared contract against the Vertex AI adapter (`:predict` REST), over HTTP to a fake
// Vertex API written from the API reference (testing/fake-embedding-apis.ts); never run against Vertex.
embeddingsContract("VertexEmbedder (fake Vertex AI :predict)", async () => {
  const servers: FakeEmbeddingApi[] = [];
  const api = await startFakeVertexEmbeddings({});
  const down = await startFakeVertexEmbeddings({ failing: true });
  servers.push(api, down);
  const settings = {
    project: "aurora-prod",
    location: "us-central1",
    model: "text-multilingual-embedding-002",
    dimension: 16,
    accessToken: async () => "token",
  };
  return {
    provider: new VertexEmbedder({ ...settings, baseURL: api.url }),
    requests: () => api.batches,
    failing: () => new VertexEmbedder({ ...settings, baseURL: down.url }),
    async dispose() {
      for (const s of servers) await s.close();
    },
  };
});
