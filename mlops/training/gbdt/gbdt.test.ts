import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../platform/errors.ts";
import { type TabularDataset, takeRows } from "../dataset.ts";
import { itIbm } from "../testing/ibm-suite.ts";
import { binDataset, fitBinning, numericBin, sortFloat64 } from "./binning.ts";
import { buildHistogram, HIST_STRIDE } from "./histogram.ts";
import { GbdtModel, mulberry32, SMALL_TABULAR_PARAMS, trainGbdt } from "./index.ts";
import { HistogramBuilder } from "./parallel.ts";
import { loadIbmTelco, rocAuc, stratifiedFolds, syntheticMatrix } from "./test-data.ts";

function split(data: TabularDataset, seed: number) {
  const fold = stratifiedFolds(data.label as Uint8Array, 5, seed);
  const tr: number[] = [];
  const te: number[] = [];
  for (let i = 0; i < data.nRows; i++) (fold[i] === 0 ? te : tr).push(i);
  return { train: takeRows(data, tr), test: takeRows(data, te) };
}

/** x0 uniform in [0,1] or missing (25%); missing rows are mostly positive, the rest coin flips. */
function missingSignal(n: number, seed: number): TabularDataset {
  const rng = mulberry32(seed);
  const x = new Float64Array(n);
  const label = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const missing = rng() < 0.25;
    x[i] = missing ? Number.NaN : rng();
    label[i] = (missing ? rng() < 0.9 : rng() < 0.3) ? 1 : 0;
  }
  return { nRows: n, features: [{ name: "x0", kind: "numeric", values: x }], label };
}

/** A categorical feature whose positive categories {b, d, g} are not contiguous in code order. */
function categoricalSignal(n: number, seed: number): TabularDataset {
  const rng = mulberry32(seed);
  const categories = ["a", "b", "c", "d", "e", "f", "g", "h"];
  const hot = new Set([1, 3, 6]);
  const codes = new Int32Array(n);
  const noise = new Float64Array(n);
  const label = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    codes[i] = Math.floor(rng() * categories.length);
    noise[i] = rng();
    label[i] = rng() < (hot.has(codes[i]) ? 0.85 : 0.15) ? 1 : 0;
  }
  return {
    nRows: n,
    features: [
      { name: "plan", kind: "categorical", codes, categories },
      { name: "noise", kind: "numeric", values: noise },
    ],
    label,
  };
}

