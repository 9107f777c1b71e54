import type { Command } from "commander";
import { action, commandGroup } from "../../platform/cli/runtime.ts";
import type { AppContext } from "../../platform/context.ts";
import { type BatchMode, type MonitorResult, runMonitor } from "./monitor.ts";
import { storeReferenceProfile } from "./reference-store.ts";

/** What the composition root injects: how to start retraining (monitoring never imports the pipelines). */
export interface MonitoringDeps {
  retrain?: (app: AppContext, reason: string) => Promise<unknown>;
}

/** `telco monitor run` (drift, quality, performance, alerts) and `telco monitor profile`. */
export function registerMonitoringCommands(program: Command, deps: MonitoringDeps = {}): void {
  const monitor = commandGroup(
    program,
    "monitor",
    "model monitoring: drift, data quality, performance, alerts",
  );
  monitor
    .command("run")
    .description(
      "compare logged predictions of a window with the model's reference profile; write the HTML report; raise alerts",
    )
    .option("--window <window>", "how far back to look, e.g. 7d, 30d, 2w (default monitoring.window)")
    .option(
      "--until <date>",
      "last day of the window, YYYY-MM-DD (default: latest day in the prediction log)",
    )
    .option("--model <name>", "registered model name (default serving.modelName)")
    .option("--report <file>", "where to write the HTML report (default <workspace>/reports/monitoring/)")
    .option("--dry-run", "evaluate alert rules without delivering alerts or starting retraining")
    .option(
      "--batch <mode>",
      "batch predictions (logged under their as-of date): window = those dated in the window (default), latest = also the latest batch run before it, none = API predictions only",
    )
    .action(
      action(
        async (
          rt,
          opts: {
            window?: string;
            until?: string;
            model?: string;
            report?: string;
            dryRun?: boolean;
            batch?: BatchMode;
          },
        ) => {
          const app = rt.app();
          const retrain = deps.retrain;
          const result = await runMonitor(app, {
            ...opts,
            retrain: retrain ? (why) => retrain(app, why) : undefined,
          });
          rt.result(result, () => renderMonitor(result));
        },
      ),
    );
  monitor
    .command("profile")
    .description("build and store the reference profile of a registered model version from its training data")
    .requiredOption("--model <ref>", "model reference, e.g. churn@champion or churn@3")
    .option("--dataset <name>", "training dataset (default: the one named in the model card)")
    .action(
      action(async (rt, opts: { model: string; dataset?: string }) => {
        const r = await storeReferenceProfile(rt.app(), opts.model, { dataset: opts.dataset });
        rt.result(
          { path: r.path, model: r.version.name, version: r.version.version, rows: r.rows },
          () =>
            `reference profile of ${r.version.name}@${r.version.version} (${r.rows} rows) written to ${r.path}`,
        );
      }),
    );
}

/** A Jensen–Shannon distance (base 2) never exceeds 1: a threshold at or above it can never fire. */
function blind(threshold: number): string {
  return threshold >= 1
    ? " — cannot drift: the reference swings more than any JS distance shows (set monitoring.features.<name>.js, or train on a longer window)"
    : "";
}

/** One feature's test and what decided it: effect size vs threshold, or p-value and effect size for small samples. */
export function featureVerdict(f: MonitorResult["features"][number]): string {
  const n = (x: number) => Number(x.toPrecision(3));
  if (f.test === "ks" || f.test === "chi2") {
    const p = `${f.test.padEnd(4)} p ${f.score.toPrecision(3).padStart(9)} ${f.score < f.threshold ? "<" : "≥"} α ${n(f.threshold)}`;
    if (f.effect === undefined || f.effect_threshold === undefined) return p;
    const big = f.effect > f.effect_threshold;
    const effect = `${f.effect_test ?? "effect"} ${n(f.effect)} ${big ? ">" : "≤"} ${n(f.effect_threshold)} ${f.threshold_source === "calibrated" ? "natural variation" : "configured"}`;
    const why =
      f.drift || f.score >= f.threshold
        ? ""
        : f.threshold_source === "calibrated"
          ? " (significant but within natural variation)"
          : " (significant but below the configured effect size)";
    return `${p}, ${effect}${why}${f.effect_test === "js" ? blind(f.effect_threshold) : ""}`;
  }
  if (f.test === "none") return "not tested (not enough data)";
  return `${f.test.padEnd(4)} ${f.score.toPrecision(3).padStart(9)} (threshold ${n(f.threshold)}${f.threshold_source === "calibrated" ? " calibrated" : ""})${f.test === "js" ? blind(f.threshold) : ""}`;
}

