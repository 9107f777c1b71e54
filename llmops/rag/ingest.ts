import { createHash } from "node:crypto";
import { existsSync, lstatSync, realpathSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { extname, join, relative, resolve, sep } from "node:path";
import { ValidationError } from "../../platform/errors.ts";
import { type EmbeddingProvider, embeddingFingerprint } from "../../platform/ports/embeddings.ts";
import { detectPlantedInstructions } from "../guardrails/planted-instructions.ts";
import { chunkDocument, sha256 } from "./chunker.ts";
import { LoadError, loadDocument, SUPPORTED_EXTENSIONS } from "./loaders.ts";
import {
  currentVersion,
  type IndexData,
  type IndexManifest,
  indexDir,
  type ManifestDocument,
  readIndex,
  type StoredChunk,
  writeIndex,
} from "./store.ts";
import { fileKind, isStreamed, type RawChunk, ReadRefused, readBlocks, streamDocument } from "./stream.ts";
import {
  buildSearchStructures,
  chunkIndexText,
  encodeSearchStructureParts,
  STRUCTURES_FILE,
} from "./structures.ts";
import type { Chunk, ChunkerSettings, DocMetadata, LoadedDocument } from "./types.ts";

/** Inputs of one ingestion run. */
export interface IngestOptions {
  /** The workspace's rag folder (AppContext.paths.rag). */
  ragRoot: string;
  index?: string;
  /** Files and/or folders (folders are scanned recursively for supported extensions). */
  paths: string[];
  embedder: EmbeddingProvider;
  chunker: ChunkerSettings;
  /** Ignore the previous version: re-chunk and re-embed everything. */
  rebuild?: boolean;
  /** Files larger than this are skipped with the reason (default 20 MiB). */
  maxFileBytes?: number;
  onProgress?: (event: { phase: "load" | "embed"; done: number; total: number }) => void;
}

/** What an ingestion run did; `skipped` names every file that was not indexed and why. */
export interface IngestReport {
  index: string;
  index_version: string;
  previous_version: string | null;
  changed: boolean;
  documents: { total: number; added: number; updated: number; unchanged: number; removed: number };
  chunks: { total: number; embedded: number; reused: number; deduplicated: number };
  skipped: { source: string; reason: string }[];
  /** Documents carrying instructions planted for the assistant (indexed; neutralised at retrieval, llmops/guardrails). */
  flagged: { source: string; doc_id: string; reasons: string[] }[];
  embedding: { provider: string; model: string; dimension: number };
}

const EMBED_BATCH = 256;

const DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024;

/**
 * Files under the given paths; README files in scanned folders are documentation, not content.
 * Only regular files are taken: FIFOs, devices and sockets are skipped (reading one could block or
 * never end), and a symbolic link is followed only when its target is a regular file inside one of
 * the ingested folders (a link to /etc/passwd must never become a retrievable document).
 */
async function collectFiles(
  paths: string[],
): Promise<{ files: string[]; roots: string[]; missing: string[]; refused: IngestReport["skipped"] }> {
  const files = new Set<string>();
  const roots: string[] = [];
  const missing: string[] = [];
  const refused: IngestReport["skipped"] = [];
  const realRoots: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
        continue;
      }
      if (!SUPPORTED_EXTENSIONS[extname(entry.name).toLowerCase()] || /^readme\./i.test(entry.name)) continue;
      if (entry.isFile()) files.add(full);
      else if (entry.isSymbolicLink()) {
        const target = linkTarget(full);
        if (target.path === undefined) refused.push({ source: full, reason: target.error });
        else if (!under(target.path, realRoots))
          refused.push({
            source: full,
            reason: `symbolic link to ${target.path}, outside the ingested folders`,
          });
        else files.add(full);
      } else refused.push({ source: full, reason: `${fileKind(lstatSync(full))}, not a document` });
    }
  };
  for (const p of paths) {
    const abs = resolve(p);
    if (!existsSync(abs)) {
      missing.push(abs);
      continue;
    }
    roots.push(abs);
    const st = statSync(abs); // a path named on the command line is followed: the user chose it
    if (st.isDirectory()) realRoots.push(realpathSync(abs));
    else if (st.isFile()) files.add(abs);
    else refused.push({ source: abs, reason: `${fileKind(st)}, not a document` });
  }
  for (const p of roots) if (statSync(p).isDirectory()) await walk(p);
  return { files: [...files].sort(), roots, missing, refused };
}