describe("trainGbdt", () => {
  itIbm("reaches a sane ROC-AUC on the IBM Telco data (fixed split)", async () => {
    const { train, test } = split(loadIbmTelco(), 11);
    const inner = split(train, 12);
    const model = await trainGbdt(inner.train, SMALL_TABULAR_PARAMS, { valid: inner.test });
    const auc = rocAuc(test.label as Uint8Array, model.predictProba(test));
    expect(auc).toBeGreaterThanOrEqual(0.83);
    expect(model.bestIteration).toBe(model.trees.length);
  });

  it("is deterministic for a seed (with row and column subsampling) and changes with the seed", async () => {
    const data = syntheticMatrix(3000, 8, 5);
    const params = { numTrees: 20, baggingFraction: 0.7, featureFraction: 0.6, seed: 3 };
    const a = await trainGbdt(data, params);
    const b = await trainGbdt(data, params);
    const c = await trainGbdt(data, { ...params, seed: 4 });
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    expect(JSON.stringify(a.toJSON())).not.toBe(JSON.stringify(c.toJSON()));
  });

  it("learns the default direction for missing values", async () => {
    const data = missingSignal(4000, 1);
    const model = await trainGbdt(data, { numTrees: 30, learningRate: 0.2 });
    const probe: TabularDataset = {
      nRows: 3,
      features: [{ name: "x0", kind: "numeric", values: Float64Array.from([Number.NaN, 0.2, 0.8]) }],
    };
    const p = model.predictProba(probe);
    expect(p[0]).toBeGreaterThan(0.8);
    expect(p[1]).toBeLessThan(0.45);
    expect(p[2]).toBeLessThan(0.45);
    // The root split isolates the missing rows, and they go the learned way.
    const root = model.trees[0];
    const missingChild = root.defaultLeft[0] ? root.left[0] : root.right[0];
    expect(root.value[missingChild]).toBeGreaterThan(root.value[0]);
  });

  it("splits categoricals natively: with subset splits, one split separates a non-contiguous set", async () => {
    const data = categoricalSignal(4000, 2);
    const stump = { numTrees: 1, numLeaves: 2, learningRate: 1, maxCatToOnehot: 0 };
    const withCat = await trainGbdt(data, stump);
    const noCat = await trainGbdt({ ...data, features: [data.features[1]] }, stump);
    const test = categoricalSignal(2000, 3);
    const aucCat = rocAuc(test.label as Uint8Array, withCat.predictProba(test));
    const aucNo = rocAuc(
      test.label as Uint8Array,
      noCat.predictProba({ ...test, features: [test.features[1]] }),
    );
    expect(aucCat).toBeGreaterThan(0.8);
    expect(aucCat).toBeGreaterThan(aucNo + 0.2);
    const left = Array.from(withCat.trees[0].catLeft[0] ?? []);
    expect([left.join(","), left.length]).toSatisfy(
      ([s, n]: [string, number]) => s === "1,3,6" || (n === 5 && s === "0,2,4,5,7"),
    );
    // The default splits one category against the rest.
    const oneVsRest = await trainGbdt(data, { ...stump, maxCatToOnehot: 255 });
    expect(oneVsRest.trees[0].catLeft[0]).toHaveLength(1);
    expect(["1", "3", "6"]).toContain(String(oneVsRest.trees[0].catLeft[0]?.[0]));
  });

  it("maps categories by name at predict time; unseen categories count as missing", async () => {
    const data = categoricalSignal(3000, 4);
    const model = await trainGbdt(data, { numTrees: 10 });
    const col = data.features[0];
    if (col.kind !== "categorical") throw new Error("fixture");
    // Same rows, vocabulary in reverse order (codes differ, names agree).
    const reversed = [...col.categories].reverse();
    const k = col.categories.length;
    const recoded: TabularDataset = {
      ...data,
      features: [
        { ...col, categories: reversed, codes: col.codes.map((c) => (c < 0 ? c : k - 1 - c)) },
        data.features[1],
      ],
    };
    expect(model.predictRaw(recoded)).toEqual(model.predictRaw(data));
    const unseen: TabularDataset = {
      nRows: 1,
      features: [
        { name: "plan", kind: "categorical", codes: Int32Array.from([0]), categories: ["zz-new"] },
        { name: "noise", kind: "numeric", values: Float64Array.from([0.5]) },
      ],
    };
    const missing: TabularDataset = {
      ...unseen,
      features: [{ ...unseen.features[0], codes: Int32Array.from([-1]) } as typeof col, unseen.features[1]],
    };
    expect(model.predictRaw(unseen)[0]).toBe(model.predictRaw(missing)[0]);
  });

  it("early stopping stops and keeps the best round", async () => {
    const data = syntheticMatrix(3000, 6, 9);
    const { train, test } = split(data, 1);
    let rounds = 0;
    const model = await trainGbdt(
      train,
      {
        numTrees: 2000,
        learningRate: 0.5,
        numLeaves: 31,
        maxDepth: -1,
        minDataInLeaf: 2,
        earlyStoppingRounds: 10,
      },
      { valid: test, onIteration: (iter) => (rounds = iter) },
    );
    expect(rounds).toBeLessThan(2000);
    expect(rounds).toBe(model.bestIteration + 10);
    expect(model.trees.length).toBe(model.bestIteration);
  });

  it("decreases the training loss monotonically", async () => {
    const losses: number[] = [];
    await trainGbdt(
      syntheticMatrix(2000, 6, 2),
      { numTrees: 40, learningRate: 0.1 },
      {
        onIteration: (_, loss) => losses.push(loss),
      },
    );
    expect(losses).toHaveLength(40);
    for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[i - 1]);
  });

  it("builds identical models with worker threads and on a single thread", async () => {
    // 80k rows: histograms (dynamic and static feature shares), partitions and gradient updates all
    // take their two-thread paths.
    const data = syntheticMatrix(80_000, 8, 4);
    const strip = (m: GbdtModel) => JSON.stringify({ ...m.toJSON(), params: { ...m.params, threads: 0 } });
    for (const params of [
      { numTrees: 3, featureFraction: 0.8, baggingFraction: 0.9 },
      { numTrees: 3, maxDepth: 4, numLeaves: 16 },
    ]) {
      const one = await trainGbdt(data, { ...params, threads: 1 });
      const two = await trainGbdt(data, { ...params, threads: 2 });
      // Everything but the recorded thread count is identical.
      expect(strip(two) === strip(one)).toBe(true);
      expect(two.params.threads).toBe(2);
    }
  });

  it("rejects bad parameters and unlabeled data naming the field", async () => {
    const data = syntheticMatrix(100, 2, 1);
    await expect(trainGbdt(data, { learningRate: 0 })).rejects.toThrow(/params\.learningRate/);
    await expect(trainGbdt(data, { maxBins: 300 })).rejects.toThrow(ValidationError);
    await expect(trainGbdt({ ...data, label: undefined })).rejects.toThrow(/train\.label/);
  });

  it("handles degenerate inputs: one class, all-missing and constant columns", async () => {
    const n = 200;
    const data: TabularDataset = {
      nRows: n,
      features: [
        { name: "empty", kind: "numeric", values: new Float64Array(n).fill(Number.NaN) },
        { name: "const", kind: "numeric", values: new Float64Array(n).fill(3) },
        { name: "nocat", kind: "categorical", codes: new Int32Array(n).fill(-1), categories: [] },
      ],
      label: new Uint8Array(n),
    };
    const model = await trainGbdt(data, { numTrees: 5 });
    const p = model.predictProba(data);
    expect(p.every((v) => v < 1e-3)).toBe(true);
    expect(model.trees.every((t) => t.feature.length === 1)).toBe(true);
    expect(GbdtModel.fromJSON(JSON.parse(JSON.stringify(model.toJSON()))).predictProba(data)).toEqual(p);
  });

  it("ranks informative features first in importance", async () => {
    const data = categoricalSignal(3000, 5);
    const model = await trainGbdt(data, { numTrees: 20 });
    for (const kind of ["gain", "split"] as const) {
      const imp = model.featureImportance(kind);
      expect(imp.map((i) => i.feature)).toEqual(expect.arrayContaining(["plan", "noise"]));
      if (kind === "gain") expect(imp[0].feature).toBe("plan");
    }
  });
});

