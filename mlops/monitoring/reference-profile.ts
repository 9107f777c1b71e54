import type { MonitoringConfig } from "../../platform/config/sections/monitoring.ts";
import { maskPii } from "../../platform/pii/index.ts";
import type { TabularDataset } from "../training/dataset.ts";
import { calibrateFeature, naturalBound, quantileOf, type SliceCalibration } from "./calibration.ts";
import {
  categoryCounts,
  chiSquareTwoSample,
  histogram,
  jensenShannonDistance,
  ksTwoSample,
  psi,
  quantileEdges,
} from "./drift-stats.ts";

/**
 * A reference profile is what monitoring compares production against: per-feature binned
 * distributions of the training data (and of the model's scores on it), saved with each model
 * version so a monitor run needs neither the training table nor the warehouse.
 */
export interface NumericProfile {
  name: string;
  kind: "numeric";
  /** Interior quantile cut points; counts has edges.length + 1 value bins plus one missing bin. */
  edges: number[];
  counts: number[];
  n: number;
  nullRate: number;
  min: number;
  max: number;
  /** Seeded reservoir sample of values, for KS tests on small current windows. */
  sample: number[];
  /** Accepted range for quality checks: [min, max] widened (see QualityRange). */
  range?: QualityRange;
}

/**
 * A numeric feature's accepted range: the reference [min, max] widened on each side by the largest of
 * margin × (max − min), the reference's own month-to-month movement of its tail (calibration margin ×
 * spread across time slices of the quantile at the out-of-range tolerance), and for integer-valued
 * features (counts) three Poisson standard deviations of the extreme, 3·√max(|extreme|, 1): a region
 * with a few more outages than ever seen is drift to watch, not broken data.
 */
export interface QualityRange {
  low: number;
  high: number;
  margin: number;
  /** How far each side was widened, and why ("margin", "natural" slice variation or "count" tolerance). */
  widen?: { low: number; high: number; by: { low: WidenReason; high: WidenReason } };
}

export type WidenReason = "margin" | "natural" | "count";

