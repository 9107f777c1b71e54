import { describe, expect, it } from "vitest";
import { calibrateFeature, naturalBound, quantileOf } from "./calibration.ts";
import { jensenShannonDistance, psi } from "./drift-stats.ts";

const settings = { quantile: 0.95, margin: 3, jsCap: 0.5 };

/** Category counts of a yes/no feature for `n` rows with share `p` of "yes" (+ an empty missing bin). */
function binary(p: number, n = 250): Float64Array {
  return Float64Array.from([Math.round(n * (1 - p)), Math.round(n * p), 0]);
}

function sum(hists: Float64Array[]): Float64Array {
  const out = new Float64Array(hists[0].length);
  for (const h of hists) for (let i = 0; i < h.length; i++) out[i] += h[i];
  return out;
}

function calibrateShares(shares: number[], floor = 0.1) {
  const slices = shares.map((p) => binary(p));
  const whole = sum(slices);
  const c = calibrateFeature({
    test: "js",
    slices,
    labels: shares.map((_, i) => `2025-0${i + 4}-01`),
    whole,
    effect: jensenShannonDistance,
    floor,
    settings,
  });
  return { c, whole };
}

describe("calibrateFeature: robust to one odd slice, JS capped", () => {
  it("leaves out a training month with no competitor offer at all, so a new competitor is above the bound and a usual month below", () => {
    // The seed-1 drift demo: no offer in the first cutoff month, 17–20% in the next ones.
    const shares = [0, 0.17, 0.19, 0.2];
    const { c, whole } = calibrateShares(shares);
    expect(c.method).toBe("pairs-robust");
    expect(c.dropped?.slice).toBe("2025-04-01");
    expect(c.natural).toHaveLength(3); // pairs among the three kept slices
    // The plain method (q95 of all pairs × 3) puts the bar near 1: nothing could ever fire.
    const allPairs: number[] = [];
    for (let a = 0; a < 4; a++)
      for (let b = a + 1; b < 4; b++)
        allPairs.push(jensenShannonDistance(binary(shares[a]), binary(shares[b])));
    expect(settings.margin * quantileOf(allPairs, 0.95)).toBeGreaterThan(0.9);
    expect(c.threshold).toBeLessThan(0.3);
    // The offset is the distance between the whole reference (which still holds the odd month) and the rest.
    expect(c.offset).toBeCloseTo(
      jensenShannonDistance(whole, sum(shares.slice(1).map((p) => binary(p)))),
      10,
    );
    expect(naturalBound(c)).toBeCloseTo(3 * c.quantile + (c.offset ?? 0), 10);
    const newCompetitor = jensenShannonDistance(whole, binary(0.6, 700));
    const usualMonth = jensenShannonDistance(whole, binary(0.2, 700));
    expect(newCompetitor).toBeGreaterThan(c.threshold);
    expect(usualMonth).toBeLessThan(c.threshold);
  });

  it("keeps every slice of a steady trend (customers ageing): its end slice is close to its neighbour", () => {
    const { c } = calibrateShares([0.1, 0.15, 0.2, 0.25]);
    expect(c.dropped).toBeUndefined();
    expect(c.natural).toHaveLength(6);
    expect(c.offset).toBe(0);
    expect(c.threshold).toBeCloseTo(Math.max(0.1, 3 * quantileOf(c.natural, 0.95)), 10);
  });

  it("never drops a slice with fewer than 4 slices", () => {
    const { c } = calibrateShares([0, 0.18, 0.19]);
    expect(c.dropped).toBeUndefined();
    expect(c.natural).toHaveLength(3);
  });

  it("caps a JS bound at jsCap (a JS threshold near 1 can never fire), and the floor still wins over the cap", () => {
    const { c } = calibrateShares([0.02, 0.5, 0.95]);
    expect(3 * c.quantile).toBeGreaterThan(1);
    expect(c.cap).toBe(0.5);
    expect(c.threshold).toBe(0.5);
    expect(naturalBound(c)).toBe(0.5);
    const high = calibrateShares([0.02, 0.5, 0.95], 0.7).c;
    expect(high.threshold).toBe(0.7);
  });

  it("does not cap PSI (unbounded), and older profiles without a stored bound use margin × quantile", () => {
    const edges = [
      Float64Array.from([100, 0, 0, 0]),
      Float64Array.from([0, 100, 0, 0]),
      Float64Array.from([0, 0, 100, 0]),
    ];
    const c = calibrateFeature({
      test: "psi",
      slices: edges,
      labels: ["a", "b", "c"],
      whole: sum(edges),
      effect: psi,
      floor: 0.25,
      settings,
    });
    expect(c.cap).toBeUndefined();
    expect(c.threshold).toBeGreaterThan(1);
    expect(
      naturalBound({ test: "js", margin: 3, natural: [0.1], quantile: 0.1, floor: 0.1, threshold: 0.3 }),
    ).toBeCloseTo(0.3);
  });
});
