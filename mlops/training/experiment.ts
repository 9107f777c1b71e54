import { applyCalibration, type CalibrationChoice, chooseCalibration } from "./calibration.ts";
import type { TrainingConfig } from "./config-types.ts";
import { type CvResult, crossValidate } from "./cv.ts";
import { type TabularDataset, takeRows } from "./dataset.ts";
import {
  CalibratedModel,
  type CandidateScore,
  type ExplainableModel,
  fitSpec,
  type ModelKind,
  type ModelSpec,
  type PortfolioSelection,
  resolveSpec,
  usesValidation,
} from "./learners.ts";
import type { LoadedTrainingData } from "./load.ts";
import {
  bootstrapAuc,
  type ClassificationMetrics,
  type ConfidenceInterval,
  type CurvePoint,
  classificationMetrics,
  type DecileRow,
  decileTable,
  type ReliabilityBin,
  reliabilityCurve,
  thresholdCurve,
} from "./metrics.ts";
import { bestThreshold, type ProfitCurve, profitAt, profitCurve } from "./profit.ts";
import { composeIndex, stratifiedSplit } from "./split.ts";
import { randomSearch, type TuneResult } from "./tune.ts";

/**
 * The training experiment itself, free of IO: split → (tune) → (CV) → fit → calibrate →
 * choose threshold → evaluate on the untouched test split. The caller loads data and records
 * the run (see train.ts).
 *
 * Splits are by customer (group-aware): with several cutoff dates per customer (synthetic data),
 * all of a customer's rows stay on one side, so test AUC is not inflated by memorised customers.
 */

export interface ExperimentOptions {
  model: ModelKind;
  seed: number;
  cv?: number;
  tune?: number;
  tuneBudgetMs?: number;
  preset?: string;
  params?: Record<string, unknown>;
  onStep?(message: string): void;
  onIteration?(iteration: number, total: number): void;
}

export interface ExperimentResult {
  model: ExplainableModel;
  kind: ModelKind;
  /** The preset as requested ("auto" unless given). */
  preset: string;
  /** Hyper-parameters of the final model. */
  params: Record<string, unknown>;
  /** Preset auto without tuning: the candidates' validation scores, the choice and its cost. */
  selection?: PortfolioSelection;
  fitInfo: Record<string, unknown>;
  rows: { train: number; fit: number; valid: number; test: number };
  test: ClassificationMetrics;
  testRaw: ClassificationMetrics;
  aucCi: ConfidenceInterval;
  cv?: CvResult;
  tuning?: TuneResult;
  calibration: CalibrationChoice;
  decision: {
    threshold: number;
    chosen_on: "validation";
    break_even_probability: number;
    validation_profit_brl: number;
    test: ReturnType<typeof profitAt>;
  };
  tables: {
    roc: CurvePoint[];
    deciles: DecileRow[];
    reliabilityRaw: ReliabilityBin[];
    reliabilityCalibrated: ReliabilityBin[];
    profit: ProfitCurve;
    importance: { feature: string; importance: number }[];
    importanceMeasure: string;
  };
}

const IMPORTANCE_ROWS = 5000;

/** Feature importance: mean |SHAP| (log-odds) over up to 5,000 test rows, else the model's gain. */
export function featureImportance(
  model: ExplainableModel,
  data: TabularDataset,
): { measure: string; rows: { feature: string; importance: number }[] } {
  const names = model.features.map((f) => f.name);
  if (model.shapValues) {
    const n = Math.min(data.nRows, IMPORTANCE_ROWS);
    const sample =
      n < data.nRows
        ? takeRows(
            data,
            Int32Array.from({ length: n }, (_, i) => i),
          )
        : data;
    const { values } = model.shapValues(sample);
    const nf = names.length;
    const sums = new Float64Array(nf);
    for (let i = 0; i < n; i++) for (let j = 0; j < nf; j++) sums[j] += Math.abs(values[i * nf + j]);
    return {
      measure: "mean |SHAP| (log-odds)",
      rows: names.map((feature, j) => ({ feature, importance: sums[j] / n })),
    };
  }
  const raw = model.featureImportance?.("gain");
  const rows: { feature: string; importance: number }[] = [];
  if (Array.isArray(raw) || ArrayBuffer.isView(raw)) {
    Array.from(raw as ArrayLike<unknown>).forEach((v, j) => {
      if (typeof v === "number") rows.push({ feature: names[j] ?? `f${j}`, importance: v });
      else if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        rows.push({
          feature: String(o.feature ?? names[j]),
          importance: Number(o.importance ?? o.gain ?? 0),
        });
      }
    });
  } else if (raw && typeof raw === "object") {
    for (const [feature, v] of Object.entries(raw)) rows.push({ feature, importance: Number(v) });
  }
  return { measure: "total gain", rows };
}