export interface CategoricalProfile {
  name: string;
  kind: "categorical";
  categories: string[];
  /** One count per category, then one for missing. */
  counts: number[];
  n: number;
  nullRate: number;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

/**
 * How far the reference drifts from itself: every pair of time slices of the training window (one
 * cutoff date each) compared per feature with the same effect size monitoring uses (PSI numeric, JS
 * distance categorical). A feature's threshold is a high quantile of that natural variation times a
 * margin, robust to one odd slice, JS capped, never below the configured floor (see calibration.ts).
 */
export interface DriftCalibration {
  slices: number;
  /** Slice labels (cutoff dates) used, in order. */
  labels?: string[];
  quantile: number;
  margin: number;
  /** "pairs-robust" (calibration.ts); absent in older profiles (plain pairs, no cap). */
  method?: "pairs" | "pairs-robust";
  jsCap?: number;
  features: Record<string, SliceCalibration>;
  /** The model's score distribution (churn_probability). */
  prediction?: SliceCalibration;
}

export type { SliceCalibration } from "./calibration.ts";

export interface ReferenceProfile {
  format: "telco-reference-profile";
  version: 1;
  nRows: number;
  features: FeatureProfile[];
  prediction?: NumericProfile;
  /** Present when the reference had time slices (cutoff dates) to calibrate against. */
  calibration?: DriftCalibration;
}

export interface FeatureDrift {
  name: string;
  /** "none": not tested (not enough data). */
  test: "psi" | "js" | "ks" | "chi2" | "none";
  /** PSI / JS distance for large samples; the p-value for KS / chi-square. */
  score: number;
  threshold: number;
  drift: boolean;
  /** PSI between the warning and drift thresholds. */
  warn: boolean;
  statistic?: number;
  /** Where the threshold came from: the reference's own variation, or the configured floor. */
  thresholdSource?: "calibrated" | "config";
  /** Small samples: the effect size (PSI / JS) that must also clear the calibrated threshold. */
  effect?: number;
  /** Small samples: the bound `effect` must exceed (the reference's own variation); absent when uncalibrated. */
  effectThreshold?: number;
  effectTest?: "psi" | "js";
}

export interface QualityIssue {
  feature: string;
  kind: "null_rate" | "out_of_range" | "unseen_category";
  value: number;
  reference: number;
  tolerance: number;
  examples?: string[];
  /** out_of_range: the accepted range and the largest value seen beyond it. */
  range?: { low: number; high: number };
  worst?: number;
}

export interface DriftReport {
  /** Some input feature drifted (see predictionDrift for the scores). */
  drift: boolean;
  /** False below monitoring.minSamples: nothing is tested, nothing is flagged. */
  enoughData: boolean;
  minSamples: number;
  nReference: number;
  nCurrent: number;
  features: FeatureDrift[];
  predictionDrift: (FeatureDrift & { referenceMean: number; currentMean: number }) | null;
  quality: { ok: boolean; issues: QualityIssue[] };
}

/** Profiles a dataset (and optionally the model's scores on it) as the monitoring reference. */
export function buildReferenceProfile(
  data: TabularDataset,
  scores?: Float64Array,
  opts: {
    bins?: number;
    sampleSize?: number;
    seed?: number;
    /** Time slice (e.g. cutoff date) per row: enables threshold calibration. */
    slices?: readonly string[];
    /** Calibration and quality-range settings (monitoring config). */
    config?: Pick<
      MonitoringConfig,
      "psiDrift" | "jsDrift" | "features" | "calibration" | "rangeMargin" | "outOfRangeTolerance"
    >;
  } = {},
): ReferenceProfile {
  const bins = opts.bins ?? 10;
  const sampleSize = opts.sampleSize ?? 2000;
  const features = data.features.map((f): FeatureProfile => {
    if (f.kind === "numeric") return numericProfile(f.name, f.values, bins, sampleSize, opts.seed ?? 17);
    const counts = new Array<number>(f.categories.length + 1).fill(0);
    for (let i = 0; i < f.codes.length; i++) counts[f.codes[i] >= 0 ? f.codes[i] : f.categories.length]++;
    return {
      name: f.name,
      kind: "categorical",
      categories: [...f.categories],
      counts,
      n: data.nRows,
      nullRate: data.nRows ? counts[f.categories.length] / data.nRows : 0,
    };
  });
  const profile: ReferenceProfile = {
    format: "telco-reference-profile",
    version: 1,
    nRows: data.nRows,
    features,
  };
  const margin = opts.config?.rangeMargin ?? 0.1;
  data.features.forEach((f, j) => {
    const p = features[j];
    if (f.kind !== "numeric" || p.kind !== "numeric") return;
    const natural = opts.slices
      ? tailSpread(
          f.values,
          opts.slices,
          opts.config?.outOfRangeTolerance ?? 0.01,
          opts.config?.calibration.minSliceRows ?? 100,
        )
      : undefined;
    p.range = qualityRange(p, margin, {
      natural,
      naturalMargin: opts.config?.calibration.margin ?? 3,
      integer: isIntegerValued(f.values),
    });
  });
  if (scores)
    profile.prediction = numericProfile("churn_probability", scores, bins, sampleSize, opts.seed ?? 17);
  if (opts.slices && opts.config) {
    const calibration = calibrate(data, profile, opts.slices, opts.config, scores);
    if (calibration) profile.calibration = calibration;
  }
  return profile;
}

/** [min, max] widened by `margin` × (max − min) on each side (values just past the training range are normal). */
function widenedRange(p: NumericProfile, margin: number): QualityRange {
  const span = p.max - p.min || Math.abs(p.max) || 1;
  return { low: p.min - margin * span, high: p.max + margin * span, margin };
}

/** See QualityRange: each side widened by the largest of the margin, the natural tail movement and a count tolerance. */
function qualityRange(
  p: NumericProfile,
  margin: number,
  opts: { natural?: { low: number; high: number }; naturalMargin: number; integer: boolean },
): QualityRange {
  const span = p.max - p.min || Math.abs(p.max) || 1;
  const side = (natural: number | undefined, extreme: number): { by: WidenReason; width: number } => {
    const candidates: { by: WidenReason; width: number }[] = [{ by: "margin", width: margin * span }];
    if (natural !== undefined) candidates.push({ by: "natural", width: opts.naturalMargin * natural });
    if (opts.integer) candidates.push({ by: "count", width: 3 * Math.sqrt(Math.max(Math.abs(extreme), 1)) });
    return candidates.reduce((a, b) => (b.width > a.width ? b : a));
  };
  const lo = side(opts.natural?.low, p.min);
  const hi = side(opts.natural?.high, p.max);
  return {
    low: p.min - lo.width,
    high: p.max + hi.width,
    margin,
    widen: { low: lo.width, high: hi.width, by: { low: lo.by, high: hi.by } },
  };
}

function isIntegerValued(values: Float64Array): boolean {
  let seen = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    if (!Number.isInteger(v)) return false;
    seen = true;
  }
  return seen;
}

