import type { Lake } from "./lake.ts";
/**
 * Pipeline metadata port (version 2: every method answers a Promise; version 1 was synchronous): runs,
 * steps, artifacts, lineage events, step log lines and the step cache of pipeline runs, plus the lake
 * the runs' artifact files are kept in. Adapters: platform/adapters/local/sqlite-pipeline-metadata.ts
 * (node:sqlite, profile local) and platform/adapters/gcp/firestore-pipeline-metadata.ts (Firestore,
 * profile gcp), where `telco pipeline step` also records the tasks of runs on Vertex AI Pipelines
 * (mlops/pipelines/step-entry.ts). Both pass ports/testing/pipeline-metadata.contract.ts.
 *
 * Asynchronous so that a store across the network (Firestore) never blocks its caller's event loop
 * (the portal lists runs while it serves); the runner awaits each status change before it moves on.
 * The SQLite adapter answers from node:sqlite synchronously inside and returns settled promises.
 */
import type {
  ArtifactRecord,
  ParamValue,
  RunResult,
  RunStatus,
  RunTrigger,
  StepResult,
  StepStatus,
} from "./pipelines.ts";

/** A cached task result: output parameter values and output artifact ids. */
export interface CacheEntry {
  key: string;
  runId: string;
  task: string;
  outputs: Record<string, ParamValue>;
  artifacts: Record<string, string>;
}

export interface RunRow {
  id: string;
  pipeline: string;
  status: RunStatus;
  params: Record<string, ParamValue>;
  trigger: RunTrigger | null;
  resumedFrom: string | null;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  /** The process running it, while it runs. */
  pid: number | null;
  host: string | null;
}

export interface LineageEdge {
  task: string;
  direction: "input" | "output";
  name: string;
  artifact: ArtifactRecord;
}

/** When each task of a run started and finished (ISO; null while pending or running). */
export interface StepTimes {
  task: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Severity of a step log line; null when the step did not say. */
export type StepLogLevel = "info" | "warn" | "error";

/**
 * One line a task logged (ctx.log) while it ran. The runner caps, masks and timestamps lines before
 * it stores them (mlops/pipelines/runner.ts); the store keeps them as given.
 */
export interface StepLogLine {
  /** ISO time the line was logged. */
  at: string;
  level: StepLogLevel | null;
  /** The attempt that logged it (1 = first try). */
  attempt: number;
  message: string;
}

export interface PipelineMetadataStore {
  readonly kind: string;
  /**
   * The local folder the runs' artifact files are written to and read from
   * (`<root>/artifacts/<run>/<task>/<name>`); with the SQLite store the database lives here too.
   */
  readonly root: string;
  /**
   * Where the runs' artifact files are kept, as keys `artifacts/<run>/<task>/<name>[/<file>]`: the
   * workspace folder itself under local (a lake rooted at `root`, so nothing is copied), Cloud Storage
   * (gs://BUCKET/pipelines/) under gcp, where a cached step on a fresh container downloads its inputs.
   */
  readonly artifacts: Lake;
  /** Records a new run as running, owned by this process. */
  createRun(run: {
    id: string;
    pipeline: string;
    params: Record<string, ParamValue>;
    trigger?: RunTrigger;
    resumedFrom?: string;
  }): Promise<void>;
  finishRun(id: string, status: RunStatus, error?: string): Promise<void>;
  /** Inserts or updates one task's result (the first `startedAt` is kept; terminal statuses set the finish time). */
  upsertStep(runId: string, s: StepResult & { startedAt?: string }): Promise<void>;
  addArtifact(a: ArtifactRecord): Promise<void>;
  addEvent(
    runId: string,
    task: string,
    artifactId: string,
    direction: "input" | "output",
    name: string,
  ): Promise<void>;
  artifact(id: string): Promise<ArtifactRecord | undefined>;
  getCache(key: string): Promise<CacheEntry | undefined>;
  putCache(e: CacheEntry & { step: string }): Promise<void>;
  deleteCache(key: string): Promise<void>;
  /** A run; a "running" run whose process is gone (same host) reads as failed. */
  getRun(id: string): Promise<RunRow | undefined>;
  /** Newest first. */
  listRuns(limit?: number, pipeline?: string): Promise<RunRow[]>;
  /** A run's tasks in the order they were first recorded. */
  steps(runId: string): Promise<StepResult[]>;
  stepTimes(runId: string): Promise<StepTimes[]>;
  /** Artifacts each task of a run consumed and produced (the run's lineage graph). */
  lineage(runId: string): Promise<LineageEdge[]>;
  /** Appends log lines to one task of a run, after the lines it already has. */
  appendStepLog(runId: string, task: string, lines: StepLogLine[]): Promise<void>;
  /** A run's log lines by task, each task's lines in the order appended (tasks that logged nothing are absent). */
  stepLogs(runId: string, task?: string): Promise<Record<string, StepLogLine[]>>;
  /** What `pipeline run --json` prints for a run. */
  runResult(id: string): Promise<RunResult | undefined>;
  close(): Promise<void>;
}

export function isTerminal(s: StepStatus): boolean {
  return s === "succeeded" || s === "cached" || s === "failed" || s === "skipped";
}
