import { topK } from "./topk.ts";

/**
 * A query term with its weight and whether an unknown term may be matched to near spellings in the
 * vocabulary (off for words of another language than the corpus: "fiber" is not a typo of "liber").
 */
export interface QueryTerm {
  term: string;
  weight: number;
  fuzzy: boolean;
}

/** BM25 parameters (Robertson/Spärck Jones defaults). */
export interface Bm25Params {
  k1: number;
  b: number;
}

/**
 * The whole index as typed arrays (CSR: postings of term t are docs/weights[offsets[t]..offsets[t+1]]),
 * with terms in id order. Persisted per index version so opening a large index skips re-analysis.
 */
export interface Bm25Parts {
  /** Number of indexed documents (rows). */
  size: number;
  terms: string[];
  offsets: Int32Array;
  docs: Int32Array;
  /** Precomputed BM25 term-frequency factor per posting. */
  weights: Float32Array;
  idf: Float32Array;
}

/** Two passes over the analysed documents: term ids + document frequencies, then postings in doc order. */
export function buildBm25Parts(docTerms: string[][], params: Bm25Params): Bm25Parts {
  const ids = new Map<string, number>();
  const rows = docTerms.map((terms) =>
    Int32Array.from(terms, (t) => {
      let id = ids.get(t);
      if (id === undefined) {
        id = ids.size;
        ids.set(t, id);
      }
      return id;
    }),
  );
  return buildBm25PartsFromIds(rows, [...ids.keys()], params);
}

/**
 * Same as buildBm25Parts over documents given as ids into `vocabulary` (any id order: the parts number
 * terms by first occurrence, as buildBm25Parts does). Counts go through one scratch array instead of a
 * Map per document, so building stays within the postings' own size.
 */
export function buildBm25PartsFromIds(
  rows: Int32Array[],
  vocabulary: string[],
  params: Bm25Params,
): Bm25Parts {
  const n = rows.length;
  const local = new Int32Array(vocabulary.length).fill(-1);
  const terms: string[] = [];
  const df: number[] = [];
  const lengths = new Float32Array(n);
  const counts = new Int32Array(vocabulary.length);
  const touched = new Int32Array(vocabulary.length);
  let total = 0;
  let postingCount = 0;
  // Pass 1: term ids, document frequency and lengths.
  for (let d = 0; d < n; d++) {
    const row = rows[d];
    let distinct = 0;
    for (let i = 0; i < row.length; i++) {
      let id = local[row[i]];
      if (id < 0) {
        id = terms.length;
        local[row[i]] = id;
        terms.push(vocabulary[row[i]]);
        df.push(0);
      }
      if (counts[id]++ === 0) touched[distinct++] = id;
    }
    for (let i = 0; i < distinct; i++) {
      df[touched[i]]++;
      counts[touched[i]] = 0;
    }
    postingCount += distinct;
    lengths[d] = row.length;
    total += row.length;
  }
  const avgLen = n > 0 ? total / n || 1 : 1;
  const offsets = new Int32Array(terms.length + 1);
  for (let t = 0; t < df.length; t++) offsets[t + 1] = offsets[t] + df[t];
  const fill = offsets.slice(0, terms.length);
  const docs = new Int32Array(postingCount);
  const weights = new Float32Array(postingCount);
  // Pass 2: postings in document order (so each term's list is sorted by doc).
  for (let d = 0; d < n; d++) {
    const row = rows[d];
    const norm = params.k1 * (1 - params.b + (params.b * lengths[d]) / avgLen);
    let distinct = 0;
    for (let i = 0; i < row.length; i++) {
      const id = local[row[i]];
      if (counts[id]++ === 0) touched[distinct++] = id;
    }
    for (let i = 0; i < distinct; i++) {
      const id = touched[i];
      const tf = counts[id];
      counts[id] = 0;
      const p = fill[id]++;
      docs[p] = d;
      weights[p] = (tf * (params.k1 + 1)) / (tf + norm);
    }
  }
  const idf = new Float32Array(terms.length);
  for (let t = 0; t < df.length; t++) idf[t] = Math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5));
  return { size: n, terms, offsets, docs, weights, idf };
}

/**
 * Inverted index with BM25 term weights precomputed per posting, packed in typed arrays
 * (CSR layout: offsets per term into one postings array). A query is then one multiply-add per
 * posting of its terms. Written by hand because the measured library alternative (Orama) was
 * slower at 100k chunks and cannot share the filter mask with the dense stage (docs/llmops/rag.md).
 */