/**
 * How much the tails move between time slices of the reference: the spread (max − min across slices)
 * of each slice's lower and upper quantile at `tolerance`, the share the out-of-range check allows.
 * Heavy-tailed counts (outages in a region hit by a storm) move a lot from one month to the next.
 */
function tailSpread(
  values: Float64Array,
  slices: readonly string[],
  tolerance: number,
  minSliceRows: number,
): { low: number; high: number } | undefined {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < slices.length && i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    const list = groups.get(slices[i]) ?? [];
    list.push(v);
    groups.set(slices[i], list);
  }
  const usable = [...groups.values()].filter((v) => v.length >= minSliceRows);
  if (usable.length < 2) return undefined;
  const lows = usable.map((v) => quantileOf(v, tolerance));
  const highs = usable.map((v) => quantileOf(v, 1 - tolerance));
  return { low: Math.max(...lows) - Math.min(...lows), high: Math.max(...highs) - Math.min(...highs) };
}

function calibrate(
  data: TabularDataset,
  profile: ReferenceProfile,
  slices: readonly string[],
  config: Pick<MonitoringConfig, "psiDrift" | "jsDrift" | "features" | "calibration">,
  scores?: Float64Array,
): DriftCalibration | undefined {
  const { quantile: q, margin, minSliceRows } = config.calibration;
  const jsCap = config.calibration.jsCap ?? 0.5;
  const settings = { quantile: q, margin, jsCap };
  const groups = new Map<string, number[]>();
  for (let i = 0; i < slices.length && i < data.nRows; i++) {
    const list = groups.get(slices[i]) ?? [];
    list.push(i);
    groups.set(slices[i], list);
  }
  const kept = [...groups.entries()]
    .filter(([, rows]) => rows.length >= minSliceRows)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (kept.length < 2) return undefined;
  const labels = kept.map(([label]) => label);
  const usable = kept.map(([, rows]) => rows);
  const out: DriftCalibration = {
    slices: usable.length,
    labels,
    quantile: q,
    margin,
    method: "pairs-robust",
    jsCap,
    features: {},
  };
  data.features.forEach((f, j) => {
    const ref = profile.features[j];
    const override = config.features[f.name] ?? {};
    if (f.kind === "numeric" && ref.kind === "numeric") {
      const edges = Float64Array.from(ref.edges);
      out.features[f.name] = calibrateFeature({
        test: "psi",
        slices: usable.map((rows) =>
          histogram(
            Float64Array.from(rows, (r) => f.values[r]),
            edges,
          ),
        ),
        labels,
        whole: Float64Array.from(ref.counts),
        effect: (a, b) => psi(a, b),
        floor: override.psi ?? config.psiDrift,
        settings,
      });
    } else if (f.kind === "categorical" && ref.kind === "categorical") {
      out.features[f.name] = calibrateFeature({
        test: "js",
        slices: usable.map((rows) =>
          categoryCounts(
            Int32Array.from(rows, (r) => f.codes[r]),
            f.categories.length,
          ),
        ),
        labels,
        whole: Float64Array.from(ref.counts),
        effect: (a, b) => jensenShannonDistance(a, b),
        floor: override.js ?? config.jsDrift,
        settings,
      });
    }
  });
  if (scores && profile.prediction) {
    // Score drift between slices: how much the model's output moves from one cutoff to another.
    const edges = Float64Array.from(profile.prediction.edges);
    out.prediction = calibrateFeature({
      test: "psi",
      slices: usable.map((rows) =>
        histogram(
          Float64Array.from(rows, (r) => scores[r]),
          edges,
        ),
      ),
      labels,
      whole: Float64Array.from(profile.prediction.counts),
      effect: (a, b) => psi(a, b),
      floor: config.psiDrift,
      settings,
    });
  }
  return out;
}

function numericProfile(
  name: string,
  values: Float64Array,
  bins: number,
  sampleSize: number,
  seed: number,
): NumericProfile {
  const edges = quantileEdges(values, bins);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let nulls = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) nulls++;
    else {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return {
    name,
    kind: "numeric",
    edges: Array.from(edges),
    counts: Array.from(histogram(values, edges)),
    n: values.length,
    nullRate: values.length ? nulls / values.length : 0,
    min: Number.isFinite(min) ? min : 0,
    max: Number.isFinite(max) ? max : 0,
    sample: reservoirSample(values, sampleSize, seed),
  };
}

/** Algorithm R with a small seeded LCG: a deterministic uniform sample of non-missing values. */
function reservoirSample(values: Float64Array, k: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed >>> 0;
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    seen++;
    if (out.length < k) out.push(v);
    else {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const j = s % seen;
      if (j < k) out[j] = v;
    }
  }
  return out;
}

