import { join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { action, commandGroup, intOption, numberOption } from "../../platform/cli/runtime.ts";
import { UsageError } from "../../platform/errors.ts";
import { DRIFT_SCENARIO_NAMES, type DriftScenario } from "./drift.ts";
import { parseYearMonth } from "./format.ts";
import { type GenerateResult, generateOperatorData, runLabel } from "./generate.ts";

interface GenerateFlags {
  customers?: number;
  seed?: number;
  months?: number;
  start?: string;
  drift?: DriftScenario;
  dirtyRate?: number;
  out?: string;
}

/** `telco data generate`: writes one delivery of the simulated operator's raw exports. */
export function registerSimulatorCommands(program: Command): void {
  const data = commandGroup(program, "data", "data platform: generate, ingest, inspect");
  data
    .command("generate")
    .description(
      "generate a synthetic delivery of Aurora Telecom's source exports (CRM, billing, usage, network, support, market); same seed + options → byte-identical files",
    )
    .option(
      "--customers <n>",
      "number of customers (default: config data.generate.customers)",
      intOption("--customers", 1, 50_000_000),
    )
    .option(
      "--seed <n>",
      "random seed (default: config data.generate.seed)",
      intOption("--seed", 0, 4294967295),
    )
    .option(
      "--months <n>",
      "months in the window (default: config data.generate.months)",
      intOption("--months", 1, 60),
    )
    .option("--start <YYYY-MM>", "first month of the window (default: config data.generate.start)")
    .addOption(
      new Option("--drift <scenario>", "event in the final months that shifts some signals").choices(
        DRIFT_SCENARIO_NAMES,
      ),
    )
    .option(
      "--dirty-rate <r>",
      "fraction of rows with realistic defects, 0–0.5 (default 0)",
      numberOption("--dirty-rate", 0, 0.5),
    )
    .option("--out <dir>", "delivery folder (default: <workspace>/deliveries/synthetic/<run label>)")
    .action(
      action(async (rt, flags: GenerateFlags) => {
        const app = rt.app();
        const defaults = app.config.data.generate;
        const start = flags.start ?? defaults.start;
        if (!parseYearMonth(start))
          throw new UsageError(`--start must be YYYY-MM (e.g. 2025-01), got "${start}"`);
        const params = {
          customers: flags.customers ?? defaults.customers,
          seed: flags.seed ?? defaults.seed,
          months: flags.months ?? defaults.months,
          start,
          drift: flags.drift ?? "none",
          dirtyRate: flags.dirtyRate ?? defaults.dirtyRate,
        };
        const outDir = resolve(
          flags.out ?? join(app.paths.home, "deliveries", "synthetic", runLabel(params)),
        );
        rt.info(
          `generating ${params.customers} customers × ${params.months} months (seed ${params.seed}) → ${outDir}`,
        );
        const progress = rt.progress("customers", params.customers);
        const started = performance.now();
        const result = await generateOperatorData({ ...params, outDir }, (done, total) =>
          progress.update(done, total),
        );
        progress.done("generated");
        const summary = summarize(result, Math.round(performance.now() - started));
        rt.result(summary, () => renderSummary(summary));
      }),
    );
}

interface GenerateSummary {
  out_dir: string;
  manifest: string;
  seed: number;
  params: GenerateResult["manifest"]["params"];
  window: GenerateResult["manifest"]["window"];
  drift: GenerateResult["manifest"]["drift"];
  churn_monthly_rate: number;
  files: { table: string; file: string; rows: number; bytes: number; sha256: string; defects: number }[];
  duration_ms: number;
}

function summarize(r: GenerateResult, durationMs: number): GenerateSummary {
  const m = r.manifest;
  return {
    out_dir: r.outDir,
    manifest: r.manifestPath,
    seed: m.seed,
    params: m.params,
    window: m.window,
    drift: m.drift,
    churn_monthly_rate: m.churn.overall_monthly_rate,
    files: m.files.map((f) => ({
      table: f.table,
      file: f.file,
      rows: f.rows,
      bytes: f.bytes,
      sha256: f.sha256,
      defects: Object.values(f.defects).reduce((a, b) => a + b, 0),
    })),
    duration_ms: durationMs,
  };
}

function renderSummary(s: GenerateSummary): string {
  const width = Math.max(...s.files.map((f) => f.file.length));
  const lines = [
    `Wrote ${s.out_dir}`,
    `  window ${s.window.start_date} … ${s.window.end_date} (extract ${s.window.extract_date}), seed ${s.seed}` +
      (s.drift.scenario !== "none" ? `, drift ${s.drift.scenario} in ${s.drift.months.join(", ")}` : ""),
    ...s.files.map(
      (f) =>
        `  ${f.file.padEnd(width)}  ${String(f.rows).padStart(10)} rows${f.defects ? `  (${f.defects} with defects)` : ""}`,
    ),
    `  manifest.json (sha256 + row counts), mean monthly churn ${(s.churn_monthly_rate * 100).toFixed(2)}%`,
    `Next: telco data ingest synthetic ${s.out_dir}`,
  ];
  return lines.join("\n");
}
