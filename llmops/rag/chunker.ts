import { createHash } from "node:crypto";
import type { Chunk, ChunkerSettings, DocMetadata, LoadedDocument } from "./types.ts";

/** Separator between heading levels in a chunk's `section` (also used in citations). */
export const SECTION_SEPARATOR = " › ";

/** sha256 hex of a string (first `length` chars). */
export function sha256(text: string, length = 64): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** Tokens for budgeting are whitespace-separated words (≈ 0.75× a BPE token count for pt-BR). */
function tokenize(text: string): string[] {
  return text.split(/\s+/).filter((t) => t.length > 0);
}

/**
 * Splits a loaded document into chunks that never cross a section boundary. Inside a section,
 * paragraphs are packed up to `maxTokens`; an oversized paragraph is split by sentences and, as
 * a last resort, by words. Consecutive chunks of one section share `overlapTokens` words.
 */
export function chunkDocument(doc: LoadedDocument, settings: ChunkerSettings): Chunk[] {
  const { maxTokens, overlapTokens } = settings;
  checkChunkerSettings(settings);
  const chunks: Chunk[] = [];
  for (const section of doc.sections) {
    const units = splitUnits(section.text, maxTokens, maxTokens - overlapTokens);
    if (units.length === 0) continue;
    const sectionLabel = section.path.join(SECTION_SEPARATOR);
    const pieces = packUnits(units, maxTokens, overlapTokens);
    pieces.forEach((text, ordinal) => {
      chunks.push(buildChunk(doc.metadata, doc.source, sectionLabel, ordinal, text));
    });
  }
  return chunks;
}

/** Throws RangeError on settings that cannot make progress. */
export function checkChunkerSettings({ maxTokens, overlapTokens }: ChunkerSettings): void {
  if (maxTokens < 8) throw new RangeError("chunker maxTokens must be at least 8");
  if (overlapTokens < 0 || overlapTokens >= maxTokens / 2)
    throw new RangeError("chunker overlapTokens must be in [0, maxTokens/2)");
}

/** One chunk of a document section; shared by the whole-document and the streaming chunker. */
export function buildChunk(
  metadata: DocMetadata,
  source: string,
  sectionLabel: string,
  ordinal: number,
  text: string,
): Chunk {
  const contentHash = sha256(text, 32);
  return {
    // Stable: same doc, same section path, same position and same text → same id across runs.
    chunk_id: sha256(`${metadata.doc_id}\u0000${sectionLabel}\u0000${ordinal}\u0000${contentHash}`, 20),
    doc_id: metadata.doc_id,
    title: metadata.title,
    section: sectionLabel,
    ordinal,
    text,
    content_hash: contentHash,
    source,
    type: metadata.type,
    product: metadata.product,
    effective_date: metadata.effective_date,
    language: metadata.language,
  };
}

/**
 * Paragraphs (or, for oversized ones, sentences and word runs of ≤ pieceTokens words, so that the
 * overlap still fits in front of them), whitespace-normalised.
 */
function splitUnits(text: string, maxTokens: number, pieceTokens: number): string[][] {
  const units: string[][] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const tokens = tokenize(paragraph);
    if (tokens.length === 0) continue;
    if (tokens.length <= maxTokens) {
      units.push(tokens);
      continue;
    }
    const sentences = paragraph.split(/(?<=[.!?;:])\s+/);
    for (const sentence of sentences) {
      const st = tokenize(sentence);
      for (let i = 0; i < st.length; i += pieceTokens) units.push(st.slice(i, i + pieceTokens));
    }
  }
  return units;
}

/** Greedy packing of units into ≤ maxTokens windows; each new window starts with the overlap tail. */
function packUnits(units: string[][], maxTokens: number, overlapTokens: number): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let fresh = 0; // tokens in `current` that are not overlap from the previous chunk
  const flush = () => {
    if (fresh > 0) out.push(current.join(" "));
    current = overlapTokens > 0 && fresh > 0 ? current.slice(-overlapTokens) : [];
    fresh = 0;
  };
  for (const unit of units) {
    if (fresh > 0 && current.length + unit.length > maxTokens) flush();
    if (current.length + unit.length > maxTokens) {
      const keep = maxTokens - unit.length;
      current = keep > 0 ? current.slice(-keep) : [];
    }
    current.push(...unit);
    fresh += unit.length;
  }
  if (fresh > 0) out.push(current.join(" "));
  return out;
}
