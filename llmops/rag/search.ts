import { TelcoError } from "../../platform/errors.ts";
import { type EmbeddingProvider, embeddingFingerprint } from "../../platform/ports/embeddings.ts";
import { type AnalyzerLanguage, analyze, analyzerLanguage, analyzeWithSurface } from "./analyzer.ts";
import { Bm25Index, type QueryTerm } from "./bm25.ts";
import { DenseIndex } from "./dense.ts";
import { LocalHashEmbedder } from "./embeddings/local.ts";
import { filterMask, type MetadataFilter } from "./filters.ts";
import { maximalMarginalRelevance, reciprocalRankFusion } from "./fusion.ts";
import { SurfaceLexicon } from "./lexicon.ts";
import { type LatentModel, projectQuery, type TextSegment } from "./lsa.ts";
import { intentPriorFor } from "./priors.ts";
import { type ExpandedQuery, expandQuery } from "./query-expansion.ts";
import { headingCoverage, headingQuery, productAffinity, rerankByFeatures } from "./rerank.ts";
import {
  type IndexData,
  type IndexManifest,
  indexDir,
  readIndex,
  type StoredChunk,
  versionDir,
  writeVersionFile,
} from "./store.ts";
import {
  buildSearchStructures,
  chunkIndexText,
  encodeSearchStructures,
  readSearchStructures,
  type SearchStructures,
  STRUCTURES_FILE,
} from "./structures.ts";

export type RetrievalMode = "hybrid" | "bm25" | "dense";
export type RerankKind = "none" | "coverage" | "features";

/** How many of the best fused candidates the `features` rerank scores. */
const RERANK_DEPTH = 40;

/** Query options; every field has a default from config rag.retrieval. */
export interface SearchOptions {
  k?: number;
  mode?: RetrievalMode;
  filters?: MetadataFilter[];
  /** Depth of each retriever before fusion. */
  candidates?: number;
  rrfK?: number;
  /** RRF weight of the dense list relative to BM25 (1 = plain RRF). */
  denseWeight?: number;
  /** RRF weight of a document-level BM25 ranking added to each chunk (0 = off). */
  documentWeight?: number;
  /** 1 disables MMR. */
  mmrLambda?: number;
  /** Second stage: `features` (heading match, product and intent priors; rerank.ts), `coverage` (term share), none. */
  rerank?: RerankKind;
  /**
   * The dialogue's top intent for this message ("internet_problem", "invoice_explanation", …; see
   * priors.ts). Under `rerank: "features"` it adds a prior on document type/product; unknown = none.
   */
  intent?: string;
  /** The classifier's confidence in `intent` (0–1, default 1): scales the prior, so a doubtful intent weighs less. */
  intentConfidence?: number;
  /** `features` rerank: weight of the question's share found in the chunk's title and section heading. */
  titleWeight?: number;
  /** `features` rerank: weight of the product match (question hints "celular" → mobile documents). */
  productWeight?: number;
  /** `features` rerank: weight of the intent prior. */
  intentWeight?: number;
  /** RRF weight of the corpus-fitted LSA list (0 = off). */
  latentWeight?: number;
  /** BM25 weight of words added by query normalisation relative to the question's own words (1 = equal). */
  expansionWeight?: number;
}

/** One hit, in the JSON shape of `telco rag query --json`. */
export interface SearchResult {
  doc_id: string;
  chunk_id: string;
  title: string;
  section: string;
  /**
   * The score that ordered the results (non-increasing down the list): the MMR value when MMR ran,
   * else the rerank score, else the retrieval score.
   */
  score: number;
  /** The retrieval stage's score of this chunk: RRF in hybrid, BM25 in bm25, cosine in dense. */
  fused_score: number;
  text: string;
  source: string;
}

export interface SearchResponse {
  index_version: string;
  results: SearchResult[];
}

export { chunkIndexText } from "./structures.ts";

/** An opened index version: BM25, embedder-dense and LSA structures over the same rows, plus metadata columns. */
export class RagIndex {
  readonly manifest: IndexManifest;
  readonly chunks: StoredChunk[];
  readonly bm25: Bm25Index;
  readonly dense: DenseIndex;
  /** BM25 over whole documents (row = document), for evidence spread over several sections. */
  readonly docBm25: Bm25Index;
  /** Chunk vectors in the corpus-fitted LSA space. */
  readonly latent: DenseIndex;
  readonly #latentModel: LatentModel;
  readonly #lexicon: SurfaceLexicon;
  readonly #latentFeatures: Map<string, number>;
  readonly #docOfChunk: Int32Array;
  readonly #dates: Int32Array;
  readonly #embedder: EmbeddingProvider;
  /** Analysed title + section terms per "language\ntitle\nsection", filled lazily by the reranker. */
  readonly #headings = new Map<string, Set<string>>();

