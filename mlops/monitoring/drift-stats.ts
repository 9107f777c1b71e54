/**
 * Distribution-shift statistics used by monitoring. Pure functions on typed arrays.
 *
 * Which test for which data (see docs/mlops/monitoring.md):
 * - large samples: PSI and Jensen–Shannon distance on binned distributions (effect sizes: with
 *   100k rows every p-value is tiny, so p-value tests would flag harmless shifts);
 * - small samples: two-sample Kolmogorov–Smirnov (numeric) and chi-square (categorical), whose
 *   p-values account for sampling noise.
 */

/** Empty bins get this much probability mass before normalising, so log terms stay finite. */
export const DEFAULT_SMOOTHING = 1e-4;

/** Quantile bin edges (interior cut points) of the reference sample; NaNs ignored. */
export function quantileEdges(reference: Float64Array, bins = 10): Float64Array {
  const sorted = Float64Array.from(reference.filter((v) => !Number.isNaN(v))).sort();
  if (sorted.length === 0) return new Float64Array(0);
  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const q = sorted[Math.min(sorted.length - 1, Math.floor((b * sorted.length) / bins))];
    if (edges.length === 0 || q > edges[edges.length - 1]) edges.push(q);
  }
  return Float64Array.from(edges);
}

/**
 * Counts per bin for numeric values: bin i holds edges[i-1] ≤ v < edges[i]; one extra trailing
 * bin counts missing values (NaN), so a rise in nulls shows up as drift too.
 */
export function histogram(values: Float64Array, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 2);
  const missing = edges.length + 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) {
      counts[missing]++;
      continue;
    }
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v < edges[mid]) hi = mid;
      else lo = mid + 1;
    }
    counts[lo]++;
  }
  return counts;
}

/** Counts per category (codes ≥ 0; code -1 = missing goes to the last slot). */
export function categoryCounts(codes: Int32Array, nCategories: number): Float64Array {
  const counts = new Float64Array(nCategories + 1);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    counts[c >= 0 && c < nCategories ? c : nCategories]++;
  }
  return counts;
}

/** Normalises counts to probabilities with additive smoothing of empty bins. */
export function toProbabilities(counts: Float64Array, smoothing = DEFAULT_SMOOTHING): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  const p = new Float64Array(counts.length);
  if (total === 0) return p.fill(1 / counts.length);
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    p[i] = counts[i] / total + smoothing;
    sum += p[i];
  }
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/** Population Stability Index: Σ (q − p) · ln(q / p). Rule of thumb: < 0.1 stable, 0.1–0.25 moderate, > 0.25 major. */
export function psi(
  referenceCounts: Float64Array,
  currentCounts: Float64Array,
  smoothing = DEFAULT_SMOOTHING,
): number {
  assertSameLength(referenceCounts, currentCounts);
  const p = toProbabilities(referenceCounts, smoothing);
  const q = toProbabilities(currentCounts, smoothing);
  let s = 0;
  for (let i = 0; i < p.length; i++) s += (q[i] - p[i]) * Math.log(q[i] / p[i]);
  return s;
}

/** Jensen–Shannon distance (square root of the divergence, log base 2): 0 identical … 1 disjoint. */
export function jensenShannonDistance(
  referenceCounts: Float64Array,
  currentCounts: Float64Array,
  smoothing = DEFAULT_SMOOTHING,
): number {
  assertSameLength(referenceCounts, currentCounts);
  const p = toProbabilities(referenceCounts, smoothing);
  const q = toProbabilities(currentCounts, smoothing);
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + q[i]) / 2;
    if (p[i] > 0) js += 0.5 * p[i] * Math.log2(p[i] / m);
    if (q[i] > 0) js += 0.5 * q[i] * Math.log2(q[i] / m);
  }
  return Math.sqrt(Math.max(0, js));
}

/** Two-sample Kolmogorov–Smirnov test (NaNs ignored): statistic D and asymptotic p-value. */
export function ksTwoSample(a: Float64Array, b: Float64Array): { statistic: number; pValue: number } {
  const x = Float64Array.from(a.filter((v) => !Number.isNaN(v))).sort();
  const y = Float64Array.from(b.filter((v) => !Number.isNaN(v))).sort();
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return { statistic: 0, pValue: 1 };
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i], y[j]);
    while (i < n && x[i] <= v) i++;
    while (j < m && y[j] <= v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const en = Math.sqrt((n * m) / (n + m));
  return { statistic: d, pValue: kolmogorovSurvival((en + 0.12 + 0.11 / en) * d) };
}

/** Q_KS(λ) = 2 Σ (−1)^{k−1} e^{−2k²λ²}: the Kolmogorov distribution's survival function. */
function kolmogorovSurvival(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  let sign = 1;
  for (let k = 1; k <= 100; k++) {
    const term = sign * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
    sign = -sign;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * Chi-square test of homogeneity between two count vectors (2 × k table); categories empty in
 * both samples are dropped. Returns the statistic, degrees of freedom and p-value.
 */
export function chiSquareTwoSample(
  referenceCounts: Float64Array,
  currentCounts: Float64Array,
): { statistic: number; dof: number; pValue: number } {
  assertSameLength(referenceCounts, currentCounts);
  let nA = 0;
  let nB = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    nA += referenceCounts[i];
    nB += currentCounts[i];
  }
  if (nA === 0 || nB === 0) return { statistic: 0, dof: 0, pValue: 1 };
  let stat = 0;
  let k = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const col = referenceCounts[i] + currentCounts[i];
    if (col === 0) continue;
    k++;
    const eA = (col * nA) / (nA + nB);
    const eB = (col * nB) / (nA + nB);
    stat += (referenceCounts[i] - eA) ** 2 / eA + (currentCounts[i] - eB) ** 2 / eB;
  }
  const dof = Math.max(0, k - 1);
  return { statistic: stat, dof, pValue: dof === 0 ? 1 : chiSquareSurvival(stat, dof) };
}

/** P(X > x) for X ~ χ²(k), via the regularised upper incomplete gamma function Q(k/2, x/2). */
export function chiSquareSurvival(x: number, k: number): number {
  if (x <= 0) return 1;
  return regularizedGammaQ(k / 2, x / 2);
}

function regularizedGammaQ(a: number, x: number): number {
  if (x < a + 1) return 1 - gammaPSeries(a, x);
  return gammaQContinuedFraction(a, x);
}

function gammaPSeries(a: number, x: number): number {
  let sum = 1 / a;
  let term = sum;
  for (let n = 1; n < 1000; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

function gammaQContinuedFraction(a: number, x: number): number {
  // Lentz's method for the continued fraction of Γ(a, x).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Lanczos approximation of ln Γ(z). */
function logGamma(z: number): number {
  const g = 7;
  const coef = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const zz = z - 1;
  let x = coef[0];
  for (let i = 1; i < g + 2; i++) x += coef[i] / (zz + i);
  const t = zz + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (zz + 0.5) * Math.log(t) - t + Math.log(x);
}

function assertSameLength(a: Float64Array, b: Float64Array): void {
  if (a.length !== b.length)
    throw new RangeError(`count vectors differ in length (${a.length} vs ${b.length})`);
}
