import { jsonReplacer } from "../../platform/cli/runtime.ts";
import type { AppContext } from "../../platform/context.ts";
import { errorMessage } from "../../platform/errors.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import { contentVersion, latestDatasetVersion } from "../ingestion/versions.ts";
import { type ExperimentResult, runExperiment } from "./experiment.ts";
import type { ModelKind, PortfolioSelection } from "./learners.ts";
import { type LoadedTrainingData, loadTrainingData } from "./load.ts";
import { calibrationPlot, importancePlot, liftGainPlot, profitPlot, prPlot, rocPlot } from "./plots.ts";
import { renderReport } from "./report.ts";
import { codeVersion, newRunId, type RunArtifact, type RunRecord, RunStore } from "./tracking.ts";
import type { Trial } from "./tune.ts";

/**
 * `telco train` as a function: load the gold training table, run the experiment, and record
 * everything under <workspace>/runs/<run_id>/ (model, plots, tables, report, run.json).
 * Used by the CLI, the pipeline and `telco up`.
 */

export interface TrainOptions {
  dataset: string;
  model?: ModelKind;
  cv?: number;
  tune?: number;
  tuneBudgetMs?: number;
  seed?: number;
  preset?: string;
  params?: Record<string, unknown>;
  /** The training table already loaded (loadTrainingData) by the caller: not queried again. */
  loaded?: LoadedTrainingData;
  onStep?(message: string): void;
  onIteration?(iteration: number, total: number): void;
}

/** Headline test metrics, flat (what `telco train --json` prints under `metrics`). */
export interface HeadlineMetrics {
  auc: number;
  auc_ci_low: number;
  auc_ci_high: number;
  pr_auc: number;
  logloss: number;
  brier: number;
  ks: number;
  ece: number;
  precision_top10: number;
  recall_top10: number;
  precision_top20: number;
  recall_top20: number;
  base_rate: number;
  test_rows: number;
  threshold: number;
  profit_brl: number;
  cv_auc?: number;
  cv_auc_std?: number;
}

export interface TrainSummary {
  run_id: string;
  run_dir: string;
  /** Set by the model registry when it registers the run's model; null until then. */
  model_version: string | null;
  dataset: string;
  dataset_version: string;
  model: ModelKind;
  calibration: string;
  /** The preset as requested ("auto" unless given). */
  preset: string;
  params: Record<string, unknown>;
  /** Preset auto (without tuning): the candidates' validation AUC, the choice and the total cost. */
  selection?: PortfolioSelection;
  metrics: HeadlineMetrics;
  tuning?: {
    trials: number;
    best_trial: number;
    best_cv_auc: number;
    best_params: Record<string, number>;
    /** Every trial: params and CV AUC (mean ± std). */
    trial_table: Trial[];
  };
  artifacts: RunArtifact[];
  duration_ms: number;
}

/**
 * The dataset's version: the version the ingestion module recorded for the table in
 * meta.dataset_versions (when its row count still matches), else the table's content version
 * computed the same way, else a hash of the rows as loaded here.
 */
export async function datasetVersion(
  warehouse: Warehouse,
  table: string,
  loaded: { rows: number; contentHash: string },
): Promise<string> {
  try {
    const recorded = await latestDatasetVersion(warehouse, table);
    if (recorded && recorded.rowCount === loaded.rows) return recorded.version;
    return (await contentVersion(warehouse, table)).version;
  } catch {
    // Warehouse without the meta schema or DuckDB's hash(): fall back to our own content hash.
    return `sha256:${loaded.contentHash}`;
  }
}

/** Flattens an experiment's test metrics into the CLI's headline object. */
export function headlineMetrics(result: ExperimentResult): HeadlineMetrics {
  const t = result.test;
  const m: HeadlineMetrics = {
    auc: t.auc,
    auc_ci_low: result.aucCi.lower,
    auc_ci_high: result.aucCi.upper,
    pr_auc: t.pr_auc,
    logloss: t.logloss,
    brier: t.brier,
    ks: t.ks,
    ece: t.ece,
    precision_top10: t.precision_top10,
    recall_top10: t.recall_top10,
    precision_top20: t.precision_top20,
    recall_top20: t.recall_top20,
    base_rate: t.base_rate,
    test_rows: t.rows,
    threshold: result.decision.threshold,
    profit_brl: result.decision.test.profit_brl,
  };
  if (result.cv) {
    m.cv_auc = result.cv.auc_mean;
    m.cv_auc_std = result.cv.auc_std;
  }
  return m;
}

