/**
 * Managed pipeline service port (version 1): submits a compiled pipeline (KFP v2 PipelineSpec, see
 * mlops/pipelines/compile.ts) as a run, or as a cron schedule, to a managed runner. Every call is
 * planned first, so `--dry-run` prints exactly what `execute` would send.
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
}
