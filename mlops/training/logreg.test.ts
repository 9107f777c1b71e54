import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { crossValidate } from "./cv.ts";
import { datasetFromRows, type TabularDataset } from "./dataset.ts";
import { type LoadedTrainingData, loadTrainingData } from "./load.ts";
import { LogregModel, trainLogreg } from "./logreg.ts";
import { seededRandom } from "./random.ts";
import { loadIbmTrainingTable } from "./testing/ibm.ts";
import { describeIbm } from "./testing/ibm-suite.ts";

/** Rows whose churn log-odds are exactly −1 + 1.5·x + (plan = "b" ? 1 : 0). */
function synthetic(n: number, seed: number): TabularDataset {
  const random = seededRandom(seed);
  const rows = Array.from({ length: n }, () => {
    const x = random() * 4 - 2;
    const plan = random() < 0.5 ? "a" : "b";
    const z = -1 + 1.5 * x + (plan === "b" ? 1 : 0);
    return { x, plan, y: random() < 1 / (1 + Math.exp(-z)) ? 1 : 0 };
  });
  return datasetFromRows(
    rows,
    [
      { name: "x", kind: "numeric" },
      { name: "plan", kind: "categorical" },
    ],
    { label: "y" },
  );
}

describe("trainLogreg", () => {
  const data = synthetic(20000, 1);
  const model = trainLogreg(data, { l2: 1e-6 });

  it("recovers the generating coefficients", () => {
    const x = data.features[0];
    if (x.kind !== "numeric") throw new Error("numeric expected");
    const mean = x.values.reduce((s, v) => s + v, 0) / x.values.length;
    const sd = Math.sqrt(x.values.reduce((s, v) => s + (v - mean) ** 2, 0) / x.values.length);
    const w = Object.fromEntries(model.coefficients().map((c) => [c.column, c.weight]));
    // Within ≈3 standard errors of the truth at n = 20,000.
    expect(Math.abs(w.x / sd - 1.5)).toBeLessThan(0.1); // back to the raw scale
    expect(Math.abs(w["plan=b"] - w["plan=a"] - 1)).toBeLessThan(0.12);
    expect(model.fitInfo.converged).toBe(true);
  });

  it("satisfies the optimality conditions: Σp = Σy overall and within each category", () => {
    const p = model.predictProba(data);
    const y = data.label as Uint8Array;
    const plan = data.features[1];
    if (plan.kind !== "categorical") throw new Error("categorical expected");
    let all = 0;
    const byPlan = [0, 0];
    for (let i = 0; i < data.nRows; i++) {
      all += p[i] - y[i];
      byPlan[plan.codes[i]] += p[i] - y[i];
    }
    expect(Math.abs(all)).toBeLessThan(1e-6);
    expect(Math.abs(byPlan[0])).toBeLessThan(1e-4);
    expect(Math.abs(byPlan[1])).toBeLessThan(1e-4);
  });

  it("explains each row exactly: base + Σ contributions = log-odds", () => {
    const raw = model.predictRaw(data);
    for (const row of [0, 17, 999]) {
      const { base, contributions } = model.explain(data, row);
      const sum = contributions.reduce((s, c) => s + c.contribution, base);
      expect(sum).toBeCloseTo(raw[row], 10);
      expect(contributions.map((c) => c.feature)).toEqual(["x", "plan"]);
    }
  });

  it("round-trips through versioned JSON with identical predictions", () => {
    const json = JSON.parse(JSON.stringify(model.toJSON()));
    expect(json).toMatchObject({ format: "telco-logreg", version: 1 });
    const loaded = LogregModel.fromJSON(json);
    expect(loaded.predictProba(data)).toEqual(model.predictProba(data));
  });

  it("rejects a malformed document, naming the field", () => {
    const json = { ...model.toJSON(), weights: [1] };
    expect(() => LogregModel.fromJSON(json)).toThrow(/model\.weights/);
    expect(() => LogregModel.fromJSON({ format: "other" })).toThrow(/model\.format/);
  });

  it("maps categories by name, treats unseen ones as missing, and imputes missing numerics", () => {
    const rows = [
      { x: 0.5, plan: "b" },
      { x: null, plan: "zzz" },
    ];
    // Vocabulary order differs from training ("b" first): codes must be remapped by value.
    const other = datasetFromRows(rows, [
      { name: "x", kind: "numeric" },
      { name: "plan", kind: "categorical" },
    ]);
    const reference = datasetFromRows(
      [{ x: 0.5, plan: "b" }],
      [
        { name: "x", kind: "numeric" },
        { name: "plan", kind: "categorical" },
      ],
      { categories: { plan: ["a", "b"] } },
    );
    const p = model.predictProba(other);
    expect(p[0]).toBeCloseTo(model.predictProba(reference)[0], 12);
    expect(Number.isFinite(p[1])).toBe(true);
  });

  it("refuses data without the model's features", () => {
    const wrong = datasetFromRows([{ y: 1 }], [{ name: "y", kind: "numeric" }]);
    expect(() => model.predictProba(wrong)).toThrow(/x: feature the model needs is missing/);
  });
});

describeIbm("logistic regression on IBM Telco", () => {
  let warehouse: DuckDbWarehouse;
  let loaded: LoadedTrainingData;
  beforeAll(async () => {
    warehouse = await DuckDbWarehouse.open(":memory:");
    await loadIbmTrainingTable(warehouse);
    loaded = await loadTrainingData(warehouse, "ibm-telco");
  });
  afterAll(async () => warehouse.close());

  it("loads the agreed shape: 7,043 rows, 19 features, customer ids as groups", () => {
    expect(loaded.data.nRows).toBe(7043);
    expect(loaded.data.features).toHaveLength(19);
    expect(loaded.data.features.find((f) => f.name === "total_charges")?.kind).toBe("numeric");
    expect(loaded.data.features.find((f) => f.name === "contract")?.kind).toBe("categorical");
    expect(new Set(loaded.groups).size).toBe(7043);
  });

  it("reaches 5-fold stratified CV AUC ≥ 0.83 (sklearn's LogisticRegression gets ≈0.845)", async () => {
    const cv = await crossValidate(
      { kind: "logreg", preset: "default", params: { l2: 1, maxIterations: 100, tolerance: 1e-8 } },
      loaded.data,
      {
        folds: 5,
        seed: 42,
        groups: loaded.groups,
      },
    );
    expect(cv.auc_mean).toBeGreaterThanOrEqual(0.83);
    expect(cv.per_fold).toHaveLength(5);
  });
});
