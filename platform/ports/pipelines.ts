/**
 * Pipeline port: the vocabulary shared by the local runner (mlops/pipelines) and the Vertex AI
 * Pipelines adapter (platform/adapters/gcp/vertex-pipelines.ts). Types mirror KFP v2 so a
 * pipeline defined once runs locally and compiles to a PipelineSpec unchanged.
 */

/** Parameter types (KFP: STRING, NUMBER_INTEGER, NUMBER_DOUBLE, BOOLEAN, STRUCT). */
export type ParamType = "string" | "int" | "double" | "bool" | "struct";
/** Artifact types (KFP system.* schema titles). */
export type ArtifactType = "Dataset" | "Model" | "Metrics" | "ClassificationMetrics";

export type ParamValue = string | number | boolean | Record<string, unknown>;

export type StepStatus = "pending" | "running" | "succeeded" | "cached" | "failed" | "skipped";
export type RunStatus = "running" | "succeeded" | "failed";

/** Why a run started (CLI, schedule, drift alert, …). */
export interface RunTrigger {
  kind: "manual" | "schedule" | "drift" | "api";
  reason?: string;
  at: string;
}

/** An artifact as recorded in pipeline metadata (the local counterpart of an MLMD Artifact). */
export interface ArtifactRecord {
  id: string;
  runId: string;
  task: string;
  name: string;
  type: ArtifactType;
  uri: string;
  hash: string;
  bytes: number;
  metadata: Record<string, unknown>;
  createdAt: string;
}

export interface StepResult {
  name: string;
  step: string;
  status: StepStatus;
  duration_ms: number;
  attempts: number;
  cache_key?: string;
  /** Run whose outputs were reused when status is "cached". */
  cache_source?: string;
  outputs?: Record<string, ParamValue>;
  artifacts?: Record<string, string>;
  error?: string;
}

/** What `pipeline run --json` prints. */
export interface RunResult {
  run_id: string;
  pipeline: string;
  status: RunStatus;
  duration_ms: number;
  params: Record<string, ParamValue>;
  steps: StepResult[];
  trigger?: RunTrigger;
  resumed_from?: string;
}

/** A live status change, for progress display. */
export interface RunEvent {
  runId: string;
  task: string;
  status: StepStatus;
  attempt: number;
  duration_ms?: number;
  error?: string;
  /** A log line from the step (ctx.log). */
  message?: string;
}
