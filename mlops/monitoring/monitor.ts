import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import { openRegistry } from "../registry/store.ts";
import { datasetFromRows, type FeatureSpec } from "../training/dataset.ts";
import { type Alert, type AlertDelivery, dispatchAlerts, evaluateAlertRules } from "./alerts.ts";
import { featureDistributions } from "./distributions.ts";
import { lastMonitorRunPath, monitorRunsPath } from "./last-run.ts";
import { type PerformancePeriod, performanceOverTime } from "./performance.ts";
import { PREDICTION_LOG_PREFIX, type PredictionRecord, readPredictionLog } from "./prediction-log.ts";
import { compareToReference, type DriftReport } from "./reference-profile.ts";
import { loadReferenceProfile } from "./reference-store.ts";
import { renderMonitoringReport } from "./report-html.ts";

// Re-exported for callers that predate the split (the portal reads lastMonitorRunPath from here).
export { lastMonitorRunPath } from "./last-run.ts";
export {
  loadReferenceProfile,
  REFERENCE_PROFILE_FILE,
  referenceProfilePath,
  storeReferenceProfile,
  writeReferenceProfile,
} from "./reference-store.ts";

export interface MonitorOptions {
  /** 7d, 2w… (default monitoring.window). */
  window?: string;
  /** Last day of the window (default: the latest day in the prediction log). */
  until?: string;
  model?: string;
  /** HTML report path (default <workspace>/reports/monitoring/<model>-<until>.html). */
  report?: string;
  /** Skip alert delivery and retraining (evaluate rules only). */
  dryRun?: boolean;
  /**
   * Batch predictions are logged under their as-of date, API ones under the day they were served.
   * window (default): batch runs whose as-of date falls in the window; latest: also the latest batch
   * run when it is older than the window; none: API predictions only.
   */
  batch?: BatchMode;
  /**
   * Called for alerts whose rule asks for retraining. Injected by the composition root (cli/main.ts
   * passes mlops/pipelines triggerRetraining): monitoring never imports the pipelines. Without it,
   * such alerts report `retraining.error`.
   */
  retrain?: (reason: string) => Promise<unknown>;
}

export const BATCH_MODES = ["window", "latest", "none"] as const;
export type BatchMode = (typeof BATCH_MODES)[number];

export interface MonitorResult {
  drift: boolean;
  /** False when the window held fewer than monitoring.minSamples predictions: nothing was tested. */
  enough_data: boolean;
  min_samples: number;
  /** From this many predictions on, effect sizes (PSI / JS) decide; below it, p-values and effect sizes. */
  large_sample_threshold?: number;
  /** Predictions used, by source, and how batch predictions were chosen. */
  sources: { online: number; batch: number; batch_mode: BatchMode; batch_days: string[] };
  /** Days of the log with predictions after/before the window that were left out (a hint, not an error). */
  outside_window: string[];
  /** The reference's calibrated thresholds (absent for profiles built without time slices). */
  calibration: {
    slices: number;
    quantile: number;
    margin: number;
    /** "pairs-robust": slice-to-slice pairs, one odd slice left out (≥ 4 slices), JS capped at js_cap. */
    method: "pairs" | "pairs-robust";
    js_cap: number | null;
    /** Features whose calibration left out one odd time slice, and which. */
    odd_slices: { feature: string; slice: string }[];
  } | null;
  model: string;
  model_version: string;
  window: { from: string; to: string };
  n_predictions: number;
  versions: Record<string, number>;
  features: {
    name: string;
    test: string;
    score: number;
    threshold: number;
    drift: boolean;
    warn: boolean;
    threshold_source?: string;
    /** Small samples: the effect size that also had to clear the calibrated threshold. */
    effect?: number;
    /** Small samples: the reference's own variation the effect had to exceed (calibrated profiles). */
    effect_threshold?: number;
    effect_test?: string;
  }[];
  prediction_drift: DriftReport["predictionDrift"];
  quality: DriftReport["quality"];
  performance: PerformancePeriod[];
  labelled: number;
  report_path: string;
  alerts: Alert[];
  deliveries: AlertDelivery[];
  retraining: { triggered: boolean; reason?: string; error?: string };
}

function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** "7d" → 7, "2w" → 14. */
export function windowDays(window: string): number {
  const m = /^(\d+)([dw])$/.exec(window.trim());
  if (!m || Number(m[1]) < 1)
    throw new ValidationError("--window", `"${window}" is not a window`, {
      hint: "Use days or weeks: 7d, 30d, 2w.",
    });
  return Number(m[1]) * (m[2] === "w" ? 7 : 1);
}

