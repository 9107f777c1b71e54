import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  averagePrecision,
  bootstrapAuc,
  brierScore,
  classificationMetrics,
  decileTable,
  expectedCalibrationError,
  ksStatistic,
  logLoss,
  reliabilityCurve,
  rocAuc,
  topFraction,
} from "./metrics.ts";

/** Mann–Whitney U / (n⁺·n⁻) by brute force over all pairs: the definition ROC-AUC must equal. */
function bruteForceAuc(y: number[], p: number[]): number {
  let u = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      u += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  return u / pairs;
}

describe("rocAuc", () => {
  it("is 1 for a perfect ranking, 0 for a reversed one and 0.5 when every score ties", () => {
    const y = [0, 0, 1, 1, 0, 1];
    const perfect = y.map((v, i) => v + i * 0.01);
    expect(rocAuc(y, perfect)).toBe(1);
    expect(
      rocAuc(
        y,
        perfect.map((v) => -v),
      ),
    ).toBe(0);
    expect(rocAuc(y, new Array(6).fill(0.3))).toBe(0.5);
  });

  it("matches the hand-computed value of scikit-learn's documented example", () => {
    // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
  });

  it("counts a tie between a churner and a non-churner as one half", () => {
    // pairs: (0.5 vs 0.2) win, (0.5 vs 0.5) tie → (1 + 0.5) / 2
    expect(rocAuc([1, 0, 0], [0.5, 0.2, 0.5])).toBeCloseTo(0.75, 12);
  });

  it("is NaN with a single class", () => {
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN();
  });

  it("equals the Mann–Whitney U statistic on random data with ties", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 12 })), {
          minLength: 2,
          maxLength: 80,
        }),
        (rows) => {
          const y = rows.map((r) => r[0]);
          const p = rows.map((r) => r[1] / 12);
          if (!y.includes(0) || !y.includes(1)) return;
          expect(rocAuc(y, p)).toBeCloseTo(bruteForceAuc(y, p), 12);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });

  it("rejects labels and scores of different lengths, naming the field", () => {
    expect(() => rocAuc([0, 1], [0.1])).toThrow(/scores/);
  });
});

describe("averagePrecision", () => {
  it("matches scikit-learn's documented example (0.8333…)", () => {
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(5 / 6, 12);
  });
  it("is 1 for a perfect ranking and the base rate when all scores tie", () => {
    expect(averagePrecision([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2])).toBe(1);
    expect(averagePrecision([1, 0, 0, 0], [0.5, 0.5, 0.5, 0.5])).toBeCloseTo(0.25, 12);
  });
});

describe("probability metrics", () => {
  it("log-loss and Brier match hand computation", () => {
    const y = [1, 0, 1];
    const p = [0.8, 0.3, 0.6];
    expect(logLoss(y, p)).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7) + Math.log(0.6)) / 3, 12);
    expect(brierScore(y, p)).toBeCloseTo((0.04 + 0.09 + 0.16) / 3, 12);
  });
  it("log-loss stays finite for probabilities of exactly 0 and 1", () => {
    expect(Number.isFinite(logLoss([1, 0], [0, 1]))).toBe(true);
  });
  it("KS is the largest TPR − FPR gap", () => {
    // thresholds 0.9: tpr .5 fpr 0; 0.7: tpr .5 fpr .5; 0.4: tpr 1 fpr .5; 0.1: 1, 1 → max 0.5
    expect(ksStatistic([1, 0, 1, 0], [0.9, 0.7, 0.4, 0.1])).toBeCloseTo(0.5, 12);
    expect(ksStatistic([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1])).toBe(1);
  });
});

describe("targeting metrics", () => {
  const y = [1, 1, 0, 1, 0, 0, 0, 0, 0, 1];
  const p = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];

  it("precision and recall in the top fraction", () => {
    expect(topFraction(y, p, 0.2)).toEqual({ precision: 1, recall: 0.5, rows: 2 });
    expect(topFraction(y, p, 0.4)).toEqual({ precision: 0.75, recall: 0.75, rows: 4 });
  });

  it("decile lift and cumulative gain", () => {
    const table = decileTable(y, p, 5);
    expect(table.map((r) => r.churners)).toEqual([2, 1, 0, 0, 1]);
    expect(table[0].lift).toBeCloseTo(1 / 0.4, 12); // rate 1 vs base 0.4
    expect(table.map((r) => r.cumulative_gain)).toEqual([0.5, 0.75, 0.75, 0.75, 1]);
    expect(table[4].cumulative_lift).toBeCloseTo(1, 12);
  });
});

describe("calibration metrics", () => {
  it("reliability bins and ECE by hand", () => {
    const y = [0, 1, 1, 1];
    const p = [0.05, 0.15, 0.85, 0.95];
    const bins = reliabilityCurve(y, p, 2);
    expect(bins).toHaveLength(2);
    expect(bins[0]).toMatchObject({ rows: 2, observed_rate: 0.5 });
    expect(bins[0].mean_predicted).toBeCloseTo(0.1, 12);
    // ECE = ½·|0.5 − 0.1| + ½·|1 − 0.9| = 0.25
    expect(expectedCalibrationError(y, p, 2)).toBeCloseTo(0.25, 12);
  });
});

describe("bootstrapAuc", () => {
  const n = 400;
  const y = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const p = y.map((v, i) => v * 0.3 + ((i * 7919) % 101) / 101);

  it("brackets the point estimate and is reproducible for a seed", () => {
    const a = bootstrapAuc(y, p, { replicates: 300, seed: 1 });
    expect(a.estimate).toBeCloseTo(rocAuc(y, p), 12);
    expect(a.lower).toBeLessThan(a.estimate);
    expect(a.upper).toBeGreaterThan(a.estimate);
    expect(bootstrapAuc(y, p, { replicates: 300, seed: 1 })).toEqual(a);
  });

  it("narrows as the level drops", () => {
    const wide = bootstrapAuc(y, p, { replicates: 300, seed: 2, level: 0.99 });
    const narrow = bootstrapAuc(y, p, { replicates: 300, seed: 2, level: 0.5 });
    expect(narrow.upper - narrow.lower).toBeLessThan(wide.upper - wide.lower);
  });
});

describe("classificationMetrics", () => {
  it("bundles the headline metrics consistently", () => {
    const y = [0, 0, 1, 1];
    const p = [0.1, 0.4, 0.35, 0.8];
    const m = classificationMetrics(y, p);
    expect(m).toMatchObject({ rows: 4, positives: 2, base_rate: 0.5 });
    expect(m.auc).toBeCloseTo(0.75, 12);
    expect(m.pr_auc).toBeCloseTo(5 / 6, 12);
  });
});
