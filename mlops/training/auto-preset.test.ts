import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { moduleRegistrars } from "../../cli/main.ts";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { createProgram, runProgram } from "../../platform/cli/runtime.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { crossValidate } from "./cv.ts";
import { type TabularDataset, takeRows } from "./dataset.ts";
import { runExperiment } from "./experiment.ts";
import { AUTO_PORTFOLIO, type FittedModel, fitSpec, resolveSpec } from "./learners.ts";
import type { LoadedTrainingData } from "./load.ts";
import { seededRandom } from "./random.ts";
import { foldSplit, stratifiedKFold, stratifiedSplit } from "./split.ts";
import { interactionChurnData, linearChurnData, writeTrainingTable } from "./testing/churn-datasets.ts";
import type { RunRecord } from "./tracking.ts";
import { randomSearch } from "./tune.ts";

/**
 * The `auto` preset chooses among the portfolio's configurations by validation AUC on rows of the
 * training data only. Everything here trains for real on generated data (no IBM CSV, no Python).
 */

const config = configSchema.parse({ training: { bootstrapReplicates: 50 } }).training;

/** fitSpec of the auto preset on a seeded 75/25 split of `loaded`. */
async function chooseOn(loaded: LoadedTrainingData, seed: number): Promise<FittedModel> {
  const { data } = loaded;
  const split = stratifiedSplit(data.label as Uint8Array, 0.25, seed);
  return fitSpec(resolveSpec("gbdt", { seed }, "auto"), takeRows(data, split.train), {
    valid: takeRows(data, split.test),
  });
}

const scoreOf = (fitted: FittedModel, name: string) =>
  fitted.selection?.candidates.find((c) => c.name === name)?.valid_auc ?? Number.NaN;

/** A copy of `data` whose rows `rows` have every feature replaced by noise (labels unchanged). */
function scrambleRows(data: TabularDataset, rows: ArrayLike<number>, seed: number): TabularDataset {
  const random = seededRandom(seed);
  const features = data.features.map((f) => {
    if (f.kind === "numeric") {
      const values = Float64Array.from(f.values);
      for (let k = 0; k < rows.length; k++) values[rows[k]] = random() * 1000 - 500;
      return { ...f, values };
    }
    const codes = Int32Array.from(f.codes);
    for (let k = 0; k < rows.length; k++) codes[rows[k]] = Math.floor(random() * f.categories.length);
    return { ...f, codes };
  });
  return { ...data, features };
}

