import { describe, expect, it } from "vitest";
import { applyCalibration, chooseCalibration, fitIsotonic, fitPlatt } from "./calibration.ts";
import { expectedCalibrationError, logLoss, rocAuc } from "./metrics.ts";
import { seededRandom } from "./random.ts";

/** Labels drawn from true probabilities `q`; scores are a distortion of q. */
function sample(n: number, seed: number, distort: (q: number) => number) {
  const random = seededRandom(seed);
  const y = new Uint8Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const q = 0.02 + 0.96 * random();
    y[i] = random() < q ? 1 : 0;
    p[i] = distort(q);
  }
  return { y, p };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const logit = (q: number) => Math.log(q / (1 - q));

describe("Platt scaling", () => {
  it("recovers a known log-odds distortion", () => {
    // scores have log-odds 2·logit(q) + 1, so the inverse is a = 0.5, b = −0.5
    const { y, p } = sample(20000, 1, (q) => sigmoid(2 * logit(q) + 1));
    const cal = fitPlatt(y, p);
    if (cal.method !== "platt") throw new Error("expected platt");
    expect(cal.a).toBeCloseTo(0.5, 1);
    expect(cal.b).toBeCloseTo(-0.5, 1);
  });
});

describe("isotonic regression", () => {
  it("is monotone and keeps the ranking", () => {
    const { y, p } = sample(3000, 2, (q) => q ** 3);
    const cal = fitIsotonic(y, p);
    if (cal.method !== "isotonic") throw new Error("expected isotonic");
    for (let k = 1; k < cal.y.length; k++) expect(cal.y[k]).toBeGreaterThanOrEqual(cal.y[k - 1]);
    const out = applyCalibration(cal, p);
    expect(rocAuc(y, out)).toBeGreaterThan(rocAuc(y, p) - 0.01);
    expect(expectedCalibrationError(y, out)).toBeLessThan(expectedCalibrationError(y, p));
  });

  it("pools violators by hand: [0,1,0,1] on increasing scores → 0, ½, ½, 1", () => {
    const cal = fitIsotonic([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]);
    if (cal.method !== "isotonic") throw new Error("expected isotonic");
    expect(cal.y).toEqual([0, 0.5, 1]);
    expect(cal.x[1]).toBeCloseTo(0.25, 12);
  });
});

describe("chooseCalibration", () => {
  it("leaves well-calibrated probabilities alone", () => {
    const { y, p } = sample(4000, 3, (q) => q);
    expect(chooseCalibration(y, p, { seed: 1 }).calibrator.method).toBe("none");
  });

  it("calibrates over-confident probabilities and lowers log-loss on fresh data", () => {
    const distort = (q: number) => sigmoid(3 * logit(q));
    const fit = sample(4000, 4, distort);
    const fresh = sample(4000, 5, distort);
    const choice = chooseCalibration(fit.y, fit.p, { seed: 1 });
    expect(choice.calibrator.method).not.toBe("none");
    expect(choice.candidates.map((c) => c.method)).toEqual(["none", "platt", "isotonic"]);
    const calibrated = applyCalibration(choice.calibrator, fresh.p);
    expect(logLoss(fresh.y, calibrated)).toBeLessThan(logLoss(fresh.y, fresh.p));
  });
});
