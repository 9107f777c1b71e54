import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { moduleRegistrars } from "../../cli/main.ts";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { createProgram, runProgram } from "../../platform/cli/runtime.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { takeRows } from "./dataset.ts";
import { loadChurnModel } from "./learners.ts";
import { loadTrainingData } from "./load.ts";
import { rocAuc } from "./metrics.ts";
import { stratifiedSplit } from "./split.ts";
import { loadIbmTrainingTable } from "./testing/ibm.ts";
import { describeIbm, IBM_CSV_FOUND } from "./testing/ibm-suite.ts";
import type { RunRecord } from "./tracking.ts";
import { type TrainSummary, trainChurnModel } from "./train.ts";

/** End-to-end: the IBM CSV in an in-memory DuckDB warehouse, trained and recorded in a temp workspace. */

let home: string;
let warehouse: DuckDbWarehouse;
let app: AppContext;

beforeAll(async () => {
  if (!IBM_CSV_FOUND) return;
  home = mkdtempSync(join(tmpdir(), "telco-train-"));
  warehouse = await DuckDbWarehouse.open(":memory:");
  await loadIbmTrainingTable(warehouse);
  const base = contextFromConfig(configSchema.parse({ training: { bootstrapReplicates: 200 } }), home);
  app = { ...base, warehouse: async () => warehouse, close: async () => {} };
});
afterAll(async () => {
  if (!IBM_CSV_FOUND) return;
  await warehouse.close();
  rmSync(home, { recursive: true, force: true });
});

describeIbm("trainChurnModel (logreg)", () => {
  let first: TrainSummary;
  beforeAll(async () => {
    first = await trainChurnModel(app, { dataset: "ibm-telco", model: "logreg", cv: 3, seed: 7 });
  }, 120_000);

  it("returns honest test metrics, CV AUC and the dataset version", () => {
    expect(first.model_version).toBeNull();
    expect(first.dataset_version).toMatch(/^[0-9a-f]{16}$|^sha256:/);
    expect(first.metrics.auc).toBeGreaterThan(0.8);
    expect(first.metrics.auc_ci_low).toBeLessThan(first.metrics.auc);
    expect(first.metrics.auc_ci_high).toBeGreaterThan(first.metrics.auc);
    expect(first.metrics.cv_auc).toBeGreaterThan(0.8);
    expect(first.metrics.cv_auc_std).toBeGreaterThan(0);
    expect(first.metrics.test_rows).toBe(Math.round(7043 * 0.2));
    for (const k of ["pr_auc", "logloss", "brier", "ks", "ece", "precision_top10", "recall_top20"] as const) {
      expect(Number.isFinite(first.metrics[k])).toBe(true);
    }
  });

  it("records run.json, model, plots, tables and report under runs/<run_id>/", () => {
    const dir = join(home, "runs", first.run_id);
    const run = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as RunRecord;
    expect(run).toMatchObject({ status: "completed", run_id: first.run_id, model: { kind: "logreg" } });
    expect(run.dataset).toMatchObject({ name: "ibm-telco", table: "gold.ibm_telco_training", rows: 7043 });
    expect(run.duration_ms).toBeGreaterThan(0);
    expect((run.metrics.cv as { per_fold: unknown[] }).per_fold).toHaveLength(3);
    const paths = run.artifacts.map((a) => a.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "model.json",
        "plots/roc.svg",
        "plots/calibration.svg",
        "plots/lift_gain.svg",
        "report.md",
      ]),
    );
    for (const p of paths) expect(existsSync(join(dir, p))).toBe(true);
    expect(readFileSync(join(dir, "plots/roc.svg"), "utf8")).toMatch(/^<svg[\s\S]*ROC curve/);
    expect(readFileSync(join(dir, "report.md"), "utf8")).toContain("![roc](plots/roc.svg)");
  });

  it("saves a model that reloads and reproduces the reported test AUC on the test split", async () => {
    const json = JSON.parse(readFileSync(join(home, "runs", first.run_id, "model.json"), "utf8"));
    const model = await loadChurnModel(json);
    const { data, groups } = await loadTrainingData(warehouse, "ibm-telco");
    const { test } = stratifiedSplit(data.label as Uint8Array, 0.2, 7, groups);
    const testData = takeRows(data, test);
    const p = model.predictProba(testData);
    expect(p.every((v) => v > 0 && v < 1)).toBe(true);
    expect(rocAuc(testData.label as Uint8Array, p)).toBeCloseTo(first.metrics.auc, 10);
    expect(model.explain?.(testData, 0).contributions).toHaveLength(19);
  });

  it("is deterministic: same seed and data give the same metrics and params", async () => {
    const again = await trainChurnModel(app, { dataset: "ibm-telco", model: "logreg", cv: 3, seed: 7 });
    expect(again.run_id).not.toBe(first.run_id);
    expect(again.metrics).toEqual(first.metrics);
    expect(again.params).toEqual(first.params);
  }, 120_000);
});

