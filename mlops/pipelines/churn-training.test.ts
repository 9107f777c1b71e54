import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import type { RunResult } from "../../platform/ports/pipelines.ts";
import { referenceProfilePath, storeReferenceProfile } from "../monitoring/reference-store.ts";
import { evaluateOn } from "../registry/card-metrics.ts";
import { loadModelVersion } from "../registry/model-loader.ts";
import { openRegistry } from "../registry/store.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { takeRows } from "../training/dataset.ts";
import { loadTrainingData } from "../training/load.ts";
import { stratifiedSplit } from "../training/split.ts";
import { churnTrainingPipeline } from "./churn-training.ts";
import { compilePipeline } from "./compile.ts";
import { runPipeline } from "./runner.ts";

/**
 * The churn-training pipeline end to end on a small simulated operator: every step runs, the
 * first model becomes champion with a full model card and a monitoring reference profile, an
 * unchanged re-run is served from cache, and a dirty delivery is stopped by the validate step.
 */
let home: string;
let app: AppContext;
let first: RunResult;
let second: RunResult;

const statuses = (r: RunResult) => Object.fromEntries(r.steps.map((s) => [s.name, s.status]));

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "churn-pipeline-"));
  app = contextFromConfig(configSchema.parse({}), join(home, ".telco"));
  const gen = await generateOperatorData({
    customers: 600,
    seed: 11,
    months: 9,
    start: "2025-01",
    outDir: join(home, "d1"),
  });
  first = await runPipeline(app.paths.pipelines, churnTrainingPipeline(), {
    app,
    params: { delivery: gen.outDir },
  });
  second = await runPipeline(app.paths.pipelines, churnTrainingPipeline(), {
    app,
    params: { delivery: gen.outDir },
  });
}, 240_000);

afterAll(async () => {
  await app.close();
  rmSync(home, { recursive: true, force: true });
});

describe("churn-training pipeline", () => {
  it("runs every step and makes the first model champion", async () => {
    expect(first.status).toBe("succeeded");
    expect(first.steps.map((s) => s.name)).toEqual([
      "locate-delivery",
      "ingest",
      "validate",
      "features",
      "train",
      "evaluate",
      "register",
      "reference-profile",
      "promotion-gate",
      "materialize",
    ]);
    expect(new Set(first.steps.map((s) => s.status))).toEqual(new Set(["succeeded"]));
    const registry = openRegistry(app);
    const champion = await registry.resolve("churn@champion");
    expect(champion.version).toBe(1);
    expect(champion.lineage.pipelineRunId).toBe(first.run_id);
    expect(champion.card.metrics.auc.value).toBeGreaterThan(0.5);
    expect(champion.card.metrics.auc.ci?.lower).toBeLessThanOrEqual(champion.card.metrics.auc.value);
    expect(champion.card.evaluationDataset?.name).toBe("synthetic/test");
    expect(Object.keys(champion.card.segmentMetrics ?? {})).toEqual(
      expect.arrayContaining(["uf", "product"]),
    );
    expect(existsSync(referenceProfilePath(app.paths.registry, "churn", 1))).toBe(true);
  });

  it("steps that share the run's loaded training rows write what a fresh load writes", async () => {
    // train, evaluate and reference-profile read gold rows loaded once per run: the profile the run
    // stored equals one built now from a fresh warehouse read, and the card's AUC equals a re-score.
    const path = referenceProfilePath(app.paths.registry, "churn", 1);
    const stored = readFileSync(path, "utf8");
    await storeReferenceProfile(app, "churn@1", { dataset: "synthetic" });
    expect(readFileSync(path, "utf8")).toBe(stored);
    const registry = openRegistry(app);
    const v1 = await registry.getVersion("churn", 1);
    const model = (await loadModelVersion(registry, v1)).model;
    const loaded = await loadTrainingData(await app.warehouse(), "synthetic");
    const split = stratifiedSplit(
      loaded.data.label as Uint8Array,
      app.config.training.testFraction,
      42,
      loaded.groups,
    );
    const rescored = evaluateOn(model, takeRows(loaded.data, split.test), 42);
    expect(rescored.metrics.auc.value).toBe(v1.card.metrics.auc.value);
  });

  it("serves an unchanged re-run from cache and keeps the same version", async () => {
    expect(second.status).toBe("succeeded");
    const s = statuses(second);
    for (const step of [
      "ingest",
      "validate",
      "features",
      "train",
      "evaluate",
      "reference-profile",
      "materialize",
    ]) {
      expect(s[step], step).toBe("cached");
    }
    const versions = await openRegistry(app).listVersions("churn");
    expect(versions.map((v) => v.version)).toEqual([1]);
  });

  it("stops at validate with a report when a delivery has too many bad rows", async () => {
    const dirty = await generateOperatorData({
      customers: 600,
      seed: 11,
      months: 9,
      start: "2025-01",
      outDir: join(home, "d2"),
      dirtyRate: 0.2,
    });
    const run = await runPipeline(app.paths.pipelines, churnTrainingPipeline(), {
      app,
      params: { delivery: dirty.outDir, max_reject_rate: 0.05 },
    });
    expect(run.status).toBe("failed");
    const s = statuses(run);
    expect(s.validate).toBe("failed");
    expect(s.train).toBe("skipped");
    const validate = run.steps.find((x) => x.name === "validate");
    expect(validate?.error).toMatch(/reject-rate:/);
    const report = join(app.paths.pipelines, "reports", `${run.run_id}-validate.json`);
    const checks = JSON.parse(readFileSync(report, "utf8")).checks as { check: string; passed: boolean }[];
    expect(checks.some((c) => c.check.startsWith("reject-rate:") && !c.passed)).toBe(true);
  });

  it("compiles to a Vertex AI PipelineSpec with one executor per step", () => {
    const spec = compilePipeline(churnTrainingPipeline(), { image: "img:1", sdkVersion: "telco-test" }) as {
      pipelineInfo: { name: string };
      root: { dag: { tasks: Record<string, { dependentTasks?: string[] }> } };
      deploymentSpec: { executors: Record<string, { container: { image: string; args: string[] } }> };
    };
    expect(spec.pipelineInfo.name).toBe("churn-training");
    expect(Object.keys(spec.root.dag.tasks)).toHaveLength(10);
    expect(spec.root.dag.tasks.train.dependentTasks).toEqual(["features"]);
    const executors = Object.values(spec.deploymentSpec.executors);
    expect(executors).toHaveLength(10);
    expect(executors.every((e) => e.container.image === "img:1" && e.container.args.includes("step"))).toBe(
      true,
    );
  });
});