/** The calibration method in one phrase (older profiles: plain pairs, no cap). */
function calibrationMethod(c: NonNullable<MonitorResult["calibration"]>): string {
  const q = `q${Math.round(c.quantile * 100)} × ${c.margin}`;
  if (c.method !== "pairs-robust")
    return `${q} of slice-to-slice variation, never below the configured floor`;
  return `${q} of slice-to-slice variation, one odd slice left out, JS capped at ${c.js_cap}, never below the configured floor`;
}

function renderMonitor(r: MonitorResult): string {
  const verdict = !r.enough_data ? "not enough data" : r.drift ? "DRIFT" : "no drift";
  const lines = [
    `${r.model}@${r.model_version}: ${r.n_predictions} predictions ${r.window.from} … ${r.window.to} — ${verdict}`,
    `  sources: ${r.sources.online} API, ${r.sources.batch} batch${r.sources.batch_days.length ? ` (as of ${r.sources.batch_days.join(", ")})` : ""}; --batch ${r.sources.batch_mode}`,
  ];
  if (r.outside_window.length > 0)
    lines.push(
      `  left out: log days ${r.outside_window.slice(-3).join(", ")} are outside the window (batch predictions are logged under their as-of date: --batch latest or --until DATE)`,
    );
  if (!r.enough_data) {
    lines.push(
      `  not enough data: ${r.n_predictions} predictions, at least ${r.min_samples} needed (monitoring.minSamples); widen --window`,
    );
    lines.push(`report: ${r.report_path}`);
    return lines.join("\n");
  }
  lines.push(
    r.calibration
      ? `  thresholds calibrated on ${r.calibration.slices} time slices of the reference (${calibrationMethod(r.calibration)})`
      : "  thresholds: configured (reference profile has no calibration: rebuild it with `telco monitor profile`)",
  );
  for (const o of r.calibration?.odd_slices ?? [])
    lines.push(
      `  odd slice left out of ${o.feature}'s calibration: ${o.slice} (farther from every other slice than their own bound)`,
    );
  const small = r.features.some((f) => f.test === "ks" || f.test === "chi2");
  if (small)
    lines.push(
      `  fewer than ${r.large_sample_threshold ?? "monitoring.largeSampleThreshold"} predictions: a feature drifts when its p-value is below α AND its effect size exceeds the reference's own month-to-month variation`,
    );
  for (const f of [...r.features].sort((a, b) => Number(b.drift) - Number(a.drift)))
    lines.push(`  ${f.drift ? "✗" : f.warn ? "!" : "✓"} ${f.name.padEnd(28)} ${featureVerdict(f)}`);
  if (r.prediction_drift)
    lines.push(
      `  prediction ${r.prediction_drift.drift ? "drifted" : "stable"}: mean ${r.prediction_drift.referenceMean.toFixed(3)} → ${r.prediction_drift.currentMean.toFixed(3)}`,
    );
  lines.push(`  data quality: ${r.quality.ok ? "ok" : `${r.quality.issues.length} issue(s)`}`);
  if (r.performance.length > 0)
    lines.push(
      `  performance (${r.labelled} labelled): ${r.performance.map((p) => `${p.period} AUC ${p.auc?.toFixed(3) ?? "n/a"}`).join(", ")}`,
    );
  for (const a of r.alerts) lines.push(`  alert [${a.severity}] ${a.rule}: ${a.message}`);
  if (r.retraining.triggered) lines.push("  retraining triggered");
  lines.push(`report: ${r.report_path}`);
  return lines.join("\n");
}
