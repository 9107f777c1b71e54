import { describe, expect, it } from "vitest";
import { type TabularDataset, takeRows } from "../dataset.ts";
import { itIbm } from "../testing/ibm-suite.ts";
import { mulberry32, trainGbdt } from "./index.ts";
import { loadIbmTelco } from "./test-data.ts";
import { encodeBlock, type GbdtTree, goesLeft } from "./tree.ts";
import { TreeShapTables, TreeShapWorkspace } from "./treeshap.ts";

/** Path-dependent conditional expectation E[f(x) | x_S] of one tree (the TreeSHAP value function). */
function conditionalExpectation(tree: GbdtTree, x: Float64Array, inS: boolean[], node = 0): number {
  const f = tree.feature[node];
  if (f < 0) return tree.value[node];
  const l = tree.left[node];
  const r = tree.right[node];
  if (inS[f]) return conditionalExpectation(tree, x, inS, goesLeft(tree, node, x[f]) ? l : r);
  const w = tree.cover[node];
  return (
    (tree.cover[l] * conditionalExpectation(tree, x, inS, l) +
      tree.cover[r] * conditionalExpectation(tree, x, inS, r)) /
    w
  );
}

/** Shapley values by enumerating all 2^F coalitions. */
function bruteForceShapley(trees: readonly GbdtTree[], x: Float64Array, nF: number): Float64Array {
  const value = (mask: number) => {
    const inS = Array.from({ length: nF }, (_, j) => (mask & (1 << j)) !== 0);
    let s = 0;
    for (const t of trees) s += conditionalExpectation(t, x, inS);
    return s;
  };
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const phi = new Float64Array(nF);
  for (let i = 0; i < nF; i++) {
    for (let mask = 0; mask < 1 << nF; mask++) {
      if (mask & (1 << i)) continue;
      let size = 0;
      for (let j = 0; j < nF; j++) if (mask & (1 << j)) size++;
      const weight = (fact(size) * fact(nF - size - 1)) / fact(nF);
      phi[i] += weight * (value(mask | (1 << i)) - value(mask));
    }
  }
  return phi;
}

/** Four features (three numeric with missing values, one categorical) and an interacting label. */
function tinyData(n: number, seed: number): TabularDataset {
  const rng = mulberry32(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const c = new Float64Array(n);
  const codes = new Int32Array(n);
  const label = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = rng() < 0.1 ? Number.NaN : rng();
    b[i] = rng();
    c[i] = rng() < 0.1 ? Number.NaN : rng() * 10;
    codes[i] = Math.floor(rng() * 4);
    const s =
      (a[i] > 0.5 ? 1 : -1) * (b[i] - 0.5) * 4 +
      (codes[i] === 2 ? 1 : 0) +
      (c[i] > 5 ? 0.5 : 0) +
      rng() -
      0.5;
    label[i] = s > 0.3 ? 1 : 0;
  }
  return {
    nRows: n,
    features: [
      { name: "a", kind: "numeric", values: a },
      { name: "b", kind: "numeric", values: b },
      { name: "c", kind: "numeric", values: c },
      { name: "plan", kind: "categorical", codes, categories: ["p0", "p1", "p2", "p3"] },
    ],
    label,
  };
}

describe("TreeSHAP", () => {
  it("matches brute-force Shapley values of the path-dependent value function on a tiny model", async () => {
    const data = tinyData(1500, 3);
    const model = await trainGbdt(data, {
      numTrees: 4,
      numLeaves: 7,
      maxDepth: 4,
      minDataInLeaf: 20,
      learningRate: 0.3,
    });
    expect(model.trees.some((t) => t.catLeft.some((s) => s !== null))).toBe(true);
    const { values } = model.shapValues(data);
    const cols = model.resolve(data);
    const x = new Float64Array(4);
    for (const row of [0, 1, 2, 7, 42, 99, 500]) {
      encodeBlock(cols, row, row + 1, x);
      const expected = bruteForceShapley(model.trees, x, 4);
      for (let j = 0; j < 4; j++) expect(values[row * 4 + j]).toBeCloseTo(expected[j], 10);
    }
  });

  itIbm("contributions plus base equal the raw score (IBM model, random rows)", async () => {
    const data = loadIbmTelco();
    const model = await trainGbdt(data, { numTrees: 60, numLeaves: 15 });
    const raw = model.predictRaw(data);
    const rng = mulberry32(5);
    for (let k = 0; k < 40; k++) {
      const row = Math.floor(rng() * data.nRows);
      const { base, contributions } = model.explain(data, row);
      const total = contributions.reduce((s, c) => s + c.contribution, base);
      expect(Math.abs(total - raw[row])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(raw[row])));
      expect(contributions).toHaveLength(data.features.length);
    }
    const rows = Array.from({ length: 70 }, (_, k) => k * 100);
    const subset = takeRows(data, rows);
    const { base, values } = model.shapValues(subset);
    const nF = data.features.length;
    rows.forEach((row, k) => {
      let s = base;
      for (let j = 0; j < nF; j++) s += values[k * nF + j];
      expect(Math.abs(s - raw[row])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(raw[row])));
    });
  });

  it("explains with readable values (category names, null for missing)", async () => {
    const data = tinyData(400, 4);
    const model = await trainGbdt(data, { numTrees: 3 });
    const row = Array.from((data.features[0] as { values: Float64Array }).values).findIndex((v) =>
      Number.isNaN(v),
    );
    const { contributions } = model.explain(data, row);
    const byName = Object.fromEntries(contributions.map((c) => [c.feature, c.value]));
    expect(byName.a).toBeNull();
    expect(["p0", "p1", "p2", "p3"]).toContain(byName.plan);
    expect(() => model.explain(data, data.nRows)).toThrow(RangeError);
  });

  it("precomputed tables equal the recursive algorithm, also when the budget forces the fallback", async () => {
    const data = tinyData(1500, 9);
    // Deep trees with repeated features on a path (the hardest case for the per-leaf tables).
    const model = await trainGbdt(data, { numTrees: 25, numLeaves: 31, maxDepth: 7, minDataInLeaf: 5 });
    const full = new TreeShapTables(model.trees);
    const partial = new TreeShapTables(model.trees, { maxEntries: 3000 });
    expect(full.tabledTrees).toBe(model.trees.length);
    expect(partial.tabledTrees).toBeGreaterThan(0);
    expect(partial.tabledTrees).toBeLessThan(model.trees.length);
    const ws = new TreeShapWorkspace(model.trees);
    const cols = model.resolve(data);
    const x = new Float64Array(4);
    for (let row = 0; row < 300; row += 7) {
      encodeBlock(cols, row, row + 1, x);
      const expected = new Float64Array(4);
      for (const t of model.trees) ws.explainTree(t, x, expected);
      for (const tables of [full, partial]) {
        const phi = new Float64Array(4);
        tables.explain(x, phi);
        for (let j = 0; j < 4; j++) expect(phi[j]).toBeCloseTo(expected[j], 12);
      }
    }
  });

  it("explains a repeated row from its cache with the same values", async () => {
    const data = tinyData(400, 5);
    const model = await trainGbdt(data, { numTrees: 10 });
    const first = model.explain(data, 3);
    const again = model.explain(data, 3);
    expect(again).toEqual(first);
    expect(model.explain(data, 4)).not.toEqual(first);
  });
});
