/**
 * Retrieval port, version 1: passages of the knowledge base that answer a question, best first.
 * Local: the workspace RAG index (llmops/rag, BM25 + dense + rerank), which already has this shape
 * (`RagIndex.search` returns a RetrievalResponse). gcp: Vertex AI Search over the data store
 * Terraform creates (platform/adapters/gcp/vertex-ai-search-retriever.ts). The field names are the
 * JSON of `telco rag query --json`, so callers and evals treat either backend alike.
 */
export interface RetrievedPassage {
  doc_id: string;
  chunk_id: string;
  title: string;
  section: string;
  /** The score that ordered the results (non-increasing down the list). */
  score: number;
  /** The first-stage retrieval score (equal to `score` when the backend has only one). */
  fused_score: number;
  text: string;
  /** Where the passage comes from (a file path or a gs:// / https:// URI). */
  source: string;
}

export interface RetrievalResponse {
  /** Identifies what was searched (an index version, or the serving config of a managed search). */
  index_version: string;
  results: RetrievedPassage[];
}

export interface Retriever {
  /** Passages best first, at most `k`; a blank question gets none. */
  search(query: string, opts?: { k?: number }): Promise<RetrievalResponse>;
}
