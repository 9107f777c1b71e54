import type { ExperimentResult } from "./experiment.ts";
import type { RunRecord } from "./tracking.ts";

/** The per-run Markdown report: headline metrics, CV, tuning, calibration, decision, deciles and plots. */

const f4 = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "–" : v.toFixed(4));
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const brl = (v: number) => `R$ ${v.toLocaleString("en-US", { maximumFractionDigits: 0 })}`;

function table(headers: string[], rows: (string | number)[][]): string {
  return [
    `| ${headers.join(" | ")} |`,
    `|${headers.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** Renders report.md; `plots` maps plot names to paths relative to the run folder. */
export function renderReport(
  run: RunRecord,
  result: ExperimentResult,
  plots: Record<string, string>,
): string {
  const t = result.test;
  const r = result.testRaw;
  const lines: string[] = [];
  lines.push(`# Training run ${run.run_id}`, "");
  lines.push(
    table(
      ["", ""],
      [
        ["dataset", `${run.dataset.name} (\`${run.dataset.table}\`, version \`${run.dataset.version}\`)`],
        [
          "rows",
          `${run.dataset.rows} (train ${result.rows.train} = fit ${result.rows.fit} + validation ${result.rows.valid}; test ${result.rows.test})`,
        ],
        [
          "model",
          `${result.kind}${result.calibration.calibrator.method !== "none" ? ` + ${result.calibration.calibrator.method} calibration` : ""}`,
        ],
        ["code version", run.code_version ?? "unknown"],
        ["started", run.started_at],
        ["duration", run.duration_ms === null ? "–" : `${(run.duration_ms / 1000).toFixed(1)} s`],
      ],
    ),
    "",
  );
  lines.push("## Test-split metrics", "");
  lines.push(
    "Held-out test split (stratified by customer, never used for fitting, calibration or the threshold).",
    "",
  );
  lines.push(
    table(
      ["metric", "final (calibrated)", "uncalibrated"],
      [
        ["ROC-AUC", `${f4(t.auc)} (95% CI ${f4(result.aucCi.lower)}–${f4(result.aucCi.upper)})`, f4(r.auc)],
        ["PR-AUC (average precision)", f4(t.pr_auc), f4(r.pr_auc)],
        ["log-loss", f4(t.logloss), f4(r.logloss)],
        ["Brier", f4(t.brier), f4(r.brier)],
        ["KS", f4(t.ks), f4(r.ks)],
        ["ECE (10 bins)", f4(t.ece), f4(r.ece)],
        [
          "precision / recall, top 10%",
          `${pct(t.precision_top10)} / ${pct(t.recall_top10)}`,
          `${pct(r.precision_top10)} / ${pct(r.recall_top10)}`,
        ],
        [
          "precision / recall, top 20%",
          `${pct(t.precision_top20)} / ${pct(t.recall_top20)}`,
          `${pct(r.precision_top20)} / ${pct(r.recall_top20)}`,
        ],
        ["base churn rate", pct(t.base_rate), pct(r.base_rate)],
      ],
    ),
    "",
  );
  if (result.selection) {
    const sel = result.selection;
    lines.push("## Model choice (auto preset)", "");
    lines.push(
      `Each candidate was fitted on ${sel.fit_rows} training rows with early stopping on the ${sel.valid_rows} validation rows (part of the training split; the test split played no part). Chosen: **${sel.chosen}** — ${sel.rule}. Cost: ${sel.total_trees} trees grown in ${sel.total_seconds.toFixed(1)} s.`,
      "",
    );
    lines.push(
      table(
        [
          "candidate",
          "validation AUC",
          "validation log-loss",
          "trees kept",
          "trees grown",
          "seconds",
          "params",
        ],
        sel.candidates.map((c) => [
          c.name === sel.chosen ? `**${c.name}**` : c.name,
          f4(c.valid_auc),
          f4(c.valid_logloss),
          c.best_iteration,
          c.trees_grown,
          c.seconds.toFixed(2),
          `\`${JSON.stringify(c.params)}\``,
        ]),
      ),
      "",
    );
  }
  if (result.cv) {
    lines.push(`## ${result.cv.folds}-fold cross-validation (training split)`, "");
    lines.push(`Mean AUC **${f4(result.cv.auc_mean)}** ± ${f4(result.cv.auc_std)} (sample std).`, "");
    lines.push(
      table(
        ["fold", "rows", "AUC", "PR-AUC", "log-loss", "Brier", ...(result.selection ? ["auto chose"] : [])],
        result.cv.per_fold.map((fo) => [
          fo.fold + 1,
          fo.valid_rows,
          f4(fo.auc),
          f4(fo.pr_auc),
          f4(fo.logloss),
          f4(fo.brier),
          ...(result.selection ? [fo.chosen ?? "–"] : []),
        ]),
      ),
      "",
    );
  }
  if (result.tuning) {
    const tu = result.tuning;
    const named = tu.trials.filter((tr) => tr.name).length;
    lines.push(
      `## Hyper-parameter search (${tu.trials_run} trials${named ? `: the auto preset's ${named} candidates, then random draws` : ", random"}; ${tu.folds}-fold CV)`,
      "",
    );
    const names = [...new Set(tu.trials.flatMap((tr) => Object.keys(tr.params)))];
    lines.push(
      table(
        ["trial", "candidate", "CV AUC", "± std", ...names],
        [...tu.trials]
          .sort((a, b) => b.cv_auc - a.cv_auc)
          .map((tr) => [
            tr.trial === tu.best.trial ? `**${tr.trial}**` : tr.trial,
            tr.name ?? "random",
            f4(tr.cv_auc),
            f4(tr.cv_auc_std),
            ...names.map((n) => tr.params[n] ?? "–"),
          ]),
      ),
      "",
    );
  }
  lines.push("## Calibration", "");
  lines.push(
    `Chosen: **${result.calibration.calibrator.method}** (kept only if it lowers cross-fitted validation log-loss without raising ECE).`,
    "",
  );
  lines.push(
    table(
      ["method", "validation log-loss", "validation ECE"],
      result.calibration.candidates.map((c) => [c.method, f4(c.logloss), f4(c.ece)]),
    ),
    "",
  );
  const d = result.decision;
  const a = result.tables.profit.assumptions;
  lines.push("## Decision threshold and campaign profit", "");
  lines.push(
    `Assumptions: offer cost ${brl(a.offerCostBrl)} per targeted customer, margin ${brl(a.monthlyMarginBrl)}/month over ${a.horizonMonths} months, ${pct(a.acceptanceRate)} of targeted would-be churners retained. Break-even probability ${d.break_even_probability.toFixed(3)}.`,
    "",
    `Threshold chosen on the validation split: **${d.threshold.toFixed(4)}**. On the test split it targets ${d.test.targeted} customers (${pct(d.test.targeted_fraction)}), reaches ${d.test.churners_reached} churners, profit **${brl(d.test.profit_brl)}**.`,
    "",
  );
  lines.push("## Lift by decile (test split)", "");
  lines.push(
    table(
      ["decile", "rows", "churners", "churn rate", "lift", "cumulative gain"],
      result.tables.deciles.map((dr) => [
        dr.decile,
        dr.rows,
        dr.churners,
        pct(dr.churn_rate),
        dr.lift.toFixed(2),
        pct(dr.cumulative_gain),
      ]),
    ),
    "",
  );
  lines.push("## Plots", "");
  for (const [name, path] of Object.entries(plots)) lines.push(`![${name}](${path})`, "");
  return `${lines.join("\n")}\n`;
}
