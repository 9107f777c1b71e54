/** Document types agreed with the knowledge-base authors (front matter `type`). */
export const DOC_TYPES = ["faq", "manual", "policy", "catalog", "regulation"] as const;
export type DocType = (typeof DOC_TYPES)[number];

/** Metadata every document carries and every chunk inherits. */
export interface DocMetadata {
  doc_id: string;
  title: string;
  type: string;
  product: string;
  /** YYYY-MM-DD or "" when unknown. */
  effective_date: string;
  language: string;
}

/** A section of a loaded document: its heading path (outermost first) and its body text. */
export interface Section {
  path: string[];
  text: string;
}

/** What a loader returns: metadata plus the document body split by its own structure. */
export interface LoadedDocument {
  metadata: DocMetadata;
  sections: Section[];
  /** Path the document was ingested from (as given, made absolute). */
  source: string;
  format: "markdown" | "html" | "pdf" | "text";
}

/** One retrievable unit; `text` is the body shown to a person, `indexText` adds title/section context. */
export interface Chunk {
  chunk_id: string;
  doc_id: string;
  title: string;
  section: string;
  ordinal: number;
  text: string;
  content_hash: string;
  source: string;
  type: string;
  product: string;
  effective_date: string;
  language: string;
}

/** Chunker settings recorded in every index manifest. */
export interface ChunkerSettings {
  maxTokens: number;
  overlapTokens: number;
}
