import { maskPii } from "../../platform/pii/index.ts";
import type { TabularDataset } from "../training/dataset.ts";
import { histogram } from "./drift-stats.ts";
import type { FeatureProfile, NumericProfile, ReferenceProfile } from "./reference-profile.ts";

/**
 * Reference-vs-current distribution of one feature on the reference's own bins (quantile bins for
 * numeric features, the reference vocabulary for categorical ones), as shares of rows: what a
 * monitor run compared, small enough to keep in its snapshot and draw as overlaid bars.
 */
export interface FeatureDistribution {
  name: string;
  kind: "numeric" | "categorical";
  /** One label per bin: "[a, b)" ranges, or category names; the last bin is "missing". */
  bins: string[];
  /** Share of reference rows per bin (sums to 1 when the reference has rows). */
  reference: number[];
  /** Share of current rows per bin (current values outside the vocabulary count as "unseen"). */
  current: number[];
  n_reference: number;
  n_current: number;
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

function shares(counts: ArrayLike<number>): number[] {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  return Array.from(counts, (c) => (total > 0 ? Number((c / total).toFixed(6)) : 0));
}

function numericBins(p: NumericProfile): string[] {
  const e = p.edges;
  const labels = e.length === 0 ? ["all"] : [`< ${fmt(e[0])}`];
  for (let i = 1; i < e.length; i++) labels.push(`[${fmt(e[i - 1])}, ${fmt(e[i])})`);
  if (e.length > 0) labels.push(`≥ ${fmt(e[e.length - 1])}`);
  return [...labels, "missing"];
}

function one(profile: FeatureProfile, col: TabularDataset["features"][number] | undefined, n: number) {
  if (profile.kind === "numeric") {
    const values = col?.kind === "numeric" ? col.values : new Float64Array(n).fill(Number.NaN);
    const current = histogram(values, Float64Array.from(profile.edges));
    // The reference's counts hold edges+1 value bins then one missing bin, like `histogram`.
    return { bins: numericBins(profile), reference: shares(profile.counts), current: shares(current) };
  }
  const index = new Map(profile.categories.map((c, i) => [c, i]));
  const counts = new Float64Array(profile.categories.length + 2); // categories, missing, unseen
  const missing = profile.categories.length;
  if (col?.kind === "categorical") {
    const remap = col.categories.map((c) => index.get(c) ?? -1);
    for (let i = 0; i < col.codes.length; i++) {
      const code = col.codes[i];
      counts[code < 0 ? missing : remap[code] < 0 ? missing + 1 : remap[code]]++;
    }
  } else counts[missing] = n;
  return {
    // Category names come from the training data, but mask them anyway: labels reach a page.
    bins: [...profile.categories.map((c) => maskPii(c).slice(0, 64)), "missing", "unseen"],
    reference: shares([...profile.counts, 0]),
    current: shares(counts),
  };
}

/** Each profiled feature's (and the score's, as `churn_probability`) reference and current shares. */
export function featureDistributions(
  profile: ReferenceProfile,
  current: TabularDataset,
  scores?: Float64Array,
): FeatureDistribution[] {
  const cols = new Map(current.features.map((c) => [c.name, c]));
  const out: FeatureDistribution[] = profile.features.map((f) => ({
    name: f.name,
    kind: f.kind,
    ...one(f, cols.get(f.name), current.nRows),
    n_reference: f.n,
    n_current: current.nRows,
  }));
  if (profile.prediction && scores)
    out.push({
      name: "churn_probability",
      kind: "numeric",
      ...one(
        profile.prediction,
        { name: "churn_probability", kind: "numeric", values: scores },
        scores.length,
      ),
      n_reference: profile.prediction.n,
      n_current: scores.length,
    });
  return out;
}
