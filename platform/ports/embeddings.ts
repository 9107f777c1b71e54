/**
 * Embeddings port (version 1): turns texts into fixed-length vectors. `app.embeddings()` builds the one
 * `rag.embeddings` selects: adapters in platform/adapters/embeddings (OpenAI-compatible HTTP, Vertex AI,
 * transformers), or the assistant's own local hashed embedder (llmops/rag/embeddings/local.ts).
 */
export type EmbeddingPurpose = "document" | "query";

export interface EmbeddingProvider {
  /** Adapter name as configured (local, openai-compatible, vertex, transformers). */
  readonly provider: string;
  /** Model name; with `provider` and `dimension` it identifies the vector space. */
  readonly model: string;
  readonly dimension: number;
  /** Largest number of texts sent in one call; callers batch by it. */
  readonly maxBatch: number;
  /** One vector per text, in order, each of length `dimension` (L2-normalised by adapters). */
  embed(texts: string[], purpose: EmbeddingPurpose): Promise<Float32Array[]>;
}

/** Identifies a vector space: vectors from providers with different fingerprints never mix. */
export function embeddingFingerprint(p: Pick<EmbeddingProvider, "provider" | "model" | "dimension">): string {
  return `${p.provider}:${p.model}:${p.dimension}`;
}

/** Scales a vector to unit length in place (a zero vector stays zero) and returns it. */
export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < v.length; i++) v[i] *= inv;
  }
  return v;
}
