import { describe, expect, it } from "vitest";
import type { TabularDataset } from "../dataset.ts";
import { mulberry32, trainGbdt } from "./index.ts";
import { encodeBlock, leafOf } from "./tree.ts";

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
  });
});
