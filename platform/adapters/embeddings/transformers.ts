import { existsSync } from "node:fs";
import { TelcoError } from "../../errors.ts";
import { type EmbeddingProvider, l2normalize } from "../../ports/embeddings.ts";

type FeatureExtractor = (
  texts: string[],
  opts: { pooling: "mean"; normalize: boolean },
) => Promise<{ tolist(): number[][] }>;

// Not a dependency: imported by name at run time so the project installs without it.
const PACKAGE = "@huggingface/transformers";

/**
 * Sentence embeddings from a local ONNX model directory via transformers.js, offline only
 * (`local_files_only`). The package is optional: without it, or without a model directory,
 * this adapter fails with a clear message instead of downloading anything.
 */
export class TransformersEmbedder implements EmbeddingProvider {
  readonly provider = "transformers";
  readonly model: string;
  readonly dimension: number;
  readonly maxBatch = 32;
  readonly #modelDir: string;
  #extractor: Promise<FeatureExtractor> | undefined;

  constructor(settings: { modelDir?: string; dimension: number }) {
    if (!settings.modelDir)
      throw new TelcoError("embeddings", "the transformers embedding provider needs a model directory", {
        hint: "Set rag.providers.transformers.modelDir to a local ONNX sentence-embedding model, or use rag.embeddings: local.",
      });
    if (!existsSync(settings.modelDir))
      throw new TelcoError("embeddings", `transformers model directory ${settings.modelDir} does not exist`);
    this.#modelDir = settings.modelDir;
    this.model = settings.modelDir;
    this.dimension = settings.dimension;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    this.#extractor ??= this.#load();
    const output = await (await this.#extractor)(texts, { pooling: "mean", normalize: true });
    return output.tolist().map((v) => {
      if (v.length !== this.dimension)
        throw new TelcoError(
          "embeddings",
          `model produced ${v.length} dimensions, configured ${this.dimension}`,
        );
      return l2normalize(Float32Array.from(v));
    });
  }

  async #load(): Promise<FeatureExtractor> {
    let mod: {
      pipeline: (task: string, model: string, opts: object) => Promise<FeatureExtractor>;
      env: object;
    };
    try {
      mod = (await import(PACKAGE)) as typeof mod;
    } catch {
      throw new TelcoError(
        "embeddings",
        `${PACKAGE} is not installed, so the transformers provider is unavailable`,
        {
          hint: `Install it (npm install ${PACKAGE}) or use rag.embeddings: local | openai-compatible | vertex.`,
        },
      );
    }
    Object.assign(mod.env, { allowRemoteModels: false, allowLocalModels: true });
    return mod.pipeline("feature-extraction", this.#modelDir, { local_files_only: true });
  }
}
