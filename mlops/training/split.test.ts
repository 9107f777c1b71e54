import { describe, expect, it } from "vitest";
import { foldSplit, stratifiedKFold, stratifiedSplit } from "./split.ts";

const n = 1000;
const label = Uint8Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0));
// Three rows per customer (e.g. three monthly cutoffs); label may differ between a customer's rows.
const groups = Array.from({ length: n }, (_, i) => `c${Math.floor(i / 3)}`);

describe("stratifiedSplit", () => {
  it("is deterministic for a seed and changes with the seed", () => {
    const a = stratifiedSplit(label, 0.2, 42);
    expect(stratifiedSplit(label, 0.2, 42)).toEqual(a);
    expect(stratifiedSplit(label, 0.2, 43).test).not.toEqual(a.test);
  });

  it("partitions the rows and keeps the class ratio on both sides", () => {
    const { train, test } = stratifiedSplit(label, 0.2, 1);
    expect(train.length + test.length).toBe(n);
    expect(new Set([...train, ...test]).size).toBe(n);
    expect(test.length).toBe(200);
    const rate = (idx: Int32Array) => idx.reduce((s, i) => s + label[i], 0) / idx.length;
    expect(rate(test)).toBeCloseTo(0.25, 2);
    expect(rate(train)).toBeCloseTo(0.25, 2);
  });

  it("never puts one customer's rows on both sides", () => {
    const { train, test } = stratifiedSplit(label, 0.3, 5, groups);
    const trainCustomers = new Set(Array.from(train, (i) => groups[i]));
    for (const i of test) expect(trainCustomers.has(groups[i])).toBe(false);
  });

  it("rejects a fraction outside (0, 1)", () => {
    expect(() => stratifiedSplit(label, 1, 1)).toThrow(/testFraction/);
  });
});

describe("stratifiedKFold", () => {
  it("assigns every row one fold, balanced in size and class ratio", () => {
    const fold = stratifiedKFold(label, 5, 7);
    for (let f = 0; f < 5; f++) {
      const { test } = foldSplit(fold, f);
      expect(test.length).toBe(200);
      expect(test.reduce((s, i) => s + label[i], 0)).toBe(50);
    }
  });

  it("is deterministic for a seed", () => {
    expect(stratifiedKFold(label, 5, 7)).toEqual(stratifiedKFold(label, 5, 7));
    expect(stratifiedKFold(label, 5, 8)).not.toEqual(stratifiedKFold(label, 5, 7));
  });

  it("keeps each customer inside one fold", () => {
    const fold = stratifiedKFold(label, 4, 3, groups);
    const seen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const prev = seen.get(groups[i]);
      if (prev !== undefined) expect(fold[i]).toBe(prev);
      seen.set(groups[i], fold[i]);
    }
  });

  it("refuses more folds than a class has groups, with a hint", () => {
    expect(() => stratifiedKFold(Uint8Array.from([1, 0, 0, 0]), 2, 1)).toThrow(/at least 2 groups/);
  });
});
