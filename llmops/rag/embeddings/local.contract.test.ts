import { embeddingsContract } from "../../../platform/ports/testing/embeddings.contract.ts";
import { LocalHashEmbedder } from "./local.ts";

// The port's shared contract against the assistant's own hashed embedder (what `app.embeddings(local)`
// returns under rag.embeddings: local); it has no backend, so no request counts and no failing twin.
embeddingsContract("LocalHashEmbedder (in process)", async () => ({
  provider: new LocalHashEmbedder(256),
  async dispose() {},
}));
