import { ValidationError } from "../../platform/errors.ts";
import { seededRandom } from "./random.ts";

/**
 * Evaluation metrics a retention team reads: ranking (ROC-AUC, PR-AUC, KS, lift), probability
 * quality (logloss, Brier, calibration/ECE) and targeting (precision/recall in the top x%).
 * Written by hand over typed arrays because each is a few lines and needs exact tie handling;
 * every one is tested against hand-computed values and identities.
 */

function check(y: ArrayLike<number>, p: ArrayLike<number>): void {
  if (y.length !== p.length) {
    throw new ValidationError("scores", `have ${p.length} values but the labels have ${y.length}`);
  }
  if (y.length === 0) throw new ValidationError("labels", "are empty");
}

/** Row indices ordered by descending score (ties keep index order, so results are deterministic). */
export function orderByScoreDesc(p: ArrayLike<number>): Uint32Array {
  const idx = new Uint32Array(p.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => p[b] - p[a] || a - b);
}

/**
 * Weighted ROC-AUC over rows visited in descending score order, ties counted as ½.
 * `weight` (optional) gives each row a multiplicity, which is how bootstrap replicates are scored
 * without re-sorting.
 */
function aucFromOrder(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  order: Uint32Array,
  weight?: Uint32Array,
): number {
  let totalPos = 0;
  let totalNeg = 0;
  let pairs = 0; // positive-above-negative pair count (ties ½)
  let posAbove = 0; // weight of positives with a strictly higher score
  let k = 0;
  const n = order.length;
  while (k < n) {
    const s = p[order[k]];
    let gPos = 0;
    let gNeg = 0;
    while (k < n && p[order[k]] === s) {
      const i = order[k];
      const w = weight ? weight[i] : 1;
      if (y[i] === 1) gPos += w;
      else gNeg += w;
      k++;
    }
    pairs += gNeg * (posAbove + 0.5 * gPos);
    posAbove += gPos;
    totalPos += gPos;
    totalNeg += gNeg;
  }
  if (totalPos === 0 || totalNeg === 0) return Number.NaN;
  return pairs / (totalPos * totalNeg);
}

/** ROC-AUC (probability a random churner scores above a random non-churner; ties count ½). NaN with one class. */
export function rocAuc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  check(y, p);
  return aucFromOrder(y, p, orderByScoreDesc(p));
}

export interface CurvePoint {
  threshold: number;
  fpr: number;
  tpr: number;
  precision: number;
  recall: number;
}

/** ROC and PR points at every distinct score threshold (highest first). */
export function thresholdCurve(y: ArrayLike<number>, p: ArrayLike<number>): CurvePoint[] {
  check(y, p);
  const order = orderByScoreDesc(p);
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i] === 1 ? 1 : 0;
  const neg = y.length - pos;
  const out: CurvePoint[] = [];
  let tp = 0;
  let fp = 0;
  let k = 0;
  while (k < order.length) {
    const s = p[order[k]];
    while (k < order.length && p[order[k]] === s) {
      if (y[order[k]] === 1) tp++;
      else fp++;
      k++;
    }
    out.push({
      threshold: s,
      fpr: neg ? fp / neg : 0,
      tpr: pos ? tp / pos : 0,
      precision: tp / (tp + fp),
      recall: pos ? tp / pos : 0,
    });
  }
  return out;
}

/** Average precision (PR-AUC, step-wise as in scikit-learn): Σ (Rₙ − Rₙ₋₁)·Pₙ over thresholds. */
export function averagePrecision(y: ArrayLike<number>, p: ArrayLike<number>): number {
  const curve = thresholdCurve(y, p);
  let ap = 0;
  let prevRecall = 0;
  for (const c of curve) {
    ap += (c.recall - prevRecall) * c.precision;
    prevRecall = c.recall;
  }
  return ap;
}

/** Kolmogorov–Smirnov statistic: max over thresholds of TPR − FPR. */
export function ksStatistic(y: ArrayLike<number>, p: ArrayLike<number>): number {
  let ks = 0;
  for (const c of thresholdCurve(y, p)) ks = Math.max(ks, c.tpr - c.fpr);
  return ks;
}

const EPS = 1e-15;

/** Mean binary cross-entropy, probabilities clipped to [1e-15, 1 − 1e-15]. */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>): number {
  check(y, p);
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - EPS, Math.max(EPS, p[i]));
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

/** Mean squared error of the probability (Brier score). */
export function brierScore(y: ArrayLike<number>, p: ArrayLike<number>): number {
  check(y, p);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i] - y[i]) ** 2;
  return s / y.length;
}

export interface DecileRow {
  decile: number;
  rows: number;
  churners: number;
  churn_rate: number;
  lift: number;
  cumulative_rows: number;
  cumulative_gain: number;
  cumulative_lift: number;
  min_score: number;
}

/**
 * Lift and cumulative gain by score decile (decile 1 = highest scores). Rows are cut by rank,
 * so deciles hold ⌊n/10⌋ or ⌈n/10⌉ rows.
 */
