import type { AppContext } from "../../platform/context.ts";
import type { ManagedRun } from "../../platform/ports/pipeline-service.ts";

/** A Vertex AI pipeline job as the console shows it next to (or instead of) a recorded run. */
export interface VertexJobDoc {
  state: string;
  service_state: string;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

export type PortalRunDoc = {
  run_id: string;
  pipeline: string;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  trigger: unknown;
  error: string | null;
  /** "metadata": recorded in the pipeline metadata store (openable); "vertex": known to Vertex AI only. */
  source: "metadata" | "vertex";
  steps: {
    name: string;
    status: string;
    duration_ms: number;
    attempts: number;
    cached: boolean;
    error: string | null;
  }[];
  /** Under gcp: the Vertex AI job of the same id (null when Vertex has none); `{error}` when Vertex did not answer. */
  vertex?: VertexJobDoc | null | { error: string };
};

const jobDoc = (j: ManagedRun): VertexJobDoc => ({
  state: j.state,
  service_state: j.serviceState,
  created_at: j.createdAt,
  started_at: j.startedAt,
  finished_at: j.finishedAt,
  error: j.error ?? null,
});

const ms = (from: string | null, to: string | null) => (from && to ? Date.parse(to) - Date.parse(from) : 0);

/**
 * The console's recent pipeline runs, newest first: the runs of the pipeline metadata store (the
 * workspace locally, Firestore under gcp). Under gcp the Vertex AI pipeline jobs are read too: a
 * recorded run whose id is a job id (its steps recorded themselves with `--run-id`) carries the job's
 * state as `vertex`, and a job none of whose steps has recorded yet (queued, or failed before a step
 * ran) is listed with `source: "vertex"` and Vertex's task states as its steps.
 */
export async function portalPipelineRuns(app: AppContext, limit: number): Promise<PortalRunDoc[]> {
  const meta = app.pipelineMetadata(app.paths.pipelines);
  let rows: PortalRunDoc[];
  try {
    const runs = await meta.listRuns(limit);
    // Each run's steps are read together (one Firestore query each under gcp), not one after another.
    const steps = await Promise.all(runs.map((r) => meta.steps(r.id)));
    rows = runs.map((r, i) => ({
      run_id: r.id,
      pipeline: r.pipeline,
      status: r.status,
      started_at: r.startedAt,
      finished_at: r.finishedAt,
      trigger: r.trigger,
      error: r.error,
      source: "metadata" as const,
      steps: (steps[i] ?? []).map((st) => ({
        name: st.name,
        status: st.status,
        duration_ms: st.duration_ms,
        attempts: st.attempts,
        cached: st.status === "cached",
        error: st.error ?? null,
      })),
    }));
  } finally {
    await meta.close();
  }
  if (app.config.profile !== "gcp") return rows;
  let jobs: ManagedRun[];
  try {
    jobs = await app.pipelineService().listRuns({ limit });
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return rows.map((r) => ({ ...r, vertex: { error } }));
  }
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const known = new Set(rows.map((r) => r.run_id));
  for (const r of rows) {
    const j = byId.get(r.run_id);
    r.vertex = j ? jobDoc(j) : null;
  }
  for (const j of jobs) {
    if (known.has(j.id)) continue;
    rows.push({
      run_id: j.id,
      pipeline: j.pipeline,
      status: j.state,
      started_at: j.startedAt ?? j.createdAt,
      finished_at: j.finishedAt,
      trigger: null,
      error: j.error ?? null,
      source: "vertex",
      steps: j.tasks.map((t) => ({
        name: t.task,
        status: t.state,
        duration_ms: ms(t.startedAt, t.finishedAt),
        attempts: 1,
        cached: t.state === "skipped",
        error: t.error ?? null,
      })),
      vertex: jobDoc(j),
    });
  }
  const at = (r: PortalRunDoc) => Date.parse(r.started_at ?? "") || 0;
  return rows.sort((a, b) => at(b) - at(a)).slice(0, limit);
}