export class Bm25Index {
  readonly size: number;
  readonly #terms: Map<string, number>;
  readonly #offsets: Int32Array;
  readonly #docs: Int32Array;
  readonly #weights: Float32Array;
  readonly #idf: Float32Array;
  readonly #scores: Float32Array;
  readonly #touched: Int32Array;
  readonly #termList: string[];

  /** Builds from analysed documents (one term list per document, in index order), or adopts prebuilt parts. */
  constructor(source: string[][] | Bm25Parts, params: Bm25Params = { k1: 1.2, b: 0.75 }) {
    const parts = Array.isArray(source) ? buildBm25Parts(source, params) : source;
    const termCount = parts.terms.length;
    if (
      parts.offsets.length !== termCount + 1 ||
      parts.idf.length !== termCount ||
      parts.docs.length !== parts.weights.length ||
      parts.offsets[termCount] !== parts.docs.length
    )
      throw new RangeError("inconsistent BM25 parts (terms/offsets/postings lengths disagree)");
    this.size = parts.size;
    this.#terms = new Map();
    for (let t = 0; t < termCount; t++) this.#terms.set(parts.terms[t], t);
    this.#termList = parts.terms;
    this.#offsets = parts.offsets;
    this.#docs = parts.docs;
    this.#weights = parts.weights;
    this.#idf = parts.idf;
    this.#scores = new Float32Array(parts.size);
    this.#touched = new Int32Array(parts.size);
  }

  /**
   * Term ids with a weight: exact terms weigh 1; an unknown term of ≥ 4 letters (a typo such as
   * "cancelameto") is matched to vocabulary terms within Damerau distance 1 (2 from 8 letters),
   * weighted 0.7 — spelling correction against the index's own vocabulary.
   */
  #resolve(queryTerms: readonly (string | QueryTerm)[]): [number, number][] {
    const out: [number, number][] = [];
    for (const q of queryTerms) {
      const { term, weight, fuzzy } = typeof q === "string" ? { term: q, weight: 1, fuzzy: true } : q;
      const id = this.#terms.get(term);
      if (id !== undefined) {
        out.push([id, weight]);
        continue;
      }
      if (!fuzzy || term.length < 4 || /\d/.test(term)) continue;
      const maxDistance = term.length >= 8 ? 2 : 1;
      for (const candidate of this.#termList) {
        if (Math.abs(candidate.length - term.length) > maxDistance) continue;
        if (boundedDamerau(term, candidate, maxDistance) <= maxDistance)
          out.push([this.#terms.get(candidate)!, 0.7 * weight]);
      }
    }
    return out;
  }

  /** Inverse document frequency of a term, or undefined when the index does not contain it. */
  idf(term: string): number | undefined {
    const id = this.#terms.get(term);
    return id === undefined ? undefined : this.#idf[id];
  }

  /** Number of distinct terms. */
  get vocabularySize(): number {
    return this.#terms.size;
  }

  /** Top `k` documents for the analysed query terms: [indices best first, their scores]. */
  search(
    queryTerms: readonly (string | QueryTerm)[],
    k: number,
    mask?: Uint8Array,
  ): { ids: Int32Array; scores: Float32Array } {
    const scores = this.#scores;
    const touched = this.#touched;
    let touchedCount = 0;
    const seen = new Set<number>();
    for (const [id, weight] of this.#resolve(queryTerms)) {
      if (seen.has(id)) continue;
      seen.add(id);
      const idf = this.#idf[id] * weight;
      for (let p = this.#offsets[id], end = this.#offsets[id + 1]; p < end; p++) {
        const d = this.#docs[p];
        if (scores[d] === 0) touched[touchedCount++] = d;
        scores[d] += idf * this.#weights[p];
      }
    }
    const ids = topK(scores, k, touched, touchedCount, mask);
    const out = Float32Array.from(ids, (i) => scores[i]);
    for (let i = 0; i < touchedCount; i++) scores[touched[i]] = 0;
    return { ids, scores: out };
  }
}

// Rows reused across calls: the distance runs thousands of times per misspelt query word.
let rowA = new Int32Array(64);
let rowB = new Int32Array(64);
let rowC = new Int32Array(64);

/** Optimal-string-alignment distance, abandoning a row once it exceeds `max` (returns max + 1). */
export function boundedDamerau(a: string, b: string, max: number): number {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > max) return max + 1;
  if (rowA.length <= m) {
    rowA = new Int32Array(m * 2);
    rowB = new Int32Array(m * 2);
    rowC = new Int32Array(m * 2);
  }
  let prev2 = rowA;
  let prev = rowB;
  let cur = rowC;
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= m; j++) {
      const bj = b.charCodeAt(j - 1);
      const cost = ai === bj ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj)
        v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return Math.min(prev[m], max + 1);
}
