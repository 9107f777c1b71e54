import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { analyzerLanguage, analyzeWithSurface } from "./analyzer.ts";
import { type Bm25Parts, buildBm25PartsFromIds } from "./bm25.ts";
import { fitLatentModelOf, type LatentModel } from "./lsa.ts";
import type { StoredChunk } from "./store.ts";

/**
 * Bump when the analyzer, the BM25 parameters or the layout below change: persisted structures
 * written by another version are then ignored and rebuilt from the chunks.
 */
export const STRUCTURES_FORMAT = "bm25-pt-snowball-lsa64-lexicon-v2";
/** Dimensions of the corpus-fitted LSA space (64: best recall@5/MRR trade-off at a 100k-row scan cost of ~4 ms). */
export const LATENT_RANK = 64;
/** File in a version folder holding the search structures. */
export const STRUCTURES_FILE = "search.bin";
const MAGIC = 0x53474152; // "RAGS" little-endian

/** Everything RagIndex derives from the chunks besides the vectors. */
export interface SearchStructures {
  bm25: Bm25Parts;
  docBm25: Bm25Parts;
  /** Document row (in docBm25) of every chunk row. */
  docOfChunk: Int32Array;
  /** LSA model fitted on the chunks, with every chunk's latent vector. */
  latent: LatentModel;
  /** Every distinct folded content word of the chunks and its term id in `bm25` (see lexicon.ts). */
  lexicon: { words: string[]; terms: Int32Array };
}

/** Text that is analysed and embedded for a chunk: title and section give the body its context. */
export function chunkIndexText(c: Pick<StoredChunk, "title" | "section" | "text">): string {
  return `${c.title}\n${c.section}\n${c.text}`;
}

/** Analyses every chunk once and builds the chunk-level and document-level BM25 indexes, the lexicon and LSA. */
export function buildSearchStructures(chunks: StoredChunk[]): SearchStructures {
  // The analysed terms (ids) are garbage once the lexical part returns, before the LSA fit starts.
  const lexical = buildLexicalStructures(chunks);
  return {
    ...lexical,
    latent: fitLatentModelOf(
      chunks.length,
      (i) => chunkIndexText(chunks[i]),
      (i) => chunks[i].language,
      LATENT_RANK,
    ),
  };
}

/** A growable Int32Array (a document's term ids). */
interface IdBuffer {
  ids: Int32Array;
  length: number;
}

function pushIds(buf: IdBuffer, ids: Int32Array): void {
  if (buf.length + ids.length > buf.ids.length) {
    const grown = new Int32Array(Math.max(buf.ids.length * 2, buf.length + ids.length));
    grown.set(buf.ids.subarray(0, buf.length));
    buf.ids = grown;
  }
  buf.ids.set(ids, buf.length);
  buf.length += ids.length;
}

/**
 * Chunk and document BM25 plus the spelling lexicon. Terms are interned as they are analysed, so a
 * chunk holds an Int32Array of term ids rather than an array of strings.
 */
function buildLexicalStructures(chunks: StoredChunk[]): Omit<SearchStructures, "latent"> {
  const params = { k1: 1.2, b: 0.75 };
  const dictionary = new Map<string, number>();
  const intern = (terms: string[]): Int32Array =>
    Int32Array.from(terms, (t) => {
      let id = dictionary.get(t);
      if (id === undefined) {
        id = dictionary.size;
        dictionary.set(t, id);
      }
      return id;
    });
  const chunkTerms: Int32Array[] = new Array(chunks.length);
  const docRows = new Map<string, number>();
  const docTerms: IdBuffer[] = [];
  const docOfChunk = new Int32Array(chunks.length);
  const lexicon = new Map<string, string>();
  const learn = (a: { terms: string[]; surface: string[] }) => {
    for (let j = 0; j < a.terms.length; j++)
      if (!lexicon.has(a.surface[j])) lexicon.set(a.surface[j], a.terms[j]);
    return intern(a.terms);
  };
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    const lang = analyzerLanguage(c.language, c.text);
    const title = learn(analyzeWithSurface(c.title, lang));
    const rest = learn(analyzeWithSurface(`${c.section}\n${c.text}`, lang));
    // Same terms as analyze(chunkIndexText(c)): the analyzer works word by word.
    const terms = new Int32Array(title.length + rest.length);
    terms.set(title);
    terms.set(rest, title.length);
    chunkTerms[i] = terms;
    let row = docRows.get(c.doc_id);
    if (row === undefined) {
      row = docTerms.length;
      docRows.set(c.doc_id, row);
      docTerms.push({ ids: new Int32Array(0), length: 0 });
      pushIds(docTerms[row], title);
    }
    pushIds(docTerms[row], rest);
    docOfChunk[i] = row;
  }
  const vocabulary = [...dictionary.keys()];
  const bm25 = buildBm25PartsFromIds(chunkTerms, vocabulary, params);
  const termId = new Map(bm25.terms.map((t, id) => [t, id]));
  return {
    bm25,
    docBm25: buildBm25PartsFromIds(
      docTerms.map((d) => d.ids.subarray(0, d.length)),
      vocabulary,
      params,
    ),
    docOfChunk,
    lexicon: { words: [...lexicon.keys()], terms: Int32Array.from(lexicon.values(), (t) => termId.get(t)!) },
  };
}

type Column = Int32Array | Float32Array | Uint8Array;

/**
 * Serialises the structures as one binary file: magic, header length, JSON header (format, index
 * version, column table), then each typed array 8-byte aligned so reading is a view, not a parse.
 */