/** Runs the whole experiment on loaded training data. Deterministic for a seed. */
export async function runExperiment(
  loaded: LoadedTrainingData,
  opts: ExperimentOptions,
  config: TrainingConfig,
): Promise<ExperimentResult> {
  const step = opts.onStep ?? (() => {});
  const { data, groups } = loaded;
  const label = data.label as Uint8Array;
  const split = stratifiedSplit(label, config.testFraction, opts.seed, groups);
  const trainData = takeRows(data, split.train);
  const testData = takeRows(data, split.test);
  const trainGroups = Array.from(split.train, (i) => groups[i]);
  step(`split ${data.nRows} rows by customer: ${split.train.length} train, ${split.test.length} test`);

  const requested = resolveSpec(
    opts.model,
    {
      ...(opts.model === "logreg" ? { l2: config.logregL2 } : { seed: opts.seed }),
      ...opts.params,
    },
    opts.preset ?? "auto",
  );
  let spec: ModelSpec = requested;
  let tuning: TuneResult | undefined;
  if (opts.tune && opts.tune > 0) {
    tuning = await randomSearch(requested, trainData, {
      trials: opts.tune,
      folds: opts.cv && opts.cv >= 2 ? opts.cv : config.cvFolds,
      seed: opts.seed,
      groups: trainGroups,
      budgetMs: opts.tuneBudgetMs,
      onTrial: (t) =>
        step(
          `trial ${t.trial}/${opts.tune}${t.name ? ` (${t.name})` : ""}: CV AUC ${t.cv_auc.toFixed(4)} ± ${t.cv_auc_std.toFixed(4)}`,
        ),
    });
    // The best trial's params, fixed: the portfolio's choice was part of the search.
    spec = {
      kind: requested.kind,
      preset: requested.preset,
      params: { ...requested.params, ...tuning.best.params, ...requested.overrides },
      overrides: requested.overrides,
    };
    step(`tuning: best trial ${tuning.best.trial} CV AUC ${tuning.best.cv_auc.toFixed(4)}`);
  }

  let cv: CvResult | undefined;
  if (opts.cv && opts.cv >= 2) {
    cv = await crossValidate(spec, trainData, {
      folds: opts.cv,
      seed: opts.seed,
      groups: trainGroups,
      onFold: (r) =>
        step(`fold ${r.fold + 1}/${opts.cv}: AUC ${r.auc.toFixed(4)}${r.chosen ? ` (${r.chosen})` : ""}`),
    });
  }

  // Final model: fit on the training split minus a validation part that drives early stopping (and,
  // with the auto preset, the choice of configuration), calibration and the decision threshold; the
  // test split is only used for reporting.
  const inner = stratifiedSplit(
    trainData.label as Uint8Array,
    config.validFraction,
    opts.seed + 1,
    trainGroups,
  );
  const fitData = takeRows(data, composeIndex(split.train, inner.train));
  const validData = takeRows(data, composeIndex(split.train, inner.test));
  let candidatesDone = 0;
  const rounds = () => Number((spec.portfolio?.[candidatesDone] ?? spec).params.numTrees ?? 0);
  const fitted = await fitSpec(spec, fitData, {
    valid: usesValidation(opts.model) ? validData : undefined,
    onIteration: opts.onIteration && ((iteration) => opts.onIteration?.(iteration, rounds())),
    onCandidate: (c: CandidateScore) => {
      candidatesDone++;
      step(
        `auto preset: ${c.name} validation AUC ${c.valid_auc.toFixed(4)} (${c.best_iteration} trees kept, ${c.seconds.toFixed(1)} s)`,
      );
    },
  });
  const params = fitted.params;
  if (fitted.selection)
    step(
      `auto preset chose ${fitted.selection.chosen} (${fitted.selection.total_trees} trees in ${fitted.selection.total_seconds.toFixed(1)} s for ${fitted.selection.candidates.length} candidates)`,
    );
  step(`fitted ${opts.model} on ${fitData.nRows} rows`);

  const yValid = validData.label as Uint8Array;
  const pValidRaw = fitted.model.predictProba(validData);
  const calibration = chooseCalibration(yValid, pValidRaw, { seed: opts.seed });
  const model: ExplainableModel =
    calibration.calibrator.method === "none"
      ? fitted.model
      : new CalibratedModel(fitted.model, calibration.calibrator);
  step(`calibration: ${calibration.calibrator.method}`);

  const pValid = applyCalibration(calibration.calibrator, pValidRaw);
  const validCurve = profitCurve(yValid, pValid, config.profit);
  const chosen = bestThreshold(validCurve);
  const threshold = Number.isFinite(chosen.threshold) ? chosen.threshold : 1;

  const yTest = testData.label as Uint8Array;
  const pTestRaw = fitted.model.predictProba(testData);
  const pTest = applyCalibration(calibration.calibrator, pTestRaw);
  const test = classificationMetrics(yTest, pTest);
  const testRaw = classificationMetrics(yTest, pTestRaw);
  const aucCi = bootstrapAuc(yTest, pTest, { replicates: config.bootstrapReplicates, seed: opts.seed });
  const testProfit = profitCurve(yTest, pTest, config.profit);
  const importance = featureImportance(fitted.model, testData);
  step(`test AUC ${test.auc.toFixed(4)} [${aucCi.lower.toFixed(4)}, ${aucCi.upper.toFixed(4)}]`);

  return {
    model,
    kind: opts.model,
    preset: requested.preset,
    params,
    ...(fitted.selection ? { selection: fitted.selection } : {}),
    fitInfo: fitted.info,
    rows: { train: trainData.nRows, fit: fitData.nRows, valid: validData.nRows, test: testData.nRows },
    test,
    testRaw,
    aucCi,
    cv,
    tuning,
    calibration,
    decision: {
      threshold,
      chosen_on: "validation",
      break_even_probability: validCurve.break_even_probability,
      validation_profit_brl: chosen.profit_brl,
      test: profitAt(yTest, pTest, threshold, config.profit),
    },
    tables: {
      roc: thresholdCurve(yTest, pTest),
      deciles: decileTable(yTest, pTest),
      reliabilityRaw: reliabilityCurve(yTest, pTestRaw),
      reliabilityCalibrated: reliabilityCurve(yTest, pTest),
      profit: testProfit,
      importance: importance.rows,
      importanceMeasure: importance.measure,
    },
  };
}
