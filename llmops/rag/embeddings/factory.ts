import type { AppContext } from "../../../platform/context.ts";
import type { EmbeddingProvider } from "../../../platform/ports/embeddings.ts";
import { LocalHashEmbedder } from "./local.ts";

/**
 * The embedding provider the configuration selects (rag.embeddings + rag.providers.*), built by the
 * composition root; the local hashed embedder is this module's own.
 */
export function createEmbeddingProvider(app: Pick<AppContext, "embeddings">): EmbeddingProvider {
  return app.embeddings((dimension) => new LocalHashEmbedder(dimension));
}