describe("binning", () => {
  it("the radix sort orders like the built-in sort: negatives, ±0, ±Infinity, tiny and huge values", () => {
    const rng = mulberry32(5);
    const pick = [
      () => rng() * 2 - 1,
      () => Math.round(rng() * 20 - 10),
      () => (rng() < 0.5 ? -0 : 0),
      () => (rng() - 0.5) * 1e300,
      () => (rng() - 0.5) * 1e-310,
      () => (rng() < 0.5 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY),
    ];
    const a = new Float64Array(50_000);
    for (let i = 0; i < a.length; i++) a[i] = pick[Math.floor(rng() * pick.length)]();
    const expected = Array.from(a.slice().sort());
    const got = Array.from(sortFloat64(a));
    expect(got.every((v, i) => Object.is(v, expected[i]))).toBe(true);
  });

  it("row-major bins equal numericBin for every value (incl. missing) and the row stride is padded to 4", () => {
    // 4,099 rows: a full 4,096-row binning block (rows searched four at a time) and a 3-row tail.
    const data = syntheticMatrix(4099, 5, 9);
    const binnings = fitBinning(data, 64);
    const binned = binDataset(data, binnings);
    expect(binned.rowStride).toBe(8);
    for (let f = 0; f < 5; f++) {
      const col = data.features[f];
      if (col.kind !== "numeric") continue;
      for (let r = 0; r < data.nRows; r++)
        expect(binned.bins[r * 8 + f]).toBe(numericBin(binnings[f].upperBounds, col.values[r]));
    }
  });
});

