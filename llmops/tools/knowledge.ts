import type { AppContext } from "../../platform/context.ts";
import { parseFilter, searchKnowledgeBase } from "../rag/api.ts";

/** One retrieved passage with what a citation needs (document, chunk, title, section). */
export interface KnowledgeHit {
  doc_id: string;
  chunk_id: string;
  title: string;
  section: string;
  score: number;
  text: string;
  source: string;
}

export interface KnowledgeSearchResponse {
  index_version: string;
  results: KnowledgeHit[];
}

/** The knowledge base as search_knowledge_base sees it: a small interface over the RAG retrieval. */
export interface KnowledgeSearch {
  search(
    query: string,
    opts?: { k?: number; type?: string; product?: string; language?: string },
  ): Promise<KnowledgeSearchResponse>;
}

/**
 * The workspace's RAG index (llmops/rag/api.ts) with the configured retrieval defaults, or the managed
 * retriever the profile provides (`app.retriever()`: Vertex AI Search under gcp with
 * `gcp.searchDataStore`), which ranks by itself and does not take the type/product/language filters.
 */
export function knowledgeSearchFromApp(app: AppContext, opts: { index?: string } = {}): KnowledgeSearch {
  const managed = app.retriever?.() ?? null;
  return {
    async search(query, o = {}) {
      const filters = [
        o.type ? parseFilter(`type=${o.type}`) : null,
        o.product ? parseFilter(`product=${o.product}`) : null,
        o.language ? parseFilter(`language=${o.language}`) : null,
      ].filter((f) => f !== null);
      const res = managed
        ? await managed.search(query, o.k ? { k: o.k } : {})
        : await searchKnowledgeBase(app, query, {
            index: opts.index,
            ...(o.k ? { k: o.k } : {}),
            ...(filters.length ? { filters } : {}),
          });
      return {
        index_version: res.index_version,
        results: res.results.map((r) => ({
          doc_id: r.doc_id,
          chunk_id: r.chunk_id,
          title: r.title,
          section: r.section,
          score: r.score,
          text: r.text,
          source: r.source,
        })),
      };
    },
  };
}