/**
 * Compares current data (and scores) against the reference: one drift test per feature chosen by
 * type and sample size, prediction drift, and data-quality checks (nulls, out-of-range, unseen categories).
 */
export function compareToReference(
  profile: ReferenceProfile,
  current: TabularDataset,
  currentScores: Float64Array | undefined,
  config: MonitoringConfig,
): DriftReport {
  const minSamples = config.minSamples;
  if (current.nRows < minSamples) {
    // A handful of rows says nothing about a distribution: report "not enough data", never drift.
    return {
      drift: false,
      enoughData: false,
      minSamples,
      nReference: profile.nRows,
      nCurrent: current.nRows,
      features: profile.features.map((f) => ({
        name: f.name,
        test: "none",
        score: Number.NaN,
        threshold: Number.NaN,
        drift: false,
        warn: false,
      })),
      predictionDrift: null,
      quality: { ok: true, issues: [] },
    };
  }
  const byName = new Map(current.features.map((f) => [f.name, f]));
  const features: FeatureDrift[] = [];
  const issues: QualityIssue[] = [];
  const large = current.nRows >= config.largeSampleThreshold;
  for (const ref of profile.features) {
    const col = byName.get(ref.name);
    if (!col) {
      issues.push({
        feature: ref.name,
        kind: "null_rate",
        value: 1,
        reference: ref.nullRate,
        tolerance: config.nullRateTolerance,
      });
      continue;
    }
    const override = config.features[ref.name] ?? {};
    const calibrated = profile.calibration?.features[ref.name];
    if (ref.kind === "numeric") {
      const values = col.kind === "numeric" ? col.values : new Float64Array(current.nRows).fill(Number.NaN);
      features.push(numericDrift(ref, values, large, config, override, calibrated));
      issues.push(...numericQuality(ref, values, config));
    } else {
      const { counts, unseen, unseenExamples } = categoricalCounts(ref, col, current.nRows);
      features.push(categoricalDrift(ref, counts, large, config, override, calibrated));
      const nullRate = current.nRows ? counts[ref.categories.length] / current.nRows : 0;
      if (nullRate - ref.nullRate > config.nullRateTolerance) {
        issues.push({
          feature: ref.name,
          kind: "null_rate",
          value: nullRate,
          reference: ref.nullRate,
          tolerance: config.nullRateTolerance,
        });
      }
      if (unseen > 0) {
        issues.push({
          feature: ref.name,
          kind: "unseen_category",
          value: unseen / Math.max(1, current.nRows),
          reference: 0,
          tolerance: 0,
          examples: unseenExamples,
        });
      }
    }
  }
  let predictionDrift: DriftReport["predictionDrift"] = null;
  if (profile.prediction && currentScores) {
    const d = numericDrift(
      profile.prediction,
      currentScores,
      currentScores.length >= config.largeSampleThreshold,
      config,
      {},
      profile.calibration?.prediction,
    );
    predictionDrift = {
      ...d,
      referenceMean: meanOfProfile(profile.prediction),
      currentMean: mean(currentScores),
    };
  }
  return {
    // Input drift only: a moved score distribution is reported in predictionDrift and alerts on its own
    // rule (prediction_drift), since scores also move when a stable population ages past the training window.
    drift: features.some((f) => f.drift),
    enoughData: true,
    minSamples,
    nReference: profile.nRows,
    nCurrent: current.nRows,
    features,
    predictionDrift,
    quality: { ok: issues.length === 0, issues },
  };
}

function numericDrift(
  ref: NumericProfile,
  values: Float64Array,
  large: boolean,
  config: MonitoringConfig,
  override: { psi?: number; alpha?: number },
  calibration?: SliceCalibration,
): FeatureDrift {
  const score = psi(Float64Array.from(ref.counts), histogram(values, Float64Array.from(ref.edges)));
  // An explicit per-feature setting wins over the calibration (the operator knows this feature better).
  const calibrated = override.psi === undefined ? calibration?.threshold : undefined;
  const threshold = calibrated ?? override.psi ?? config.psiDrift;
  const thresholdSource = calibrated === undefined ? "config" : "calibrated";
  if (large) {
    return {
      name: ref.name,
      test: "psi",
      score,
      threshold,
      drift: score >= threshold,
      warn: score >= Math.min(config.psiWarn, threshold) && score < threshold,
      thresholdSource,
    };
  }
  const ks = ksTwoSample(Float64Array.from(ref.sample), values);
  const alpha = override.alpha ?? config.alpha;
  // Significant is not enough: the shift must also exceed the reference's own calendar variation
  // (the p-value already stands in for the large-sample floor, as configured).
  const bound = override.psi ?? (calibration ? naturalBound(calibration) : undefined);
  const big = bound === undefined || score > bound;
  return {
    name: ref.name,
    test: "ks",
    score: ks.pValue,
    statistic: ks.statistic,
    threshold: alpha,
    drift: ks.pValue < alpha && big,
    warn: false,
    effect: score,
    effectThreshold: bound,
    effectTest: "psi",
    thresholdSource,
  };
}

