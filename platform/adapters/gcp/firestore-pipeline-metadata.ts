import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { ConfigError, TelcoError } from "../../errors.ts";
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
import { GoogleApiError, GoogleJsonClient, googleAccessToken } from "./google-rest.ts";

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
 * Each method is one or a few REST round trips (GoogleJsonClient, google-rest.ts), awaited; nothing
 * blocks the caller's thread. Listing one pipeline's runs newest first needs the composite index
 * (pipeline ASC, started_at DESC) on `<prefix>_runs` in the (default) database (Terraform:
 * infra/terraform/modules/ml-platform/main.tf, for the default prefix); the other queries
 * use single-field indexes.
 *
 * Endpoint: the `endpoint` option (tests), else `FIRESTORE_EMULATOR_HOST` (no credentials), else
 * https://firestore.googleapis.com with GOOGLE_OAUTH_ACCESS_TOKEN or Application Default Credentials
 * (google-rest.ts). `root` is the local folder run artifacts are written to and downloaded into (the
 * runner's `<root>/artifacts/<run>/<task>/`); `artifacts` is the lake that keeps them (Cloud Storage,
 * gs://BUCKET/pipelines/, chosen by platform/context.ts), built on first use.
 */
export interface FirestorePipelineMetadataOptions {
  project: string;
  database?: string;
  /** Collection-name prefix (default telco_pipelines). */
  prefix?: string;
  root: string;
  /** The lake the runs' artifact files are kept in, built on first use (a run, not a listing, needs it). */
  artifacts?: () => Lake;
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
  private readonly client: GoogleJsonClient;
  private readonly docs: string;
  private readonly prefix: string;
  readonly #makeArtifacts: (() => Lake) | undefined;
  #artifacts: Lake | undefined;

  constructor(opts: FirestorePipelineMetadataOptions) {
    const env = opts.env ?? process.env;
    const emulator = env.FIRESTORE_EMULATOR_HOST;
    const endpoint = opts.endpoint ?? (emulator ? `http://${emulator}` : "https://firestore.googleapis.com");
    this.root = opts.root;
    this.prefix = opts.prefix ?? "telco_pipelines";
    this.docs = `projects/${opts.project}/databases/${opts.database ?? "(default)"}/documents`;
    this.#makeArtifacts = opts.artifacts;
    this.client = new GoogleJsonClient({
      base: `${endpoint.replace(/\/$/, "")}/v1`,
      // The emulator (and a test endpoint) takes no credentials, as Google's clients do.
      token: opts.endpoint || emulator ? undefined : googleAccessToken(env),
      errorCode: "pipeline_metadata",
      service: "Firestore",
      timeoutMs: opts.timeoutMs,
    });
  }

  get artifacts(): Lake {
    if (!this.#artifacts) {
      if (!this.#makeArtifacts)
        throw new ConfigError("this Firestore pipeline-metadata store was opened without an artifact lake", {
          hint: "Set gcp.bucket: pipeline artifacts are kept in gs://BUCKET/pipelines/.",
        });
      this.#artifacts = this.#makeArtifacts();
    }
    return this.#artifacts;
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
  private get(name: string): Promise<FsDoc | undefined> {
    return this.client.call<FsDoc>("GET", name);
  }
  private async commit(writes: unknown[]): Promise<void> {
    for (let i = 0; i < writes.length; i += MAX_WRITES)
      await this.client.call("POST", `${this.docs}:commit`, { writes: writes.slice(i, i + MAX_WRITES) });
  }
  /** runQuery on one collection under `parent` (a document name, or the database's documents root). */
  private async query(
    parent: string,
    collection: string,
    q: {
      where?: unknown;
      orderBy?: { field: string; direction: "ASCENDING" | "DESCENDING" }[];
      limit?: number;
    },
  ): Promise<FsDoc[]> {
    const answer =
      (await this.client.call<{ document?: FsDoc }[]>("POST", `${parent}:runQuery`, {
        structuredQuery: {
          from: [{ collectionId: collection }],
          ...(q.where ? { where: q.where } : {}),
          ...(q.orderBy
            ? { orderBy: q.orderBy.map((o) => ({ field: { fieldPath: o.field }, direction: o.direction })) }
            : {}),
          ...(q.limit !== undefined ? { limit: q.limit } : {}),
        },
      })) ?? [];
    return answer.flatMap((r) => (r.document ? [r.document] : []));
  }

  // ---- runs --------------------------------------------------------------------------------------
  async createRun(run: {
    id: string;
    pipeline: string;
    params: Record<string, ParamValue>;
    trigger?: RunTrigger;
    resumedFrom?: string;
  }): Promise<void> {
    await this.commit([
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

  async finishRun(id: string, status: RunStatus, error?: string): Promise<void> {
    await this.commit([
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

  async getRun(id: string): Promise<RunRow | undefined> {
    const d = await this.get(this.runName(id));
    return d ? toRun(row(d)) : undefined;
  }

  async listRuns(limit = 50, pipeline?: string): Promise<RunRow[]> {
    const docs = await this.query(this.docs, `${this.prefix}_runs`, {
      where: pipeline
        ? { fieldFilter: { field: { fieldPath: "pipeline" }, op: "EQUAL", value: enc(pipeline) } }
        : undefined,
      orderBy: [{ field: "started_at", direction: "DESCENDING" }],
      limit,
    });
    return docs.map((d) => toRun(row(d)));
  }

  async runResult(id: string): Promise<RunResult | undefined> {
    const [run, steps] = await Promise.all([this.getRun(id), this.steps(id)]);
    if (!run) return undefined;
    const end = run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
    return {
      run_id: run.id,
      pipeline: run.pipeline,
      status: run.status,
      duration_ms: end - Date.parse(run.startedAt),
      params: run.params,
      steps,
      ...(run.trigger ? { trigger: run.trigger } : {}),
      ...(run.resumedFrom ? { resumed_from: run.resumedFrom } : {}),
    };
  }

  // ---- steps -------------------------------------------------------------------------------------
  async upsertStep(runId: string, s: StepResult & { startedAt?: string }): Promise<void> {
    const name = this.stepName(runId, s.name);
    for (let attempt = 1; ; attempt++) {
      const have = await this.get(name);
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
        await this.commit([
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

  private async stepDocs(runId: string): Promise<Record<string, Scalar>[]> {
    const docs = await this.query(this.runName(runId), "steps", {
      orderBy: [{ field: "seq", direction: "ASCENDING" }],
    });
    return docs.map(row);
  }

  async steps(runId: string): Promise<StepResult[]> {
    return (await this.stepDocs(runId)).map((r) => ({
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

  async stepTimes(runId: string): Promise<StepTimes[]> {
    return (await this.stepDocs(runId)).map((r) => ({
      task: String(r.task),
      startedAt: str(r.started_at),
      finishedAt: str(r.finished_at),
    }));
  }

  // ---- artifacts and lineage ---------------------------------------------------------------------
  async addArtifact(a: ArtifactRecord): Promise<void> {
    await this.commit([
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

  async artifact(id: string): Promise<ArtifactRecord | undefined> {
    const d = await this.get(this.artifactName(id));
    return d ? toArtifact(row(d)) : undefined;
  }

  async addEvent(
    runId: string,
    task: string,
    artifactId: string,
    direction: "input" | "output",
    name: string,
  ): Promise<void> {
    const seq = seqKey();
    await this.commit([
      {
        update: {
          name: `${this.runName(runId)}/events/${seq}`,
          fields: fields({ task, artifact_id: artifactId, direction, name, seq }),
        },
      },
    ]);
  }

  async lineage(runId: string): Promise<LineageEdge[]> {
    const events = (
      await this.query(this.runName(runId), "events", {
        orderBy: [{ field: "seq", direction: "ASCENDING" }],
      })
    ).map(row);
    // Each distinct artifact is one document read; they go out together.
    const ids = [...new Set(events.map((e) => String(e.artifact_id)))];
    const found = await Promise.all(ids.map((id) => this.artifact(id)));
    const artifacts = new Map(ids.map((id, i) => [id, found[i]]));
    const out: LineageEdge[] = [];
    for (const e of events) {
      const artifact = artifacts.get(String(e.artifact_id));
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
  async getCache(key: string): Promise<CacheEntry | undefined> {
    const d = await this.get(this.cacheName(key));
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

  async putCache(e: CacheEntry & { step: string }): Promise<void> {
    await this.commit([
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

  async deleteCache(key: string): Promise<void> {
    await this.commit([{ delete: this.cacheName(key) }]);
  }

  // ---- step logs ---------------------------------------------------------------------------------
  async appendStepLog(runId: string, task: string, lines: StepLogLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.commit(
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

  async stepLogs(runId: string, task?: string): Promise<Record<string, StepLogLine[]>> {
    // One query ordered by seq; a task is picked here, not by a filter (which would need a composite index).
    const rows = (
      await this.query(this.runName(runId), "logs", {
        orderBy: [{ field: "seq", direction: "ASCENDING" }],
      })
    ).map(row);
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

  async close(): Promise<void> {
    // Nothing to release: each call is one fetch (the artifact lake holds no connection either).
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
