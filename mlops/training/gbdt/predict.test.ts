import { describe, expect, it } from "vitest";
import type { TabularDataset } from "../dataset.ts";
import { type GbdtDataset, type GbdtModel, mulberry32, trainGbdt } from "./index.ts";
import { buildCompleteForest, predictStats } from "./model.ts";
import { encodeBlock, leafOf, treeDepth } from "./tree.ts";

/** Numeric values that sit exactly on split thresholds, just around them, missing; categories incl. unseen. */
function edgeData(n: number, seed: number, thresholds: number[] = []): TabularDataset {
  const rng = mulberry32(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const codes = new Int32Array(n);
  const label = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const t = thresholds.length ? thresholds[i % thresholds.length] : rng();
    const pick = rng();
    a[i] = pick < 0.1 ? Number.NaN : pick < 0.4 ? t : pick < 0.6 ? t + 1e-7 : pick < 0.8 ? t - 1e-7 : rng();
    b[i] = rng() < 0.05 ? Number.POSITIVE_INFINITY : rng() * 10;
    codes[i] = rng() < 0.1 ? -1 : Math.floor(rng() * 6);
    label[i] = (a[i] > 0.5 ? 1 : 0) ^ (codes[i] === 2 ? 1 : 0) ^ (rng() < 0.2 ? 1 : 0);
  }
  return {
    nRows: n,
    features: [
      { name: "a", kind: "numeric", values: a },
      { name: "b", kind: "numeric", values: b },
      { name: "plan", kind: "categorical", codes, categories: ["p0", "p1", "p2", "p3", "p4", "p5"] },
    ],
    label,
  };
}

describe("GBDT prediction over bins", () => {
  it("equals walking each tree with float comparisons, at thresholds, missing and unseen values", async () => {
    const train = edgeData(3000, 1);
    const model = await trainGbdt(train, { numTrees: 40, numLeaves: 15, maxDepth: 5, minDataInLeaf: 5 });
    const thresholds = model.trees.flatMap((t) =>
      Array.from(t.feature).flatMap((f, n) => (f === 0 ? [t.threshold[n]] : [])),
    );
    expect(thresholds.length).toBeGreaterThan(0);
    expect(model.trees.some((t) => t.catLeft.some((c) => c !== null))).toBe(true);
    const data = edgeData(2000, 2, thresholds);
    const got = model.predictRaw(data);
    const cols = model.resolve(data);
    const x = new Float64Array(data.nRows * 3);
    encodeBlock(cols, 0, data.nRows, x);
    for (let r = 0; r < data.nRows; r++) {
      let s = model.baseScore;
      for (const t of model.trees) s += t.value[leafOf(t, x, r * 3)];
      expect(got[r]).toBe(s);
    }
    // One-row calls (the serving path) agree with the block path.
    for (let r = 0; r < 50; r++) {
      const row: TabularDataset = {
        nRows: 1,
        features: data.features.map((c) =>
          c.kind === "numeric"
            ? { ...c, values: c.values.subarray(r, r + 1) }
            : { ...c, codes: c.codes.subarray(r, r + 1) },
        ),
      };
      expect(model.predictRaw(row)[0]).toBe(got[r]);
    }
    // Calls of 2–7 rows (each row walks 8 trees at once) agree too.
    for (const n of [2, 3, 7]) {
      const few: TabularDataset = {
        nRows: n,
        features: data.features.map((c) =>
          c.kind === "numeric"
            ? { ...c, values: c.values.subarray(100, 100 + n) }
            : { ...c, codes: c.codes.subarray(100, 100 + n) },
        ),
      };
      expect(Array.from(model.predictRaw(few))).toEqual(Array.from(got.subarray(100, 100 + n)));
    }
  });
});

