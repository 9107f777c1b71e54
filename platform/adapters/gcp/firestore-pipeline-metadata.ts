import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { TelcoError } from "../../errors.ts";
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
import { SyncJsonClient } from "./firestore-pipeline-metadata-sync.ts";
import { GoogleApiError } from "./google-rest.ts";

/**
 * Pipeline-run metadata on Firestore (native mode), over its REST API (platform/ports/pipeline-metadata.ts).
 *
 * Layout (collection prefix `telco_pipelines` by default):
 * - `<prefix>_runs/<run>`: one document per run (status, params, trigger, times, owner process);
 *   under it `steps/<task>` (one per task), `events/<seq>` (lineage) and `logs/<seq>` (step log lines);
 * - `<prefix>_artifacts/<artifact id>` and `<prefix>_cache/<cache key>`.
 * Ids that are not plain `[A-Za-z0-9_.-]` are stored as `~` + base64url. `<seq>` keys sort in the order
 * written (milliseconds, then this process's monotonic clock, then a counter).
 *
 * The port is synchronous, so every call blocks on one REST round trip (SyncJsonClient runs fetch on a
 * worker thread). Listing one pipeline's runs newest first needs the composite index
 * (pipeline ASC, started_at DESC) on `<prefix>_runs`; the other queries use single-field indexes.
 *
 * Endpoint: the `endpoint` option (tests), else `FIRESTORE_EMULATOR_HOST` (no credentials), else
 * https://firestore.googleapis.com with GOOGLE_OAUTH_ACCESS_TOKEN or Application Default Credentials
 * (google-rest.ts). `root` is the local folder run artifacts are written to (the runner's
 * `<root>/artifacts/<run>/<task>/`), as with the SQLite store.
 */
export interface FirestorePipelineMetadataOptions {
  project: string;
  database?: string;
  /** Collection-name prefix (default telco_pipelines). */
  prefix?: string;
  root: string;
  endpoint?: string;
  env?: NodeJS.ProcessEnv;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

type FsValue =
  | { stringValue: string }
  | { integerValue: string }
  | { doubleValue: number }
  | { booleanValue: boolean }
  | { nullValue: null };
type Fields = Record<string, FsValue>;
interface FsDoc {
  name: string;
  fields?: Fields;
  updateTime?: string;
}
type Scalar = string | number | null;

const SAFE_ID = /^[A-Za-z0-9_.-]{1,700}$/;
/** A Firestore document id for any string: plain ids as they are, others `~` + base64url (injective). */
export function docId(s: string): string {
  return SAFE_ID.test(s) && s !== "." && s !== ".." && !/^__.*__$/.test(s)
    ? s
    : `~${Buffer.from(s, "utf8").toString("base64url")}`;
}

const enc = (v: Scalar | undefined): FsValue =>
  v === null || v === undefined
    ? { nullValue: null }
    : typeof v === "number"
      ? Number.isInteger(v)
        ? { integerValue: String(v) }
        : { doubleValue: v }
      : { stringValue: v };
function dec(v: FsValue | undefined): Scalar {
  if (!v || "nullValue" in v) return null;
  if ("stringValue" in v) return v.stringValue;
  if ("integerValue" in v) return Number(v.integerValue);
  if ("doubleValue" in v) return v.doubleValue;
  return null;
}
const fields = (row: Record<string, Scalar | undefined>): Fields =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, enc(v)]));
const row = (d: FsDoc): Record<string, Scalar> =>
  Object.fromEntries(Object.entries(d.fields ?? {}).map(([k, v]) => [k, dec(v)]));
const json = <T>(s: Scalar, fallback: T): T => (typeof s === "string" ? (JSON.parse(s) as T) : fallback);
const str = (s: Scalar): string | null => (s === null ? null : String(s));

let counter = 0;
/** A key that sorts in write order: ms time, this process's monotonic clock, a counter, a random tail. */
function seqKey(): string {
  return `${String(Date.now()).padStart(14, "0")}_${String(process.hrtime.bigint()).padStart(20, "0")}_${String(counter++).padStart(9, "0")}_${randomBytes(3).toString("hex")}`;
}