export function encodeSearchStructures(s: SearchStructures, version: string): Uint8Array {
  const parts = encodeSearchStructureParts(s, version);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * The bytes of encodeSearchStructures as consecutive parts (the prologue, then each column as a view
 * of its typed array and its zero padding), so a large index is written without one more copy of it.
 */
export function encodeSearchStructureParts(s: SearchStructures, version: string): Uint8Array[] {
  const enc = new TextEncoder();
  const columns: [string, Column][] = [["docOfChunk", s.docOfChunk]];
  for (const [name, p] of [
    ["bm25", s.bm25],
    ["docBm25", s.docBm25],
  ] as const) {
    columns.push(
      [`${name}.terms`, enc.encode(p.terms.join("\n"))],
      [`${name}.offsets`, p.offsets],
      [`${name}.docs`, p.docs],
      [`${name}.weights`, p.weights],
      [`${name}.idf`, p.idf],
    );
  }
  columns.push(
    ["lexicon.words", enc.encode(s.lexicon.words.join("\n"))],
    ["lexicon.terms", s.lexicon.terms],
    ["latent.features", enc.encode(s.latent.features.join("\n"))],
    ["latent.idf", s.latent.idf],
    ["latent.components", s.latent.components],
    ["latent.rows", s.latent.rows],
  );
  const table: { name: string; type: string; offset: number; length: number }[] = [];
  let offset = 0;
  for (const [name, col] of columns) {
    table.push({ name, type: col.constructor.name, offset, length: col.length });
    offset += Math.ceil(col.byteLength / 8) * 8;
  }
  const header = enc.encode(
    JSON.stringify({
      format: STRUCTURES_FORMAT,
      version,
      sizes: { bm25: s.bm25.size, docBm25: s.docBm25.size },
      term_counts: { bm25: s.bm25.terms.length, docBm25: s.docBm25.terms.length },
      latent_rank: s.latent.rank,
      columns: table,
    }),
  );
  const start = 8 + Math.ceil(header.byteLength / 8) * 8;
  const prologue = new Uint8Array(start);
  const view = new DataView(prologue.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, header.byteLength, true);
  prologue.set(header, 8);
  const parts: Uint8Array[] = [prologue];
  const zeros = new Uint8Array(8);
  for (const [, col] of columns) {
    parts.push(new Uint8Array(col.buffer, col.byteOffset, col.byteLength));
    const pad = Math.ceil(col.byteLength / 8) * 8 - col.byteLength;
    if (pad > 0) parts.push(zeros.subarray(0, pad));
  }
  return parts;
}

/** Parses a buffer from encodeSearchStructures; undefined when it was written for another version/format. */
export function decodeSearchStructures(buf: Uint8Array, version: string): SearchStructures | undefined {
  if (buf.byteLength < 8) return undefined;
  // Typed array views need aligned offsets; a pooled Buffer may start mid-ArrayBuffer.
  const bytes = buf.byteOffset % 8 === 0 ? buf : buf.slice();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) return undefined;
  const headerLength = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as {
    format: string;
    version: string;
    sizes: { bm25: number; docBm25: number };
    latent_rank: number;
    columns: { name: string; type: string; offset: number; length: number }[];
  };
  if (header.format !== STRUCTURES_FORMAT || header.version !== version) return undefined;
  const start = 8 + Math.ceil(headerLength / 8) * 8;
  const col = new Map<string, Column>();
  for (const c of header.columns) {
    const at = bytes.byteOffset + start + c.offset;
    if (start + c.offset + c.length * (c.type === "Uint8Array" ? 1 : 4) > bytes.byteLength)
      throw new RangeError(`${STRUCTURES_FILE} is truncated (column ${c.name})`);
    const array =
      c.type === "Int32Array"
        ? new Int32Array(bytes.buffer, at, c.length)
        : c.type === "Float32Array"
          ? new Float32Array(bytes.buffer, at, c.length)
          : new Uint8Array(bytes.buffer, at, c.length);
    col.set(c.name, array);
  }
  const dec = new TextDecoder();
  const parts = (name: "bm25" | "docBm25"): Bm25Parts => {
    const text = dec.decode(col.get(`${name}.terms`) as Uint8Array);
    return {
      size: header.sizes[name],
      terms: text.length > 0 ? text.split("\n") : [],
      offsets: col.get(`${name}.offsets`) as Int32Array,
      docs: col.get(`${name}.docs`) as Int32Array,
      weights: col.get(`${name}.weights`) as Float32Array,
      idf: col.get(`${name}.idf`) as Float32Array,
    };
  };
  const features = dec.decode(col.get("latent.features") as Uint8Array);
  const lexiconWords = dec.decode(col.get("lexicon.words") as Uint8Array);
  return {
    lexicon: {
      words: lexiconWords.length > 0 ? lexiconWords.split("\n") : [],
      terms: col.get("lexicon.terms") as Int32Array,
    },
    bm25: parts("bm25"),
    docBm25: parts("docBm25"),
    docOfChunk: col.get("docOfChunk") as Int32Array,
    latent: {
      features: features.length > 0 ? features.split("\n") : [],
      idf: col.get("latent.idf") as Float32Array,
      components: col.get("latent.components") as Float32Array,
      rank: header.latent_rank,
      rows: col.get("latent.rows") as Float32Array,
    },
  };
}

/** Reads persisted structures of a version folder; undefined when absent or stale (caller rebuilds). */
export async function readSearchStructures(
  versionDir: string,
  version: string,
): Promise<SearchStructures | undefined> {
  const file = join(versionDir, STRUCTURES_FILE);
  if (!existsSync(file)) return undefined;
  return decodeSearchStructures(await readFile(file), version);
}
