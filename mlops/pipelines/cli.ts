import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import pc from "picocolors";
import { action, type CommandRuntime, commandGroup, intOption } from "../../platform/cli/runtime.ts";
import type { AppContext } from "../../platform/context.ts";
import { ConfigError, NotFoundError, UsageError } from "../../platform/errors.ts";
import type { ManagedRun, PipelineJobSpec } from "../../platform/ports/pipeline-service.ts";
import type { RunEvent, RunResult, StepResult, StepStatus } from "../../platform/ports/pipelines.ts";
import { getPipeline, listPipelines } from "./catalog.ts";
import { compilePipeline } from "./compile.ts";
import type { Pipeline } from "./dsl.ts";
import type { StepLogLine } from "./metadata.ts";
import { resolveParams, runPipeline } from "./runner.ts";
import { nextRun, scheduleLocal } from "./schedule.ts";
import { runStepEntry } from "./step-entry.ts";

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--param k=v` list → object (values stay strings; the runner parses them by declared type). */
export function parseParamFlags(flags: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw new UsageError(`--param expects NAME=VALUE, got "${f}"`);
    out[f.slice(0, eq)] = f.slice(eq + 1);
  }
  return out;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

const STATUS_COLOR: Record<StepStatus, (s: string) => string> = {
  pending: pc.dim,
  running: pc.cyan,
  succeeded: pc.green,
  cached: pc.blue,
  failed: pc.red,
  skipped: pc.yellow,
};

/** Live step status: redrawn in place on a TTY, one line per finished step elsewhere. */
function liveStatus(rt: CommandRuntime, pipeline: Pipeline): (e: RunEvent) => void {
  if (rt.json) return () => {};
  const tty = Boolean(process.stderr.isTTY);
  const state = new Map<string, { status: StepStatus; note: string }>(
    pipeline.order.map((t) => [t, { status: "pending", note: "" }]),
  );
  let drawn = 0;
  const draw = () => {
    if (drawn > 0) process.stderr.write(`\x1b[${drawn}A`);
    for (const [t, s] of state)
      process.stderr.write(`\x1b[2K  ${STATUS_COLOR[s.status](s.status.padEnd(9))} ${t} ${pc.dim(s.note)}\n`);
    drawn = state.size;
  };
  return (e) => {
    const note =
      e.error ??
      e.message ??
      (e.duration_ms !== undefined ? `${e.duration_ms} ms` : e.attempt > 1 ? `attempt ${e.attempt}` : "");
    state.set(e.task, { status: e.status, note });
    if (tty) draw();
    else if (e.status !== "running" || e.error) rt.info(`  ${e.status.padEnd(9)} ${e.task} ${note}`);
  };
}

/** A promotion gate's decision as a step output (the registry's PromotionDecision, trimmed). */
export interface GateDecision {
  step: string;
  model: string;
  alias: string;
  challenger: number;
  champion: number | null;
  promoted: boolean;
  forced: boolean;
  failed: { check: string; detail: string }[];
}

/** Decisions of every step that output one (`decision` with `promote` and `checks`), e.g. promotion-gate. */
export function gateDecisions(r: RunResult): GateDecision[] {
  const out: GateDecision[] = [];
  for (const s of r.steps) {
    const d = s.outputs?.decision as Record<string, unknown> | undefined;
    if (!d || typeof d !== "object" || !Array.isArray(d.checks) || typeof d.promote !== "boolean") continue;
    const checks = d.checks as { check: string; passed: boolean; enforced: boolean; detail: string }[];
    out.push({
      step: s.name,
      model: String(d.model ?? ""),
      alias: String(d.alias ?? "champion"),
      challenger: Number(d.challenger),
      champion: d.champion === null || d.champion === undefined ? null : Number(d.champion),
      promoted: d.applied === true,
      forced: d.forced === true,
      failed: checks
        .filter((c) => c.enforced && !c.passed)
        .map((c) => ({ check: c.check, detail: c.detail })),
    });
  }
  return out;
}

function renderDecision(d: GateDecision): string[] {
  const who = `${d.model} v${d.challenger}`;
  if (d.promoted)
    return [
      pc.green(
        `  ${d.step}: ${who} promoted to ${d.alias}${d.champion === null ? " (first model)" : ` (was v${d.champion})`}${d.forced ? " — forced" : ""}`,
      ),
    ];
  const head = `  ${d.step}: ${who} ${pc.yellow("refused")} — ${d.alias} stays ${d.champion === null ? "unset" : `v${d.champion}`} (${d.failed.length} check${d.failed.length === 1 ? "" : "s"} failed)`;
  return [
    head,
    ...d.failed.map((f) => `    ✗ ${f.check}: ${f.detail}`),
    pc.dim(
      `    details: telco models show ${d.model} ${d.challenger}; override: telco models promote ${d.model} ${d.challenger} --force --reason TEXT`,
    ),
  ];
}

export function renderRun(r: RunResult): string {
  const lines = [`run ${r.run_id} (${r.pipeline}): ${r.status} in ${r.duration_ms} ms`];
  for (const s of r.steps)
    lines.push(
      `  ${STATUS_COLOR[s.status](s.status.padEnd(9))} ${s.name.padEnd(16)} ${String(s.duration_ms).padStart(7)} ms${s.attempts > 1 ? ` (${s.attempts} attempts)` : ""}${s.cache_source ? pc.dim(` from ${s.cache_source}`) : ""}${s.error ? ` ${pc.red(s.error)}` : ""}`,
    );
  for (const d of gateDecisions(r)) lines.push(...renderDecision(d));
  return lines.join("\n");
}

/** One step's status line and the lines it logged (ctx.log), for `pipeline show --step/--logs`. */
export function renderStepLog(s: StepResult, log: StepLogLine[]): string {
  const head = `  ${STATUS_COLOR[s.status](s.status.padEnd(9))} ${s.name} (${s.step}) ${s.duration_ms} ms${s.attempts > 1 ? `, ${s.attempts} attempts` : ""}${s.cache_source ? pc.dim(` cached from ${s.cache_source}`) : ""}`;
  const lines = log.map((l) => {
    const text = `${s.attempts > 1 ? `[attempt ${l.attempt}] ` : ""}${l.level ? `${l.level} ` : ""}${l.message}`;
    return `    ${pc.dim(l.at)} ${l.level === "error" ? pc.red(text) : l.level === "warn" ? pc.yellow(text) : text}`;
  });
  if (lines.length === 0)
    lines.push(
      pc.dim(
        s.status === "cached"
          ? "    (served from the cache: nothing ran, nothing logged)"
          : "    (no log lines)",
      ),
    );
  if (s.error) lines.push(`    ${pc.red(`error: ${s.error}`)}`);
  return [head, ...lines].join("\n");
}

/** A Vertex AI pipeline job as `pipeline list/show --target vertex --json` prints it. */
export function vertexRunJson(r: ManagedRun) {
  return {
    source: "vertex" as const,
    run_id: r.id,
    name: r.name,
    pipeline: r.pipeline,
    status: r.state,
    service_state: r.serviceState,
    created_at: r.createdAt,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    ...(r.error ? { error: r.error } : {}),
    tasks: r.tasks.map((t) => ({
      task: t.task,
      state: t.state,
      started_at: t.startedAt,
      finished_at: t.finishedAt,
      ...(t.error ? { error: t.error } : {}),
    })),
  };
}

const VERTEX_COLOR: Record<string, (s: string) => string> = {
  succeeded: pc.green,
  skipped: pc.blue,
  running: pc.cyan,
  failed: pc.red,
  cancelled: pc.yellow,
};

const span = (from: string | null, to: string | null) =>
  from && to ? `${Math.round((Date.parse(to) - Date.parse(from)) / 1000)} s` : from ? "since " + from : "";

/** Vertex jobs for a person: one line per job, then one per task (skipped = served from Vertex's cache). */
export function renderVertexRuns(runs: ManagedRun[]): string {
  if (runs.length === 0) return "no Vertex AI pipeline jobs (submit one with `telco pipeline submit NAME`)";
  const lines: string[] = [];
  for (const r of runs) {
    const color = VERTEX_COLOR[r.state] ?? ((x: string) => x);
    lines.push(
      `${r.id}  ${color(r.state.padEnd(10))} ${r.pipeline}  created ${r.createdAt ?? "?"}  ${pc.dim(span(r.startedAt, r.finishedAt))}${r.error ? `  ${pc.red(r.error)}` : ""}`,
    );
    for (const t of r.tasks)
      lines.push(
        `    ${(VERTEX_COLOR[t.state] ?? ((x: string) => x))(t.state.padEnd(13))} ${t.task.padEnd(16)} ${pc.dim(span(t.startedAt, t.finishedAt))}${t.error ? ` ${pc.red(t.error)}` : ""}`,
      );
  }
  return lines.join("\n");
}

function vertexImage(app: AppContext, image?: string): string {
  const img = image ?? app.config.pipelines.vertex.image;
  if (!img)
    throw new ConfigError("no container image for Vertex executors", {
      hint: "Pass --image REGION-docker.pkg.dev/PROJECT/REPO/telco:TAG or set pipelines.vertex.image.",
    });
  return img;
}

function pipelineRoot(app: AppContext): string {
  const root =
    app.config.pipelines.vertex.pipelineRoot ??
    (app.config.gcp.bucket ? `gs://${app.config.gcp.bucket.replace(/^gs:\/\//, "")}/pipelines` : undefined);
  if (!root)
    throw new ConfigError("pipelines.vertex.pipelineRoot (or gcp.bucket) is not set", {
      hint: "Set TELCO_GCP__BUCKET=my-bucket or pipelines.vertex.pipelineRoot: gs://bucket/pipelines.",
    });
  return root;
}

function jobSpec(
  app: AppContext,
  pipeline: Pipeline,
  params: Record<string, string>,
  image?: string,
): PipelineJobSpec {
  return {
    pipelineName: pipeline.name,
    pipelineSpec: compilePipeline(pipeline, {
      image: vertexImage(app, image),
      sdkVersion: `telco-${packageVersion()}`,
    }),
    parameterValues: resolveParams(pipeline, params),
    outputDirectory: pipelineRoot(app),
    serviceAccount: app.config.gcp.serviceAccount,
  };
}

function checkTarget(target: string): void {
  if (target !== "vertex") throw new UsageError(`--target must be vertex, got "${target}"`);
}

/** `telco pipeline …`: run, list, show, compile, submit, step, schedule. */
export function registerPipelineCommands(program: Command): void {
  const group = commandGroup(
    program,
    "pipeline",
    "typed ML pipelines: local runs with caching, Vertex AI compile/submit",
  );

  group
    .command("run")
    .description("run a pipeline locally (independent steps in parallel, unchanged steps from cache)")
    .argument("<name>", "pipeline name (see `telco pipeline list --definitions`)")
    .option("--param <k=v>", "pipeline parameter (repeatable)", collect, [])
    .option("--no-cache", "execute every step even if a cached result exists")
    .option("--resume <run>", "resume a failed run: reuse its succeeded steps, re-run the rest")
    .action(
      action(async (rt, name: string, opts: { param: string[]; cache: boolean; resume?: string }) => {
        const app = rt.app();
        const pipeline = getPipeline(name);
        const r = await runPipeline(app.paths.pipelines, pipeline, {
          params: parseParamFlags(opts.param),
          noCache: !opts.cache,
          resume: opts.resume,
          app,
          maxConcurrency: app.config.pipelines.maxConcurrency,
          onEvent: liveStatus(rt, pipeline),
        });
        const summary = {
          run_id: r.run_id,
          status: r.status,
          steps: r.steps.map((s) => ({ name: s.name, status: s.status, duration_ms: s.duration_ms })),
        };
        const decisions = gateDecisions(r);
        if (decisions.length > 0) Object.assign(summary, { decisions });
        rt.result(summary, () => renderRun(r));
        if (r.status === "failed") {
          rt.info(pc.dim(`resume with: telco pipeline run ${name} --resume ${r.run_id}`));
          process.exitCode = 1;
        }
      }),
    );

  group
    .command("list")
    .description("list recent pipeline runs (or, with --definitions, the registered pipelines)")
    .option("--definitions", "list registered pipeline definitions instead of runs")
    .option("--pipeline <name>", "only runs of this pipeline")
    .option("--limit <n>", "how many runs", intOption("--limit", 1, 10_000), 20)
    .option(
      "--target <target>",
      "local (runs in the metadata store: this workspace, or Firestore under gcp) or vertex (Vertex AI pipeline jobs, with task states)",
      "local",
    )
    .action(
      action(
        async (rt, opts: { definitions?: boolean; pipeline?: string; limit: number; target: string }) => {
          if (opts.target !== "local" && opts.target !== "vertex")
            throw new UsageError(`--target must be local or vertex, got "${opts.target}"`);
          if (opts.target === "vertex" && !opts.definitions) {
            const runs = await rt
              .app()
              .pipelineService()
              .listRuns({ limit: opts.limit, pipeline: opts.pipeline });
            rt.result(runs.map(vertexRunJson), () => renderVertexRuns(runs));
            return;
          }
          if (opts.definitions) {
            const defs = listPipelines().map((p) => ({
              name: p.name,
              description: p.description ?? "",
              tasks: p.order,
              params: Object.fromEntries(
                Object.entries(p.params).map(([k, s]) => [k, { type: s.type, default: s.default }]),
              ),
            }));
            rt.result(defs, () =>
              defs.map((d) => `${d.name}  ${d.tasks.join(" → ")}  ${pc.dim(d.description)}`).join("\n"),
            );
            return;
          }
          const meta = rt.app().pipelineMetadata();
          try {
            const rows = await meta.listRuns(opts.limit, opts.pipeline);
            const allSteps = await Promise.all(rows.map((r) => meta.steps(r.id)));
            const runs = rows.map((r, i) => {
              const steps = allSteps[i] ?? [];
              return {
                run_id: r.id,
                pipeline: r.pipeline,
                status: r.status,
                started_at: r.startedAt,
                finished_at: r.finishedAt,
                trigger: r.trigger,
                steps: steps.length,
                cached: steps.filter((s) => s.status === "cached").length,
              };
            });
            rt.result(runs, () =>
              runs.length === 0
                ? "no pipeline runs yet (try `telco pipeline run demo`)"
                : runs
                    .map(
                      (r) =>
                        `${r.run_id}  ${r.status.padEnd(9)} ${r.started_at}  ${r.cached}/${r.steps} cached${r.trigger?.reason ? `  (${r.trigger.kind}: ${r.trigger.reason})` : ""}`,
                    )
                    .join("\n"),
            );
          } finally {
            await meta.close();
          }
        },
      ),
    );

  group
    .command("show")
    .description(
      "show a run: steps, status, timings, cache hits, artifacts and lineage; --logs or --step NAME print the steps' logs",
    )
    .argument("<run>", "run id")
    .option("--step <name>", "only this step: its result and the lines it logged")
    .option("--logs", "also print every step's log lines")
    .option("--target <target>", "local (the metadata store) or vertex (the Vertex AI pipeline job)", "local")
    .action(
      action(async (rt, runId: string, opts: { step?: string; logs?: boolean; target: string }) => {
        if (opts.target !== "local" && opts.target !== "vertex")
          throw new UsageError(`--target must be local or vertex, got "${opts.target}"`);
        if (opts.target === "vertex") {
          const job = await rt.app().pipelineService().getRun(runId);
          if (!job)
            throw new NotFoundError(`Vertex AI pipeline job ${runId}`, {
              hint: "See `telco pipeline list --target vertex`.",
            });
          rt.result(vertexRunJson(job), () => renderVertexRuns([job]));
          return;
        }
        const meta = rt.app().pipelineMetadata();
        try {
          const r = await meta.runResult(runId);
          if (!r) throw new NotFoundError(`pipeline run ${runId}`, { hint: "See `telco pipeline list`." });
          if (opts.step !== undefined) {
            const step = r.steps.find((s) => s.name === opts.step);
            if (!step)
              throw new UsageError(`--step: run ${runId} has no step "${opts.step}"`, {
                hint: `Steps: ${r.steps.map((s) => s.name).join(", ") || "none"}.`,
              });
            const log = (await meta.stepLogs(runId, step.name))[step.name] ?? [];
            rt.result({ run_id: r.run_id, pipeline: r.pipeline, step, log }, () => renderStepLog(step, log));
            return;
          }
          const lineage = (await meta.lineage(runId)).map((e) => ({
            task: e.task,
            direction: e.direction,
            name: e.name,
            artifact: {
              id: e.artifact.id,
              type: e.artifact.type,
              uri: e.artifact.uri,
              hash: e.artifact.hash,
              bytes: e.artifact.bytes,
              producer_run: e.artifact.runId,
            },
          }));
          const logs = opts.logs ? await meta.stepLogs(runId) : undefined;
          const value = {
            ...r,
            cache_hits: r.steps.filter((s) => s.status === "cached").length,
            lineage,
            ...(logs ? { logs } : {}),
          };
          rt.result(value, () =>
            [
              renderRun(r),
              `  params: ${JSON.stringify(r.params)}${r.trigger ? `  trigger: ${r.trigger.kind}${r.trigger.reason ? ` (${r.trigger.reason})` : ""}` : ""}`,
              "  lineage:",
              ...lineage.map(
                (l) =>
                  `    ${l.task} ${l.direction === "input" ? "←" : "→"} ${l.name} [${l.artifact.type}] ${l.artifact.hash.slice(0, 12)} ${pc.dim(l.artifact.uri)}`,
              ),
              ...(logs
                ? r.steps.map((s) => renderStepLog(s, logs[s.name] ?? []))
                : [pc.dim(`  step logs: telco pipeline show ${r.run_id} --logs (or --step NAME)`)]),
            ].join("\n"),
          );
        } finally {
          await meta.close();
        }
      }),
    );

  group
    .command("compile")
    .description("compile a pipeline to a KFP v2 PipelineSpec JSON for Vertex AI Pipelines")
    .argument("<name>", "pipeline name")
    .option("--target <target>", "compile target (vertex)", "vertex")
    .option("--image <image>", "container image with the telco CLI (default pipelines.vertex.image)")
    .requiredOption("-o, --output <file>", "where to write the PipelineSpec JSON")
    .action(
      action(async (rt, name: string, opts: { target: string; image?: string; output: string }) => {
        checkTarget(opts.target);
        const spec = compilePipeline(getPipeline(name), {
          image: vertexImage(rt.app(), opts.image),
          sdkVersion: `telco-${packageVersion()}`,
        });
        writeFileSync(opts.output, `${JSON.stringify(spec, null, 2)}\n`);
        rt.result(
          {
            pipeline: name,
            output: opts.output,
            tasks: Object.keys((spec.root as { dag: { tasks: object } }).dag.tasks),
          },
          () => `wrote ${opts.output}`,
        );
      }),
    );

  group
    .command("submit")
    .description("submit a pipeline run to Vertex AI Pipelines (--dry-run prints the request)")
    .argument("<name>", "pipeline name")
    .option("--target <target>", "where to run (vertex)", "vertex")
    .option("--image <image>", "container image with the telco CLI (default pipelines.vertex.image)")
    .option("--param <k=v>", "pipeline parameter (repeatable)", collect, [])
    .option("--dry-run", "print the exact CreatePipelineJob request instead of sending it")
    .action(
      action(
        async (
          rt,
          name: string,
          opts: { target: string; image?: string; param: string[]; dryRun?: boolean },
        ) => {
          checkTarget(opts.target);
          const app = rt.app();
          const service = app.pipelineService();
          const call = service.planRun(
            jobSpec(app, getPipeline(name), parseParamFlags(opts.param), opts.image),
          );
          if (opts.dryRun) {
            rt.result({ dryRun: true, method: call.method, request: call.request });
            return;
          }
          const job = await service.execute(call);
          rt.result({ dryRun: false, job }, () => `submitted ${String(job.name)} (${String(job.state)})`);
        },
      ),
    );

  group
    .command("step")
    .description("run one step in a container (the entry point Vertex AI executors call)")
    .argument("<step>", "PIPELINE/STEP")
    .option("--param <k=v>", "input parameter value", collect, [])
    .option("--input-artifact <k=path>", "input artifact path", collect, [])
    .option("--output-artifact <k=path>", "where to write an output artifact", collect, [])
    .option("--output-param <k=file>", "file receiving an output parameter value", collect, [])
    .option(
      "--run-id <id>",
      "record the step in the pipeline metadata store under this run (Vertex passes its pipeline job name)",
    )
    .option("--task <name>", "the task's name in the pipeline (default: the one task using the step)")
    .action(
      action(
        async (
          rt,
          ref: string,
          opts: {
            param: string[];
            inputArtifact: string[];
            outputArtifact: string[];
            outputParam: string[];
            runId?: string;
            task?: string;
          },
        ) => {
          const out = await runStepEntry(ref, {
            params: opts.param,
            inputArtifacts: opts.inputArtifact,
            outputArtifacts: opts.outputArtifact,
            outputParams: opts.outputParam,
            runId: opts.runId,
            task: opts.task,
            app: rt.app(),
          });
          rt.result(
            out,
            () =>
              `step ${out.step} done ${JSON.stringify(out.outputs)}${out.run_id ? pc.dim(` (recorded in run ${out.run_id}, task ${out.task})`) : ""}`,
          );
        },
      ),
    );

  group
    .command("schedule")
    .description("run a pipeline on a cron: locally while this process runs, or as a Vertex AI schedule")
    .argument("<name>", "pipeline name")
    .requiredOption("--cron <expr>", 'cron expression, e.g. "0 3 * * 1" (Mondays 03:00)')
    .option(
      "--target <target>",
      "local (this process) or vertex (default: vertex on the gcp profile, else local)",
    )
    .option("--timezone <tz>", "IANA time zone for the cron (default: local / UTC on Vertex)")
    .option("--param <k=v>", "pipeline parameter (repeatable)", collect, [])
    .option("--image <image>", "container image (vertex)")
    .option("--max-runs <n>", "stop after n runs (local)", intOption("--max-runs", 1))
    .option("--dry-run", "vertex: print the CreateSchedule request instead of sending it")
    .action(
      action(
        async (
          rt,
          name: string,
          opts: {
            cron: string;
            target?: string;
            timezone?: string;
            param: string[];
            image?: string;
            maxRuns?: number;
            dryRun?: boolean;
          },
        ) => {
          const app = rt.app();
          const pipeline = getPipeline(name);
          const params = parseParamFlags(opts.param);
          const next = nextRun(opts.cron, opts.timezone);
          const target = opts.target ?? (app.config.profile === "gcp" ? "vertex" : "local");
          if (target === "vertex") {
            const service = app.pipelineService();
            const call = service.planSchedule(jobSpec(app, pipeline, params, opts.image), opts.cron, {
              timeZone: opts.timezone,
              maxConcurrentRunCount: app.config.pipelines.vertex.maxConcurrentRunCount,
            });
            if (opts.dryRun) {
              rt.result({ dryRun: true, method: call.method, request: call.request });
              return;
            }
            const schedule = await service.execute(call);
            rt.result(
              { dryRun: false, schedule },
              () =>
                `scheduled ${String(schedule.name)} (${String(schedule.state)})${schedule.nextRunTime ? `, next run ${String(schedule.nextRunTime)}` : ""}`,
            );
            return;
          }
          if (target !== "local") throw new UsageError(`--target must be local or vertex, got "${target}"`);
          resolveParams(pipeline, params); // fail now, not at 03:00
          rt.info(`scheduling ${name} on "${opts.cron}"; next run ${next.toISOString()} (Ctrl-C to stop)`);
          const runs: Array<{ run_id: string; status: string }> = [];
          const stop = new AbortController();
          const onSignal = () => stop.abort();
          process.once("SIGINT", onSignal);
          process.once("SIGTERM", onSignal);
          try {
            await scheduleLocal(
              opts.cron,
              async () => {
                const r = await runPipeline(app.paths.pipelines, pipeline, {
                  params,
                  app,
                  maxConcurrency: app.config.pipelines.maxConcurrency,
                  trigger: { kind: "schedule", reason: `cron ${opts.cron}`, at: new Date().toISOString() },
                });
                runs.push({ run_id: r.run_id, status: r.status });
                rt.info(`${new Date().toISOString()} run ${r.run_id}: ${r.status}`);
              },
              { maxRuns: opts.maxRuns, timezone: opts.timezone, signal: stop.signal },
            );
          } finally {
            process.off("SIGINT", onSignal);
            process.off("SIGTERM", onSignal);
          }
          rt.result({ pipeline: name, cron: opts.cron, runs }, () => `${runs.length} scheduled run(s) done`);
        },
      ),
    );
}
