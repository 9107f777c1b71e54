/**
 * Streaming ingestion of text-like files (plain text, Markdown): the file is read in bounded blocks,
 * decoded incrementally and chunked as it goes, so memory holds one block, the paragraph being packed
 * and the chunks made so far — never the whole file. The chunks are the same as the whole-file
 * loaders + `chunkDocument` would make (stream.test.ts checks this on random text cut at random places).
 */
import { constants, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { extname } from "node:path";
import { buildChunk, checkChunkerSettings, SECTION_SEPARATOR } from "./chunker.ts";
import {
  completeMetadata,
  LoadError,
  MarkdownLines,
  matchFrontMatter,
  parseFrontMatter,
  SUPPORTED_EXTENSIONS,
  textTitle,
  withoutTitleHeading,
} from "./loaders.ts";
import type { Chunk, ChunkerSettings, DocMetadata, LoadedDocument } from "./types.ts";

/** Bytes read per block. */
export const BLOCK_BYTES = 64 * 1024;

/** Formats read and chunked as a stream; PDF and HTML need the whole file (pdf.js, an HTML5 tree). */
export const STREAMED_FORMATS: readonly LoadedDocument["format"][] = ["text", "markdown"];

/** The file cannot be read as a document (not a regular file, over the size cap); the message is the reason. */
export class ReadRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "ReadRefused";
  }
}

/** What a non-regular file is, for the skip reason. */
export function fileKind(st: Stats): string {
  if (st.isFIFO()) return "a named pipe (FIFO)";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isSocket()) return "a socket";
  if (st.isDirectory()) return "a folder";
  return "not a regular file";
}

export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

/**
 * Reads a regular file of at most `max` bytes, one block at a time. The checks are made on the open
 * descriptor (opened non-blocking) and the byte count is checked on every block, so a file swapped
 * for a FIFO or growing while read can never block the ingestion or fill memory.
 */
export async function* readBlocks(
  file: string,
  max: number,
  blockBytes = BLOCK_BYTES,
): AsyncGenerator<Buffer> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ReadRefused(`${fileKind(st)}, not a document`);
    if (st.size > max)
      throw new ReadRefused(
        `${formatBytes(st.size)}, over the limit of ${formatBytes(max)} (rag.ingest.maxFileBytes)`,
      );
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(blockBytes);
      const { bytesRead } = await fh.read(buf, 0, blockBytes, total);
      if (bytesRead === 0) return;
      total += bytesRead;
      if (total > max) throw new ReadRefused(`grew past the limit of ${formatBytes(max)} while being read`);
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** UTF-8 decoding across block boundaries; invalid bytes are a LoadError naming the file. */
async function* decodeUtf8(path: string, blocks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true }); // drops one leading BOM itself
  let first = true;
  const decode = (b?: Buffer): string => {
    try {
      const s = b ? decoder.decode(b, { stream: true }) : decoder.decode();
      if (!first || !s) return s;
      first = false;
      return s.replace(/^\uFEFF/, ""); // a second BOM, as the whole-file loader drops it too
    } catch {
      throw new LoadError(path, "not valid UTF-8 text (binary or wrongly encoded file)");
    }
  };
  for await (const block of blocks) {
    const s = decode(block);
    if (s) yield s;
  }
  const tail = decode();
  if (tail) yield tail;
}

const SENTENCE_END = /[.!?;:]$/;

/**
 * The chunker of one section, fed text in pieces cut anywhere. Same rules as `chunkDocument`:
 * paragraphs (split at blank lines) are packed up to maxTokens words with overlapTokens words
 * shared between consecutive chunks; a paragraph over maxTokens is split by sentences and word
 * runs. It holds at most one paragraph's first maxTokens + 1 words and the chunk being packed.
 */
export class SectionChunker {
  private readonly max: number;
  private readonly overlap: number;
  private readonly piece: number;
  private carry = ""; // a word that may continue in the next piece
  private newlines = 0; // line breaks since the last word (2+ = paragraph break)
  private paragraph: string[] = [];
  private bySentence = false;
  private sentence: string[] = [];
  private current: string[] = [];
  private fresh = 0; // words in `current` that are not overlap from the previous chunk
  private out: string[] = [];
  /** Whether any word was seen (a section without words makes no chunk). */
  hasText = false;

