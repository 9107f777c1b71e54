import { crossValidate } from "./cv.ts";
import type { TabularDataset } from "./dataset.ts";
import type { ModelKind, ModelSpec } from "./learners.ts";
import { seededRandom } from "./random.ts";

/**
 * Budgeted, seeded random search with K-fold CV. Random search is used rather than TPE because
 * with a few dozen trials on a 2-core budget it is as good in practice and has no state to get
 * wrong; every trial is scored on the same folds, so trials are comparable. With the `auto` preset
 * the portfolio's candidates are the first trials (as FLAML starts from known-good configurations),
 * so the search can only match or beat what `auto` would have chosen by CV.
 */

type Sampler = (random: () => number) => number;

const logUniform =
  (lo: number, hi: number): Sampler =>
  (r) =>
    Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo)));
const uniform =
  (lo: number, hi: number): Sampler =>
  (r) =>
    lo + r() * (hi - lo);
const intLog =
  (lo: number, hi: number): Sampler =>
  (r) =>
    Math.round(logUniform(lo, hi)(r));
const choice =
  (values: number[]): Sampler =>
  (r) =>
    values[Math.floor(r() * values.length)];

/** Search spaces: GBDT structure and regularisation; logistic-regression penalty. */
export const SEARCH_SPACES: Record<ModelKind, Record<string, Sampler>> = {
  gbdt: {
    learningRate: logUniform(0.01, 0.2),
    numLeaves: intLog(4, 64),
    maxDepth: choice([3, 4, 5, 6, 8, -1]),
    minDataInLeaf: intLog(5, 200),
    lambdaL2: logUniform(1e-3, 30),
    featureFraction: uniform(0.5, 1),
    baggingFraction: uniform(0.6, 1),
    minSplitGain: choice([0, 0.01, 0.1]),
  },
  logreg: { l2: logUniform(1e-3, 1e3) },
};

const round4 = (v: number) => (Number.isInteger(v) ? v : Number(v.toPrecision(4)));

/** Draws `count` parameter sets from a kind's search space (deterministic for a seed). */
export function sampleParams(kind: ModelKind, count: number, seed: number): Record<string, number>[] {
  const random = seededRandom(seed);
  const space = SEARCH_SPACES[kind];
  return Array.from({ length: count }, () => {
    const params: Record<string, number> = {};
    for (const [name, sample] of Object.entries(space)) params[name] = round4(sample(random));
    return params;
  });
}

export interface Trial {
  trial: number;
  /** A portfolio candidate's name; absent for random draws. */
  name?: string;
  params: Record<string, number>;
  cv_auc: number;
  cv_auc_std: number;
  cv_logloss: number;
  /** AUC of each fold, in fold order. */
  fold_auc: number[];
  duration_ms: number;
}

export interface TuneResult {
  kind: ModelKind;
  trials_requested: number;
  trials_run: number;
  folds: number;
  seed: number;
  best: Trial;
  trials: Trial[];
  stopped_by_budget: boolean;
}

/** Boosting rounds of a random GBDT trial: enough for its learning rate, early stopping decides. */
export function roundsFor(learningRate: number): number {
  return Math.min(2500, Math.max(100, Math.round(25 / learningRate)));
}

/**
 * Random search: `trials` parameter sets over the spec's params (the portfolio's candidates first, then
 * random draws), each scored by K-fold CV AUC on the same folds. Stops early when `budgetMs` is spent
 * (at least one trial always runs).
 */
export async function randomSearch(
  spec: ModelSpec,
  data: TabularDataset,
  opts: {
    trials: number;
    folds: number;
    seed: number;
    groups?: readonly string[];
    /** Precomputed fold of every row (shared with a benchmark); default: stratifiedKFold. */
    assignment?: Int32Array;
    budgetMs?: number;
    onTrial?(trial: Trial): void;
  },
): Promise<TuneResult> {
  const started = performance.now();
  const kind = spec.kind;
  const overrides = spec.overrides ?? {};
  const initial = (spec.portfolio ?? [])
    .slice(0, opts.trials)
    .map((c) => ({ name: c.name, params: c.overlay }));
  const random = sampleParams(kind, opts.trials - initial.length, opts.seed + 7919).map((params) =>
    kind === "gbdt" && !("numTrees" in overrides)
      ? { name: undefined, params: { ...params, numTrees: roundsFor(params.learningRate) } }
      : { name: undefined, params },
  );
  const candidates: { name?: string; params: Record<string, number> }[] = [...initial, ...random];
  const trials: Trial[] = [];
  let stoppedByBudget = false;
  for (let t = 0; t < candidates.length; t++) {
    if (t > 0 && opts.budgetMs !== undefined && performance.now() - started > opts.budgetMs) {
      stoppedByBudget = true;
      break;
    }
    const t0 = performance.now();
    const cv = await crossValidate(
      { kind, preset: "custom", params: { ...spec.params, ...candidates[t].params, ...overrides } },
      data,
      {
        folds: opts.folds,
        seed: opts.seed,
        groups: opts.groups,
        assignment: opts.assignment,
      },
    );
    const trial: Trial = {
      trial: t + 1,
      ...(candidates[t].name ? { name: candidates[t].name } : {}),
      params: candidates[t].params,
      cv_auc: cv.auc_mean,
      cv_auc_std: cv.auc_std,
      cv_logloss: cv.logloss_mean,
      fold_auc: cv.per_fold.map((f) => f.auc),
      duration_ms: Math.round(performance.now() - t0),
    };
    trials.push(trial);
    opts.onTrial?.(trial);
  }
  const best = trials.reduce((a, b) => (b.cv_auc > a.cv_auc ? b : a));
  return {
    kind,
    trials_requested: opts.trials,
    trials_run: trials.length,
    folds: opts.folds,
    seed: opts.seed,
    best,
    trials,
    stopped_by_budget: stoppedByBudget,
  };
}
