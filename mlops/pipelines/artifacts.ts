/**
 * Where a run's artifact files live. A step writes its outputs to the local working folder
 * `<meta.root>/artifacts/<run>/<task>/<name>`; the metadata store's lake (`meta.artifacts`) keeps them as
 * keys `artifacts/<run>/<task>/<name>` (a folder artifact: one key per file under it).
 *
 * - local profile: the lake is the working folder itself, so nothing is copied and the recorded URI is
 *   the local path (the layout of every earlier workspace);
 * - gcp profile: the lake is Cloud Storage (gs://BUCKET/pipelines/). Outputs are uploaded before they
 *   are recorded, the recorded URI is the gs:// one, and a cached or resumed step whose files this
 *   container lacks (a fresh Cloud Run or Vertex container) downloads them into the working folder.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import type { ArtifactRecord } from "../../platform/ports/pipelines.ts";
import type { PipelineMetadataStore } from "./metadata.ts";

export const artifactKey = (runId: string, task: string, name: string): string =>
  `artifacts/${runId}/${task}/${name}`;

export const localArtifactPath = (root: string, runId: string, task: string, name: string): string =>
  join(root, "artifacts", runId, task, name);

/** True when the store's lake is the local working folder (the key is the local file). */
function inPlace(meta: PipelineMetadataStore, key: string, local: string): boolean {
  const lake = meta.artifacts;
  return lake.kind === "local" && lake.uri(key) === local;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)).split(sep).join("/"));
  return out.sort();
}

/**
 * Puts a step's output (a file or a folder at `local`) into the store's lake; answers the URI to record.
 * Called before the artifact is recorded, so a record never names files the lake lacks.
 */
export async function publishArtifact(
  meta: PipelineMetadataStore,
  runId: string,
  task: string,
  name: string,
  local: string,
): Promise<string> {
  const key = artifactKey(runId, task, name);
  if (inPlace(meta, key, local)) return local;
  const lake = meta.artifacts;
  if (statSync(local).isFile()) await lake.putFile(local, key);
  else
    for (const rel of filesUnder(local)) await lake.putFile(join(local, ...rel.split("/")), `${key}/${rel}`);
  return lake.uri(key);
}

/**
 * The local path of a recorded artifact, with its files present: as recorded (local lake; a file must
 * still have its recorded size), else the working copy, else downloaded from the lake. Undefined when
 * the files are gone (or their size differs from the record), so the caller runs the step again.
 * Re-hashing would defeat the cache, so sizes are compared, not hashes.
 */
export async function materializeArtifact(
  meta: PipelineMetadataStore,
  a: ArtifactRecord,
): Promise<string | undefined> {
  const local = localArtifactPath(meta.root, a.runId, a.task, a.name);
  const key = artifactKey(a.runId, a.task, a.name);
  if (inPlace(meta, key, local) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(a.uri)) {
    // The local layout: the record names the file itself.
    if (!existsSync(a.uri)) return undefined;
    const st = statSync(a.uri);
    return st.isFile() && st.size !== a.bytes ? undefined : a.uri;
  }
  if (existsSync(local) && sizeOf(local) === a.bytes) return local;
  const lake = meta.artifacts;
  const keys = (await lake.list(key)).filter((k) => k === key || k.startsWith(`${key}/`));
  if (keys.length === 0) return undefined;
  // Downloaded beside the target, then renamed in: a crash never leaves a half-written working copy.
  const tmp = `${local}.download-${process.pid}-${Date.now()}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    if (keys.includes(key)) {
      mkdirSync(dirname(tmp), { recursive: true });
      writeFileSync(tmp, await lake.read(key));
    } else
      for (const k of keys) {
        const file = join(tmp, ...k.slice(key.length + 1).split("/"));
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, await lake.read(k));
      }
    if (sizeOf(tmp) !== a.bytes) return undefined;
    rmSync(local, { recursive: true, force: true });
    renameSync(tmp, local);
    return local;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Bytes of a file, or of every file under a folder (what hashPath reports). */
function sizeOf(path: string): number {
  const st = statSync(path);
  if (st.isFile()) return st.size;
  return filesUnder(path).reduce((n, rel) => n + statSync(join(path, ...rel.split("/"))).size, 0);
}