/** Firestore accepts at most 500 writes per commit. */
const MAX_WRITES = 500;
/** Read-modify-write attempts when another writer changed a step between the read and the commit. */
const UPSERT_ATTEMPTS = 5;

export class FirestorePipelineMetadata implements PipelineMetadataStore {
  readonly kind = "firestore" as const;
  readonly root: string;
  private readonly client: SyncJsonClient;
  private readonly docs: string;
  private readonly prefix: string;

  constructor(opts: FirestorePipelineMetadataOptions) {
    const env = opts.env ?? process.env;
    const emulator = env.FIRESTORE_EMULATOR_HOST;
    const endpoint = opts.endpoint ?? (emulator ? `http://${emulator}` : "https://firestore.googleapis.com");
    this.root = opts.root;
    this.prefix = opts.prefix ?? "telco_pipelines";
    this.docs = `projects/${opts.project}/databases/${opts.database ?? "(default)"}/documents`;
    this.client = new SyncJsonClient({
      base: `${endpoint.replace(/\/$/, "")}/v1`,
      // The emulator (and a test endpoint) takes no credentials, as Google's clients do.
      authenticate: !(opts.endpoint || emulator),
      errorCode: "pipeline_metadata",
      service: "Firestore",
      timeoutMs: opts.timeoutMs,
    });
  }

  // ---- names -------------------------------------------------------------------------------------
  private runName(id: string): string {
    return `${this.docs}/${this.prefix}_runs/${docId(id)}`;
  }
  private stepName(runId: string, task: string): string {
    return `${this.runName(runId)}/steps/${docId(task)}`;
  }
  private artifactName(id: string): string {
    return `${this.docs}/${this.prefix}_artifacts/${docId(id)}`;
  }
  private cacheName(key: string): string {
    return `${this.docs}/${this.prefix}_cache/${docId(key)}`;
  }

  // ---- REST ------------------------------------------------------------------------------------------
  private get(name: string): FsDoc | undefined {
    return this.client.call<FsDoc>("GET", name);
  }
  private commit(writes: unknown[]): void {
    for (let i = 0; i < writes.length; i += MAX_WRITES)
      this.client.call("POST", `${this.docs}:commit`, { writes: writes.slice(i, i + MAX_WRITES) });
  }
  /** runQuery on one collection under `parent` (a document name, or the database's documents root). */
  private query(
    parent: string,
    collection: string,
    q: {
      where?: unknown;
      orderBy?: { field: string; direction: "ASCENDING" | "DESCENDING" }[];
      limit?: number;
    },
  ): FsDoc[] {
    const answer =
      this.client.call<{ document?: FsDoc }[]>("POST", `${parent}:runQuery`, {
        structuredQuery: {
          from: [{ collectionId: collection }],
          ...(q.where ? { where: q.where } : {}),
          ...(q.orderBy
            ? { orderBy: q.orderBy.map((o) => ({ field: { fieldPath: o.field }, direction: o.direction })) }
            : {}),
          ...(q.limit !== undefined ? { limit: q.limit } : {}),
        },
      }) ?? [];
    return answer.flatMap((r) => (r.document ? [r.document] : []));
  }

  // ---- runs --------------------------------------------------------------------------------------
  createRun(run: {
    id: string;
    pipeline: string;
    params: Record<string, ParamValue>;
    trigger?: RunTrigger;
    resumedFrom?: string;
  }): void {
    this.commit([
      {
        update: {
          name: this.runName(run.id),
          fields: fields({
            id: run.id,
            pipeline: run.pipeline,
            status: "running",
            params: JSON.stringify(run.params),
            trigger: run.trigger ? JSON.stringify(run.trigger) : null,
            resumed_from: run.resumedFrom ?? null,
            started_at: new Date().toISOString(),
            finished_at: null,
            error: null,
            pid: process.pid,
            host: hostname(),
          }),
        },
        // A second run with the same id is refused (ALREADY_EXISTS), as the SQLite store's primary key does.
        currentDocument: { exists: false },
      },
    ]);
  }

