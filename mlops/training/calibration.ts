import { z } from "zod";
import { ValidationError } from "../../platform/errors.ts";
import { expectedCalibrationError, logLoss } from "./metrics.ts";
import { stratifiedKFold } from "./split.ts";

/**
 * Probability calibration fitted on a validation split: Platt scaling (a logistic regression on
 * the model's log-odds) and isotonic regression (pool-adjacent-violators). A calibrator is kept
 * only when cross-fitting on the validation split shows it lowers log-loss without worsening ECE,
 * so an already well-calibrated model (e.g. logistic regression) is left alone.
 */

export const calibratorJsonSchema = z.discriminatedUnion("method", [
  z.object({ method: z.literal("none") }),
  z.object({ method: z.literal("platt"), a: z.number(), b: z.number() }),
  z.object({ method: z.literal("isotonic"), x: z.array(z.number()), y: z.array(z.number()) }),
]);
export type CalibratorJson = z.infer<typeof calibratorJsonSchema>;
export type CalibrationMethod = CalibratorJson["method"];

const CLIP = 1e-4;
const MIN_RELATIVE_GAIN = 1e-3;

function logit(p: number): number {
  const q = Math.min(1 - 1e-12, Math.max(1e-12, p));
  return Math.log(q / (1 - q));
}

/** Platt scaling: p' = σ(a·logit(p) + b), fitted by Newton's method on the log-loss (tiny ridge for stability). */
export function fitPlatt(y: ArrayLike<number>, p: ArrayLike<number>): CalibratorJson {
  let a = 1;
  let b = 0;
  const n = y.length;
  const ridge = 1e-6;
  for (let iter = 0; iter < 50; iter++) {
    let ga = ridge * (a - 1);
    let gb = 0;
    let haa = ridge;
    let hab = 0;
    let hbb = ridge;
    for (let i = 0; i < n; i++) {
      const z = logit(p[i]);
      const q = 1 / (1 + Math.exp(-(a * z + b)));
      const r = q - y[i];
      const w = Math.max(q * (1 - q), 1e-12);
      ga += r * z;
      gb += r;
      haa += w * z * z;
      hab += w * z;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 1e-18)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) < 1e-10 && Math.abs(db) < 1e-10) break;
  }
  return { method: "platt", a, b };
}

/** Isotonic regression of y on p (pool adjacent violators); knots are block mean scores and rates. */
export function fitIsotonic(y: ArrayLike<number>, p: ArrayLike<number>): CalibratorJson {
  const order = Array.from({ length: y.length }, (_, i) => i).sort((i, j) => p[i] - p[j] || i - j);
  const sumX: number[] = [];
  const sumY: number[] = [];
  const weight: number[] = [];
  for (const i of order) {
    sumX.push(p[i]);
    sumY.push(y[i]);
    weight.push(1);
    // Merge while the last block's mean is below the previous one's.
    while (sumY.length > 1) {
      const k = sumY.length - 1;
      if (sumY[k - 1] / weight[k - 1] <= sumY[k] / weight[k]) break;
      sumX[k - 1] += sumX[k];
      sumY[k - 1] += sumY[k];
      weight[k - 1] += weight[k];
      sumX.pop();
      sumY.pop();
      weight.pop();
    }
  }
  return {
    method: "isotonic",
    x: sumX.map((s, k) => s / weight[k]),
    y: sumY.map((s, k) => s / weight[k]),
  };
}

/** Applies a calibrator to probabilities (returns a new array). */
export function applyCalibration(cal: CalibratorJson, p: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(p as ArrayLike<number>);
  if (cal.method === "platt") {
    for (let i = 0; i < out.length; i++) out[i] = 1 / (1 + Math.exp(-(cal.a * logit(out[i]) + cal.b)));
  } else if (cal.method === "isotonic") {
    const { x, y } = cal;
    for (let i = 0; i < out.length; i++) {
      const v = out[i];
      let q: number;
      if (x.length === 0) q = v;
      else if (v <= x[0]) q = y[0];
      else if (v >= x[x.length - 1]) q = y[y.length - 1];
      else {
        let lo = 0;
        let hi = x.length - 1;
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          if (x[mid] <= v) lo = mid;
          else hi = mid;
        }
        const t = x[hi] === x[lo] ? 0 : (v - x[lo]) / (x[hi] - x[lo]);
        q = y[lo] + t * (y[hi] - y[lo]);
      }
      // Isotonic steps can hit 0 or 1 exactly; clip so log-loss stays finite.
      out[i] = Math.min(1 - CLIP, Math.max(CLIP, q));
    }
  }
  return out;
}

function fitCalibrator(
  method: CalibrationMethod,
  y: ArrayLike<number>,
  p: ArrayLike<number>,
): CalibratorJson {
  if (method === "platt") return fitPlatt(y, p);
  if (method === "isotonic") return fitIsotonic(y, p);
  return { method: "none" };
}

export interface CalibrationCandidate {
  method: CalibrationMethod;
  logloss: number;
  ece: number;
}

export interface CalibrationChoice {
  calibrator: CalibratorJson;
  /** Cross-fitted validation scores of every candidate (none, platt, isotonic). */
  candidates: CalibrationCandidate[];
}

/**
 * Picks and fits the calibration for validation labels `y` and raw probabilities `p`: each
 * method is scored out-of-fold (2-fold cross-fitting, seeded); the lowest log-loss wins if it
 * beats "none" by at least 0.1% and does not raise ECE; the winner is then refitted on the whole validation split.
 */
export function chooseCalibration(
  y: Uint8Array,
  p: Float64Array,
  opts: { seed?: number; methods?: CalibrationMethod[] } = {},
): CalibrationChoice {
  if (y.length !== p.length) throw new ValidationError("calibration", "labels and scores differ in length");
  const methods = opts.methods ?? ["none", "platt", "isotonic"];
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i];
  if (positives < 2 || y.length - positives < 2) {
    return {
      calibrator: { method: "none" },
      candidates: [{ method: "none", logloss: logLoss(y, p), ece: expectedCalibrationError(y, p) }],
    };
  }
  const fold = stratifiedKFold(y, 2, opts.seed ?? 0);
  const candidates: CalibrationCandidate[] = methods.map((method) => {
    const out = new Float64Array(y.length);
    for (let f = 0; f < 2; f++) {
      const fitIdx: number[] = [];
      const evalIdx: number[] = [];
      for (let i = 0; i < y.length; i++) (fold[i] === f ? evalIdx : fitIdx).push(i);
      const cal = fitCalibrator(
        method,
        fitIdx.map((i) => y[i]),
        fitIdx.map((i) => p[i]),
      );
      const calibrated = applyCalibration(
        cal,
        evalIdx.map((i) => p[i]),
      );
      evalIdx.forEach((i, k) => {
        out[i] = calibrated[k];
      });
    }
    return { method, logloss: logLoss(y, out), ece: expectedCalibrationError(y, out) };
  });
  const none = candidates.find((c) => c.method === "none");
  let best: CalibrationCandidate | undefined = none;
  for (const c of candidates) {
    if (c.method === "none") continue;
    // A calibrator must earn its place: ≥0.1% lower log-loss, and ECE no worse.
    const improves = !none || (c.logloss < none.logloss * (1 - MIN_RELATIVE_GAIN) && c.ece <= none.ece);
    if (improves && (!best || best.method === "none" || c.logloss < best.logloss)) best = c;
  }
  const method = best?.method ?? "none";
  return { calibrator: fitCalibrator(method, y, p), candidates };
}
