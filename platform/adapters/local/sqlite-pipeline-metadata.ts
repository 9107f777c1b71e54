import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Lake } from "../../ports/lake.ts";
import type {
  CacheEntry,
  LineageEdge,
  PipelineMetadataStore,
  RunRow,
  StepLogLevel,
  StepLogLine,
  StepTimes,
} from "../../ports/pipeline-metadata.ts";
import { isTerminal } from "../../ports/pipeline-metadata.ts";
import type {
  ArtifactRecord,
  ArtifactType,
  ParamValue,
  RunResult,
  RunStatus,
  RunTrigger,
  StepResult,
  StepStatus,
} from "../../ports/pipelines.ts";
import { processAlive } from "../../process.ts";
import { FsLake } from "./fs-lake.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL,
  trigger TEXT, resumed_from TEXT, started_at TEXT NOT NULL, finished_at TEXT, error TEXT,
  pid INTEGER, host TEXT);
CREATE TABLE IF NOT EXISTS steps (
  run_id TEXT NOT NULL, task TEXT NOT NULL, step TEXT NOT NULL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, cache_key TEXT, cache_source TEXT, started_at TEXT,
  finished_at TEXT, duration_ms INTEGER, outputs TEXT, artifacts TEXT, error TEXT,
  PRIMARY KEY (run_id, task));
CREATE TABLE IF NOT EXISTS artifacts (
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, task TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
  uri TEXT NOT NULL, hash TEXT NOT NULL, bytes INTEGER NOT NULL, metadata TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  run_id TEXT NOT NULL, task TEXT NOT NULL, artifact_id TEXT NOT NULL, direction TEXT NOT NULL, name TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id);
