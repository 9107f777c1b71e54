import { type TabularDataset, takeRows } from "./dataset.ts";
import { fitSpec, type ModelSpec, type PortfolioSelection, usesValidation } from "./learners.ts";
import { averagePrecision, brierScore, logLoss, rocAuc } from "./metrics.ts";
import { composeIndex, foldSplit, stratifiedKFold, stratifiedSplit } from "./split.ts";

/**
 * Stratified, group-aware K-fold cross-validation. For learners that early-stop (GBDT) each
 * fold's training part is split once more (80/20, seeded) so the held-out fold is never used
 * for fitting decisions; with the `auto` preset that inner split also chooses the configuration, fold
 * by fold, so the CV score measures the whole procedure.
 */

export interface FoldResult {
  fold: number;
  train_rows: number;
  valid_rows: number;
  auc: number;
  pr_auc: number;
  logloss: number;
  brier: number;
  best_iteration?: number;
  /** Preset auto: the candidate this fold chose, and how. */
  chosen?: string;
  selection?: PortfolioSelection;
  duration_ms: number;
}

export interface CvResult {
  folds: number;
  seed: number;
  per_fold: FoldResult[];
  auc_mean: number;
  auc_std: number;
  pr_auc_mean: number;
  logloss_mean: number;
  brier_mean: number;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1), 0 for a single value. */
export function std(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Runs K-fold CV of one learner and parameter set (or portfolio); `onFold` reports progress. */
export async function crossValidate(
  spec: ModelSpec,
  data: TabularDataset,
  opts: {
    folds: number;
    seed: number;
    groups?: readonly string[];
    /** Precomputed fold of every row (e.g. shared with an external benchmark); default: stratifiedKFold. */
    assignment?: Int32Array;
    onFold?(result: FoldResult): void;
  },
): Promise<CvResult> {
  const label = data.label as Uint8Array;
  const assignment = opts.assignment ?? stratifiedKFold(label, opts.folds, opts.seed, opts.groups);
  const perFold: FoldResult[] = [];
  for (let f = 0; f < opts.folds; f++) {
    const started = performance.now();
    const split = foldSplit(assignment, f);
    const validData = takeRows(data, split.test);
    let fitIdx = split.train;
    let stopData: TabularDataset | undefined;
    if (usesValidation(spec.kind)) {
      const sub = takeRows(data, split.train);
      const groups = opts.groups
        ? Array.from(split.train, (i) => (opts.groups as readonly string[])[i])
        : undefined;
      const inner = stratifiedSplit(sub.label as Uint8Array, 0.2, opts.seed + 1000 + f, groups);
      fitIdx = composeIndex(split.train, inner.train);
      stopData = takeRows(data, composeIndex(split.train, inner.test));
    }
    const fitted = await fitSpec(spec, takeRows(data, fitIdx), { valid: stopData });
    const p = fitted.model.predictProba(validData);
    const y = validData.label as Uint8Array;
    const result: FoldResult = {
      fold: f,
      train_rows: fitIdx.length,
      valid_rows: split.test.length,
      auc: rocAuc(y, p),
      pr_auc: averagePrecision(y, p),
      logloss: logLoss(y, p),
      brier: brierScore(y, p),
      duration_ms: Math.round(performance.now() - started),
    };
    const best = fitted.info.best_iteration;
    if (typeof best === "number") result.best_iteration = best;
    if (fitted.selection) {
      result.chosen = fitted.selection.chosen;
      result.selection = fitted.selection;
    }
    perFold.push(result);
    opts.onFold?.(result);
  }
  const aucs = perFold.map((r) => r.auc);
  return {
    folds: opts.folds,
    seed: opts.seed,
    per_fold: perFold,
    auc_mean: mean(aucs),
    auc_std: std(aucs),
    pr_auc_mean: mean(perFold.map((r) => r.pr_auc)),
    logloss_mean: mean(perFold.map((r) => r.logloss)),
    brier_mean: mean(perFold.map((r) => r.brier)),
  };
}