  constructor(settings: ChunkerSettings) {
    checkChunkerSettings(settings);
    this.max = settings.maxTokens;
    this.overlap = settings.overlapTokens;
    this.piece = settings.maxTokens - settings.overlapTokens;
  }

  /** Feeds text; returns the chunks completed by it. */
  push(text: string): string[] {
    const s = this.carry + text;
    this.carry = "";
    const words = /\S+/g;
    let end = 0;
    for (let m = words.exec(s); m !== null; m = words.exec(s)) {
      this.countNewlines(s, end, m.index);
      end = m.index + m[0].length;
      if (end === s.length) {
        this.carry = m[0];
        return this.take();
      }
      this.word(m[0]);
    }
    this.countNewlines(s, end, s.length);
    return this.take();
  }

  /** Ends the section; returns the last chunks. */
  end(): string[] {
    if (this.carry) this.word(this.carry);
    this.carry = "";
    this.endParagraph();
    if (this.fresh > 0) this.out.push(this.current.join(" "));
    this.current = [];
    this.fresh = 0;
    return this.take();
  }

  private take(): string[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private countNewlines(s: string, from: number, to: number): void {
    for (let i = s.indexOf("\n", from); i !== -1 && i < to; i = s.indexOf("\n", i + 1)) this.newlines++;
  }

  private word(w: string): void {
    this.hasText = true;
    if (this.newlines >= 2) this.endParagraph();
    this.newlines = 0;
    if (this.bySentence) {
      this.sentenceWord(w);
      return;
    }
    this.paragraph.push(w);
    if (this.paragraph.length > this.max) {
      // Too long for one unit: from here on, the paragraph is cut by sentences and word runs.
      this.bySentence = true;
      const held = this.paragraph;
      this.paragraph = [];
      for (const h of held) this.sentenceWord(h);
    }
  }

  private sentenceWord(w: string): void {
    this.sentence.push(w);
    if (this.sentence.length === this.piece || SENTENCE_END.test(w)) {
      this.unit(this.sentence);
      this.sentence = [];
    }
  }

  private endParagraph(): void {
    if (this.bySentence) {
      if (this.sentence.length) this.unit(this.sentence);
      this.sentence = [];
      this.bySentence = false;
    } else if (this.paragraph.length) this.unit(this.paragraph);
    this.paragraph = [];
  }

  /** Greedy packing of units into ≤ max windows; each new window starts with the overlap tail. */
  private unit(unit: string[]): void {
    if (this.fresh > 0 && this.current.length + unit.length > this.max) {
      this.out.push(this.current.join(" "));
      this.current = this.overlap > 0 ? this.current.slice(-this.overlap) : [];
      this.fresh = 0;
    }
    if (this.current.length + unit.length > this.max) {
      const keep = this.max - unit.length;
      this.current = keep > 0 ? this.current.slice(-keep) : [];
    }
    for (const w of unit) this.current.push(w);
    this.fresh += unit.length;
  }
}

/** A chunk before the document's metadata is final: its section path, position and text. */
export interface RawChunk {
  path: string[];
  ordinal: number;
  text: string;
}

/** A streamed document: iterate `chunks` to the end, then `finish()` gives the metadata and the chunks. */
export interface StreamedDocument {
  format: LoadedDocument["format"];
  chunks: AsyncGenerator<RawChunk>;
  /** Metadata and complete chunks; call after `chunks` is exhausted. Throws LoadError on a file without text. */
  finish(raw: RawChunk[]): { metadata: DocMetadata; chunks: Chunk[] };
}

/** Whether `path` is loaded as a stream. */
export function isStreamed(path: string): boolean {
  const format = SUPPORTED_EXTENSIONS[extname(path).toLowerCase()];
  return format !== undefined && STREAMED_FORMATS.includes(format);
}

/**
 * Streams a text or Markdown document from `blocks` (e.g. `readBlocks(path, max)`), yielding chunks
 * as soon as they are complete. Errors in the file (bad UTF-8, bad front matter) are LoadErrors.
 */
export function streamDocument(
  path: string,
  blocks: AsyncIterable<Buffer>,
  settings: ChunkerSettings,
): StreamedDocument {
  const format = SUPPORTED_EXTENSIONS[extname(path).toLowerCase()];
  if (format !== "text" && format !== "markdown")
    throw new LoadError(path, `"${extname(path)}" files are not streamed`);
  checkChunkerSettings(settings);
  const text = decodeUtf8(path, blocks);
  const state = { front: {} as Record<string, unknown>, fallbackTitle: "" };
  const chunks =
    format === "text" ? streamText(text, settings, state) : streamMarkdown(path, text, settings, state);
  return {
    format,
    chunks,
    finish(raw) {
      if (raw.length === 0) throw new LoadError(path, "document has no text");
      const metadata = completeMetadata(path, state.front, state.fallbackTitle);
      return {
        metadata,
        chunks: raw.map((c) =>
          buildChunk(
            metadata,
            path,
            withoutTitleHeading(c.path, metadata.title).join(SECTION_SEPARATOR),
            c.ordinal,
            c.text,
          ),
        ),
      };
    },
  };
}

interface StreamState {
  front: Record<string, unknown>;
  fallbackTitle: string;
}

/** Plain text: one section; the title is the first non-empty line (its first 120 characters). */
async function* streamText(
  text: AsyncIterable<string>,
  settings: ChunkerSettings,
  state: StreamState,
): AsyncGenerator<RawChunk> {
  const section = new SectionChunker(settings);
  let ordinal = 0;
  let titleDone = false;
  let title = "";
  for await (const piece of text) {
    if (!titleDone) {
      const from = title ? 0 : piece.search(/\S/);
      if (from !== -1) {
        const nl = piece.indexOf("\n", from);
        title += piece.slice(from, nl === -1 ? undefined : nl).slice(0, 120 - title.length);
        titleDone = nl !== -1 || title.length >= 120;
      }
    }
    for (const t of section.push(piece)) yield { path: [], ordinal: ordinal++, text: t };
  }
  for (const t of section.end()) yield { path: [], ordinal: ordinal++, text: t };
  state.fallbackTitle = textTitle(title);
}

/** Markdown: front matter (at most FRONT_MATTER_MAX_CHARS), then sections cut at headings. */
async function* streamMarkdown(
  path: string,
  text: AsyncIterable<string>,
  settings: ChunkerSettings,
  state: StreamState,
): AsyncGenerator<RawChunk> {
  const reader = new MarkdownLines();
  let section = new SectionChunker(settings);
  let sectionPath: string[] = [];
  let ordinal = 0;
  const emit = (texts: string[]): RawChunk[] => {
    if (texts.length && !state.fallbackTitle && sectionPath.length) state.fallbackTitle = sectionPath[0];
    return texts.map((t) => ({ path: sectionPath, ordinal: ordinal++, text: t }));
  };
  // Text lines go to the section chunker joined by "\n", as the whole-file loader joins them.
  const line = (raw: string): RawChunk[] => {
    const stripped = reader.read(raw.endsWith("\r") ? raw.slice(0, -1) : raw);
    if (stripped !== null) return emit(section.push(`${stripped}\n`));
    const done = emit(section.end());
    section = new SectionChunker(settings);
    sectionPath = reader.path;
    ordinal = 0;
    return done;
  };
  let head: string | null = ""; // text before the front matter is settled
  let partial = ""; // the line not yet ended
  const body = function* (piece: string): Generator<RawChunk> {
    let s = partial + piece;
    let nl = s.indexOf("\n");
    let from = 0;
    while (nl !== -1) {
      yield* line(s.slice(from, nl));
      from = nl + 1;
      nl = s.indexOf("\n", from);
    }
    s = s.slice(from);
    partial = s;
  };
  const settle = (eof: boolean): string | undefined => {
    const fm = matchFrontMatter(head ?? "", eof);
    if (!fm) return undefined;
    state.front = parseFrontMatter(path, fm.yaml);
    completeMetadata(path, state.front, ""); // bad metadata fails before the body is read
    const rest = (head ?? "").slice(fm.length);
    head = null;
    return rest;
  };
  for await (const piece of text) {
    if (head !== null) {
      head += piece;
      const rest = settle(false);
      if (rest !== undefined) yield* body(rest);
    } else yield* body(piece);
  }
  if (head !== null) yield* body(settle(true) ?? "");
  yield* line(partial);
  yield* emit(section.end());
}