describe("GBDT prediction over complete trees with categorical splits (virtual columns)", () => {
  it("equals walking each tree, with missing and unseen categories, on one thread and with the predict worker", async () => {
    const model = await trainGbdt(edgeData(3000, 11), { numTrees: 30, numLeaves: 12, maxDepth: 4 });
    expect(model.trees.some((t) => t.catLeft.some((c) => c !== null))).toBe(true);
    expect(buildCompleteForest(model.trees)).toBeNull(); // without the feature count: no virtual columns
    const cf = buildCompleteForest(model.trees, model.features.length);
    expect(cf?.virtual?.feature.length).toBeGreaterThan(0);
    expect(cf?.width).toBe(model.features.length + (cf?.virtual?.feature.length ?? 0));
    const data = edgeData(60_000, 12); // ≥ 50,000 rows: main thread + predict worker
    const codes = (data.features[2] as { codes: Int32Array }).codes;
    for (let i = 0; i < 300; i++) codes[i] = i % 3 === 0 ? 99 : i % 3 === 1 ? -1 : 5; // unseen, missing, last
    const reference = walkAll(model, data);
    const chunksBefore = predictStats.workerChunks;
    expect(Array.from(model.predictRaw(data))).toEqual(Array.from(reference));
    // The worker takes part once it has started (it may miss the first call).
    for (let i = 0; i < 50 && predictStats.workerChunks === chunksBefore; i++) {
      expect(Array.from(model.predictRaw(data))).toEqual(Array.from(reference));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(predictStats.workerChunks).toBeGreaterThan(chunksBefore);
    const part: TabularDataset = {
      nRows: 1000,
      features: data.features.map((c) =>
        c.kind === "numeric"
          ? { ...c, values: c.values.subarray(0, 1000) }
          : { ...c, codes: c.codes.subarray(0, 1000) },
      ),
    };
    expect(Array.from(model.predictRaw(part))).toEqual(Array.from(reference.subarray(0, 1000)));
  });
});

/** Numeric-only view of edgeData (the plan column dropped), so the forest takes the complete-tree walk. */
function numericEdgeData(n: number, seed: number, thresholds: number[] = []): TabularDataset {
  const d = edgeData(n, seed, thresholds);
  return { ...d, features: d.features.filter((f) => f.kind === "numeric") };
}

/** Raw scores by walking every tree node by node with float comparisons (the reference semantics). */
function walkAll(model: GbdtModel, data: GbdtDataset): Float64Array {
  const nF = model.features.length;
  const x = new Float64Array(data.nRows * nF);
  encodeBlock(model.resolve(data), 0, data.nRows, x);
  const out = new Float64Array(data.nRows);
  for (let r = 0; r < data.nRows; r++) {
    let s = model.baseScore;
    for (const t of model.trees) s += t.value[leafOf(t, x, r * nF)];
    out[r] = s;
  }
  return out;
}

describe("GBDT prediction over complete trees (numeric-only forests)", () => {
  it("equals walking each tree at thresholds, their float32 neighbours, ±0, ±Infinity and missing values", async () => {
    const model = await trainGbdt(numericEdgeData(3000, 3), {
      numTrees: 30,
      numLeaves: 12,
      maxDepth: 4,
      minDataInLeaf: 5,
    });
    expect(buildCompleteForest(model.trees)).not.toBeNull();
    // Both missing directions occur, so both halves of the branch-free test are exercised.
    const dl = model.trees.flatMap((t) =>
      Array.from(t.feature).flatMap((f, n) => (f >= 0 ? [t.defaultLeft[n]] : [])),
    );
    expect(new Set(dl).size).toBe(2);
    const thresholds = model.trees.flatMap((t) =>
      Array.from(t.feature).flatMap((f, n) => (f === 0 ? [t.threshold[n]] : [])),
    );
    const data = numericEdgeData(4000, 4, thresholds);
    const a = (data.features[0] as { values: Float64Array }).values;
    const specials = [0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN];
    for (let i = 0; i < 200; i++) a[i] = specials[i % specials.length];
    // float64 values that round (float32) onto a threshold from either side.
    for (let i = 200; i < 400; i++) a[i] = thresholds[i % thresholds.length] * (i % 2 ? 1 + 1e-9 : 1 - 1e-9);
    const reference = walkAll(model, data);
    expect(Array.from(model.predictRaw(data))).toEqual(Array.from(reference));
    // Calls under 8 rows take the one-row walk (8 trees of equal depth at once).
    for (const [from, n] of [
      [0, 1],
      [195, 1],
      [205, 3],
      [390, 7],
    ]) {
      const few: TabularDataset = {
        nRows: n,
        features: data.features.map((c) =>
          c.kind === "numeric" ? { ...c, values: c.values.subarray(from, from + n) } : c,
        ),
      };
      expect(Array.from(model.predictRaw(few))).toEqual(Array.from(reference.subarray(from, from + n)));
    }
  });

  it("walks one row through trees of mixed depths exactly like the block walk", async () => {
    const model = await trainGbdt(numericEdgeData(3000, 13), { numTrees: 40, numLeaves: 9 });
    expect(new Set(model.trees.map((t) => treeDepth(t))).size).toBeGreaterThan(1);
    const data = numericEdgeData(200, 14);
    const reference = walkAll(model, data);
    for (let r = 0; r < data.nRows; r++) {
      const one: TabularDataset = {
        nRows: 1,
        features: data.features.map((c) =>
          c.kind === "numeric" ? { ...c, values: c.values.subarray(r, r + 1) } : c,
        ),
      };
      expect(model.predictRaw(one)[0]).toBe(reference[r]);
    }
  });

  it("scores large batches with the predict worker exactly like the single-thread path", async () => {
    const model = await trainGbdt(numericEdgeData(3000, 5), { numTrees: 25, numLeaves: 8, maxDepth: 3 });
    const data = numericEdgeData(70_000, 6);
    const big = model.predictProba(data); // ≥ 50,000 rows: main thread + worker
    // Slices under the parallel threshold take the single-thread path.
    const sliced = new Float64Array(data.nRows);
    for (let from = 0; from < data.nRows; from += 20_000) {
      const to = Math.min(data.nRows, from + 20_000);
      const part: TabularDataset = {
        nRows: to - from,
        features: data.features.map((c) =>
          c.kind === "numeric" ? { ...c, values: c.values.subarray(from, to) } : c,
        ),
      };
      sliced.set(model.predictProba(part), from);
    }
    expect(big).toEqual(sliced);
    const raw = model.predictRaw(data);
    expect(big[12_345]).toBe(1 / (1 + Math.exp(-raw[12_345])));
    // The worker really took part (it may miss the first calls while it starts, or on a busy machine).
    for (let i = 0; i < 50 && predictStats.workerChunks === 0; i++) {
      expect(model.predictProba(data)).toEqual(big);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(predictStats.workerChunks).toBeGreaterThan(0);
  });

  it("trains and predicts identically from float32 columns when the values are float32", async () => {
    const f64 = numericEdgeData(3000, 7);
    for (const c of f64.features)
      if (c.kind === "numeric")
        for (let i = 0; i < c.values.length; i++) c.values[i] = Math.fround(c.values[i]);
    const f32: GbdtDataset = {
      ...f64,
      features: f64.features.map((c) =>
        c.kind === "numeric" ? { ...c, values: Float32Array.from(c.values) } : c,
      ),
    };
    const params = { numTrees: 20, numLeaves: 8, maxDepth: 3 };
    const a = await trainGbdt(f64, params);
    const b = await trainGbdt(f32, params);
    expect(JSON.stringify(b.toJSON())).toBe(JSON.stringify(a.toJSON()));
    expect(Array.from(b.predictRaw(f32))).toEqual(Array.from(a.predictRaw(f64)));
  });
});
