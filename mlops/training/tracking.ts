import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { jsonReplacer } from "../../platform/cli/runtime.ts";
import { NotFoundError, UsageError, ValidationError } from "../../platform/errors.ts";

/**
 * Experiment tracking on the local file system: every training run is a folder
 * `<workspace>/runs/<run_id>/` holding run.json (params, metrics, data and code versions,
 * timings, artifact list) and the artifacts themselves. Every write is atomic (temp file +
 * rename), so a crash never leaves a half-written run.json.
 */

export interface RunArtifact {
  name: string;
  /** Path relative to the run folder. */
  path: string;
  kind: "model" | "plot" | "report" | "table" | "data";
}

export interface RunRecord {
  run_id: string;
  status: "running" | "completed" | "failed";
  command: string;
  dataset: {
    name: string;
    table: string;
    version: string;
    content_hash: string;
    rows: number;
    features: number;
  };
  /** `chosen`: the portfolio candidate the auto preset kept (metrics.selection has every candidate). */
  model: { kind: string; params: Record<string, unknown>; preset?: string; chosen?: string };
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  code_version: string | null;
  model_version: string | null;
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  artifacts: RunArtifact[];
  error?: string;
}

/** Writes a file atomically: a temp file in the same folder, then rename over the target. */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    writeFileSync(temp, content);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

/** Writes JSON atomically (typed arrays and bigints serialised like CLI output). */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

/** A new run id: UTC timestamp plus random suffix, sortable by start time. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The git commit of the code, or null outside a git checkout / without git. */
export function codeVersion(cwd = REPO_ROOT): string | null {
  try {
    const out = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd,
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5000,
    });
    const sha = out.toString().trim();
    return /^[0-9a-f]{7,64}$/.test(sha) ? sha : null;
  } catch {
    return null;
  }
}

/** Reads and writes runs under one runs folder. */
export class RunStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  dir(runId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(runId))
      throw new ValidationError("run_id", `"${runId}" is not a valid run id`);
    return join(this.root, runId);
  }

  /** Saves run.json atomically. */
  save(run: RunRecord): void {
    writeJsonAtomic(join(this.dir(run.run_id), "run.json"), run);
  }

  /** Writes an artifact file atomically and returns its artifact entry. */
  writeArtifact(
    runId: string,
    path: string,
    content: string | Uint8Array,
    kind: RunArtifact["kind"],
    name = path,
  ): RunArtifact {
    writeFileAtomic(join(this.dir(runId), path), content);
    return { name, path, kind };
  }

  /** Every run, newest first; unreadable folders are skipped. */
  list(): RunRecord[] {
    if (!existsSync(this.root)) return [];
    const runs: RunRecord[] = [];
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const file = join(this.root, entry.name, "run.json");
      if (!existsSync(file)) continue;
      try {
        runs.push(JSON.parse(readFileSync(file, "utf8")) as RunRecord);
      } catch {
        // A foreign or corrupt folder must not break the listing.
      }
    }
    return runs.sort((a, b) => b.started_at.localeCompare(a.started_at) || b.run_id.localeCompare(a.run_id));
  }

  /** One run by id or unique id prefix ("latest" = the newest run). */
  get(idOrPrefix: string): RunRecord {
    const runs = this.list();
    if (idOrPrefix === "latest") {
      if (!runs[0])
        throw new NotFoundError("any training run", { hint: "Run `telco train --dataset NAME` first." });
      return runs[0];
    }
    const exact = runs.find((r) => r.run_id === idOrPrefix);
    if (exact) return exact;
    const matches = runs.filter((r) => r.run_id.startsWith(idOrPrefix));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) {
      throw new UsageError(`run id prefix "${idOrPrefix}" matches ${matches.length} runs`, {
        hint: `Use more characters, e.g. ${matches[0].run_id}.`,
      });
    }
    throw new NotFoundError(`run ${idOrPrefix}`, { hint: "List runs with `telco runs list`." });
  }
}

export interface ComparisonRow {
  key: string;
  a: unknown;
  b: unknown;
  /** b − a when both are numbers. */
  delta: number | null;
  same: boolean;
}

/** Flattens nested objects to dotted keys (arrays of primitives kept whole, other arrays skipped). */
export function flatten(
  value: unknown,
  prefix = "",
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== "object")) out[prefix] = value;
  } else out[prefix] = value;
  return out;
}

/** Side-by-side params and metrics of two runs (union of keys, sorted). */
export function compareRuns(a: RunRecord, b: RunRecord): { a: string; b: string; rows: ComparisonRow[] } {
  const pick = (r: RunRecord) =>
    flatten({
      dataset: { name: r.dataset.name, version: r.dataset.version, rows: r.dataset.rows },
      model: r.model,
      params: r.params,
      metrics: r.metrics,
      code_version: r.code_version,
      duration_ms: r.duration_ms,
    });
  const fa = pick(a);
  const fb = pick(b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  const rows = keys.map((key) => {
    const va = fa[key] ?? null;
    const vb = fb[key] ?? null;
    const delta = typeof va === "number" && typeof vb === "number" ? vb - va : null;
    return { key, a: va, b: vb, delta, same: JSON.stringify(va) === JSON.stringify(vb) };
  });
  return { a: a.run_id, b: b.run_id, rows };
}