CREATE TABLE IF NOT EXISTS cache (
  key TEXT PRIMARY KEY, step TEXT NOT NULL, run_id TEXT NOT NULL, task TEXT NOT NULL,
  outputs TEXT NOT NULL, artifacts TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS step_logs (
  run_id TEXT NOT NULL, task TEXT NOT NULL, at TEXT NOT NULL, level TEXT, attempt INTEGER NOT NULL,
  message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS step_logs_run ON step_logs(run_id, task);
`;
// step_logs came after the first workspaces: CREATE … IF NOT EXISTS adds it to an existing database on open.

type Row = Record<string, string | number | null>;
const json = <T>(s: unknown, fallback: T): T => (typeof s === "string" ? (JSON.parse(s) as T) : fallback);

/**
 * Runs, steps, artifacts, lineage events and the step cache in `<workspace>/pipelines/metadata.sqlite`
 * (the local counterpart of Vertex ML Metadata). WAL + busy timeout let several processes share it.
 * node:sqlite answers synchronously; the port's methods return settled promises. Artifact files stay
 * in the workspace folder: `artifacts` is a lake rooted at `root`, so a step's output is already in place.
 */
export class SqlitePipelineMetadata implements PipelineMetadataStore {
  readonly kind = "sqlite" as const;
  /** The database itself, for tests that age a run's process id and for read-only reports. */
  readonly db: DatabaseSync;
  readonly root: string;
  readonly artifacts: Lake;

  constructor(root: string, opts: { artifacts?: Lake } = {}) {
    this.root = root;
    this.artifacts = opts.artifacts ?? new FsLake(root);
    mkdirSync(root, { recursive: true });
    this.db = new DatabaseSync(join(root, "metadata.sqlite"));
    // synchronous NORMAL: with WAL a crashed process loses nothing committed (only a power cut can drop the
    // last commits); FULL made each stored step log line cost an fsync.
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    this.db.exec(SCHEMA);
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async createRun(run: {
    id: string;
    pipeline: string;
    params: Record<string, ParamValue>;
    trigger?: RunTrigger;
    resumedFrom?: string;
  }): Promise<void> {
    this.db
      .prepare(
        "INSERT INTO runs (id, pipeline, status, params, trigger, resumed_from, started_at, pid, host) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)",
      )
      .run(
        run.id,
        run.pipeline,
        JSON.stringify(run.params),
        run.trigger ? JSON.stringify(run.trigger) : null,
        run.resumedFrom ?? null,
        new Date().toISOString(),
        process.pid,
        hostname(),
      );
  }

  async finishRun(id: string, status: RunStatus, error?: string): Promise<void> {
    this.db
      .prepare("UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE id = ?")
      .run(status, new Date().toISOString(), error ?? null, id);
  }

  async upsertStep(runId: string, s: StepResult & { startedAt?: string }): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO steps (run_id, task, step, status, attempts, cache_key, cache_source, started_at, finished_at, duration_ms, outputs, artifacts, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(run_id, task) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
           cache_key = excluded.cache_key, cache_source = excluded.cache_source,
           started_at = COALESCE(steps.started_at, excluded.started_at), finished_at = excluded.finished_at,
           duration_ms = excluded.duration_ms, outputs = excluded.outputs, artifacts = excluded.artifacts, error = excluded.error`,
      )
      .run(
        runId,
        s.name,
        s.step,
        s.status,
        s.attempts,
        s.cache_key ?? null,
        s.cache_source ?? null,
        s.startedAt ?? null,
        isTerminal(s.status) ? new Date().toISOString() : null,
        s.duration_ms,
        s.outputs ? JSON.stringify(s.outputs) : null,
        s.artifacts ? JSON.stringify(s.artifacts) : null,
        s.error ?? null,
      );
  }

  async addArtifact(a: ArtifactRecord): Promise<void> {
    this.db
      .prepare(
        "INSERT INTO artifacts (id, run_id, task, name, type, uri, hash, bytes, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        a.id,
        a.runId,
        a.task,
        a.name,
        a.type,
        a.uri,
        a.hash,
        a.bytes,
        JSON.stringify(a.metadata),
        a.createdAt,
      );
  }

  async addEvent(
    runId: string,
    task: string,
    artifactId: string,
    direction: "input" | "output",
    name: string,
  ): Promise<void> {
    this.db
      .prepare("INSERT INTO events (run_id, task, artifact_id, direction, name) VALUES (?, ?, ?, ?, ?)")
      .run(runId, task, artifactId, direction, name);
  }

  async artifact(id: string): Promise<ArtifactRecord | undefined> {
    const r = this.db.prepare("SELECT * FROM artifacts WHERE id = ?").get(id) as Row | undefined;
    return r ? toArtifact(r) : undefined;
  }

  async getCache(key: string): Promise<CacheEntry | undefined> {
    const r = this.db.prepare("SELECT * FROM cache WHERE key = ?").get(key) as Row | undefined;
    if (!r) return undefined;
    return {
      key,
      runId: String(r.run_id),
      task: String(r.task),
      outputs: json(r.outputs, {}),
      artifacts: json(r.artifacts, {}),
    };
  }

  async putCache(e: CacheEntry & { step: string }): Promise<void> {
    this.db
      .prepare(
        "INSERT INTO cache (key, step, run_id, task, outputs, artifacts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET run_id = excluded.run_id, task = excluded.task, outputs = excluded.outputs, artifacts = excluded.artifacts, created_at = excluded.created_at",
      )
      .run(
        e.key,
        e.step,
        e.runId,
        e.task,
        JSON.stringify(e.outputs),
        JSON.stringify(e.artifacts),
        new Date().toISOString(),
      );
  }

  async deleteCache(key: string): Promise<void> {
    this.db.prepare("DELETE FROM cache WHERE key = ?").run(key);
  }

  async getRun(id: string): Promise<RunRow | undefined> {
    const r = this.db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  async listRuns(limit = 50, pipeline?: string): Promise<RunRow[]> {
    const rows = (
      pipeline
        ? this.db
            .prepare("SELECT * FROM runs WHERE pipeline = ? ORDER BY started_at DESC, rowid DESC LIMIT ?")
            .all(pipeline, limit)
        : this.db.prepare("SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?").all(limit)
    ) as Row[];
    return rows.map(toRun);
  }

  async steps(runId: string): Promise<StepResult[]> {
    const rows = this.db.prepare("SELECT * FROM steps WHERE run_id = ? ORDER BY rowid").all(runId) as Row[];
    return rows.map((r) => ({
      name: String(r.task),
      step: String(r.step),
      status: r.status as StepStatus,
      duration_ms: Number(r.duration_ms ?? 0),
      attempts: Number(r.attempts ?? 0),
      ...(r.cache_key ? { cache_key: String(r.cache_key) } : {}),
      ...(r.cache_source ? { cache_source: String(r.cache_source) } : {}),
      ...(r.outputs ? { outputs: json(r.outputs, {}) } : {}),
      ...(r.artifacts ? { artifacts: json(r.artifacts, {}) } : {}),
      ...(r.error ? { error: String(r.error) } : {}),
    }));
  }

  /** Artifacts each task of a run consumed and produced (the run's lineage graph). */
  async lineage(runId: string): Promise<LineageEdge[]> {
    const rows = this.db
      .prepare(
        "SELECT e.task AS etask, e.direction, e.name AS ename, a.* FROM events e JOIN artifacts a ON a.id = e.artifact_id WHERE e.run_id = ? ORDER BY e.rowid",
      )
      .all(runId) as Row[];
    return rows.map((r) => ({
      task: String(r.etask),
      direction: r.direction as "input" | "output",
      name: String(r.ename),
      artifact: toArtifact(r),
    }));
  }

  async appendStepLog(runId: string, task: string, lines: StepLogLine[]): Promise<void> {
    if (lines.length === 0) return;
    const insert = this.db.prepare(
      "INSERT INTO step_logs (run_id, task, at, level, attempt, message) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.db.exec("BEGIN IMMEDIATE");
    try {
      for (const l of lines) insert.run(runId, task, l.at, l.level, l.attempt, l.message);
      this.db.exec("COMMIT");
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  async stepLogs(runId: string, task?: string): Promise<Record<string, StepLogLine[]>> {
    const rows = (
      task === undefined
        ? this.db.prepare("SELECT * FROM step_logs WHERE run_id = ? ORDER BY rowid").all(runId)
        : this.db
            .prepare("SELECT * FROM step_logs WHERE run_id = ? AND task = ? ORDER BY rowid")
            .all(runId, task)
    ) as Row[];
    const out: Record<string, StepLogLine[]> = {};
    for (const r of rows) {
      const name = String(r.task);
      const lines = out[name] ?? [];
      out[name] = lines;
      lines.push({
        at: String(r.at),
        level: r.level === null ? null : (String(r.level) as StepLogLevel),
        attempt: Number(r.attempt),
        message: String(r.message),
      });
    }
    return out;
  }

  async stepTimes(runId: string): Promise<StepTimes[]> {
    return (
      this.db
        .prepare("SELECT task, started_at, finished_at FROM steps WHERE run_id = ? ORDER BY rowid")
        .all(runId) as Row[]
    ).map((r) => ({
      task: String(r.task),
      startedAt: r.started_at === null ? null : String(r.started_at),
      finishedAt: r.finished_at === null ? null : String(r.finished_at),
    }));
  }

  async runResult(id: string): Promise<RunResult | undefined> {
    const run = await this.getRun(id);
    if (!run) return undefined;
    const end = run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
    return {
      run_id: run.id,
      pipeline: run.pipeline,
      status: run.status,
      duration_ms: end - Date.parse(run.startedAt),
      params: run.params,
      steps: await this.steps(id),
      ...(run.trigger ? { trigger: run.trigger } : {}),
      ...(run.resumedFrom ? { resumed_from: run.resumedFrom } : {}),
    };
  }
}

/** A "running" run whose process is gone (killed, crashed) is reported as failed. */
function toRun(r: Row): RunRow {
  const orphaned =
    r.status === "running" && r.host === hostname() && typeof r.pid === "number" && !processAlive(r.pid);
  return {
    id: String(r.id),
    pipeline: String(r.pipeline),
    status: orphaned ? "failed" : (r.status as RunStatus),
    params: json(r.params, {}),
    trigger: json<RunTrigger | null>(r.trigger, null),
    resumedFrom: r.resumed_from === null ? null : String(r.resumed_from),
    startedAt: String(r.started_at),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
    error: orphaned
      ? `process ${r.pid} ended without finishing the run`
      : r.error === null
        ? null
        : String(r.error),
    pid: typeof r.pid === "number" ? r.pid : null,
    host: typeof r.host === "string" ? r.host : null,
  };
}

function toArtifact(r: Row): ArtifactRecord {
  return {
    id: String(r.id),
    runId: String(r.run_id),
    task: String(r.task),
    name: String(r.name),
    type: r.type as ArtifactType,
    uri: String(r.uri),
    hash: String(r.hash),
    bytes: Number(r.bytes),
    metadata: json(r.metadata, {}),
    createdAt: String(r.created_at),
  };
}
