import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { churnTrainingPipeline } from "../../../mlops/pipelines/churn-training.ts";
import { runPipeline } from "../../../mlops/pipelines/runner.ts";
import { generateOperatorData } from "../../../mlops/simulator/generate.ts";
import { configSchema } from "../../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../../platform/context.ts";
import type { RunResult } from "../../../platform/ports/pipelines.ts";

/**
 * A small built workspace for the Models and Pipelines views: a simulated delivery (by default 300
 * customers, 6 months) through the real churn-training pipeline twice (GBDT, then logistic regression, same
 * seed: two versions evaluated on the same held-out rows, so the promotion policy can compare them;
 * the second run's ingest is a cache hit). ~15 s. The pipeline's context is closed before
 * returning (its DuckDB lock released); `app` is a fresh context on the same workspace.
 */
export interface ModelsWorkspace {
  home: string;
  app: AppContext;
  runs: RunResult[];
  /** The delivery's data files as delivered (e.g. "crm/customers.csv"), sorted. */
  deliveredFiles: string[];
  cleanup(): Promise<void>;
}

export async function modelsWorkspace(
  configInput: Record<string, unknown> = {},
  size: { customers?: number; months?: number } = {},
): Promise<ModelsWorkspace> {
  const home = mkdtempSync(join(tmpdir(), "telco-portal-models-"));
  const config = configSchema.parse(configInput);
  const build = contextFromConfig(config, join(home, ".telco"));
  const runs: RunResult[] = [];
  let gen: { outDir: string };
  try {
    gen = await generateOperatorData({
      customers: size.customers ?? 300,
      seed: 11,
      months: size.months ?? 6,
      start: "2025-01",
      outDir: join(home, "delivery"),
    });
    for (const model of ["gbdt", "logreg"])
      runs.push(
        await runPipeline(build.paths.pipelines, churnTrainingPipeline(), {
          app: build,
          params: { delivery: gen.outDir, model, seed: 42 },
        }),
      );
  } finally {
    await build.close();
  }
  for (const r of runs)
    if (r.status !== "succeeded")
      throw new Error(`fixture pipeline run ${r.run_id} ${r.status}: ${JSON.stringify(r.steps)}`);
  const deliveredFiles = readdirSync(gen.outDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== "manifest.json")
    .map((e) => relative(gen.outDir, join(e.parentPath, e.name)))
    .sort();
  const app = contextFromConfig(config, join(home, ".telco"));
  return {
    home,
    app,
    runs,
    deliveredFiles,
    cleanup: async () => {
      await app.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