  /** `structures` (persisted BM25 indexes + LSA, see structures.ts) are built from the chunks when not given. */
  constructor(data: IndexData, embedder: EmbeddingProvider, structures?: SearchStructures) {
    const expected = embeddingFingerprint(data.manifest.embedding);
    if (embeddingFingerprint(embedder) !== expected)
      throw new TelcoError(
        "rag_embeddings_mismatch",
        `index ${data.manifest.index}@${data.manifest.version} was embedded with ${expected}, but the configured provider is ${embeddingFingerprint(embedder)}`,
        {
          hint: "Configure the same rag.embeddings provider, or re-ingest with the new one (telco rag ingest … --rebuild).",
        },
      );
    this.manifest = data.manifest;
    this.chunks = data.chunks;
    this.#embedder = embedder;
    const built = structures ?? buildSearchStructures(data.chunks);
    if (built.docOfChunk.length !== data.chunks.length || built.bm25.size !== data.chunks.length)
      throw new TelcoError("rag_index", "search structures do not match the index rows", {
        hint: "Rebuild the index: telco rag ingest … --rebuild",
      });
    this.bm25 = new Bm25Index(built.bm25);
    this.docBm25 = new Bm25Index(built.docBm25);
    this.#docOfChunk = built.docOfChunk;
    this.#lexicon = new SurfaceLexicon(
      built.lexicon.words,
      Array.from(built.lexicon.terms, (id) => built.bm25.terms[id]),
    );
    this.#latentModel = built.latent;
    this.#latentFeatures = new Map(built.latent.features.map((f, i) => [f, i]));
    // LSA coordinates are ordered by singular value, so a prefix is the best lower-rank space.
    this.latent = new DenseIndex(built.latent.rows, built.latent.rank, { prefixDims: 24 });
    const prefixDims = "prefixSearchable" in embedder && embedder.prefixSearchable ? 64 : 0;
    this.dense = new DenseIndex(data.vectors, data.manifest.embedding.dimension, { prefixDims });
    this.#dates = Int32Array.from(data.chunks, (c) =>
      c.effective_date ? Number(c.effective_date.replaceAll("-", "")) : 0,
    );
  }

  get version(): string {
    return this.manifest.version;
  }

  /** Ranked chunks for a question, with the index version that answered it. */
  async search(query: string, opts: SearchOptions = {}): Promise<SearchResponse> {
    // A blank question has no answer (the ranking would be arbitrary chunks), as the retrieval port says.
    if (!query.trim()) return { index_version: this.version, results: [] };
    const k = opts.k ?? 5;
    const mode = opts.mode ?? "hybrid";
    const depth = Math.max(opts.candidates ?? 50, k);
    const mask = filterMask(opts.filters ?? [], {
      size: this.chunks.length,
      date: this.#dates,
      text: (field, row) => this.chunks[row][field],
    });
    const expanded = expandQuery(query);
    const terms = this.queryTerms(query, expanded, opts.expansionWeight ?? 1);
    let ids: number[];
    let scores: number[];
    if (mode === "bm25") {
      const r = this.bm25.search(terms, depth, mask);
      ids = Array.from(r.ids);
      scores = Array.from(r.scores);
    } else {
      // Each part analysed in its own language: the glossary's Portuguese words must not go through
      // the English stemmer with the English question they were added to.
      const segments: TextSegment[] = [{ text: expanded.text, language: expanded.language, weight: 1 }];
      const extra = `${expanded.added}\n${expanded.related}`.trim();
      if (extra) segments.push({ text: extra, language: "pt", weight: 1 });
      const qv = await this.#embedQuery(expanded.embedText, segments);
      const dense = this.dense.search(qv, depth, mask);
      if (mode === "dense") {
        ids = Array.from(dense.ids);
        scores = Array.from(dense.scores);
      } else {
        const lexical = this.bm25.search(terms, depth, mask);
        const rrfK = opts.rrfK ?? 60;
        const lists: ArrayLike<number>[] = [lexical.ids, dense.ids];
        const weights = [1, opts.denseWeight ?? 1];
        const latentWeight = opts.latentWeight ?? 0;
        if (latentWeight > 0) {
          lists.push(this.#latentSearch(segments, depth, mask));
          weights.push(latentWeight);
        }
        ({ ids, scores } = reciprocalRankFusion(lists, rrfK, weights));
        const docWeight = opts.documentWeight ?? 0;
        if (docWeight > 0) ({ ids, scores } = this.#addDocumentEvidence(terms, ids, scores, rrfK, docWeight));
      }
    }
    const retrievalScore = new Map<number, number>();
    for (let i = 0; i < ids.length; i++) retrievalScore.set(ids[i], scores[i]);
    if (opts.rerank === "coverage") ({ ids, scores } = this.#coverageRerank(terms, ids, scores));
    else if (opts.rerank === "features") {
      const heading = headingQuery(terms, (t) => this.bm25.idf(t));
      const prior = intentPriorFor(opts.intent);
      // Features only for the best fused candidates: below them a feature cannot lift a chunk into the top k
      // (depth 10 to all gave the same metrics on both golden sets), and a heading is analysed once per chunk.
      const depth = Math.max(RERANK_DEPTH, k);
      const head = rerankByFeatures(
        ids.slice(0, depth),
        scores.slice(0, depth),
        (row) => {
          const c = this.chunks[row];
          return {
            title: headingCoverage(heading, this.#headingTerms(c)),
            product: productAffinity(c.product, expanded.products),
            intent: prior(c.type, c.product),
          };
        },
        {
          title: opts.titleWeight ?? 0.05,
          product: opts.productWeight ?? 0.2,
          intent: (opts.intentWeight ?? 0.1) * Math.min(1, Math.max(0, opts.intentConfidence ?? 1)),
        },
      );
      const top = Math.max(...scores) || 1;
      const merged = [
        ...head.ids.map((row, i) => ({ row, score: head.scores[i] })),
        ...ids.slice(depth).map((row, i) => ({ row, score: scores[depth + i] / top })),
      ].sort((a, b) => b.score - a.score);
      ids = merged.map((m) => m.row);
      scores = merged.map((m) => m.score);
    }
    const lambda = opts.mmrLambda ?? 1;
    if (lambda < 1 && ids.length > k)
      ({ ids, scores } = maximalMarginalRelevance(
        ids,
        scores,
        (a, b) => this.dense.similarity(a, b),
        k,
        lambda,
      ));
    return {
      index_version: this.version,
      results: ids.slice(0, k).map((row, i) => {
        const c = this.chunks[row];
        return {
          doc_id: c.doc_id,
          chunk_id: c.chunk_id,
          title: c.title,
          section: c.section,
          score: Number(scores[i].toFixed(6)),
          fused_score: Number((retrievalScore.get(row) ?? 0).toFixed(6)),
          text: c.text,
          source: c.source,
        };
      }),
    };
  }

  /**
   * Weighted BM25 terms of a question. Its own words are analysed in its language at weight 1; words
   * added by normalisation (spelled-out abbreviations, glossary translations, telecom synonyms) are
   * analysed as Portuguese at `expansionWeight` (likely, not certain, what the user meant). A word
   * whose term the index lacks is looked up as the corpus spells it: the same word, else one- or
   * two-edit neighbours of it (0.7 × weight), else, as before, near stems. Words of an English
   * question get exact matches only: "fiber" or "data" are not misspellings of Portuguese words.
   */
  queryTerms(query: string, expanded: ExpandedQuery, expansionWeight = 1): QueryTerm[] {
    const out: QueryTerm[] = [];
    const add = (text: string, lang: AnalyzerLanguage, weight: number) => {
      const { terms, surface } = analyzeWithSurface(text, lang);
      for (let i = 0; i < terms.length; i++) {
        const term = terms[i];
        if (lang === "en" || this.bm25.idf(term) !== undefined) {
          out.push({ term, weight, fuzzy: false });
          continue;
        }
        const word = surface[i];
        const exact = this.#lexicon.term(word);
        if (exact !== undefined) {
          out.push({ term: exact, weight, fuzzy: false });
          continue;
        }
        if (word.length < 4 || /\d/.test(word)) continue;
        const near = this.#lexicon.neighbourTerms(word, word.length >= 8 ? 2 : 1);
        for (const t of near) out.push({ term: t, weight: 0.7 * weight, fuzzy: false });
        // Nothing near the word: near stems may still exist (the stemmer cut a misspelt suffix).
        if (near.length === 0) out.push({ term, weight, fuzzy: true });
      }
    };
    add(expanded.text ?? query, expanded.language, 1);
    add(expanded.added, "pt", expansionWeight);
    add(expanded.related, "pt", expansionWeight);
    return out;
  }

  /** Adds w/(k + rank of the chunk's document in a document-level BM25 ranking) to each candidate. */
  #addDocumentEvidence(
    terms: QueryTerm[],
    ids: number[],
    scores: number[],
    rrfK: number,
    weight: number,
  ): { ids: number[]; scores: number[] } {
    // Documents past rank 200 would add < w/260: not worth ranking them all on large indexes.
    const docs = this.docBm25.search(terms, Math.min(this.docBm25.size, 200));
    const rankOfDoc = new Map<number, number>();
    for (let r = 0; r < docs.ids.length; r++) rankOfDoc.set(docs.ids[r], r + 1);
    const rescored = ids.map((row, i) => {
      const rank = rankOfDoc.get(this.#docOfChunk[row]);
      return { row, score: scores[i] + (rank === undefined ? 0 : weight / (rrfK + rank)) };
    });
    rescored.sort((a, b) => b.score - a.score || a.row - b.row);
    return { ids: rescored.map((r) => r.row), scores: rescored.map((r) => r.score) };
  }

  /** Analysed terms of a chunk's title and section heading (cached per distinct heading). */
  #headingTerms(c: StoredChunk): Set<string> {
    const key = `${c.language}\n${c.title}\n${c.section}`;
    let terms = this.#headings.get(key);
    if (!terms) {
      terms = new Set(analyze(`${c.title}\n${c.section}`, analyzerLanguage(c.language, c.title)));
      // Bounded: a long-running server on a large index must not keep one set per chunk forever.
      if (this.#headings.size >= 50_000) this.#headings.clear();
      this.#headings.set(key, terms);
    }
    return terms;
  }

  /** Top rows by cosine in the LSA space fitted on this index's chunks. */
  #latentSearch(segments: TextSegment[], depth: number, mask?: Uint8Array): Int32Array {
    const q = projectQuery(this.#latentModel, this.#latentFeatures, segments);
    return this.latent.search(q, depth, mask).ids;
  }

  /**
   * Query vector; for the local embedder built from the language-tagged segments and weighted by
   * this index's IDF (unknown words: the max). Remote embedders get the whole text.
   */
  async #embedQuery(text: string, segments: TextSegment[]): Promise<Float32Array> {
    if (this.#embedder instanceof LocalHashEmbedder) {
      const maxIdf = Math.log(1 + this.chunks.length);
      return this.#embedder.embedWeighted(segments, (stem) => this.bm25.idf(stem) ?? maxIdf);
    }
    const [v] = await this.#embedder.embed([text], "query");
    return v;
  }

  /**
   * Optional second stage: boosts candidates by the share of distinct query terms they contain
   * (a cheap stand-in for a cross-encoder, which would need downloaded weights).
   */
  #coverageRerank(
    queryTerms: QueryTerm[],
    ids: number[],
    scores: number[],
  ): { ids: number[]; scores: number[] } {
    const q = new Set(queryTerms.map((t) => t.term));
    if (q.size === 0 || ids.length === 0) return { ids, scores };
    const top = Math.max(...scores) || 1;
    const rescored = ids.map((row, i) => {
      const c = this.chunks[row];
      const terms = new Set(analyze(chunkIndexText(c), analyzerLanguage(c.language, c.text)));
      let hit = 0;
      for (const t of q) if (terms.has(t)) hit++;
      return { row, score: scores[i] / top + 0.5 * (hit / q.size) };
    });
    rescored.sort((a, b) => b.score - a.score);
    return { ids: rescored.map((r) => r.row), scores: rescored.map((r) => r.score) };
  }
}

/** Opens the live version of an index under the workspace's rag folder. */
export async function openIndex(
  ragRoot: string,
  index: string,
  embedder: EmbeddingProvider,
): Promise<RagIndex> {
  const dir = indexDir(ragRoot, index);
  const data = await readIndex(dir);
  const vdir = versionDir(dir, data.manifest.version);
  let structures: SearchStructures | undefined;
  try {
    structures = await readSearchStructures(vdir, data.manifest.version);
  } catch {
    structures = undefined; // a damaged file is rebuilt below
  }
  if (!structures) {
    // Versions written before structures were persisted (or by another format): build once, keep.
    structures = buildSearchStructures(data.chunks);
    await writeVersionFile(
      vdir,
      STRUCTURES_FILE,
      encodeSearchStructures(structures, data.manifest.version),
    ).catch(
      () => undefined, // read-only workspace: still searchable, just slower to open
    );
  }
  return new RagIndex(data, embedder, structures);
}