async function logDays(app: AppContext): Promise<string[]> {
  const days = new Set<string>();
  for (const key of await app.lake().list(PREDICTION_LOG_PREFIX)) {
    const m = /dt=(\d{4}-\d{2}-\d{2})\//.exec(key);
    if (m) days.add(m[1]);
  }
  return [...days].sort();
}

/** Labels for logged predictions: churned = a contract cancelled within the horizon after the prediction day. */
async function labelPredictions(
  app: AppContext,
  records: readonly PredictionRecord[],
): Promise<{ ts: string; probability: number; label: 0 | 1 }[]> {
  const wh = await app.warehouse();
  if (!(await wh.tables()).includes("silver.crm_contracts")) return [];
  const horizon = app.config.features.labelHorizonDays;
  const [{ last }] = await wh.query<{ last: unknown }>(
    "select cast(max(greatest(start_date, coalesce(cancel_date, start_date))) as varchar) as last from silver.crm_contracts",
  );
  if (last === null || last === undefined) return [];
  const lastDay = String(last).slice(0, 10);
  const cancels = new Map<string, string[]>();
  for await (const chunk of wh.stream<{ customer_id: string; d: string }>(
    "select customer_id, cast(cancel_date as varchar) as d from silver.crm_contracts where cancel_date is not null",
  )) {
    for (const r of chunk) {
      const list = cancels.get(String(r.customer_id)) ?? [];
      list.push(String(r.d).slice(0, 10));
      cancels.set(String(r.customer_id), list);
    }
  }
  const out: { ts: string; probability: number; label: 0 | 1 }[] = [];
  for (const r of records) {
    if (!r.customer_id) continue;
    const day = r.ts.slice(0, 10);
    const end = addDays(day, horizon);
    if (end > lastDay) continue; // outcome not known yet
    const churned = (cancels.get(r.customer_id) ?? []).some((d) => d >= day && d < end);
    out.push({ ts: r.ts, probability: r.probability, label: churned ? 1 : 0 });
  }
  return out;
}

/**
 * One monitoring pass: logged predictions of the window vs the reference profile of the version
 * that produced most of them (drift, prediction drift, data quality), performance once labels
 * arrived, the HTML report, the /metrics drift snapshot, and alerts (plus retraining when asked).
 */
