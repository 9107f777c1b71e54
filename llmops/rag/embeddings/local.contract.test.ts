import { configSchema } from "../../../platform/config/schema.ts";
import { contextFromConfig } from "../../../platform/context.ts";
import { embeddingsContract } from "../../../platform/ports/testing/embeddings.contract.ts";
import { createEmbeddingProvider } from "./factory.ts";
import { LocalHashEmbedder } from "./local.ts";

// The port's shared contract against the assistant's own hashed embedder, built the way the assistant
// gets it: `app.embeddings(local)` under the default `rag.embeddings: local`. It has no backend, so no
// request counts and no failing twin.
embeddingsContract("LocalHashEmbedder (app.embeddings(local), in process)", async () => {
  const provider = createEmbeddingProvider(contextFromConfig(configSchema.parse({}), "/nonexistent"));
  if (!(provider instanceof LocalHashEmbedder))
    throw new Error(`expected the local embedder, got ${provider.provider}`);
  return { provider, async dispose() {} };
});
