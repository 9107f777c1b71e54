/**
 * Pre-binning: every feature is mapped once to ≤255 small integer bins (Uint8Array), bin 0 = missing.
 * Numeric bins are quantile bins whose upper bounds are float32-representable, so a split "x <= t" means
 * the same thing in float64 (our predictor) and float32 (ONNX runtimes) for every value seen in training.
 */
import type { TabularDataset } from "../dataset.ts";

/** How one feature is binned. Numeric: bin = 1 + #{t in upperBounds : t < x}; categorical: bin per code. */
export interface FeatureBinning {
  name: string;
  kind: "numeric" | "categorical";
  /** Number of bins including the missing bin 0. */
  nBins: number;
  /** Numeric only: sorted float32-exact thresholds between bins 1..nBins-1 (length nBins - 2). */
  upperBounds: Float64Array;
  /** Categorical only: training vocabulary (model codes index into it). */
  categories: string[];
  /** Categorical only: bin of each model code (rare or unseen-in-training codes share the last, "other" bin). */
  codeToBin: Int32Array;
  /** Categorical only: model code of each bin (-1 for bin 0 and the "other" bin). */
  binToCode: Int32Array;
}

export interface BinnedData {
  nRows: number;
  nFeatures: number;
  /** Column-major bins: feature f of row r is at f * nRows + r. Backed by a SharedArrayBuffer. */
  bins: Uint8Array;
  /** Offset of each feature's first bin in a histogram (length nFeatures + 1). */
  binOffset: Int32Array;
  binnings: FeatureBinning[];
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Largest float32 value ≤ v (v finite). */
export function float32AtMost(v: number): number {
  const r = Math.fround(v);
  if (r <= v) return r;
  // Step one float32 ulp towards -infinity.
  F32[0] = r;
  if (r > 0) U32[0] -= 1;
  else if (r < 0) U32[0] += 1;
  else return -1.401298464324817e-45;
  return F32[0];
}

/** Smallest float32 value ≥ v (v finite). */
export function float32AtLeast(v: number): number {
  return -float32AtMost(-v);
}

/**
 * A threshold t between consecutive distinct values a < b with a <= t < b that also separates their float32
 * roundings (fround(a) <= t < fround(b)); NaN when float32 cannot separate them.
 */
export function separatingThreshold(a: number, b: number): number {
  let t = float32AtMost(a + (b - a) / 2);
  if (t < a) t = float32AtLeast(a);
  if (t < a || t >= b || Math.fround(a) > t || Math.fround(b) <= t) return Number.NaN;
  return t;
}

/** Quantile thresholds for one numeric column (sampled to at most `sampleSize` values, deterministic). */
export function numericUpperBounds(
  values: Float64Array,
  maxBins: number,
  sampleSize = 200_000,
): Float64Array {
  const n = values.length;
  const step = n > sampleSize ? n / sampleSize : 1;
  let m = 0;
  const sorted = new Float64Array(Math.min(n, sampleSize + 1));
  for (let p = 0; p < n && m < sorted.length; p += step) {
    const v = values[Math.floor(p)];
    if (!Number.isNaN(v)) sorted[m++] = v;
  }
  const sample = sorted.subarray(0, m).sort();
  // Distinct values with counts.
  const distinct = new Float64Array(m);
  const counts = new Float64Array(m);
  let nd = 0;
  for (let i = 0; i < m; i++) {
    if (nd === 0 || sample[i] !== distinct[nd - 1]) {
      distinct[nd] = sample[i];
      counts[nd++] = 1;
    } else counts[nd - 1]++;
  }
  const maxValueBins = maxBins - 1; // bin 0 is reserved for missing
  const bounds: number[] = [];
  const addBound = (a: number, b: number) => {
    const t = separatingThreshold(a, b);
    if (!Number.isNaN(t) && (bounds.length === 0 || t > bounds[bounds.length - 1])) bounds.push(t);
  };
  if (nd <= maxValueBins) {
    for (let i = 0; i + 1 < nd; i++) addBound(distinct[i], distinct[i + 1]);
  } else {
    // Greedy equal-frequency cuts; a heavy single value gets its own bin.
    let remaining = m;
    let binsLeft = maxValueBins;
    let acc = 0;
    for (let i = 0; i + 1 < nd && binsLeft > 1; i++) {
      acc += counts[i];
      const target = remaining / binsLeft;
      if (acc >= target || counts[i + 1] >= target) {
        addBound(distinct[i], distinct[i + 1]);
        remaining -= acc;
        acc = 0;
        binsLeft--;
      }
    }
  }
  return Float64Array.from(bounds);
}

/** Bin index of a numeric value: 0 for NaN, else 1 + number of bounds strictly below float32(x). */
export function numericBin(upperBounds: Float64Array, value: number): number {
  if (Number.isNaN(value)) return 0;
  const x = Math.fround(value);
  let lo = 0;
  let hi = upperBounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (upperBounds[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/** Learns the binning of every feature of the training set. */
export function fitBinning(data: TabularDataset, maxBins: number): FeatureBinning[] {
  return data.features.map((f): FeatureBinning => {
    if (f.kind === "numeric") {
      const upperBounds = numericUpperBounds(f.values, maxBins);
      return {
        name: f.name,
        kind: "numeric",
        nBins: upperBounds.length + 2,
        upperBounds,
        categories: [],
        codeToBin: new Int32Array(0),
        binToCode: new Int32Array(0),
      };
    }
    const nCodes = f.categories.length;
    const counts = new Float64Array(nCodes);
    for (let i = 0; i < f.codes.length; i++) if (f.codes[i] >= 0) counts[f.codes[i]]++;
    // The most frequent categories get their own bin; the rest share an "other" bin that never goes left.
    const order = Array.from({ length: nCodes }, (_, c) => c).filter((c) => counts[c] > 0);
    order.sort((a, b) => counts[b] - counts[a] || a - b);
    const hasOther = order.length < nCodes || order.length > maxBins - 1;
    const ownBins = Math.min(order.length, maxBins - (hasOther ? 2 : 1));
    const codeToBin = new Int32Array(nCodes);
    const otherBin = ownBins + 1;
    codeToBin.fill(hasOther ? otherBin : 0);
    const binToCode = new Int32Array(ownBins + (hasOther ? 2 : 1)).fill(-1);
    for (let k = 0; k < ownBins; k++) {
      codeToBin[order[k]] = k + 1;
      binToCode[k + 1] = order[k];
    }
    return {
      name: f.name,
      kind: "categorical",
      nBins: binToCode.length,
      upperBounds: new Float64Array(0),
      categories: [...f.categories],
      codeToBin,
      binToCode,
    };
  });
}

/** Applies a binning to a dataset whose columns are in the same order and coding as the training set. */
export function binDataset(data: TabularDataset, binnings: FeatureBinning[]): BinnedData {
  const nRows = data.nRows;
  const nFeatures = binnings.length;
  const bins = new Uint8Array(new SharedArrayBuffer(Math.max(1, nRows * nFeatures)));
  const binOffset = new Int32Array(nFeatures + 1);
  for (let f = 0; f < nFeatures; f++) binOffset[f + 1] = binOffset[f] + binnings[f].nBins;
  for (let f = 0; f < nFeatures; f++) {
    const col = data.features[f];
    const bn = binnings[f];
    const base = f * nRows;
    if (col.kind === "numeric") {
      for (let r = 0; r < nRows; r++) bins[base + r] = numericBin(bn.upperBounds, col.values[r]);
    } else {
      for (let r = 0; r < nRows; r++) {
        const c = col.codes[r];
        bins[base + r] = c < 0 || c >= bn.codeToBin.length ? 0 : bn.codeToBin[c];
      }
    }
  }
  return { nRows, nFeatures, bins, binOffset, binnings };
}
