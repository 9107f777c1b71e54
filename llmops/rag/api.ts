import type { AppContext } from "../../platform/context.ts";
import { builtinKnowledgeBasePaths } from "./builtin.ts";
import { createEmbeddingProvider } from "./embeddings/factory.ts";
import { IndexCache } from "./index-cache.ts";
import { type IngestReport, ingestDocuments } from "./ingest.ts";
import { openIndex, type RagIndex, type SearchOptions, type SearchResponse } from "./search.ts";
import { indexDir } from "./store.ts";

export { parseFilter } from "./filters.ts";
export { type IngestReport, ingestDocuments } from "./ingest.ts";
export { KNOWN_INTENTS } from "./priors.ts";
export { openIndex, RagIndex, type SearchOptions, type SearchResponse, type SearchResult } from "./search.ts";

/** Ingests files/folders into a workspace index with the configured embedder and chunker. */
export async function ingestIntoWorkspace(
  app: AppContext,
  paths: string[],
  opts: {
    index?: string;
    rebuild?: boolean;
    onProgress?: Parameters<typeof ingestDocuments>[0]["onProgress"];
  } = {},
): Promise<IngestReport> {
  try {
    return await ingestDocuments({
      ragRoot: app.paths.rag,
      index: opts.index,
      paths,
      embedder: createEmbeddingProvider(app),
      chunker: app.config.rag.chunking,
      maxFileBytes: app.config.rag.ingest.maxFileBytes,
      rebuild: opts.rebuild,
      onProgress: opts.onProgress,
    });
  } finally {
    // This process may have moved the pointer: its own next search reads it without waiting.
    refreshWorkspaceIndex(app, opts.index);
  }
}

/** Builds (or incrementally refreshes) an index from the built-in knowledge base, PDFs included. */
export async function ingestBuiltinKnowledgeBase(
  app: AppContext,
  opts: { index?: string; rebuild?: boolean; warn?: (m: string) => void } = {},
): Promise<IngestReport> {
  const paths = await builtinKnowledgeBasePaths(app.paths.rag, opts.warn);
  return ingestIntoWorkspace(app, paths, opts);
}

const opened = new IndexCache<RagIndex>({ versionOf: (idx) => idx.version });

/**
 * The live version of a workspace index, kept in memory: a search reads no file while the CURRENT
 * pointer has not moved (re-checked with one stat at most every INDEX_RECHECK_MS, index-cache.ts).
 * After another process re-ingests, searches switch to the new version within that interval; after an
 * ingest in this process (or `refreshWorkspaceIndex`), on the next search.
 */
export async function openWorkspaceIndex(app: AppContext, index = "default"): Promise<RagIndex> {
  return opened.get(indexDir(app.paths.rag, index), () =>
    openIndex(app.paths.rag, index, createEmbeddingProvider(app)),
  );
}

/** Makes the next search of a workspace index re-read its CURRENT pointer (no interval wait). */
export function refreshWorkspaceIndex(app: AppContext, index = "default"): void {
  opened.invalidate(indexDir(app.paths.rag, index));
}

/** Searches a workspace index with config defaults (rag.retrieval) overridden by `opts`. */
export async function searchKnowledgeBase(
  app: AppContext,
  query: string,
  opts: SearchOptions & { index?: string } = {},
): Promise<SearchResponse> {
  const r = app.config.rag.retrieval;
  const idx = await openWorkspaceIndex(app, opts.index);
  return idx.search(query, {
    k: r.k,
    mode: r.mode,
    candidates: r.candidates,
    rrfK: r.rrfK,
    denseWeight: r.denseWeight,
    latentWeight: r.latentWeight,
    documentWeight: r.documentWeight,
    expansionWeight: r.expansionWeight,
    mmrLambda: r.mmrLambda,
    rerank: r.rerank,
    titleWeight: r.titleWeight,
    productWeight: r.productWeight,
    intentWeight: r.intentWeight,
    ...opts,
  });
}
