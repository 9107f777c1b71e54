import { type EmbeddingProvider, l2normalize } from "../../../platform/ports/embeddings.ts";
import { type AnalyzerLanguage, analyze, analyzerLanguage, contentWords } from "../analyzer.ts";

/** FNV-1a 32-bit with a seed: fast, dependency-free and stable across runs and machines. */
function fnv1a(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const HASHES_PER_FEATURE = 3;
const WORD_WEIGHT = 1;
const NGRAM_WEIGHT = 0.3;

/**
 * Offline, deterministic embedder without downloaded weights. Features: stemmed words plus
 * character 3- and 4-grams of accent-folded words (these survive typos: "portabilidde" still shares
 * most n-grams with "portabilidade"), weighted 1 + log(tf), then a sparse random projection (each
 * feature adds ±w to 3 hashed coordinates). Every coordinate is an independent projection, so a
 * prefix of the vector is itself a valid lower-dimensional embedding (used for two-stage search).
 * No corpus statistics: vectors of unchanged chunks never change, which keeps re-indexing incremental.
 */
export class LocalHashEmbedder implements EmbeddingProvider {
  readonly provider = "local";
  readonly model = "hash-ngram-v1";
  readonly dimension: number;
  readonly maxBatch = 1024;
  readonly prefixSearchable = true;

  constructor(dimension = 256) {
    if (!Number.isInteger(dimension) || dimension < 16 || dimension > 4096)
      throw new RangeError("local embedding dimension must be an integer in [16, 4096]");
    this.dimension = dimension;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t));
  }

  /** Synchronous single-text embedding (the hot path of ingestion and queries). */
  embedOne(text: string): Float32Array {
    return this.embedWeighted(text);
  }

  /**
   * Embedding with an optional per-term weight applied to each word's features (its stem and its
   * n-grams). Search uses it on the query side only, with the index's IDF, so rare words steer the
   * query vector as they do in BM25, while document vectors stay corpus-independent.
   */
  embedWeighted(
    text: string | readonly { text: string; language: AnalyzerLanguage; weight: number }[],
    termWeight?: (stem: string) => number,
  ): Float32Array {
    const counts = new Map<string, number>();
    const add = (f: string, w: number) => counts.set(f, (counts.get(f) ?? 0) + w);
    const segments =
      typeof text === "string" ? [{ text, language: analyzerLanguage(undefined, text), weight: 1 }] : text;
    for (const segment of segments)
      this.#addFeatures(segment.text, segment.language, segment.weight, add, termWeight);
    const v = new Float32Array(this.dimension);
    for (const [feature, tf] of counts) {
      const w = Math.log1p(tf);
      for (let k = 0; k < HASHES_PER_FEATURE; k++) {
        const h = fnv1a(feature, k * 0x9e3779b1);
        v[h % this.dimension] += h & 0x80000000 ? -w : w;
      }
    }
    return l2normalize(v);
  }

  /** Adds the features of one text (stems and character n-grams of its words) to a bag. */
  #addFeatures(
    text: string,
    lang: AnalyzerLanguage,
    segmentWeight: number,
    add: (feature: string, weight: number) => void,
    termWeight?: (stem: string) => number,
  ): void {
    const stems = analyze(text, lang);
    const surface = contentWords(text);
    for (let i = 0; i < stems.length; i++) {
      const weight = segmentWeight * (termWeight ? termWeight(stems[i]) : 1);
      add(`w:${stems[i]}`, WORD_WEIGHT * weight);
      // analyze() and contentWords() drop the same stop words, so index i is the same word.
      const word = surface[i];
      if (word === undefined || word.length < 3) continue;
      const padded = `^${word}$`;
      for (let n = 3; n <= 4; n++)
        for (let j = 0; j + n <= padded.length; j++) add(padded.slice(j, j + n), NGRAM_WEIGHT * weight);
    }
  }
}
