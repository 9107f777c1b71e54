import { type Command, Option } from "commander";
import pc from "picocolors";
import { action, commandGroup, intOption, numberOption } from "../../platform/cli/runtime.ts";
import type { AppContext } from "../../platform/context.ts";
import type { ModelVersion } from "../../platform/ports/registry.ts";
import { AUTO_PORTFOLIO, type ModelKind, type PortfolioSelection } from "./learners.ts";
import { compareRuns, type RunRecord, RunStore } from "./tracking.ts";
import { type TrainSummary, trainChurnModel } from "./train.ts";
import type { Trial } from "./tune.ts";

/** `telco train` (top-level) and the `telco runs` group (list, show, compare). */

interface TrainFlags {
  dataset: string;
  model?: ModelKind;
  cv?: number;
  tune?: number;
  tuneBudget?: number;
  seed?: number;
  preset?: string;
  register?: string;
}

const f4 = (v: unknown) =>
  typeof v === "number" ? v.toFixed(4) : v === null || v === undefined ? "–" : String(v);

/** The auto preset's choice: every candidate's validation AUC, the winner marked, and the cost. */
function renderSelection(sel: PortfolioSelection, indent = "  "): string[] {
  return [
    `${indent}preset        auto → ${pc.bold(sel.chosen)} (validation AUC on ${sel.valid_rows} held-out training rows; ${sel.total_trees} trees in ${sel.total_seconds.toFixed(1)} s for ${sel.candidates.length} candidates)`,
    ...sel.candidates.map(
      (c) =>
        `${indent}  ${c.name === sel.chosen ? "*" : " "} ${c.name.padEnd(8)} ${f4(c.valid_auc)}  ${String(c.best_iteration).padStart(4)} trees kept  ${c.seconds.toFixed(1)} s`,
    ),
  ];
}

function renderTrain(s: TrainSummary): string {
  const m = s.metrics;
  const lines = [
    `${pc.bold("run")} ${s.run_id}  (${s.model}${s.calibration !== "none" ? ` + ${s.calibration}` : ""}, dataset ${s.dataset} @ ${s.dataset_version})`,
    `  test AUC      ${f4(m.auc)}  95% CI [${f4(m.auc_ci_low)}, ${f4(m.auc_ci_high)}]`,
    `  PR-AUC        ${f4(m.pr_auc)}   log-loss ${f4(m.logloss)}   Brier ${f4(m.brier)}   ECE ${f4(m.ece)}   KS ${f4(m.ks)}`,
    `  top 10%       precision ${(m.precision_top10 * 100).toFixed(1)}%  recall ${(m.recall_top10 * 100).toFixed(1)}%`,
    `  threshold     ${f4(m.threshold)} → test profit R$ ${Math.round(m.profit_brl).toLocaleString("en-US")}`,
  ];
  if (m.cv_auc !== undefined) lines.push(`  CV AUC        ${f4(m.cv_auc)} ± ${f4(m.cv_auc_std)}`);
  if (s.selection) lines.push(...renderSelection(s.selection));
  else if (!s.tuning && s.model === "gbdt") lines.push(`  preset        ${s.preset}`);
  if (s.tuning) {
    lines.push(
      `  tuning        best trial ${s.tuning.best_trial}/${s.tuning.trials}: CV AUC ${f4(s.tuning.best_cv_auc)}`,
    );
    const top = [...s.tuning.trial_table].sort((a, b) => b.cv_auc - a.cv_auc).slice(0, 10);
    for (const t of top) {
      lines.push(
        `    #${String(t.trial).padEnd(4)} ${f4(t.cv_auc)} ± ${f4(t.cv_auc_std)}  ${t.name ? `${t.name} ` : ""}${JSON.stringify(t.params)}`,
      );
    }
  }
  lines.push(`  report        ${s.run_dir}/report.md`);
  return lines.join("\n");
}

