import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { action } from "../../platform/cli/runtime.ts";
import { EVAL_SUITES } from "../../platform/config/sections/evals.ts";
import { UsageError, ValidationError } from "../../platform/errors.ts";
import type { LlmProvider } from "../../platform/ports/llm.ts";
import type { SandboxFixture } from "../testing/sandbox-fixture.ts";
import { compareRuns, renderDiff } from "./report/compare.ts";
import { gateRun } from "./report/gate.ts";
import { renderHtmlReport } from "./report/html.ts";
import {
  acceptRun,
  baselineFor,
  baselinePath,
  loadRun,
  loadRuns,
  readBaseline,
  runsDir,
  saveRun,
  writeBaseline,
} from "./report/store.ts";
import { renderRunSummary } from "./report/text.ts";
import { parseSuites, REPO_ROOT, runEvals } from "./suites/index.ts";
import type { EngineName, EvalRun } from "./suites/types.ts";

/** What tests inject: one shared operator sandbox, a mock model. */
export interface EvalCliOptions {
  fixture?: () => Promise<SandboxFixture>;
  llm?: () => Promise<LlmProvider>;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The run as `--json` prints it: everything but the transcripts (they are in the stored run). */
export function runJson(run: EvalRun, files: { run: string; report: string | null }) {
  return {
    run_id: run.run_id,
    created_at: run.created_at,
    engine: run.engine,
    k: run.k,
    llm: run.llm,
    git: run.git,
    duration_ms: run.duration_ms,
    gate: run.gate,
    suites: run.suites.map((s) => ({
      suite: s.suite,
      status: s.status,
      summary: s.summary,
      metrics: s.metrics,
      cases: s.cases.length,
      failed: s.cases.filter((c) => !c.passed).map((c) => ({ id: c.id, failures: c.failures })),
      notes: s.notes,
      ms: s.ms,
      ...(s.error ? { error: s.error } : {}),
    })),
    files,
  };
}

async function writeReport(run: EvalRun, dir: string, baselineFile: string, out?: string): Promise<string> {
  const engineBaseline = baselineFor(readBaseline(baselineFile), run.engine);
  const html = await renderHtmlReport(run, { history: loadRuns(dir), baseline: engineBaseline });
  const file = out ? resolve(out) : join(dir, `${run.run_id}.html`);
  writeFileSync(file, html);
  return file;
}

/** `telco eval run|accept|compare|report|list`. */
export function registerEvalCommands(program: Command, opts: EvalCliOptions = {}): void {
  const ev = program
    .command("eval")
    .description("evaluate the assistant: suites gated by thresholds and the accepted baseline, HTML report");

  ev.command("run")
    .description(
      "run the eval suites (offline with the local engine); exit 1 on a threshold miss or a regression",
    )
    .option(
      "--suite <names>",
      `suites, comma-separated or repeated (${EVAL_SUITES.join(", ")}; default all)`,
      collect,
    )
    .option(
      "--engine <name>",
      "local (offline) or llm (the configured model: understanding and phrasing)",
      "local",
    )
    .option("--k <n>", "trials per conversation for pass^k (default 1 for local, evals.k for llm)")
    .option("--only <ids>", "only these golden conversation ids or prefixes, comma-separated")
    .option("--baseline <file>", "baseline file (default evals.baseline)")
    .option("--no-report", "do not write the HTML report")
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  telco eval run                          # every offline suite, local engine (what CI runs)",
        "  telco eval run --suite golden,latency",
        "  telco eval run --engine llm --k 3       # pass^3 with the configured model, and the LLM judge",
        "  telco eval accept                       # the last run becomes the baseline",
      ].join("\n"),
    )
    .action(
      action(
        async (
          rt,
          o: {
            suite?: string[];
            engine: string;
            k?: string;
            only?: string;
            baseline?: string;
            report: boolean;
          },
        ) => {
          if (o.engine !== "local" && o.engine !== "llm")
            throw new UsageError(`--engine must be local or llm, got "${o.engine}"`);
          const k = o.k === undefined ? undefined : Number(o.k);
          if (k !== undefined && (!Number.isInteger(k) || k < 1 || k > 20))
            throw new UsageError(`--k must be a whole number from 1 to 20, got "${o.k}"`);
          const app = rt.app();
          const bfile = baselinePath(app.config.evals, REPO_ROOT, o.baseline);
          const baseline = readBaseline(bfile);
          const run = await runEvals({
            app,
            engine: o.engine as EngineName,
            ...(parseSuites(o.suite) ? { suites: parseSuites(o.suite) } : {}),
            ...(k ? { k } : {}),
            ...(o.only
              ? {
                  only: o.only
                    .split(",")
                    .map((s) => s.trim())
                    .filter(Boolean),
                }
              : {}),
            ...(opts.fixture ? { fixture: await opts.fixture() } : {}),
            ...(opts.llm ? { llm: await opts.llm() } : {}),
            progress: (m) => rt.info(m),
          });
          run.gate = gateRun(run, baselineFor(baseline, run.engine), app.config.evals);
          const dir = runsDir(app.paths.assistant);
          const runFile = saveRun(dir, run, app.config.evals.keepRuns);
          const report = o.report ? await writeReport(run, dir, bfile) : null;
          rt.result(runJson(run, { run: runFile, report }), () =>
            renderRunSummary(run, report ? { reportFile: report } : {}),
          );
          if (!run.gate.passed) process.exitCode = 1;
        },
      ),
    );

  ev.command("accept")
    .description("make a run (default: the latest) the baseline of its engine, in the repository")
    .argument("[run]", "run id or unique prefix (default latest)")
    .option("--baseline <file>", "baseline file (default evals.baseline)")
    .action(
      action(async (rt, id: string | undefined, o: { baseline?: string }) => {
        const app = rt.app();
        const run = loadRun(runsDir(app.paths.assistant), id ?? "latest");
        const broken = run.suites.filter((s) => s.status === "error");
        if (broken.length)
          throw new ValidationError(
            "run",
            `${run.run_id} has suites that failed to run (${broken.map((s) => s.suite).join(", ")}): not accepted`,
          );
        const file = baselinePath(app.config.evals, REPO_ROOT, o.baseline);
        const next = acceptRun(readBaseline(file), run);
        writeBaseline(file, next);
        const misses = run.gate.threshold_misses.length;
        if (misses) rt.warn(`${run.run_id} misses ${misses} threshold(s); accepted as asked`);
        rt.result(
          { baseline: file, engine: run.engine, run_id: run.run_id, suites: run.suites.map((s) => s.suite) },
          () =>
            `baseline ${file}: ${run.engine} engine ← ${run.run_id} (${run.suites.map((s) => s.suite).join(", ")})`,
        );
      }),
    );

  ev.command("compare")
    .description("per-suite metric changes and per-case differences between two runs")
    .argument("<a>", "run id (or prefix, or latest)")
    .argument("<b>", "run id (or prefix, or latest)")
    .action(
      action(async (rt, a: string, b: string) => {
        const dir = runsDir(rt.app().paths.assistant);
        const diff = compareRuns(loadRun(dir, a), loadRun(dir, b));
        rt.result(diff, () => renderDiff(diff));
      }),
    );

  ev.command("report")
    .description(
      "write the HTML report of a run (default: the latest): scores, failures with transcripts, trends",
    )
    .argument("[run]", "run id or unique prefix (default latest)")
    .option("--out <file>", "where to write it (default beside the run in the workspace)")
    .option("--baseline <file>", "baseline file (default evals.baseline)")
    .action(
      action(async (rt, id: string | undefined, o: { out?: string; baseline?: string }) => {
        const app = rt.app();
        const dir = runsDir(app.paths.assistant);
        const run = loadRun(dir, id ?? "latest");
        const file = await writeReport(
          run,
          dir,
          baselinePath(app.config.evals, REPO_ROOT, o.baseline),
          o.out,
        );
        rt.result({ run_id: run.run_id, report: file }, () => `report: ${file}`);
      }),
    );

  ev.command("list")
    .description("stored runs, newest first")
    .action(
      action(async (rt) => {
        const dir = runsDir(rt.app().paths.assistant);
        const runs = existsSync(dir) ? loadRuns(dir).reverse() : [];
        const rows = runs.map((r) => ({
          run_id: r.run_id,
          created_at: r.created_at,
          engine: r.engine,
          k: r.k,
          gate: r.gate.passed ? "passed" : "failed",
          suites: r.suites.map((s) => s.suite),
        }));
        rt.result({ runs: rows }, () =>
          rows.length
            ? rows
                .map(
                  (r) =>
                    `${r.run_id}  ${r.engine}${r.k > 1 ? ` k=${r.k}` : ""}  ${r.gate}  ${r.suites.join(",")}`,
                )
                .join("\n")
            : "no eval runs yet (telco eval run)",
        );
      }),
    );
}
