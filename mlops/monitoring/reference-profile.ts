import type { MonitoringConfig } from "../../platform/config/sections/monitoring.ts";
import { maskPii } from "../../platform/pii/index.ts";
import type { TabularDataset } from "../training/dataset.ts";
import {
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
}

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

export interface ReferenceProfile {
  format: "telco-reference-profile";
  version: 1;
  nRows: number;
  features: FeatureProfile[];
  prediction?: NumericProfile;
}

export interface FeatureDrift {
  name: string;
  test: "psi" | "js" | "ks" | "chi2";
  /** PSI / JS distance for large samples; the p-value for KS / chi-square. */
  score: number;
  threshold: number;
  drift: boolean;
  /** PSI between the warning and drift thresholds. */
  warn: boolean;
  statistic?: number;
}

export interface QualityIssue {
  feature: string;
  kind: "null_rate" | "out_of_range" | "unseen_category";
  value: number;
  reference: number;
  tolerance: number;
  examples?: string[];
}

export interface DriftReport {
  drift: boolean;
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
  opts: { bins?: number; sampleSize?: number; seed?: number } = {},
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
  if (scores)
    profile.prediction = numericProfile("churn_probability", scores, bins, sampleSize, opts.seed ?? 17);
  return profile;
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
    if (ref.kind === "numeric") {
      const values = col.kind === "numeric" ? col.values : new Float64Array(current.nRows).fill(Number.NaN);
      features.push(numericDrift(ref, values, large, config, override));
      issues.push(...numericQuality(ref, values, config));
    } else {
      const { counts, unseen, unseenExamples } = categoricalCounts(ref, col, current.nRows);
      features.push(categoricalDrift(ref, counts, large, config, override));
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
    );
    predictionDrift = {
      ...d,
      referenceMean: meanOfProfile(profile.prediction),
      currentMean: mean(currentScores),
    };
  }
  return {
    drift: features.some((f) => f.drift) || Boolean(predictionDrift?.drift),
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
): FeatureDrift {
  if (large) {
    const score = psi(Float64Array.from(ref.counts), histogram(values, Float64Array.from(ref.edges)));
    const threshold = override.psi ?? config.psiDrift;
    return {
      name: ref.name,
      test: "psi",
      score,
      threshold,
      drift: score >= threshold,
      warn: score >= config.psiWarn && score < threshold,
    };
  }
  const ks = ksTwoSample(Float64Array.from(ref.sample), values);
  const alpha = override.alpha ?? config.alpha;
  return {
    name: ref.name,
    test: "ks",
    score: ks.pValue,
    statistic: ks.statistic,
    threshold: alpha,
    drift: ks.pValue < alpha,
    warn: false,
  };
}

function categoricalDrift(
  ref: CategoricalProfile,
  counts: Float64Array,
  large: boolean,
  config: MonitoringConfig,
  override: { js?: number; alpha?: number },
): FeatureDrift {
  const refCounts = Float64Array.from(ref.counts);
  if (large) {
    const score = jensenShannonDistance(refCounts, counts);
    const threshold = override.js ?? config.jsDrift;
    return { name: ref.name, test: "js", score, threshold, drift: score >= threshold, warn: false };
  }
  const chi = chiSquareTwoSample(refCounts, counts);
  const alpha = override.alpha ?? config.alpha;
  return {
    name: ref.name,
    test: "chi2",
    score: chi.pValue,
    statistic: chi.statistic,
    threshold: alpha,
    drift: chi.pValue < alpha,
    warn: false,
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
  let nulls = 0;
  let outside = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) nulls++;
    else if (v < ref.min || v > ref.max) outside++;
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