  finishRun(id: string, status: RunStatus, error?: string): void {
    this.commit([
      {
        update: {
          name: this.runName(id),
          fields: fields({ status, finished_at: new Date().toISOString(), error: error ?? null }),
        },
        updateMask: { fieldPaths: ["status", "finished_at", "error"] },
        currentDocument: { exists: true },
      },
    ]);
  }

  getRun(id: string): RunRow | undefined {
    const d = this.get(this.runName(id));
    return d ? toRun(row(d)) : undefined;
  }

  listRuns(limit = 50, pipeline?: string): RunRow[] {
    return this.query(this.docs, `${this.prefix}_runs`, {
      where: pipeline
        ? { fieldFilter: { field: { fieldPath: "pipeline" }, op: "EQUAL", value: enc(pipeline) } }
        : undefined,
      orderBy: [{ field: "started_at", direction: "DESCENDING" }],
      limit,
    }).map((d) => toRun(row(d)));
  }

  runResult(id: string): RunResult | undefined {
    const run = this.getRun(id);
    if (!run) return undefined;
    const end = run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
    return {
      run_id: run.id,
      pipeline: run.pipeline,
      status: run.status,
      duration_ms: end - Date.parse(run.startedAt),
      params: run.params,
      steps: this.steps(id),
      ...(run.trigger ? { trigger: run.trigger } : {}),
      ...(run.resumedFrom ? { resumed_from: run.resumedFrom } : {}),
    };
  }

  // ---- steps -------------------------------------------------------------------------------------
  upsertStep(runId: string, s: StepResult & { startedAt?: string }): void {
    const name = this.stepName(runId, s.name);
    for (let attempt = 1; ; attempt++) {
      const have = this.get(name);
      const old = have ? row(have) : undefined;
      const doc = fields({
        task: s.name,
        step: s.step,
        status: s.status,
        attempts: s.attempts,
        cache_key: s.cache_key ?? null,
        cache_source: s.cache_source ?? null,
        // The first start time and the first-recorded order stay.
        started_at: str(old?.started_at ?? null) ?? s.startedAt ?? null,
        finished_at: isTerminal(s.status) ? new Date().toISOString() : null,
        duration_ms: s.duration_ms,
        outputs: s.outputs ? JSON.stringify(s.outputs) : null,
        artifacts: s.artifacts ? JSON.stringify(s.artifacts) : null,
        error: s.error ?? null,
        seq: str(old?.seq ?? null) ?? seqKey(),
      });
      try {
        this.commit([
          {
            update: { name, fields: doc },
            currentDocument: have?.updateTime ? { updateTime: have.updateTime } : { exists: false },
          },
        ]);
        return;
      } catch (err) {
        const raced =
          err instanceof GoogleApiError &&
          (err.rpcStatus === "FAILED_PRECONDITION" || err.rpcStatus === "ALREADY_EXISTS");
        if (!raced || attempt >= UPSERT_ATTEMPTS) throw err;
      }
    }
  }

  private stepDocs(runId: string): Record<string, Scalar>[] {
    return this.query(this.runName(runId), "steps", {
      orderBy: [{ field: "seq", direction: "ASCENDING" }],
    }).map(row);
  }

