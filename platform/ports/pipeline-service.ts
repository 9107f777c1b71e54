/**
 * Managed pipeline service port (version 2): submits a compiled pipeline (KFP v2 PipelineSpec, see
 * mlops/pipelines/compile.ts) as a run, or as a cron schedule, to a managed runner, and reads the
 * runs back (state, times, task states). Every submission is planned first, so `--dry-run` prints
 * exactly what `execute` would send. Version 2 added `listRuns` / `getRun`.
 *
 * Adapter: platform/adapters/gcp/vertex-pipelines.ts (Vertex AI Pipelines). Local runs do not go
 * through this port: mlops/pipelines/runner.ts runs them in process.
 */
export interface PipelineJobSpec {
  pipelineName: string;
  /** Compiled KFP PipelineSpec (plain JSON). */
  pipelineSpec: Record<string, unknown>;
  parameterValues: Record<string, unknown>;
  /** Root URI (gs://…) for the run's outputs. */
  outputDirectory: string;
  serviceAccount?: string;
  labels?: Record<string, string>;
}

/** One request to the service, as sent (and as `--dry-run` prints it). */
export interface PlannedCall {
  /** Service method, e.g. "PipelineService.createPipelineJob". */
  method: string;
  request: unknown;
}

/** A run's state as the managed service reports it, in the local runner's words where they exist. */
export type ManagedRunState =
  | "queued"
  | "pending"
  | "running"
  | "succeeded"
  | "failed"
  | "cancelling"
  | "cancelled"
  | "paused"
  | "unknown";

/** One task of a managed run. `state` is lower-case: pending, running, succeeded, skipped (cache hit), failed, cancelled, not_triggered, … */
export interface ManagedTaskState {
  task: string;
  state: string;
  startedAt: string | null;
  finishedAt: string | null;
  error?: string;
}

/** A run on the managed service (a Vertex AI PipelineJob). */
export interface ManagedRun {
  /** The job id (last segment of `name`): also the run id its steps record in the metadata store. */
  id: string;
  /** Full resource name. */
  name: string;
  pipeline: string;
  state: ManagedRunState;
  /** The service's own state name (e.g. PIPELINE_STATE_SUCCEEDED). */
  serviceState: string;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  error?: string;
  tasks: ManagedTaskState[];
}

export interface PipelineService {
  readonly kind: string;
  planRun(spec: PipelineJobSpec): PlannedCall;
  planSchedule(
    spec: PipelineJobSpec,
    cron: string,
    opts?: { timeZone?: string; maxConcurrentRunCount?: number },
  ): PlannedCall;
  /** Sends a planned call; resolves with the service's answer (job or schedule name and state). */
  execute(call: PlannedCall): Promise<Record<string, unknown>>;
  /** Runs newest first, with their task states; `pipeline` keeps one pipeline's runs. */
  listRuns(opts?: { limit?: number; pipeline?: string }): Promise<ManagedRun[]>;
  /** One run by id or full resource name; undefined when the service has no such run. */
  getRun(id: string): Promise<ManagedRun | undefined>;
}
