import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  categoryCounts,
  chiSquareSurvival,
  chiSquareTwoSample,
  histogram,
  jensenShannonDistance,
  ksTwoSample,
  psi,
  quantileEdges,
} from "./drift-stats.ts";

/** Deterministic normal samples (Box–Muller over a small LCG) so tests are reproducible. */
function normalSample(n: number, mean: number, sd: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = mean + sd * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  }
  return out;
}

describe("binning", () => {
  it("puts values in quantile bins and missing values in the last bin", () => {
    const ref = Float64Array.from({ length: 100 }, (_, i) => i);
    const edges = quantileEdges(ref, 4);
    expect(Array.from(edges)).toEqual([25, 50, 75]);
    const counts = histogram(Float64Array.from([0, 24.9, 25, 80, 99, Number.NaN]), edges);
    expect(Array.from(counts)).toEqual([2, 1, 0, 2, 1]);
  });

  it("counts categories with unknown or missing codes in the last slot", () => {
    expect(Array.from(categoryCounts(Int32Array.from([0, 1, 1, -1, 7]), 3))).toEqual([1, 2, 0, 2]);
  });
});

describe("PSI and Jensen–Shannon", () => {
  it("are zero for identical distributions and grow with the shift", () => {
    const ref = normalSample(20_000, 0, 1, 1);
    const edges = quantileEdges(ref, 10);
    const base = histogram(ref, edges);
    const same = histogram(normalSample(20_000, 0, 1, 2), edges);
    const small = histogram(normalSample(20_000, 0.2, 1, 3), edges);
    const large = histogram(normalSample(20_000, 1, 1, 4), edges);
    expect(psi(base, base)).toBeCloseTo(0, 12);
    expect(psi(base, same)).toBeLessThan(0.01);
    expect(psi(base, small)).toBeGreaterThan(psi(base, same));
    expect(psi(base, large)).toBeGreaterThan(0.25);
    expect(jensenShannonDistance(base, base)).toBeCloseTo(0, 6);
    expect(jensenShannonDistance(base, large)).toBeGreaterThan(jensenShannonDistance(base, small));
  });

  it("stays finite when a bin is empty on one side (smoothing)", () => {
    const a = Float64Array.from([10, 0, 5]);
    const b = Float64Array.from([0, 10, 5]);
    expect(Number.isFinite(psi(a, b))).toBe(true);
    expect(jensenShannonDistance(a, b)).toBeGreaterThan(0.5);
    expect(jensenShannonDistance(a, b)).toBeLessThanOrEqual(1);
  });

  it("matches the closed form on a two-bin example", () => {
    // p = (0.5, 0.5), q = (0.8, 0.2): PSI = 0.3 ln 1.6 + (−0.3) ln 0.4
    const expected = 0.3 * Math.log(1.6) - 0.3 * Math.log(0.4);
    expect(psi(Float64Array.from([50, 50]), Float64Array.from([80, 20]), 0)).toBeCloseTo(expected, 12);
  });

  it("is symmetric (JS) and non-negative (both) for any counts", () => {
    const counts = fc.array(fc.nat({ max: 1000 }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(counts, counts, (x, y) => {
        const a = Float64Array.from(x);
        const b = Float64Array.from(y);
        expect(psi(a, b)).toBeGreaterThanOrEqual(-1e-12);
        expect(jensenShannonDistance(a, b)).toBeCloseTo(jensenShannonDistance(b, a), 12);
      }),
    );
  });
});

describe("Kolmogorov–Smirnov", () => {
  it("does not reject samples from the same distribution and rejects a shifted one", () => {
    const a = normalSample(300, 0, 1, 11);
    const same = ksTwoSample(a, normalSample(300, 0, 1, 12));
    const shifted = ksTwoSample(a, normalSample(300, 0.5, 1, 13));
    expect(same.pValue).toBeGreaterThan(0.05);
    expect(shifted.pValue).toBeLessThan(0.001);
    expect(shifted.statistic).toBeGreaterThan(same.statistic);
  });

  it("gives D = 1 for disjoint samples and D = 0 for identical ones", () => {
    const a = Float64Array.from({ length: 40 }, (_, i) => i);
    const b = Float64Array.from({ length: 40 }, (_, i) => 100 + i);
    expect(ksTwoSample(a, b).statistic).toBe(1);
    expect(ksTwoSample(a, a)).toEqual({ statistic: 0, pValue: 1 });
  });
});

describe("chi-square", () => {
  it("has the textbook 5% critical values", () => {
    expect(chiSquareSurvival(3.841459, 1)).toBeCloseTo(0.05, 5);
    expect(chiSquareSurvival(5.991465, 2)).toBeCloseTo(0.05, 5);
    expect(chiSquareSurvival(18.307038, 10)).toBeCloseTo(0.05, 5);
    expect(chiSquareSurvival(0, 3)).toBe(1);
  });

  it("computes the homogeneity statistic of a 2×2 table", () => {
    // [[10, 20], [30, 40]]: expected [[12, 18], [28, 42]] → χ² = 4/12 + 4/18 + 4/28 + 4/42
    const r = chiSquareTwoSample(Float64Array.from([10, 20]), Float64Array.from([30, 40]));
    expect(r.statistic).toBeCloseTo(4 / 12 + 4 / 18 + 4 / 28 + 4 / 42, 10);
    expect(r.dof).toBe(1);
  });

  it("rejects a changed category mix and ignores categories empty on both sides", () => {
    const r = chiSquareTwoSample(Float64Array.from([100, 100, 0]), Float64Array.from([150, 50, 0]));
    expect(r.dof).toBe(1);
    expect(r.pValue).toBeLessThan(0.001);
  });
});