/** Trains a churn model on dataset NAME and records the run. Returns the run summary. */
export async function trainChurnModel(app: AppContext, opts: TrainOptions): Promise<TrainSummary> {
  const config = app.config.training;
  const model = opts.model ?? config.model;
  const seed = opts.seed ?? config.seed;
  const store = new RunStore(app.paths.runs);
  const started = new Date();
  const warehouse = await app.warehouse();
  const loaded: LoadedTrainingData = opts.loaded ?? (await loadTrainingData(warehouse, opts.dataset));
  const version = await datasetVersion(warehouse, loaded.table, {
    rows: loaded.data.nRows,
    contentHash: loaded.contentHash,
  });
  opts.onStep?.(`loaded ${loaded.table}: ${loaded.data.nRows} rows, ${loaded.data.features.length} features`);
  const runId = newRunId(started);
  const run: RunRecord = {
    run_id: runId,
    status: "running",
    command: "train",
    dataset: {
      name: opts.dataset,
      table: loaded.table,
      version,
      content_hash: loaded.contentHash,
      rows: loaded.data.nRows,
      features: loaded.data.features.length,
    },
    model: { kind: model, params: {} },
    params: {
      model,
      seed,
      cv: opts.cv ?? null,
      tune: opts.tune ?? null,
      preset: opts.preset ?? "auto",
      test_fraction: config.testFraction,
      valid_fraction: config.validFraction,
      split: "stratified by label, grouped by customer_id",
      profit: config.profit,
      skipped_columns: loaded.skipped,
    },
    metrics: {},
    code_version: codeVersion(),
    model_version: null,
    started_at: started.toISOString(),
    ended_at: null,
    duration_ms: null,
    artifacts: [],
  };
  store.save(run);
  try {
    const result = await runExperiment(
      loaded,
      {
        model,
        seed,
        cv: opts.cv,
        tune: opts.tune,
        tuneBudgetMs: opts.tuneBudgetMs,
        preset: opts.preset,
        params: opts.params,
        onStep: opts.onStep,
        onIteration: opts.onIteration,
      },
      config,
    );
    run.model = {
      kind: model,
      params: result.params,
      ...(result.selection ? { preset: "auto", chosen: result.selection.chosen } : {}),
    };
    if (result.selection) run.params.preset_chosen = result.selection.chosen;
    const headline = headlineMetrics(result);
    run.metrics = {
      test: { ...result.test, auc_ci: result.aucCi },
      test_uncalibrated: result.testRaw,
      cv: result.cv ?? null,
      calibration: {
        method: result.calibration.calibrator.method,
        candidates: result.calibration.candidates,
      },
      decision: result.decision,
      fit: result.fitInfo,
      rows: result.rows,
      tuning: result.tuning ? { best: result.tuning.best, trials_run: result.tuning.trials_run } : null,
      selection: result.selection ?? null,
      headline,
    };
    const artifacts: RunArtifact[] = [];
    artifacts.push(
      store.writeArtifact(
        runId,
        "model.json",
        `${JSON.stringify(result.model.toJSON(), jsonReplacer)}\n`,
        "model",
      ),
    );
    const plots: Record<string, string> = {
      roc: "plots/roc.svg",
      precision_recall: "plots/pr.svg",
      calibration: "plots/calibration.svg",
      lift_gain: "plots/lift_gain.svg",
      feature_importance: "plots/importance.svg",
      profit: "plots/profit.svg",
    };
    const svgs: Record<string, string> = {
      roc: await rocPlot(result.tables.roc, result.test.auc),
      precision_recall: await prPlot(result.tables.roc, result.test.pr_auc, result.test.base_rate),
      calibration: await calibrationPlot([
        { name: "uncalibrated", bins: result.tables.reliabilityRaw },
        ...(result.calibration.calibrator.method !== "none"
          ? [
              {
                name: `${result.calibration.calibrator.method}-calibrated`,
                bins: result.tables.reliabilityCalibrated,
              },
            ]
          : []),
      ]),
      lift_gain: await liftGainPlot(result.tables.deciles),
      feature_importance: await importancePlot(result.tables.importance, result.tables.importanceMeasure),
      profit: await profitPlot(result.tables.profit, result.decision.test.targeted_fraction),
    };
    for (const [name, path] of Object.entries(plots)) {
      artifacts.push(store.writeArtifact(runId, path, svgs[name], "plot", name));
    }
    const tables = {
      deciles: result.tables.deciles,
      reliability_uncalibrated: result.tables.reliabilityRaw,
      reliability_calibrated: result.tables.reliabilityCalibrated,
      profit_curve: result.tables.profit,
      feature_importance: { measure: result.tables.importanceMeasure, rows: result.tables.importance },
      tuning_trials: result.tuning?.trials ?? null,
    };
    artifacts.push(
      store.writeArtifact(runId, "tables.json", `${JSON.stringify(tables, null, 2)}\n`, "table"),
    );
    const ended = new Date();
    run.status = "completed";
    run.ended_at = ended.toISOString();
    run.duration_ms = ended.getTime() - started.getTime();
    artifacts.push({ name: "report", path: "report.md", kind: "report" });
    run.artifacts = artifacts;
    store.writeArtifact(runId, "report.md", renderReport(run, result, plots), "report");
    store.save(run);
    const summary: TrainSummary = {
      run_id: runId,
      run_dir: store.dir(runId),
      model_version: null,
      dataset: opts.dataset,
      dataset_version: version,
      model,
      calibration: result.calibration.calibrator.method,
      preset: result.preset,
      params: result.params,
      ...(result.selection ? { selection: result.selection } : {}),
      metrics: headline,
      artifacts,
      duration_ms: run.duration_ms ?? 0,
    };
    if (result.tuning) {
      summary.tuning = {
        trials: result.tuning.trials_run,
        best_trial: result.tuning.best.trial,
        best_cv_auc: result.tuning.best.cv_auc,
        best_params: result.tuning.best.params,
        trial_table: result.tuning.trials,
      };
    }
    return summary;
  } catch (err) {
    const ended = new Date();
    run.status = "failed";
    run.error = errorMessage(err);
    run.ended_at = ended.toISOString();
    run.duration_ms = ended.getTime() - started.getTime();
    store.save(run);
    throw err;
  }
}
