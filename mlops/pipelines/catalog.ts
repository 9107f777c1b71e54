import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import { churnTrainingPipeline } from "./churn-training.ts";
import { demoPipeline } from "./demo.ts";
import type { Pipeline } from "./dsl.ts";

const pipelines = new Map<string, Pipeline>();

/** Makes a pipeline available to `telco pipeline run/compile/submit/schedule` and triggers. */
export function registerPipeline(pipeline: Pipeline, opts: { replace?: boolean } = {}): void {
  if (pipelines.has(pipeline.name) && !opts.replace && pipelines.get(pipeline.name) !== pipeline)
    throw new ValidationError("pipeline.name", `a pipeline named "${pipeline.name}" is already registered`);
  pipelines.set(pipeline.name, pipeline);
}

/** Looks a pipeline up by name, with the known names in the error. */
export function getPipeline(name: string): Pipeline {
  const p = pipelines.get(name);
  if (!p)
    throw new NotFoundError(`pipeline ${name}`, {
      hint: `Registered pipelines: ${[...pipelines.keys()].sort().join(", ") || "none"}.`,
    });
  return p;
}

export function hasPipeline(name: string): boolean {
  return pipelines.has(name);
}

export function listPipelines(): Pipeline[] {
  return [...pipelines.values()].sort((a, b) => a.name.localeCompare(b.name));
}

// Built-in pipelines (one line each; churn-training is wired by the training module).
registerPipeline(demoPipeline());
registerPipeline(churnTrainingPipeline());
