import type { TelcoConfig } from "../../config/schema.ts";
import { ConfigError } from "../../errors.ts";
import type { EmbeddingProvider } from "../../ports/embeddings.ts";
import { OpenAiCompatibleEmbedder, VertexEmbedder } from "./remote.ts";
import { TransformersEmbedder } from "./transformers.ts";

/**
 * The embedding provider `rag.embeddings` selects (settings in `rag.providers.*`). The `local` one is
 * the assistant's own hashed embedder (llmops/rag/embeddings/local.ts, built on its text analyzer),
 * so the caller passes how to build it.
 */
export function createEmbeddingProvider(
  config: TelcoConfig,
  opts: { local: (dimension: number) => EmbeddingProvider; env?: NodeJS.ProcessEnv },
): EmbeddingProvider {
  const env = opts.env ?? process.env;
  const p = config.rag.providers;
  switch (config.rag.embeddings) {
    case "local":
      return opts.local(p.local.dimension);
    case "openai-compatible":
      return new OpenAiCompatibleEmbedder({
        baseURL: p.openaiCompatible.baseURL,
        model: p.openaiCompatible.model,
        dimension: p.openaiCompatible.dimension,
        apiKey: env[p.openaiCompatible.apiKeyEnv],
      });
    case "vertex":
      if (!config.gcp.project)
        throw new ConfigError("gcp.project is required for rag.embeddings: vertex", {
          hint: "Set gcp.project in telco.config.yaml or TELCO_GCP__PROJECT.",
        });
      return new VertexEmbedder({
        project: config.gcp.project,
        location: p.vertex.location,
        model: p.vertex.model,
        dimension: p.vertex.dimension,
        baseURL: p.vertex.baseURL,
      });
    case "transformers":
      return new TransformersEmbedder({
        modelDir: p.transformers.modelDir,
        dimension: p.transformers.dimension,
      });
  }
}