function categoricalDrift(
  ref: CategoricalProfile,
  counts: Float64Array,
  large: boolean,
  config: MonitoringConfig,
  override: { js?: number; alpha?: number },
  calibration?: SliceCalibration,
): FeatureDrift {
  const calibrated = override.js === undefined ? calibration?.threshold : undefined;
  const refCounts = Float64Array.from(ref.counts);
  const score = jensenShannonDistance(refCounts, counts);
  const thresholdSource = calibrated === undefined ? "config" : "calibrated";
  if (large) {
    const threshold = calibrated ?? override.js ?? config.jsDrift;
    return {
      name: ref.name,
      test: "js",
      score,
      threshold,
      drift: score >= threshold,
      warn: false,
      thresholdSource,
    };
  }
  const chi = chiSquareTwoSample(refCounts, counts);
  const alpha = override.alpha ?? config.alpha;
  const bound = override.js ?? (calibration ? naturalBound(calibration) : undefined);
  const big = bound === undefined || score > bound;
  return {
    name: ref.name,
    test: "chi2",
    score: chi.pValue,
    statistic: chi.statistic,
    threshold: alpha,
    drift: chi.pValue < alpha && big,
    warn: false,
    effect: score,
    effectThreshold: bound,
    effectTest: "js",
    thresholdSource,
  };
}

/** Maps the current column onto the reference vocabulary by category name; unseen values count as missing. */
function categoricalCounts(
  ref: CategoricalProfile,
  col: TabularDataset["features"][number],
  n: number,
): { counts: Float64Array; unseen: number; unseenExamples: string[] } {
  const counts = new Float64Array(ref.categories.length + 1);
  const index = new Map(ref.categories.map((c, i) => [c, i]));
  let unseen = 0;
  const examples = new Set<string>();
  if (col.kind !== "categorical") {
    counts[ref.categories.length] = n;
    return { counts, unseen: 0, unseenExamples: [] };
  }
  const remap = col.categories.map((c) => index.get(c) ?? -1);
  for (let i = 0; i < col.codes.length; i++) {
    const code = col.codes[i];
    if (code < 0) {
      counts[ref.categories.length]++;
      continue;
    }
    const mapped = remap[code];
    if (mapped < 0) {
      unseen++;
      // Served values come from API callers: personal data in them never reaches a report or an alert.
      if (examples.size < 5) examples.add(maskPii(col.categories[code]).slice(0, 64));
      counts[ref.categories.length]++;
    } else counts[mapped]++;
  }
  return { counts, unseen, unseenExamples: [...examples] };
}

function numericQuality(ref: NumericProfile, values: Float64Array, config: MonitoringConfig): QualityIssue[] {
  const out: QualityIssue[] = [];
  // Profiles written before ranges existed fall back to [min, max] widened by the configured margin.
  const { low, high } = ref.range ?? widenedRange(ref, config.rangeMargin);
  let nulls = 0;
  let outside = 0;
  let worst = Number.NaN;
  let worstPast = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) nulls++;
    else if (v < low || v > high) {
      outside++;
      const past = v < low ? low - v : v - high;
      if (past > worstPast) {
        worstPast = past;
        worst = v;
      }
    }
  }
  const n = Math.max(1, values.length);
  if (nulls / n - ref.nullRate > config.nullRateTolerance) {
    out.push({
      feature: ref.name,
      kind: "null_rate",
      value: nulls / n,
      reference: ref.nullRate,
      tolerance: config.nullRateTolerance,
    });
  }
  if (outside / n > config.outOfRangeTolerance) {
    out.push({
      feature: ref.name,
      kind: "out_of_range",
      value: outside / n,
      reference: 0,
      tolerance: config.outOfRangeTolerance,
      range: { low, high },
      worst,
    });
  }
  return out;
}

function mean(values: Float64Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isNaN(values[i])) {
      s += values[i];
      n++;
    }
  }
  return n ? s / n : Number.NaN;
}

function meanOfProfile(p: NumericProfile): number {
  return mean(Float64Array.from(p.sample));
}