describe("auto preset: the choice follows the data's structure", () => {
  it("chooses the deep configuration on usage × plan interaction data", async () => {
    for (const seed of [3, 4, 5]) {
      const fitted = await chooseOn(interactionChurnData({ rows: 6000, seed: 100 + seed }), seed);
      expect(fitted.selection?.chosen).toBe("deep");
      expect(scoreOf(fitted, "deep")).toBeGreaterThan(scoreOf(fitted, "shallow") + 0.005);
      // The chosen model is the deep candidate itself: unlimited depth, 31 leaves.
      expect(fitted.params).toMatchObject({ numLeaves: 31, maxDepth: -1 });
    }
  }, 120_000);

  it("chooses the shallow, regularised configuration on additive (linear) data", async () => {
    for (const seed of [2, 4]) {
      const fitted = await chooseOn(linearChurnData({ rows: 3000, seed: 100 + seed }), seed);
      expect(fitted.selection?.chosen).toBe("shallow");
      expect(scoreOf(fitted, "shallow")).toBeGreaterThan(scoreOf(fitted, "deep"));
      expect(fitted.params).toMatchObject({ maxDepth: 3, lambdaL2: 10 });
    }
  }, 120_000);

  it("records every candidate, simplest first, with its validation score and cost", async () => {
    const fitted = await chooseOn(linearChurnData({ rows: 1500, seed: 7 }), 1);
    const sel = fitted.selection;
    expect(sel?.candidates.map((c) => c.name)).toEqual(AUTO_PORTFOLIO.map((c) => c.name));
    expect(sel?.fit_rows).toBe(1125);
    expect(sel?.valid_rows).toBe(375);
    for (const c of sel?.candidates ?? []) {
      expect(c.valid_auc).toBeGreaterThan(0.6);
      expect(c.best_iteration).toBeGreaterThan(0);
      expect(c.trees_grown).toBeGreaterThanOrEqual(c.best_iteration);
    }
    expect(sel?.total_trees).toBe(sel?.candidates.reduce((a, c) => a + c.trees_grown, 0));
    expect(sel?.total_seconds).toBeGreaterThan(0);
  }, 60_000);

  it("needs validation data to choose", async () => {
    const { data } = linearChurnData({ rows: 200, seed: 1 });
    await expect(fitSpec(resolveSpec("gbdt", {}, "auto"), data)).rejects.toThrow(/validation data/);
  });

  it("is deterministic: the same seed gives the same choice and the same model", async () => {
    const loaded = interactionChurnData({ rows: 2000, seed: 11 });
    const a = await chooseOn(loaded, 3);
    const b = await chooseOn(loaded, 3);
    expect(b.selection?.chosen).toBe(a.selection?.chosen);
    expect(b.selection?.candidates.map((c) => c.valid_auc)).toEqual(
      a.selection?.candidates.map((c) => c.valid_auc),
    );
    expect(JSON.stringify(b.model.toJSON())).toBe(JSON.stringify(a.model.toJSON()));
  }, 60_000);

  it("an explicit preset fits that one configuration (no portfolio)", () => {
    const spec = resolveSpec("gbdt", { numTrees: 10 }, "deep");
    expect(spec.portfolio).toBeUndefined();
    expect(spec.params).toMatchObject({ numLeaves: 31, maxDepth: -1, numTrees: 10 });
    // Explicit values win over every candidate's own settings.
    const auto = resolveSpec("gbdt", { numTrees: 10 }, "auto");
    expect(auto.portfolio?.map((c) => c.params.numTrees)).toEqual([10, 10, 10]);
    expect(auto.portfolio?.every((c) => !("numTrees" in c.overlay))).toBe(true);
  });
});

describe("auto preset: the evaluation rows play no part", () => {
  it("the final model and its choice depend on the training split only (test rows scrambled)", async () => {
    const loaded = interactionChurnData({ rows: 2500, seed: 21 });
    const seed = 5;
    const { test } = stratifiedSplit(
      loaded.data.label as Uint8Array,
      config.testFraction,
      seed,
      loaded.groups,
    );
    const scrambled = { ...loaded, data: scrambleRows(loaded.data, test, 99) };
    const opts = { model: "gbdt" as const, seed };
    const clean = await runExperiment(loaded, opts, config);
    const noisy = await runExperiment(scrambled, opts, config);
    // Same split (labels and groups unchanged); the fit and validation rows make up the training split.
    expect(noisy.rows).toEqual(clean.rows);
    expect((clean.selection?.fit_rows ?? 0) + (clean.selection?.valid_rows ?? 0)).toBe(clean.rows.train);
    expect(clean.rows.test).toBe(test.length);
    // Choice, candidates' validation scores and the model are identical …
    expect(noisy.selection?.chosen).toBe(clean.selection?.chosen);
    expect(noisy.selection?.candidates.map((c) => c.valid_auc)).toEqual(
      clean.selection?.candidates.map((c) => c.valid_auc),
    );
    expect(JSON.stringify(noisy.model.toJSON())).toBe(JSON.stringify(clean.model.toJSON()));
    // … while the scrambled rows really were the ones evaluated.
    expect(clean.test.auc).toBeGreaterThan(0.8);
    expect(noisy.test.auc).toBeLessThan(0.65);
  }, 120_000);

  it("in cross-validation each fold chooses without its held-out rows", async () => {
    const loaded = linearChurnData({ rows: 2000, seed: 22 });
    const { data, groups } = loaded;
    const assignment = stratifiedKFold(data.label as Uint8Array, 3, 8, groups);
    const spec = resolveSpec("gbdt", { seed: 8 }, "auto");
    const heldOut = foldSplit(assignment, 0).test;
    const opts = { folds: 3, seed: 8, groups, assignment };
    const clean = await crossValidate(spec, data, opts);
    const noisy = await crossValidate(spec, scrambleRows(data, heldOut, 5), opts);
    expect(clean.per_fold[0].chosen).toBeDefined();
    expect(noisy.per_fold[0].selection).toEqual({
      ...clean.per_fold[0].selection,
      total_seconds: noisy.per_fold[0].selection?.total_seconds,
      candidates: clean.per_fold[0].selection?.candidates.map((c, i) => ({
        ...c,
        seconds: noisy.per_fold[0].selection?.candidates[i].seconds,
      })),
    });
    expect(noisy.per_fold[0].auc).toBeLessThan(clean.per_fold[0].auc - 0.1);
  }, 120_000);
});