export function decileTable(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): DecileRow[] {
  check(y, p);
  const order = orderByScoreDesc(p);
  const n = y.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += y[i] === 1 ? 1 : 0;
  const base = total / n;
  const out: DecileRow[] = [];
  let cumRows = 0;
  let cumPos = 0;
  for (let b = 0; b < bins; b++) {
    const start = Math.round((b * n) / bins);
    const end = Math.round(((b + 1) * n) / bins);
    let pos = 0;
    let minScore = Number.POSITIVE_INFINITY;
    for (let k = start; k < end; k++) {
      pos += y[order[k]] === 1 ? 1 : 0;
      minScore = Math.min(minScore, p[order[k]]);
    }
    const rows = end - start;
    cumRows += rows;
    cumPos += pos;
    const rate = rows ? pos / rows : 0;
    out.push({
      decile: b + 1,
      rows,
      churners: pos,
      churn_rate: rate,
      lift: base ? rate / base : 0,
      cumulative_rows: cumRows,
      cumulative_gain: total ? cumPos / total : 0,
      cumulative_lift: base && cumRows ? cumPos / cumRows / base : 0,
      min_score: rows ? minScore : Number.NaN,
    });
  }
  return out;
}

/** Precision and recall when the top `fraction` of rows by score are targeted. */
export function topFraction(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  fraction: number,
): { precision: number; recall: number; rows: number } {
  check(y, p);
  const order = orderByScoreDesc(p);
  const rows = Math.max(1, Math.round(fraction * y.length));
  let total = 0;
  for (let i = 0; i < y.length; i++) total += y[i] === 1 ? 1 : 0;
  let tp = 0;
  for (let k = 0; k < rows; k++) tp += y[order[k]] === 1 ? 1 : 0;
  return { precision: tp / rows, recall: total ? tp / total : 0, rows };
}

export interface ReliabilityBin {
  bin: number;
  lower: number;
  upper: number;
  rows: number;
  mean_predicted: number;
  observed_rate: number;
}

/** Reliability curve over `bins` equal-width probability bins (empty bins omitted). */
export function reliabilityCurve(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): ReliabilityBin[] {
  check(y, p);
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i] * bins)));
    count[b]++;
    sumP[b] += p[i];
    sumY[b] += y[i];
  }
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    out.push({
      bin: b,
      lower: b / bins,
      upper: (b + 1) / bins,
      rows: count[b],
      mean_predicted: sumP[b] / count[b],
      observed_rate: sumY[b] / count[b],
    });
  }
  return out;
}

/** Expected calibration error: Σ (rows_b / n)·|observed_b − predicted_b| over equal-width bins. */
export function expectedCalibrationError(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): number {
  let ece = 0;
  for (const b of reliabilityCurve(y, p, bins)) {
    ece += (b.rows / y.length) * Math.abs(b.observed_rate - b.mean_predicted);
  }
  return ece;
}

export interface ConfidenceInterval {
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  replicates: number;
}

/**
 * Percentile bootstrap confidence interval for ROC-AUC. Rows are sorted once; each replicate
 * draws row multiplicities and scores them in one O(n) pass.
 */
export function bootstrapAuc(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  opts: { replicates?: number; level?: number; seed?: number } = {},
): ConfidenceInterval {
  check(y, p);
  const replicates = opts.replicates ?? 1000;
  const level = opts.level ?? 0.95;
  const random = seededRandom(opts.seed ?? 0);
  const order = orderByScoreDesc(p);
  const n = y.length;
  const weight = new Uint32Array(n);
  const values: number[] = [];
  for (let r = 0; r < replicates; r++) {
    weight.fill(0);
    for (let k = 0; k < n; k++) weight[Math.floor(random() * n)]++;
    const auc = aucFromOrder(y, p, order, weight);
    if (!Number.isNaN(auc)) values.push(auc);
  }
  values.sort((a, b) => a - b);
  const q = (f: number) =>
    values[Math.min(values.length - 1, Math.max(0, Math.floor(f * (values.length - 1))))];
  const alpha = (1 - level) / 2;
  return {
    estimate: aucFromOrder(y, p, order),
    lower: values.length ? q(alpha) : Number.NaN,
    upper: values.length ? q(1 - alpha) : Number.NaN,
    level,
    replicates: values.length,
  };
}

/** Headline metrics of one set of predictions. */
export interface ClassificationMetrics {
  rows: number;
  positives: number;
  base_rate: number;
  auc: number;
  pr_auc: number;
  logloss: number;
  brier: number;
  ks: number;
  ece: number;
  precision_top10: number;
  recall_top10: number;
  precision_top20: number;
  recall_top20: number;
}

/** Computes every headline metric for labels `y` and churn probabilities `p`. */
export function classificationMetrics(y: ArrayLike<number>, p: ArrayLike<number>): ClassificationMetrics {
  check(y, p);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] === 1 ? 1 : 0;
  const top10 = topFraction(y, p, 0.1);
  const top20 = topFraction(y, p, 0.2);
  return {
    rows: y.length,
    positives,
    base_rate: positives / y.length,
    auc: rocAuc(y, p),
    pr_auc: averagePrecision(y, p),
    logloss: logLoss(y, p),
    brier: brierScore(y, p),
    ks: ksStatistic(y, p),
    ece: expectedCalibrationError(y, p),
    precision_top10: top10.precision,
    recall_top10: top10.recall,
    precision_top20: top20.precision,
    recall_top20: top20.recall,
  };
}
