/**
 * Pipeline cache benchmark. Goal (issue): an unchanged second run of churn-training is ≥ 10×
 * faster than the first because every step is served from the cache.
 *
 *   npm run bench:pipeline -- [--pipeline NAME] [--param k=v]... [--customers N] [--work-ms N]
 *
 * Uses churn-training when it is registered; otherwise falls back to the demo pipeline with
 * realistic step costs (work_ms per step) and says so in the output. Each bench uses a fresh
 * pipelines folder so the first run is cold. Prints one JSON document.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getPipeline, hasPipeline } from "../mlops/pipelines/catalog.ts";
import { runPipeline } from "../mlops/pipelines/runner.ts";
import { generateOperatorData } from "../mlops/simulator/generate.ts";
import { configSchema } from "../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../platform/context.ts";
import { benchArgs } from "./common.ts";

const GOAL_SPEEDUP = 10;

const USAGE = `npm run bench:pipeline -- [--pipeline NAME] [--param k=v]... [--customers N] [--rows N] [--work-ms N]
Cold versus cached run of a pipeline (goal: the unchanged second run ≥ 10× faster). Prints one JSON document.`;

const values = benchArgs(
  {
    pipeline: { type: "string" },
    param: { type: "string", multiple: true, default: [] },
    "work-ms": { type: "string", default: "400" },
    rows: { type: "string", default: "50000" },
    customers: { type: "string", default: "5000" },
  },
  USAGE,
);

let name = values.pipeline;
let note: string;
const params: Record<string, string> = {};
for (const kv of values.param ?? []) {
  const eq = kv.indexOf("=");
  if (eq <= 0) throw new Error(`--param expects k=v, got ${kv}`);
  params[kv.slice(0, eq)] = kv.slice(eq + 1);
}
if (!name) {
  if (hasPipeline("churn-training")) {
    name = "churn-training";
    note = "churn-training (real steps)";
  } else {
    name = "demo";
    note =
      "churn-training is not registered yet; using the demo pipeline with simulated step costs (work_ms per step) instead";
  }
} else note = `pipeline ${name} (requested)`;
if (name === "demo") {
  params.work_ms ??= values["work-ms"] as string;
  params.rows ??= values.rows as string;
}

const pipeline = getPipeline(name);
const root = mkdtempSync(join(tmpdir(), "telco-bench-pipeline-"));
let app: AppContext | undefined;
try {
  // A fresh workspace: the first run is cold (no warehouse, registry or cache), as on a new machine.
  app = contextFromConfig(configSchema.parse({}), join(root, "home"));
  if (name === "churn-training" && !params.delivery) {
    const customers = Number(values.customers);
    process.stderr.write(`[bench:pipeline] generating ${customers} customers × 12 months …\n`);
    const gen = await generateOperatorData({
      customers,
      seed: 42,
      months: 12,
      start: "2025-01",
      outDir: join(root, "delivery"),
    });
    params.delivery = gen.outDir;
  }
  const first = await runPipeline(root, pipeline, {
    params,
    app,
    maxConcurrency: app.config.pipelines.maxConcurrency,
  });
  const second = await runPipeline(root, pipeline, {
    params,
    app,
    maxConcurrency: app.config.pipelines.maxConcurrency,
  });
  const speedup = first.duration_ms / Math.max(1, second.duration_ms);
  const result = {
    bench: "pipeline",
    pipeline: name,
    note,
    params: first.params,
    first_run_ms: first.duration_ms,
    second_run_ms: second.duration_ms,
    speedup: Number(speedup.toFixed(1)),
    goal_speedup: GOAL_SPEEDUP,
    // Steps declared cache: false (they look outside their inputs: the delivery folder, the
    // registry's champion) always run; every other step must come from the cache.
    uncacheable_steps: pipeline.order.filter((t) => pipeline.tasks[t].step.cache === false),
    meets_goal:
      first.status === "succeeded" &&
      second.steps.every((s) => s.status === "cached" || pipeline.tasks[s.name].step.cache === false) &&
      speedup >= GOAL_SPEEDUP,
    first_run: first.steps.map((s) => ({ name: s.name, status: s.status, duration_ms: s.duration_ms })),
    second_run: second.steps.map((s) => ({ name: s.name, status: s.status, duration_ms: s.duration_ms })),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (first.status !== "succeeded") process.exitCode = 1;
} finally {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
}