describe("tuning starts from the portfolio", () => {
  it("scores the auto candidates first, then random draws, all on the same folds", async () => {
    const { data, groups } = linearChurnData({ rows: 1200, seed: 3 });
    const result = await randomSearch(resolveSpec("gbdt", { numTrees: 30, seed: 1 }, "auto"), data, {
      trials: 4,
      folds: 2,
      seed: 1,
      groups,
    });
    expect(result.trials.map((t) => t.name ?? null)).toEqual(["shallow", "medium", "deep", null]);
    expect(result.trials[0].params).toMatchObject({ maxDepth: 3, learningRate: 0.05 });
    expect(result.trials[0].params).not.toHaveProperty("numTrees");
    for (const t of result.trials) expect(t.fold_auc).toHaveLength(2);
    expect(result.best.cv_auc).toBe(Math.max(...result.trials.map((t) => t.cv_auc)));
  }, 120_000);
});

describe("telco train / runs show record the auto preset's choice", () => {
  let home: string;
  const env = { ...process.env };

  async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
    const program = createProgram("0.0.0-test");
    for (const register of await moduleRegistrars(["training"])) register(program);
    let stdout = "";
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const errSpy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      return { code: await runProgram(program, ["node", "telco", ...args]), stdout };
    } finally {
      spy.mockRestore();
      errSpy.mockRestore();
    }
  }

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "telco-auto-"));
    const warehouse = await DuckDbWarehouse.open(join(home, "warehouse.duckdb"));
    await writeTrainingTable(warehouse, "plans", interactionChurnData({ rows: 2500, seed: 31 }), home);
    await warehouse.close();
    process.env.TELCO_HOME = home;
    process.env.TELCO_TRAINING__BOOTSTRAP_REPLICATES = "50";
    delete process.env.TELCO_CONFIG;
  });
  afterAll(() => {
    process.env = env;
    rmSync(home, { recursive: true, force: true });
  });

  it("prints, saves and shows the choice, every candidate's score and the cost", async () => {
    const first = await cli(["train", "--dataset", "plans", "--seed", "4", "--json"]);
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary.preset).toBe("auto");
    const chosen = summary.selection.chosen as string;
    expect(AUTO_PORTFOLIO.map((c) => c.name)).toContain(chosen);
    expect(summary.selection.candidates).toHaveLength(AUTO_PORTFOLIO.length);
    expect(summary.selection.total_trees).toBeGreaterThan(0);

    const run = JSON.parse(readFileSync(join(summary.run_dir, "run.json"), "utf8")) as RunRecord;
    expect(run.model).toMatchObject({ kind: "gbdt", preset: "auto", chosen });
    expect(run.params).toMatchObject({ preset: "auto", preset_chosen: chosen });
    expect(run.metrics.selection).toEqual(summary.selection);
    const report = readFileSync(join(summary.run_dir, "report.md"), "utf8");
    expect(report).toContain("## Model choice (auto preset)");
    expect(report).toContain(`Chosen: **${chosen}**`);

    const shown = await cli(["runs", "show", "latest"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`auto → ${chosen}`);
    for (const c of AUTO_PORTFOLIO) expect(shown.stdout).toContain(c.name);

    const human = await cli(["train", "--dataset", "plans", "--seed", "4"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`preset\\s+auto → .*${chosen}`));
    // Same seed, same data: same choice and the same test metrics.
    const again = JSON.parse((await cli(["train", "--dataset", "plans", "--seed", "4", "--json"])).stdout);
    expect(again.selection.chosen).toBe(chosen);
    expect(again.metrics).toEqual(summary.metrics);
  }, 240_000);
});