export async function runMonitor(app: AppContext, opts: MonitorOptions = {}): Promise<MonitorResult> {
  const cfg = app.config.monitoring;
  const modelName = opts.model ?? app.config.serving.modelName;
  const days = windowDays(opts.window ?? cfg.window);
  const batchMode = opts.batch ?? "window";
  if (!BATCH_MODES.includes(batchMode))
    throw new ValidationError("--batch", `"${batchMode}" is not one of ${BATCH_MODES.join(", ")}`);
  const allDays = await logDays(app);
  const to = opts.until ?? allDays[allDays.length - 1];
  if (!to)
    throw new NotFoundError("prediction log", {
      hint: "Serve predictions (`telco serve`) or run `telco predict batch` first.",
    });
  const from = addDays(to, -(days - 1));
  const ours = (r: PredictionRecord) => r.model_name === modelName && !r.shadow;
  let records = (await readPredictionLog(app.lake(), { from, to })).filter(
    (r) => ours(r) && (batchMode !== "none" || r.source !== "batch"),
  );
  const older = allDays.filter((d) => d < from).reverse();
  if (batchMode === "latest" && !records.some((r) => r.source === "batch")) {
    // The latest batch run logged before the window (its as-of date), newest day first.
    for (const day of older) {
      const batch = (await readPredictionLog(app.lake(), { from: day, to: day })).filter(
        (r) => ours(r) && r.source === "batch",
      );
      if (batch.length > 0) {
        records = records.concat(batch);
        break;
      }
    }
  }
  const outsideWindow = allDays.filter(
    (d) => (d < from || d > to) && !records.some((r) => r.ts.startsWith(d)),
  );
  if (records.length === 0)
    throw new NotFoundError(`predictions of model ${modelName} between ${from} and ${to}`, {
      hint: older.length
        ? `The log has older days (${older.slice(0, 3).join(", ")}…): batch predictions are logged under their as-of date; pass --batch latest or --until DATE.`
        : "Widen --window or check --model.",
    });
  const versions: Record<string, number> = {};
  for (const r of records) versions[r.model_version] = (versions[r.model_version] ?? 0) + 1;
  const dominant = Object.entries(versions).sort((a, b) => b[1] - a[1])[0][0];
  const current = records.filter((r) => r.model_version === dominant);
  const registry = openRegistry(app);
  const profile = await loadReferenceProfile(registry, modelName, Number(dominant));

  const specs: FeatureSpec[] = profile.features.map((f) => ({ name: f.name, kind: f.kind }));
  const data = datasetFromRows(
    current.map((r) => r.features),
    specs,
  );
  const scores = Float64Array.from(current, (r) => r.probability);
  const report = compareToReference(profile, data, scores, cfg);
  const labelled = await labelPredictions(app, current);
  const performance = labelled.length > 0 ? performanceOverTime(labelled, "week") : [];

  const reportPath = resolve(
    opts.report ?? join(app.paths.home, "reports", "monitoring", `${modelName}-${to}.html`),
  );
  mkdirSync(dirname(reportPath), { recursive: true });
  writeFileSync(
    reportPath,
    await renderMonitoringReport({
      title: `Churn monitoring: ${modelName}@${dominant}, ${from} to ${to}`,
      generatedAt: new Date().toISOString(),
      report,
      profile,
      current: data,
      currentScores: scores,
      performance,
    }),
  );

  const features = report.features.map((f) => ({
    name: f.name,
    test: f.test,
    score: f.score,
    threshold: f.threshold,
    drift: f.drift,
    warn: f.warn,
    threshold_source: f.thresholdSource,
    effect: f.effect,
    effect_threshold: f.effectThreshold,
    effect_test: f.effectTest,
  }));
  const alerts = evaluateAlertRules(cfg.alerts.rules, {
    model: `${modelName}@${dominant}`,
    report,
    performance,
  });
  const snapshot = lastMonitorRunPath(app.paths);
  mkdirSync(dirname(snapshot), { recursive: true });
  const snapshotLine = JSON.stringify({
    at: new Date().toISOString(),
    model: modelName,
    model_version: dominant,
    drift: report.drift,
    features,
    prediction_drift: report.predictionDrift,
    // The console's monitoring view reads these too (GET /v1/portal/monitoring/last-run, /distributions, /runs).
    quality: report.quality,
    alerts,
    window: { from, to },
    n_predictions: current.length,
    performance,
    distributions: featureDistributions(profile, data, scores),
  });
  writeFileSync(snapshot, snapshotLine);
  appendFileSync(monitorRunsPath(app.paths), `${snapshotLine}\n`);
  let deliveries: AlertDelivery[] = [];
  const retraining: MonitorResult["retraining"] = { triggered: false };
  if (!opts.dryRun) {
    deliveries = await dispatchAlerts(alerts, app.alertSinks());
    const retrainAlerts = alerts.filter((a) => a.retrain);
    if (retrainAlerts.length > 0) {
      const reason = retrainAlerts.map((a) => a.message).join("; ");
      retraining.reason = reason;
      try {
        if (!opts.retrain) throw new Error("no retraining hook is wired into this monitor run");
        await opts.retrain(reason);
        retraining.triggered = true;
      } catch (err) {
        retraining.error = err instanceof Error ? err.message : String(err);
      }
    }
  }

  const batchRows = current.filter((r) => r.source === "batch");
  return {
    drift: report.drift,
    enough_data: report.enoughData,
    min_samples: report.minSamples,
    large_sample_threshold: cfg.largeSampleThreshold,
    sources: {
      online: current.length - batchRows.length,
      batch: batchRows.length,
      batch_mode: batchMode,
      batch_days: [...new Set(batchRows.map((r) => r.ts.slice(0, 10)))].sort(),
    },
    outside_window: outsideWindow,
    calibration: profile.calibration
      ? {
          slices: profile.calibration.slices,
          quantile: profile.calibration.quantile,
          margin: profile.calibration.margin,
          method: profile.calibration.method ?? "pairs",
          js_cap: profile.calibration.jsCap ?? null,
          odd_slices: Object.entries(profile.calibration.features).flatMap(([feature, c]) =>
            c.dropped ? [{ feature, slice: c.dropped.slice }] : [],
          ),
        }
      : null,
    model: modelName,
    model_version: dominant,
    window: { from, to },
    n_predictions: current.length,
    versions,
    features,
    prediction_drift: report.predictionDrift,
    quality: report.quality,
    performance,
    labelled: labelled.length,
    report_path: reportPath,
    alerts,
    deliveries,
    retraining,
  };
}