describe("histograms", () => {
  it("histogram subtraction equals the directly built sibling histogram", () => {
    const data = syntheticMatrix(5000, 5, 3);
    const binned = binDataset(data, fitBinning(data, 64));
    const hb = new HistogramBuilder(binned, 3);
    const rng = mulberry32(8);
    for (let i = 0; i < data.nRows; i++) {
      hb.gh[2 * i] = rng() - 0.5;
      hb.gh[2 * i + 1] = rng() * 0.25;
    }
    hb.setActiveFeatures([0, 1, 2, 3, 4]);
    hb.build(0, data.nRows, 0);
    // Parent = all rows; left child = first 1800 rows, right = the rest.
    hb.build(0, 1800, 1);
    hb.build(1800, data.nRows - 1800, 2);
    const size = hb.histSize;
    const derived = new Float64Array(size);
    for (let j = 0; j < size; j++) derived[j] = hb.hist[j] - hb.hist[size + j];
    for (let j = 0; j < size; j++) {
      const direct = hb.hist[2 * size + j];
      if (j % HIST_STRIDE === 2) expect(derived[j]).toBe(direct);
      else expect(Math.abs(derived[j] - direct)).toBeLessThan(1e-9);
    }
  });

  it("a big node built in row blocks sums to the one-pass histogram (counts exact)", () => {
    // 40k rows × 6 features is over the block threshold, so build() cuts the rows into blocks.
    const data = syntheticMatrix(40_000, 6, 9);
    const binned = binDataset(data, fitBinning(data, 255));
    const hb = new HistogramBuilder(binned, 2);
    const rng = mulberry32(5);
    for (let i = 0; i < data.nRows; i++) {
      hb.gh[2 * i] = rng() - 0.5;
      hb.gh[2 * i + 1] = rng() * 0.25;
    }
    const active = Int32Array.from([0, 1, 2, 3, 4, 5]);
    hb.setActiveFeatures(active);
    hb.build(0, data.nRows, 1);
    const reference = new Float64Array(hb.histSize);
    buildHistogram(binned.bins, binned.nFeatures, 0, data.nRows, hb.gh, active, 0, 6, reference, 0);
    let nonZero = 0;
    for (let f = 0; f < 6; f++) {
      for (let j = f * 256 * HIST_STRIDE; j < (f + 1) * 256 * HIST_STRIDE; j++) {
        const got = hb.hist[hb.histSize + j];
        if (j % HIST_STRIDE === 2) expect(got).toBe(reference[j]);
        else expect(Math.abs(got - reference[j])).toBeLessThan(1e-9);
        if (reference[j] !== 0) nonZero++;
      }
    }
    expect(nonZero).toBeGreaterThan(1000);
  });

  it("the two-thread builder produces bit-identical histograms", async () => {
    const data = syntheticMatrix(60_000, 9, 6);
    const binned = binDataset(data, fitBinning(data, 255));
    const single = new HistogramBuilder(binned, 1);
    const multi = new HistogramBuilder(binned, 1);
    await multi.startWorkers(1);
    try {
      for (const hb of [single, multi]) {
        for (let i = 0; i < data.nRows; i++) {
          hb.gh[2 * i] = Math.sin(i);
          hb.gh[2 * i + 1] = 0.1 + Math.cos(i) ** 2;
        }
        hb.setActiveFeatures([0, 2, 3, 5, 6, 8]);
        hb.build(0, data.nRows, 0);
      }
      expect(multi.parallelBuilds).toBe(1);
      expect(Array.from(multi.hist)).toEqual(Array.from(single.hist));
    } finally {
      await multi.close();
    }
  });
});