function runRow(r: RunRecord): Record<string, unknown> {
  const headline = (r.metrics.headline ?? {}) as Record<string, unknown>;
  return {
    run_id: r.run_id,
    status: r.status,
    started_at: r.started_at,
    dataset: r.dataset.name,
    dataset_version: r.dataset.version,
    model: r.model.kind,
    auc: headline.auc ?? null,
    cv_auc: headline.cv_auc ?? null,
    duration_ms: r.duration_ms,
  };
}

/**
 * What the composition root injects: how `train --register` registers the finished run (the
 * registry's `registerRun`, which reads training runs; training never imports the registry).
 */
export interface TrainingDeps {
  registerRun: (
    app: AppContext,
    runId: string,
    opts: { name: string },
  ) => Promise<{ version: ModelVersion; profile: string | null }>;
}

/** `telco train` and `telco runs …`. */
export function registerTrainingCommands(program: Command, deps: TrainingDeps): void {
  program
    .command("train")
    .description("train a churn model on a gold training dataset, evaluate it honestly and record the run")
    .requiredOption(
      "--dataset <name>",
      "training dataset: gold.<snake(name)>_training (synthetic, ibm-telco, …)",
    )
    .addOption(
      new Option("--model <kind>", "learner (default: config training.model)").choices(["gbdt", "logreg"]),
    )
    .option(
      "--cv <k>",
      "also run stratified K-fold cross-validation on the training split",
      intOption("--cv", 2, 20),
    )
    .option(
      "--tune <trials>",
      "random hyper-parameter search with K-fold CV (K = --cv or config)",
      intOption("--tune", 1, 1000),
    )
    .option(
      "--tune-budget <seconds>",
      "stop tuning after this many seconds",
      numberOption("--tune-budget", 1),
    )
    .option(
      "--seed <s>",
      "random seed for splits, folds and search (default: config training.seed)",
      intOption("--seed"),
    )
    .option(
      "--preset <name>",
      `GBDT parameter preset: auto (default: fits ${AUTO_PORTFOLIO.map((c) => c.name).join(", ")} and keeps the best validation AUC) | ${AUTO_PORTFOLIO.map((c) => c.name).join(" | ")} | default | small-tabular`,
    )
    .option(
      "--register <name>",
      "register the run as a new version of this model (as `telco models register --run RUN_ID --name NAME`)",
    )
    .action(
      action(async (rt, flags: TrainFlags) => {
        const app = rt.app();
        const progress = rt.progress("training");
        let bar: ReturnType<typeof rt.progress> | undefined;
        const summary = await trainChurnModel(app, {
          dataset: flags.dataset,
          model: flags.model,
          cv: flags.cv,
          tune: flags.tune,
          tuneBudgetMs: flags.tuneBudget === undefined ? undefined : flags.tuneBudget * 1000,
          seed: flags.seed,
          preset: flags.preset,
          onStep: (message) => {
            bar?.done();
            bar = undefined;
            progress.step(message);
          },
          onIteration: (iteration, total) => {
            if (!bar && total > 0) bar = rt.progress("boosting", total);
            bar?.update(iteration);
          },
        });
        bar?.done();
        progress.done(`run ${summary.run_id} recorded`);
        if (flags.register === undefined) {
          rt.result(summary, (v) => renderTrain(v as TrainSummary));
          return;
        }
        const reg = await deps.registerRun(app, summary.run_id, { name: flags.register });
        const registered = {
          name: reg.version.name,
          version: reg.version.version,
          format: reg.version.format,
          profile: reg.profile,
        };
        rt.result({ ...summary, registered }, () =>
          [
            renderTrain(summary),
            `  registered    ${registered.name}@${registered.version} (${registered.format}; card, dataset version, risk bands${registered.profile ? ", reference profile" : ""})`,
            pc.dim(`  next: telco models promote ${registered.name} ${registered.version}`),
          ].join("\n"),
        );
      }),
    );

  const runs = commandGroup(program, "runs", "inspect and compare recorded training runs");
  runs
    .command("list")
    .description("list training runs, newest first")
    .option("--limit <n>", "show at most n runs", intOption("--limit", 1))
    .action(
      action(async (rt, flags: { limit?: number }) => {
        const store = new RunStore(rt.app().paths.runs);
        const rows = store
          .list()
          .slice(0, flags.limit ?? Number.MAX_SAFE_INTEGER)
          .map(runRow);
        rt.result({ runs: rows }, () =>
          rows.length === 0
            ? "no runs yet (run `telco train --dataset NAME`)"
            : rows
                .map(
                  (r) =>
                    `${r.run_id}  ${String(r.status).padEnd(9)} ${String(r.model).padEnd(6)} ${String(r.dataset).padEnd(12)} AUC ${f4(r.auc)}${r.cv_auc !== null ? `  CV ${f4(r.cv_auc)}` : ""}`,
                )
                .join("\n"),
        );
      }),
    );
  runs
    .command("show")
    .description(
      "show one run's record (params, metrics, versions, artifacts); RUN may be a prefix or 'latest'",
    )
    .argument("<run>", "run id, unique prefix, or latest")
    .action(
      action(async (rt, id: string) => {
        const store = new RunStore(rt.app().paths.runs);
        const run = store.get(id);
        rt.result(run, () => {
          const h = (run.metrics.headline ?? {}) as Record<string, unknown>;
          const selection = run.metrics.selection as PortfolioSelection | null | undefined;
          const tuning = (run.metrics.tuning as { best?: Trial } | null | undefined)?.best;
          return [
            `${pc.bold(run.run_id)}  ${run.status}`,
            `  dataset   ${run.dataset.name} (${run.dataset.table}) version ${run.dataset.version}, ${run.dataset.rows} rows`,
            `  model     ${run.model.kind}${run.model.chosen ? ` (auto → ${run.model.chosen})` : ""} ${JSON.stringify(run.model.params)}`,
            ...(selection ? renderSelection(selection) : []),
            ...(tuning
              ? [
                  `  tuning    best trial ${tuning.trial}${tuning.name ? ` (${tuning.name})` : ""}: CV AUC ${f4(tuning.cv_auc)}`,
                ]
              : []),
            `  code      ${run.code_version ?? "unknown"}`,
            `  time      ${run.started_at} → ${run.ended_at ?? "…"} (${run.duration_ms ?? "–"} ms)`,
            ...Object.entries(h).map(([k, v]) => `  ${k.padEnd(16)} ${f4(v)}`),
            ...(run.error ? [`  error     ${run.error}`] : []),
            `  artifacts ${run.artifacts.map((a) => a.path).join(", ") || "–"}`,
            `  folder    ${store.dir(run.run_id)}`,
          ].join("\n");
        });
      }),
    );
  runs
    .command("compare")
    .description("compare two runs side by side: params and metrics, with differences")
    .argument("<a>", "first run id (or prefix)")
    .argument("<b>", "second run id (or prefix)")
    .option("--all", "include keys whose values are equal")
    .action(
      action(async (rt, a: string, b: string, flags: { all?: boolean }) => {
        const store = new RunStore(rt.app().paths.runs);
        const cmp = compareRuns(store.get(a), store.get(b));
        const rows = flags.all ? cmp.rows : cmp.rows.filter((r) => !r.same);
        rt.result({ ...cmp, rows }, () => {
          const width = Math.max(10, ...rows.map((r) => r.key.length));
          const cell = (v: unknown) =>
            (typeof v === "number" ? f4(v) : JSON.stringify(v)).slice(0, 28).padEnd(28);
          return [
            `${"".padEnd(width)}  ${cmp.a.padEnd(28)}  ${cmp.b.padEnd(28)}  delta`,
            ...rows.map(
              (r) =>
                `${r.key.padEnd(width)}  ${cell(r.a)}  ${cell(r.b)}  ${r.delta === null ? "" : (r.delta >= 0 ? "+" : "") + f4(r.delta)}`,
            ),
          ].join("\n");
        });
      }),
    );
}