describeIbm("trainChurnModel (gbdt with tuning)", () => {
  it("tunes with K-fold CV, reports the trial table and trains the best params", async () => {
    const s = await trainChurnModel(app, {
      dataset: "ibm-telco",
      model: "gbdt",
      tune: 2,
      cv: 2,
      seed: 3,
      params: { numTrees: 40, earlyStoppingRounds: 10 },
    });
    expect(s.tuning?.trials).toBe(2);
    expect(s.tuning?.trial_table.map((t) => t.trial)).toEqual([1, 2]);
    expect(s.params.learningRate).toBe(s.tuning?.best_params.learningRate);
    expect(s.metrics.auc).toBeGreaterThan(0.78);
    const tables = JSON.parse(readFileSync(join(s.run_dir, "tables.json"), "utf8"));
    expect(tables.tuning_trials).toHaveLength(2);
    expect(readFileSync(join(s.run_dir, "report.md"), "utf8")).toContain("Hyper-parameter search");
    const model = await loadChurnModel(JSON.parse(readFileSync(join(s.run_dir, "model.json"), "utf8")));
    expect(model.kind).toBe("gbdt");
    const { data } = await loadTrainingData(warehouse, "ibm-telco");
    expect(rocAuc(data.label as Uint8Array, model.predictProba(data))).toBeGreaterThan(0.8);
  }, 240_000);
});

describeIbm("telco train / runs (CLI)", () => {
  let cliHome: string;
  const env = { ...process.env };

  async function cli(args: string[]): Promise<{ code: number; out: unknown }> {
    const program = createProgram("0.0.0-test");
    for (const register of await moduleRegistrars(["training"])) register(program);
    let stdout = "";
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const errSpy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const code = await runProgram(program, ["node", "telco", ...args]);
      return { code, out: stdout ? JSON.parse(stdout) : null };
    } finally {
      spy.mockRestore();
      errSpy.mockRestore();
    }
  }

  beforeAll(async () => {
    cliHome = mkdtempSync(join(tmpdir(), "telco-cli-"));
    const file = await DuckDbWarehouse.open(join(cliHome, "warehouse.duckdb"));
    await loadIbmTrainingTable(file);
    await file.close();
    process.env.TELCO_HOME = cliHome;
    process.env.TELCO_TRAINING__BOOTSTRAP_REPLICATES = "100";
    delete process.env.TELCO_CONFIG;
  });
  afterAll(() => {
    process.env = env;
    rmSync(cliHome, { recursive: true, force: true });
  });

  it("prints one JSON document with run_id, model_version, dataset_version and metrics", async () => {
    const { code, out } = await cli([
      "train",
      "--dataset",
      "ibm-telco",
      "--model",
      "logreg",
      "--cv",
      "3",
      "--json",
    ]);
    expect(code).toBe(0);
    const o = out as TrainSummary;
    expect(Object.keys(o)).toEqual(
      expect.arrayContaining(["run_id", "model_version", "dataset_version", "metrics"]),
    );
    expect(o.model_version).toBeNull();
    for (const k of ["auc", "pr_auc", "logloss", "brier", "cv_auc", "cv_auc_std"]) {
      expect(typeof (o.metrics as unknown as Record<string, unknown>)[k]).toBe("number");
    }
  }, 120_000);

  it("lists, shows and compares runs", async () => {
    const second = (
      await cli(["train", "--dataset", "ibm-telco", "--model", "logreg", "--seed", "5", "--json"])
    ).out as TrainSummary;
    const list = (await cli(["runs", "list", "--json"])).out as { runs: { run_id: string }[] };
    expect(list.runs).toHaveLength(2);
    expect(list.runs[0].run_id).toBe(second.run_id);
    const show = (await cli(["runs", "show", second.run_id, "--json"])).out as RunRecord;
    expect(show).toMatchObject({ run_id: second.run_id, status: "completed", params: { seed: 5 } });
    const cmp = (await cli(["runs", "compare", list.runs[1].run_id, second.run_id, "--json"])).out as {
      rows: { key: string; delta: number | null }[];
    };
    const keys = cmp.rows.map((r) => r.key);
    expect(keys).toContain("params.seed");
    expect(keys).toContain("metrics.headline.auc");
  }, 120_000);

  it("fails with exit 1 and a not_found error for an unknown dataset", async () => {
    const { code, out } = await cli(["train", "--dataset", "nope", "--json"]);
    expect(code).toBe(1);
    expect(out).toMatchObject({ error: { code: "not_found" } });
  });

  it("rejects a bad --cv with exit 2", async () => {
    const { code } = await cli(["train", "--dataset", "ibm-telco", "--cv", "1", "--json"]);
    expect(code).toBe(2);
  });
});