/** Where a symbolic link leads, if it leads to a regular file. */
function linkTarget(link: string): { path: string; error?: undefined } | { path?: undefined; error: string } {
  try {
    const path = realpathSync(link);
    const st = statSync(path);
    return st.isFile() ? { path } : { error: `symbolic link to ${fileKind(st)}` };
  } catch {
    return { error: "broken symbolic link" };
  }
}

/** Reads a whole (non-streamed) file of at most `max` bytes, block by block. */
async function readBounded(file: string, max: number): Promise<Buffer> {
  const blocks: Buffer[] = [];
  for await (const block of readBlocks(file, max)) blocks.push(block);
  return Buffer.concat(blocks);
}

/** sha256 of a file read in blocks (the unchanged check never holds the file in memory). */
async function hashFile(file: string, max: number): Promise<string> {
  const hash = createHash("sha256");
  for await (const block of readBlocks(file, max)) hash.update(block);
  return hash.digest("hex");
}

/**
 * A text or Markdown file read and chunked as a stream: memory holds one block and the chunks,
 * not the file. The byte hash is taken on the same pass, so it matches what was indexed.
 */
async function loadStreamed(
  file: string,
  max: number,
  settings: ChunkerSettings,
): Promise<{ format: LoadedDocument["format"]; metadata: DocMetadata; chunks: Chunk[]; fileHash: string }> {
  const hash = createHash("sha256");
  const hashed = async function* () {
    for await (const block of readBlocks(file, max)) {
      hash.update(block);
      yield block;
    }
  };
  const doc = streamDocument(file, hashed(), settings);
  const raw: RawChunk[] = [];
  for await (const chunk of doc.chunks) raw.push(chunk);
  return { format: doc.format, ...doc.finish(raw), fileHash: hash.digest("hex") };
}

/** Reading failures (refused, vanished, unreadable) skip the file; anything else is a bug and is thrown. */
function readFailure(err: unknown): string | undefined {
  if (err instanceof ReadRefused) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code) ? (err as Error).message : undefined;
}

function under(file: string, roots: string[]): boolean {
  return roots.some((r) => file === r || file.startsWith(r.endsWith(sep) ? r : r + sep));
}

/**
 * Ingests documents into an index incrementally: unchanged files (same bytes) keep their chunks
 * and vectors; changed files are re-chunked and only chunks whose embedded text is new are
 * embedded (vectors are cached by content hash); previously indexed files that are gone from the
 * scanned paths are removed. Files that fail to load are reported in `skipped`, the rest indexes.
 */
