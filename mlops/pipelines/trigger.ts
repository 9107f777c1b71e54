import { type AppContext, createContext } from "../../platform/context.ts";
import type { RunResult } from "../../platform/ports/pipelines.ts";
import { getPipeline } from "./catalog.ts";
import { runPipeline } from "./runner.ts";

/**
 * Hook for monitoring: starts the retraining pipeline (config pipelines.retrainPipeline,
 * default churn-training) and records `reason` as the run's trigger. Resolves when it finishes.
 */
export async function triggerRetraining(
  reason: string,
  opts: {
    app?: AppContext;
    pipeline?: string;
    params?: Record<string, unknown>;
    kind?: "drift" | "api" | "schedule";
  } = {},
): Promise<RunResult> {
  const app = opts.app ?? createContext();
  try {
    const pipeline = getPipeline(opts.pipeline ?? app.config.pipelines.retrainPipeline);
    return await runPipeline(app.paths.pipelines, pipeline, {
      params: opts.params,
      app,
      maxConcurrency: app.config.pipelines.maxConcurrency,
      trigger: { kind: opts.kind ?? "drift", reason, at: new Date().toISOString() },
    });
  } finally {
    if (!opts.app) await app.close();
  }
}