  steps(runId: string): StepResult[] {
    return this.stepDocs(runId).map((r) => ({
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

  stepTimes(runId: string): StepTimes[] {
    return this.stepDocs(runId).map((r) => ({
      task: String(r.task),
      startedAt: str(r.started_at),
      finishedAt: str(r.finished_at),
    }));
  }

  // ---- artifacts and lineage ---------------------------------------------------------------------
  addArtifact(a: ArtifactRecord): void {
    this.commit([
      {
        update: {
          name: this.artifactName(a.id),
          fields: fields({
            id: a.id,
            run_id: a.runId,
            task: a.task,
            name: a.name,
            type: a.type,
            uri: a.uri,
            hash: a.hash,
            bytes: a.bytes,
            metadata: JSON.stringify(a.metadata),
            created_at: a.createdAt,
          }),
        },
      },
    ]);
  }

  artifact(id: string): ArtifactRecord | undefined {
    const d = this.get(this.artifactName(id));
    return d ? toArtifact(row(d)) : undefined;
  }

  addEvent(
    runId: string,
    task: string,
    artifactId: string,
    direction: "input" | "output",
    name: string,
  ): void {
    const seq = seqKey();
    this.commit([
      {
        update: {
          name: `${this.runName(runId)}/events/${seq}`,
          fields: fields({ task, artifact_id: artifactId, direction, name, seq }),
        },
      },
    ]);
  }

  lineage(runId: string): LineageEdge[] {
    const events = this.query(this.runName(runId), "events", {
      orderBy: [{ field: "seq", direction: "ASCENDING" }],
    }).map(row);
    const artifacts = new Map<string, ArtifactRecord | undefined>();
    const out: LineageEdge[] = [];
    for (const e of events) {
      const id = String(e.artifact_id);
      if (!artifacts.has(id)) artifacts.set(id, this.artifact(id));
      const artifact = artifacts.get(id);
      // As the SQLite join: an event whose artifact was never recorded is not an edge.
      if (artifact)
        out.push({
          task: String(e.task),
          direction: e.direction as "input" | "output",
          name: String(e.name),
          artifact,
        });
    }
    return out;
  }

  // ---- cache -------------------------------------------------------------------------------------
  getCache(key: string): CacheEntry | undefined {
    const d = this.get(this.cacheName(key));
    if (!d) return undefined;
    const r = row(d);
    return {
      key,
      runId: String(r.run_id),
      task: String(r.task),
      outputs: json(r.outputs, {}),
      artifacts: json(r.artifacts, {}),
    };
  }

  putCache(e: CacheEntry & { step: string }): void {
    this.commit([
      {
        update: {
          name: this.cacheName(e.key),
          fields: fields({
            key: e.key,
            step: e.step,
            run_id: e.runId,
            task: e.task,
            outputs: JSON.stringify(e.outputs),
            artifacts: JSON.stringify(e.artifacts),
            created_at: new Date().toISOString(),
          }),
        },
      },
    ]);
  }

  deleteCache(key: string): void {
    this.commit([{ delete: this.cacheName(key) }]);
  }

  // ---- step logs ---------------------------------------------------------------------------------
  appendStepLog(runId: string, task: string, lines: StepLogLine[]): void {
    if (lines.length === 0) return;
    this.commit(
      lines.map((l) => {
        const seq = seqKey();
        return {
          update: {
            name: `${this.runName(runId)}/logs/${seq}`,
            fields: fields({ task, at: l.at, level: l.level, attempt: l.attempt, message: l.message, seq }),
          },
        };
      }),
    );
  }

  stepLogs(runId: string, task?: string): Record<string, StepLogLine[]> {
    // One query ordered by seq; a task is picked here, not by a filter (which would need a composite index).
    const rows = this.query(this.runName(runId), "logs", {
      orderBy: [{ field: "seq", direction: "ASCENDING" }],
    }).map(row);
    const out: Record<string, StepLogLine[]> = {};
    for (const r of rows) {
      const name = String(r.task);
      if (task !== undefined && name !== task) continue;
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

  close(): void {
    this.client.close();
  }
}

/** A "running" run whose process is gone (same host) reads as failed, as in the SQLite store. */
function toRun(r: Record<string, Scalar>): RunRow {
  if (typeof r.id !== "string" || typeof r.started_at !== "string")
    throw new TelcoError(
      "pipeline_metadata",
      `a Firestore run document lacks id or started_at (${String(r.id)})`,
    );
  const orphaned =
    r.status === "running" && r.host === hostname() && typeof r.pid === "number" && !processAlive(r.pid);
  return {
    id: r.id,
    pipeline: String(r.pipeline),
    status: orphaned ? "failed" : (r.status as RunStatus),
    params: json(r.params, {}),
    trigger: json<RunTrigger | null>(r.trigger, null),
    resumedFrom: str(r.resumed_from),
    startedAt: r.started_at,
    finishedAt: str(r.finished_at),
    error: orphaned ? `process ${r.pid} ended without finishing the run` : str(r.error),
    pid: typeof r.pid === "number" ? r.pid : null,
    host: typeof r.host === "string" ? r.host : null,
  };
}

function toArtifact(r: Record<string, Scalar>): ArtifactRecord {
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
