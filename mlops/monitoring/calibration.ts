/**
 * Threshold calibration from the reference's own variation between time slices (one slice per training
 * cutoff date). Pure arithmetic on per-slice histograms / category counts; reference-profile.ts builds
 * the inputs and stores the result in the profile.
 *
 * Method ("pairs-robust"):
 * 1. natural variation = the effect size (PSI numeric, JS distance categorical) between every pair of
 *    slices, so trends across the training window count too;
 * 2. with at least 4 slices, one odd slice is left out: the slice whose removal lowers the quantile most,
 *    when even its closest other slice is farther from it than the bound the remaining slices set
 *    (margin × their quantile). A training month with no competitor offer at all (next months 17–20%)
 *    is such a slice; a steady trend is not (its end slice is close to its neighbour);
 * 3. bound = margin × quantile(natural) + offset, where offset is the effect size between the whole
 *    reference and the reference without the odd slice (monitoring compares against the whole
 *    reference, which still holds that slice);
 * 4. JS bounds are capped at `jsCap` (0.5): the JS distance tops out at 1, and a bound near it can never fire;
 * 5. threshold = max(floor, bound) — the floor wins over the cap.
 */

export type CalibrationTest = "psi" | "js";

export interface SliceCalibration {
  test: CalibrationTest;
  margin: number;
  /** Effect size between each pair of kept slices. */
  natural: number[];
  quantile: number;
  floor: number;
  threshold: number;
  /** How the bound was derived (absent in profiles written before "pairs-robust": plain pairs, no cap). */
  method?: "pairs" | "pairs-robust";
  /** The odd slice left out (its label and its distance to the closest other slice). */
  dropped?: { slice: string; closest: number };
  /** Effect size between the whole reference and the reference without the odd slice (0 when none). */
  offset?: number;
  /** The cap applied to this bound (JS only). */
  cap?: number;
  /** The reference's natural variation: margin × quantile + offset, capped; small samples must exceed it. */
  bound?: number;
}

export interface CalibrationSettings {
  quantile: number;
  margin: number;
  /** Largest JS bound (the JS distance is at most 1). */
  jsCap: number;
}

/** Linear-interpolated quantile of a small list. */
export function quantileOf(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

function sum(hists: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(hists[0]?.length ?? 0);
  for (const h of hists) for (let i = 0; i < h.length; i++) out[i] += h[i];
  return out;
}

/**
 * Calibrates one feature (or the score) from its per-slice histograms and the whole reference's.
 * `effect(reference, current)` is the same effect size monitoring uses.
 */
export function calibrateFeature(opts: {
  test: CalibrationTest;
  slices: readonly Float64Array[];
  labels: readonly string[];
  whole: Float64Array;
  effect: (reference: Float64Array, current: Float64Array) => number;
  floor: number;
  settings: CalibrationSettings;
}): SliceCalibration {
  const { slices, effect, settings } = opts;
  const k = slices.length;
  const d: number[][] = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let a = 0; a < k; a++)
    for (let b = a + 1; b < k; b++) {
      const e = effect(slices[a], slices[b]);
      d[a][b] = e;
      d[b][a] = e;
    }
  const pairsWithout = (skip: number): number[] => {
    const out: number[] = [];
    for (let a = 0; a < k; a++)
      for (let b = a + 1; b < k; b++) if (a !== skip && b !== skip) out.push(d[a][b]);
    return out;
  };
  let natural = pairsWithout(-1);
  let dropped: SliceCalibration["dropped"];
  let offset = 0;
  if (k >= 4) {
    // The candidate: the slice whose removal lowers the quantile most.
    let best = -1;
    let bestQ = quantileOf(natural, settings.quantile);
    for (let s = 0; s < k; s++) {
      const q = quantileOf(pairsWithout(s), settings.quantile);
      if (q < bestQ) {
        bestQ = q;
        best = s;
      }
    }
    if (best >= 0) {
      const closest = Math.min(...d[best].filter((_, j) => j !== best));
      // Odd only if every other slice is beyond the bound the remaining slices set for themselves.
      if (closest > settings.margin * bestQ) {
        natural = pairsWithout(best);
        dropped = { slice: opts.labels[best], closest };
        offset = effect(opts.whole, sum(slices.filter((_, j) => j !== best)));
      }
    }
  }
  const quant = quantileOf(natural, settings.quantile);
  const raw = settings.margin * quant + offset;
  const cap = opts.test === "js" ? settings.jsCap : undefined;
  const bound = cap === undefined ? raw : Math.min(cap, raw);
  return {
    test: opts.test,
    margin: settings.margin,
    natural,
    quantile: quant,
    floor: opts.floor,
    threshold: Math.max(opts.floor, bound),
    method: "pairs-robust",
    ...(dropped ? { dropped } : {}),
    offset,
    ...(cap === undefined ? {} : { cap }),
    bound,
  };
}

/** The bound a small-sample effect size must exceed: the stored one, or margin × quantile for older profiles. */
export function naturalBound(c: SliceCalibration): number {
  return c.bound ?? c.margin * c.quantile;
}
