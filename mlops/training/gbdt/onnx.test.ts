import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import type { TabularDataset } from "../dataset.ts";
import { itIbm } from "../testing/ibm-suite.ts";
import { GbdtModel, mulberry32, separatingThreshold, trainGbdt } from "./index.ts";
import { loadIbmTelco } from "./test-data.ts";

async function onnxProba(
  model: GbdtModel,
  data: TabularDataset,
): Promise<{ p1: Float32Array; label: BigInt64Array }> {
  const session = await ort.InferenceSession.create(model.toOnnx());
  const input = new ort.Tensor("float32", model.encodeForOnnx(data), [data.nRows, model.features.length]);
  const out = await session.run({ input });
  const probs = out.probabilities.data as Float32Array;
  const p1 = new Float32Array(data.nRows);
  for (let i = 0; i < data.nRows; i++) p1[i] = probs[i * 2 + 1];
  return { p1, label: out.label.data as BigInt64Array };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Copy of `data` with ~20% of every column missing (NaN / code -1). */
function withMissing(data: TabularDataset, seed: number): TabularDataset {
  const rng = mulberry32(seed);
  return {
    ...data,
    features: data.features.map((f) =>
      f.kind === "numeric"
        ? { ...f, values: f.values.map((v) => (rng() < 0.2 ? Number.NaN : v)) }
        : { ...f, codes: f.codes.map((c) => (rng() < 0.2 ? -1 : c)) },
    ),
  };
}

describe("ONNX export", () => {
  itIbm("onnxruntime reproduces predictProba on the IBM data (categorical splits included)", async () => {
    const data = loadIbmTelco();
    const model = await trainGbdt(data, { numTrees: 150 });
    expect(model.trees.some((t) => t.catLeft.some((s) => s !== null))).toBe(true);
    const { p1, label } = await onnxProba(model, data);
    const p = model.predictProba(data);
    expect(maxAbsDiff(p1, p)).toBeLessThan(1e-5);
    for (let i = 0; i < data.nRows; i++) expect(label[i]).toBe(p[i] > 0.5 ? 1n : 0n);
  });

  itIbm("follows the learned missing-value directions (data with NaNs and missing categories)", async () => {
    const data = withMissing(loadIbmTelco(), 9);
    const model = await trainGbdt(data, { numTrees: 100, numLeaves: 15 });
    const test = withMissing(loadIbmTelco(), 10);
    const { p1 } = await onnxProba(model, test);
    expect(maxAbsDiff(p1, model.predictProba(test))).toBeLessThan(1e-5);
  });

  it("float32 thresholds cannot flip a bin boundary", async () => {
    // Distinct values only ~8 float32 ulps apart, label alternating in blocks, so splits land between them.
    const n = 2000;
    const values = new Float64Array(n);
    const label = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      values[i] = 1 + Math.floor(i / 4) * 1e-6;
      label[i] = Math.floor(i / 40) % 2;
    }
    const data: TabularDataset = { nRows: n, features: [{ name: "v", kind: "numeric", values }], label };
    const model = await trainGbdt(data, {
      numTrees: 30,
      learningRate: 0.5,
      minDataInLeaf: 4,
      numLeaves: 63,
      maxDepth: -1,
    });
    const thresholds = model.trees.flatMap((t) =>
      Array.from(t.threshold).filter((_, k) => t.feature[k] >= 0),
    );
    expect(thresholds.length).toBeGreaterThan(30);
    for (const t of thresholds) expect(Math.fround(t)).toBe(t);
    const { p1 } = await onnxProba(model, data);
    expect(maxAbsDiff(p1, model.predictProba(data))).toBeLessThan(1e-5);
    // Unseen float64 values at and just around every threshold (some round onto it in float32).
    const probes: number[] = [];
    for (const t of thresholds)
      probes.push(t, t * (1 + 2 ** -40), t * (1 - 2 ** -40), t * (1 + 2 ** -25), t * (1 - 2 ** -25));
    const probe: TabularDataset = {
      nRows: probes.length,
      features: [{ name: "v", kind: "numeric", values: Float64Array.from(probes) }],
    };
    const onnx = await onnxProba(model, probe);
    expect(maxAbsDiff(onnx.p1, model.predictProba(probe))).toBeLessThan(1e-5);
  });

  it("separatingThreshold separates values in float64 and float32 or says it cannot", () => {
    const rng = mulberry32(12);
    for (let k = 0; k < 20_000; k++) {
      const a = (rng() - 0.5) * 10 ** Math.floor(rng() * 12 - 4);
      const b = a + Math.abs(a) * rng() * 10 ** -Math.floor(rng() * 10) + Number.MIN_VALUE;
      if (!(b > a)) continue;
      const t = separatingThreshold(a, b);
      if (Number.isNaN(t)) {
        expect(
          Math.fround(a) === Math.fround(b) || Math.fround(b) - Math.fround(a) <= Math.abs(a) * 2e-7,
        ).toBe(true);
        continue;
      }
      expect(a <= t && t < b).toBe(true);
      expect(Math.fround(a) <= t && Math.fround(b) > t).toBe(true);
      expect(Math.fround(t)).toBe(t);
    }
  });

  itIbm("stays on the log-odds path when every leaf weight is positive", async () => {
    const model = await trainGbdt(loadIbmTelco(), { numTrees: 2 });
    const json = model.toJSON();
    json.baseScore = -3;
    json.trees = json.trees.map((t) => ({ ...t, value: t.value.map((v) => Math.abs(v) + 0.01) }));
    const positive = GbdtModel.fromJSON(json);
    const data = loadIbmTelco();
    const { p1 } = await onnxProba(positive, data);
    expect(maxAbsDiff(p1, positive.predictProba(data))).toBeLessThan(1e-5);
  });
});