export async function ingestDocuments(opts: IngestOptions): Promise<IngestReport> {
  const index = opts.index ?? "default";
  const dir = indexDir(opts.ragRoot, index);
  const fingerprint = embeddingFingerprint(opts.embedder);
  const previous =
    !opts.rebuild && (await currentVersion(dir)) !== undefined ? await readIndex(dir) : undefined;
  const sameSpace =
    previous !== undefined &&
    embeddingFingerprint(previous.manifest.embedding) === fingerprint &&
    previous.manifest.chunker.maxTokens === opts.chunker.maxTokens &&
    previous.manifest.chunker.overlapTokens === opts.chunker.overlapTokens;
  const prevDocs = new Map<string, ManifestDocument>();
  const prevChunksByDoc = new Map<string, StoredChunk[]>();
  const cachedVectors = new Map<string, number>(); // embed_hash → row in previous.vectors
  if (previous && sameSpace) {
    for (const d of previous.manifest.documents) prevDocs.set(d.source, d);
    previous.chunks.forEach((c, row) => {
      prevChunksByDoc.set(c.doc_id, [...(prevChunksByDoc.get(c.doc_id) ?? []), c]);
      cachedVectors.set(c.embed_hash, row);
    });
  }

  const { files, roots, missing, refused } = await collectFiles(opts.paths);
  if (files.length === 0 && missing.length === opts.paths.length && opts.paths.length > 0)
    throw new ValidationError("paths", `none of the paths exist: ${missing.join(", ")}`);
  const skipped: IngestReport["skipped"] = [
    ...missing.map((m) => ({ source: m, reason: "path does not exist" })),
    ...refused,
  ];
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;

  const docs: ManifestDocument[] = [];
  const chunks: StoredChunk[] = [];
  const docBySource = new Map<string, string>();
  const sourceByDocId = new Map<string, string>();
  const sourceByContent = new Map<string, string>();
  const seenChunkText = new Set<string>();
  let deduplicated = 0;
  const counts = { added: 0, updated: 0, unchanged: 0, removed: 0 };

  const accept = (doc: ManifestDocument, docChunks: StoredChunk[]): boolean => {
    const duplicateOf = sourceByContent.get(doc.content_hash);
    if (duplicateOf) {
      skipped.push({ source: doc.source, reason: `same content as ${duplicateOf} (deduplicated)` });
      return false;
    }
    const otherSource = sourceByDocId.get(doc.doc_id);
    if (otherSource) {
      skipped.push({
        source: doc.source,
        reason: `doc id "${doc.doc_id}" is already used by ${otherSource}`,
      });
      return false;
    }
    sourceByDocId.set(doc.doc_id, doc.source);
    sourceByContent.set(doc.content_hash, doc.source);
    let kept = 0;
    for (const c of docChunks) {
      // Content-hash dedup across the index: boilerplate repeated in many documents is stored once.
      if (seenChunkText.has(c.content_hash)) {
        deduplicated++;
        continue;
      }
      seenChunkText.add(c.content_hash);
      chunks.push(c);
      kept++;
    }
    docs.push({ ...doc, chunks: kept });
    docBySource.set(doc.source, doc.doc_id);
    return true;
  };

  let loaded = 0;
  for (const file of files) {
    opts.onProgress?.({ phase: "load", done: loaded++, total: files.length });
    // Text and Markdown are hashed, then read and chunked as streams; HTML and PDF are read whole.
    const streamed = isStreamed(file);
    let bytes: Buffer | undefined;
    let fileHash: string;
    try {
      if (streamed) fileHash = await hashFile(file, maxFileBytes);
      else {
        bytes = await readBounded(file, maxFileBytes);
        fileHash = createHash("sha256").update(bytes).digest("hex");
      }
    } catch (err) {
      skipped.push({ source: file, reason: `cannot read: ${(err as Error).message}` });
      continue;
    }
    const prev = prevDocs.get(file);
    if (prev && prev.file_hash === fileHash && prevChunksByDoc.has(prev.doc_id)) {
      if (accept(prev, prevChunksByDoc.get(prev.doc_id)!)) counts.unchanged++;
      continue;
    }
    try {
      let doc: { format: LoadedDocument["format"]; metadata: DocMetadata; chunks: Chunk[] };
      if (streamed) {
        const loadedStream = await loadStreamed(file, maxFileBytes, opts.chunker);
        fileHash = loadedStream.fileHash;
        doc = loadedStream;
      } else {
        const loaded = await loadDocument(file, bytes);
        doc = { ...loaded, chunks: chunkDocument(loaded, opts.chunker) };
      }
      const docChunks = doc.chunks.map(
        (c): StoredChunk => ({ ...c, embed_hash: sha256(`${fingerprint}\u0000${chunkIndexText(c)}`, 32) }),
      );
      if (docChunks.length === 0) throw new LoadError(file, "document has no text");
      const m = doc.metadata;
      // The id is left out so that a copy of a document under another name is recognised as a duplicate.
      const { doc_id: _id, ...described } = m;
      const contentHash = sha256(JSON.stringify([described, docChunks.map((c) => c.content_hash)]), 64);
      const entry: ManifestDocument = {
        doc_id: m.doc_id,
        source: file,
        format: doc.format,
        file_hash: fileHash,
        content_hash: contentHash,
        title: m.title,
        type: m.type,
        product: m.product,
        effective_date: m.effective_date,
        language: m.language,
        chunks: docChunks.length,
      };
      // Same content from regenerated bytes (e.g. a rebuilt PDF) counts as unchanged.
      const isSame = prev?.content_hash === contentHash;
      if (accept(entry, docChunks)) {
        if (isSame) counts.unchanged++;
        else if (prev) counts.updated++;
        else counts.added++;
      }
    } catch (err) {
      if (err instanceof LoadError) skipped.push({ source: file, reason: err.message });
      else {
        const failure = readFailure(err);
        if (failure === undefined) throw err;
        skipped.push({ source: file, reason: `cannot read: ${failure}` });
      }
    }
  }
  opts.onProgress?.({ phase: "load", done: files.length, total: files.length });

  // Documents from earlier runs: kept unless they lived under a scanned root and are gone now.
  if (previous && sameSpace) {
    for (const d of previous.manifest.documents) {
      if (docBySource.has(d.source)) continue;
      if (under(d.source, roots)) {
        if (!skipped.some((s) => s.source === d.source)) counts.removed++;
        continue;
      }
      accept(d, prevChunksByDoc.get(d.doc_id) ?? []);
    }
  }

  // Embed only chunks whose text is new; everything else comes from the previous version.
  const dim = opts.embedder.dimension;
  const vectors = new Float32Array(chunks.length * dim);
  const toEmbed: number[] = [];
  chunks.forEach((c, row) => {
    const cached = cachedVectors.get(c.embed_hash);
    if (cached !== undefined && previous)
      vectors.set(previous.vectors.subarray(cached * dim, (cached + 1) * dim), row * dim);
    else toEmbed.push(row);
  });
  for (let i = 0; i < toEmbed.length; i += Math.min(EMBED_BATCH, opts.embedder.maxBatch)) {
    const batch = toEmbed.slice(i, i + Math.min(EMBED_BATCH, opts.embedder.maxBatch));
    const out = await opts.embedder.embed(
      batch.map((row) => chunkIndexText(chunks[row])),
      "document",
    );
    for (let j = 0; j < batch.length; j++) vectors.set(out[j], batch[j] * dim);
    opts.onProgress?.({
      phase: "embed",
      done: Math.min(i + batch.length, toEmbed.length),
      total: toEmbed.length,
    });
  }

  docs.sort((a, b) => a.source.localeCompare(b.source));
  const embedding = { provider: opts.embedder.provider, model: opts.embedder.model, dimension: dim };
  // Content-addressed version: same documents, chunker and embedding space → same id.
  const version = sha256(
    JSON.stringify([docs.map((d) => [d.doc_id, d.source, d.content_hash]), opts.chunker, embedding]),
    12,
  );
  const prevVersion = previous?.manifest.version ?? (await currentVersion(dir)) ?? null;
  const changed = version !== prevVersion;
  if (changed) {
    const manifest: IndexManifest = {
      format: 1,
      index,
      version,
      parent_version: prevVersion,
      created_at: new Date().toISOString(),
      chunker: { ...opts.chunker },
      embedding,
      documents: docs,
      chunk_count: chunks.length,
    };
    const data: IndexData = { manifest, chunks, vectors };
    // Analysing and indexing here once means opening the version later only reads typed arrays.
    const structures = encodeSearchStructureParts(buildSearchStructures(chunks), version);
    await writeIndex(dir, data, undefined, { [STRUCTURES_FILE]: structures });
  }
  return {
    index,
    index_version: version,
    previous_version: prevVersion,
    changed,
    documents: { total: docs.length, ...counts },
    chunks: {
      total: chunks.length,
      embedded: toEmbed.length,
      reused: chunks.length - toEmbed.length,
      deduplicated,
    },
    skipped: skipped.map((s) => ({ ...s, source: displayPath(s.source) })),
    flagged: flagPlanted(docs, chunks),
    embedding,
  };
}

/** Documents whose chunks carry planted instructions, with the reasons (no text quoted). */
function flagPlanted(docs: ManifestDocument[], chunks: StoredChunk[]): IngestReport["flagged"] {
  const reasons = new Map<string, Set<string>>();
  for (const c of chunks)
    for (const p of detectPlantedInstructions(c.text)) {
      const set = reasons.get(c.doc_id) ?? new Set<string>();
      set.add(p.reason);
      reasons.set(c.doc_id, set);
    }
  return docs
    .filter((d) => reasons.has(d.doc_id))
    .map((d) => ({
      source: displayPath(d.source),
      doc_id: d.doc_id,
      reasons: [...(reasons.get(d.doc_id) ?? [])],
    }));
}

function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith("..") ? rel : p;
}