describe("row partition (rows move, every node owns a contiguous block)", () => {
  /** A builder over its own binned copy, each row tagged: gh = (id, −id), score = 2·id, label = id mod 3 = 0. */
  function tagged(data: TabularDataset) {
    const binned = binDataset(data, fitBinning(data, 255));
    const original = binned.bins.slice();
    const label = Uint8Array.from({ length: data.nRows }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const hb = new HistogramBuilder(binned, 2, label);
    for (let i = 0; i < data.nRows; i++) {
      hb.gh[2 * i] = i;
      hb.gh[2 * i + 1] = -i;
      hb.scores[i] = 2 * i;
    }
    return { hb, binned, original };
  }
  /** Every position holds one whole original row, and every original row is somewhere. */
  function expectWholeRows(t: ReturnType<typeof tagged>) {
    const { hb, binned, original } = t;
    const stride = binned.rowStride;
    const seen = new Uint8Array(binned.nRows);
    const torn: number[] = [];
    for (let i = 0; i < binned.nRows; i++) {
      const id = hb.gh[2 * i];
      let whole = hb.gh[2 * i + 1] === -id && hb.scores[i] === 2 * id;
      whole &&= hb.label[i] === (id % 3 === 0 ? 1 : 0);
      for (let k = 0; k < stride; k++) whole &&= binned.bins[i * stride + k] === original[id * stride + k];
      if (!whole) torn.push(i);
      seen[id]++;
    }
    expect(torn.slice(0, 5)).toEqual([]);
    expect(seen.every((v) => v === 1)).toBe(true);
  }

  it("moves whole rows, left rows first, and two threads give the same order as one", async () => {
    // 220k rows: the node is cut in halves and the block swap between them is big enough for two threads.
    const data = syntheticMatrix(220_000, 6, 12);
    const one = tagged(data);
    const two = tagged(data);
    await two.hb.startWorkers(1);
    try {
      const f = 2;
      for (const t of [one, two]) {
        t.hb.goLeft.fill(0);
        t.hb.goLeft.fill(1, 0, 128); // missing and the lower bins go left
      }
      // The root's row counts are counted once, here, before any row moves (see the end of the test).
      one.hb.setActiveFeatures([0, 1, 2, 3, 4, 5]);
      one.hb.build(0, data.nRows, 0);
      const left1 = one.hb.partition(0, data.nRows, f);
      const left2 = two.hb.partition(0, data.nRows, f);
      let expected = 0;
      for (let r = 0; r < data.nRows; r++) expected += one.hb.goLeft[one.original[r * 8 + f]];
      expect(left1).toBe(expected);
      expect(left2).toBe(expected);
      expect(Math.min(expected, data.nRows - expected)).toBeGreaterThan(100_000);
      const side = (t: typeof one, i: number, g: number) => t.hb.goLeft[t.binned.bins[i * 8 + g]];
      let misplaced = 0;
      for (let i = 0; i < data.nRows; i++) misplaced += +(side(one, i, f) !== (i < left1 ? 1 : 0));
      expect(misplaced).toBe(0);
      expectWholeRows(one);
      expectWholeRows(two);
      expect(Buffer.from(two.binned.bins).equals(Buffer.from(one.binned.bins))).toBe(true);
      expect(Buffer.from(two.hb.gh.buffer).equals(Buffer.from(one.hb.gh.buffer))).toBe(true);

      // A sub-range (a child node) partitions in place without touching the rows around it.
      const before = one.hb.gh.slice();
      for (const t of [one, two]) {
        t.hb.goLeft.fill(0);
        t.hb.goLeft.fill(1, 0, 40);
      }
      const sub1 = one.hb.partition(1000, 90_000, 4);
      const sub2 = two.hb.partition(1000, 90_000, 4);
      expect(sub2).toBe(sub1);
      let moved = 0;
      for (let i = 0; i < 1000; i++) moved += +(one.hb.gh[2 * i] !== before[2 * i]);
      for (let i = 91_000; i < data.nRows; i++) moved += +(one.hb.gh[2 * i] !== before[2 * i]);
      expect(moved).toBe(0);
      for (let i = 1000; i < 91_000; i++) misplaced += +(side(one, i, 4) !== (i < 1000 + sub1 ? 1 : 0));
      expect(misplaced).toBe(0);
      expectWholeRows(one);
      expect(Buffer.from(two.hb.gh.buffer).equals(Buffer.from(one.hb.gh.buffer))).toBe(true);

      // After the rows moved, a root build (counts from the cache) still equals a counting one-pass build.
      one.hb.build(0, data.nRows, 0);
      const reference = new Float64Array(one.hb.histSize);
      const all = Int32Array.from([0, 1, 2, 3, 4, 5]);
      buildHistogram(one.binned.bins, 6, 0, data.nRows, one.hb.gh, all, 0, 6, reference, 0);
      let off = 0;
      for (let j = 0; j < 6 * 256 * HIST_STRIDE; j++) {
        const got = one.hb.hist[j];
        if (j % HIST_STRIDE === 2) off += +(got !== reference[j]);
        else off += +(Math.abs(got - reference[j]) > 1e-6 * (1 + Math.abs(reference[j])));
      }
      expect(off).toBe(0);
    } finally {
      await two.hb.close();
    }
  });

  it("records the leaves of a final split without moving rows, and moves sampled rows to the front", async () => {
    const data = syntheticMatrix(120_000, 5, 13);
    const one = tagged(data);
    const two = tagged(data);
    await two.hb.startWorkers(1);
    try {
      for (const t of [one, two]) {
        t.hb.goLeft.fill(0);
        t.hb.goLeft.fill(1, 0, 100);
      }
      const a = one.hb.assignLeaves(0, data.nRows, 1, 7, 9);
      const b = two.hb.assignLeaves(0, data.nRows, 1, 7, 9);
      expect(b).toBe(a);
      let left = 0;
      let wrong = 0;
      for (let i = 0; i < data.nRows; i++) {
        const goes = one.hb.goLeft[one.original[i * 8 + 1]];
        left += goes;
        wrong += +(one.hb.leafOfRow[i] !== (goes ? 7 : 9)) + +(two.hb.leafOfRow[i] !== (goes ? 7 : 9));
      }
      expect(wrong).toBe(0);
      expect(a).toBe(left);
      expect(Buffer.from(one.binned.bins).equals(Buffer.from(one.original))).toBe(true);

      const flags = Uint8Array.from({ length: data.nRows }, (_, i) => (i % 5 === 1 ? 1 : 0));
      const m = one.hb.moveToFront(flags);
      expect(m).toBe(24_000);
      let outOfPlace = 0;
      for (let i = 0; i < data.nRows; i++) outOfPlace += +((one.hb.gh[2 * i] % 5 === 1) !== i < m);
      expect(outOfPlace).toBe(0);
      expectWholeRows(one);
    } finally {
      await two.hb.close();
    }
  });
});

describe("GbdtModel JSON", () => {
  itIbm("round-trips to bit-identical predictions", async () => {
    const data = loadIbmTelco();
    const model = await trainGbdt(data, { numTrees: 40 });
    const text = JSON.stringify(model.toJSON());
    const back = GbdtModel.fromJSON(JSON.parse(text));
    const a = model.predictRaw(data);
    const b = back.predictRaw(data);
    for (let i = 0; i < a.length; i++) expect(b[i]).toBe(a[i]);
    expect(JSON.stringify(back.toJSON())).toBe(text);
    expect(back.toJSON()).toMatchObject({ format: "telco-gbdt", version: 1 });
  });

  it("rejects malformed model JSON with the offending field", async () => {
    const model = await trainGbdt(syntheticMatrix(500, 3, 2), { numTrees: 3 });
    const json = JSON.parse(JSON.stringify(model.toJSON()));
    expect(() => GbdtModel.fromJSON({ ...json, format: "xgboost" })).toThrow(/model\.format/);
    const bad = structuredClone(json);
    bad.trees[1].left[0] = 0;
    expect(() => GbdtModel.fromJSON(bad)).toThrow(/model\.trees\.1\.left\.0/);
    const short = structuredClone(json);
    short.trees[0].value.pop();
    expect(() => GbdtModel.fromJSON(short)).toThrow(/model\.trees\.0\.value/);
    expect(() => GbdtModel.fromJSON("nope")).toThrow(ValidationError);
  });
});
