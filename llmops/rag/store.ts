import { existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NotFoundError, TelcoError } from "../../platform/errors.ts";
import { crashPoint } from "../../platform/testing/crash-points.ts";
import type { Chunk, ChunkerSettings } from "./types.ts";

/** One document as recorded in a manifest. */
export interface ManifestDocument {
  doc_id: string;
  source: string;
  format: string;
  /** sha256 of the file bytes (fast unchanged check). */
  file_hash: string;
  /** sha256 of metadata + chunk texts (what the index actually depends on). */
  content_hash: string;
  title: string;
  type: string;
  product: string;
  effective_date: string;
  language: string;
  chunks: number;
}

/** Everything needed to reproduce or compare an index build. */
export interface IndexManifest {
  format: 1;
  index: string;
  version: string;
  parent_version: string | null;
  created_at: string;
  chunker: ChunkerSettings;
  embedding: { provider: string; model: string; dimension: number };
  documents: ManifestDocument[];
  chunk_count: number;
}

/** A chunk as stored: the chunk plus the hash of the text that was embedded (embedding cache key). */
export interface StoredChunk extends Chunk {
  embed_hash: string;
}

/** A loaded version: manifest, chunks in row order and their vectors (row-major, dimension wide). */
export interface IndexData {
  manifest: IndexManifest;
  chunks: StoredChunk[];
  vectors: Float32Array;
}

/** Folder layout: <rag>/<index>/CURRENT names the live version under <rag>/<index>/versions/<id>/. */
export function indexDir(ragRoot: string, index: string): string {
  if (!/^[a-zA-Z0-9][\w.-]{0,63}$/.test(index))
    throw new TelcoError("validation", `index name "${index}" must be letters, digits, '.', '_' or '-'`);
  return join(ragRoot, index);
}

/** The live version id, or undefined when the index was never built. */
export async function currentVersion(dir: string): Promise<string | undefined> {
  const file = join(dir, "CURRENT");
  if (!existsSync(file)) return undefined;
  return (await readFile(file, "utf8")).trim() || undefined;
}

/** Folder of one version of an index. */
export function versionDir(dir: string, version: string): string {
  return join(dir, "versions", version);
}

/** Writes (or replaces) one derived file in a version folder atomically (temp file + rename). */
export async function writeVersionFile(vdir: string, name: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(vdir, `.${name}.${process.pid}.tmp`);
  await writeFile(tmp, bytes);
  await rename(tmp, join(vdir, name));
}

/** Reads one version (default: the live one). */
export async function readIndex(dir: string, version?: string): Promise<IndexData> {
  const v = version ?? (await currentVersion(dir));
  if (!v)
    throw new NotFoundError(`RAG index at ${dir}`, { hint: "Build it first: telco rag ingest --builtin" });
  const vdir = join(dir, "versions", v);
  try {
    const manifest = JSON.parse(await readFile(join(vdir, "manifest.json"), "utf8")) as IndexManifest;
    const lines = (await readFile(join(vdir, "chunks.jsonl"), "utf8")).split("\n");
    const chunks: StoredChunk[] = [];
    for (const line of lines) if (line) chunks.push(JSON.parse(line) as StoredChunk);
    const buf = await readFile(join(vdir, "vectors.f32"));
    const vectors = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    if (vectors.length !== chunks.length * manifest.embedding.dimension)
      throw new Error(
        `vectors.f32 holds ${vectors.length} floats, expected ${chunks.length}×${manifest.embedding.dimension}`,
      );
    return { manifest, chunks, vectors };
  } catch (err) {
    throw new TelcoError(
      "rag_index",
      `RAG index version ${v} in ${dir} is unreadable: ${(err as Error).message}`,
      {
        hint: "Rebuild it: telco rag ingest … (a fresh build replaces the broken version)",
        cause: err,
      },
    );
  }
}

/**
 * Writes a version folder, then switches CURRENT with an atomic rename: readers see the old
 * version or the new one, never a half-written one. Keeps the newest `keep` versions. `extraFiles`
 * are derived files (persisted search structures) written into the same folder before the switch.
 */
