import type { TelcoConfig } from "../../../platform/config/schema.ts";
import { ConfigError } from "../../../platform/errors.ts";
import type { EmbeddingProvider } from "../../../platform/ports/embeddings.ts";
import { LocalHashEmbedder } from "./local.ts";
import { OpenAiCompatibleEmbedder, VertexEmbedder } from "./remote.ts";
import { TransformersEmbedder } from "./transformers.ts";

/** The embedding provider the configuration selects (rag.embeddings + rag.providers.*). */
export function createEmbeddingProvider(
  config: TelcoConfig,
  env: NodeJS.ProcessEnv = process.env,
): EmbeddingProvider {
  const p = config.rag.providers;
  switch (config.rag.embeddings) {
    case "local":
      return new LocalHashEmbedder(p.local.dimension);
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