export async function writeIndex(
  dir: string,
  data: IndexData,
  keep = 3,
  extraFiles: Record<string, Uint8Array | readonly Uint8Array[]> = {},
): Promise<void> {
  const versions = join(dir, "versions");
  const final = join(versions, data.manifest.version);
  const tmp = join(versions, `.tmp-${data.manifest.version}-${process.pid}`);
  await removeDeadWritersTemp(versions);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, "manifest.json"), `${JSON.stringify(data.manifest, null, 2)}\n`);
  await writeChunksJsonl(join(tmp, "chunks.jsonl"), data.chunks);
  await writeFile(
    join(tmp, "vectors.f32"),
    new Uint8Array(data.vectors.buffer, data.vectors.byteOffset, data.vectors.byteLength),
  );
  for (const [name, bytes] of Object.entries(extraFiles)) await writeParts(join(tmp, name), bytes);
  crashPoint("rag:before-version-rename");
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  crashPoint("rag:before-current-switch");
  await writeFile(join(dir, "CURRENT.tmp"), `${data.manifest.version}\n`);
  await rename(join(dir, "CURRENT.tmp"), join(dir, "CURRENT"));
  await pruneVersions(versions, data.manifest.version, keep);
}

/** One JSON line per chunk, written in batches: never the whole file as one string (a large index is tens of MB). */
async function writeChunksJsonl(file: string, chunks: readonly StoredChunk[]): Promise<void> {
  const handle = await open(file, "w");
  try {
    for (let i = 0; i < chunks.length; i += 512) {
      let text = "";
      for (const c of chunks.slice(i, i + 512)) text += `${JSON.stringify(c)}\n`;
      await handle.writeFile(text); // writeFile (unlike write) loops until every byte is written
    }
    if (chunks.length === 0) await handle.writeFile("\n");
  } finally {
    await handle.close();
  }
}

/** Writes a file given whole or as consecutive parts (views into larger arrays: nothing is concatenated). */
async function writeParts(file: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
  if (bytes instanceof Uint8Array) return writeFile(file, bytes);
  const handle = await open(file, "w");
  try {
    for (const part of bytes) if (part.byteLength > 0) await handle.writeFile(part);
  } finally {
    await handle.close();
  }
}

/** Removes `.tmp-<version>-<pid>` folders of writers that died before publishing (never read). */
async function removeDeadWritersTemp(versions: string): Promise<void> {
  for (const name of await readdir(versions).catch(() => [] as string[])) {
    const pid = Number(/^\.tmp-.+-(\d+)$/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === "EPERM";
    }
    if (!alive) await rm(join(versions, name), { recursive: true, force: true });
  }
}

async function pruneVersions(versions: string, live: string, keep: number): Promise<void> {
  const entries: { name: string; created: string }[] = [];
  for (const name of await readdir(versions)) {
    if (name.startsWith(".") || name === live) continue;
    try {
      const m = JSON.parse(await readFile(join(versions, name, "manifest.json"), "utf8")) as IndexManifest;
      entries.push({ name, created: m.created_at });
    } catch {
      entries.push({ name, created: "" });
    }
  }
  entries.sort((a, b) => b.created.localeCompare(a.created));
  for (const e of entries.slice(Math.max(0, keep - 1)))
    await rm(join(versions, e.name), { recursive: true, force: true });
}

/** Version ids of an index, newest first (live one included). */
export async function listVersions(dir: string): Promise<IndexManifest[]> {
  const versions = join(dir, "versions");
  if (!existsSync(versions)) return [];
  const out: IndexManifest[] = [];
  for (const name of await readdir(versions)) {
    if (name.startsWith(".")) continue;
    try {
      out.push(JSON.parse(await readFile(join(versions, name, "manifest.json"), "utf8")) as IndexManifest);
    } catch {
      // an unreadable leftover is not a version
    }
  }
  return out.sort((a, b) => b.created_at.localeCompare(a.created_at));
}
