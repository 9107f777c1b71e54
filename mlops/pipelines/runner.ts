import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type AppContext, openPipelineMetadata } from "../../platform/context.ts";
import { NotFoundError, TelcoError, ValidationError } from "../../platform/errors.ts";
import type {
  ArtifactRecord,
  ParamValue,
  RunEvent,
  RunResult,
  RunTrigger,
  StepResult,
  StepStatus,
} from "../../platform/ports/pipelines.ts";
import { crashPoint } from "../../platform/testing/crash-points.ts";
import { materializeArtifact, publishArtifact } from "./artifacts.ts";
import {
  type AnyStep,
  checkParamValue,
  type InputArtifact,
  type OutputArtifact,
  type Pipeline,
  parseParamString,
} from "./dsl.ts";
import { canonicalJson, hashPath, sha256 } from "./hash.ts";
import type { PipelineMetadataStore } from "./metadata.ts";
import { stepLogger } from "./step-log.ts";

export interface RunOptions {
  /** Parameter values (typed, or strings from the command line). */
  params?: Record<string, unknown>;
  /** Execute every step even when a cached result exists (results still refresh the cache). */
  noCache?: boolean;
  /** Reuse the succeeded steps of this earlier (failed) run whose cache key is unchanged. */
  resume?: string;
  maxConcurrency?: number;
  trigger?: RunTrigger;
  onEvent?: (event: RunEvent) => void;
  /** Handed to steps as ctx.app() (steps that read the warehouse or train need it). */
  app?: AppContext;
  /**
   * Where runs are recorded (the caller keeps it open). Default: `app.pipelineMetadata(root)`, or
   * without an app the composition root's store at `root` (platform/context.ts openPipelineMetadata).
   */
  metadata?: PipelineMetadataStore;
}

/** Pipeline parameter values: defaults, then overrides; unknown names and bad values are errors. */
export function resolveParams(
  pipeline: Pipeline,
  given: Record<string, unknown> = {},
): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const name of Object.keys(given))
    if (!pipeline.params[name])
      throw new ValidationError(`--param ${name}`, `pipeline ${pipeline.name} has no parameter "${name}"`, {
        hint: `Parameters: ${Object.keys(pipeline.params).join(", ") || "none"}.`,
      });
  for (const [name, spec] of Object.entries(pipeline.params)) {
    const v = given[name];
    if (v === undefined) {
      if (spec.default === undefined)
        throw new ValidationError(`--param ${name}`, "is required", { hint: `Pass --param ${name}=VALUE.` });
      out[name] = spec.default;
    } else
      out[name] =
        typeof v === "string" && spec.type !== "string"
          ? parseParamString(spec.type, v, `--param ${name}`)
          : checkParamValue(spec.type, v, `--param ${name}`);
  }
  return out;
}

function newRunId(pipeline: string): string {
  const ts = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  return `${pipeline}-${ts}-${randomBytes(3).toString("hex")}`;
}

interface TaskOutcome {
  status: StepStatus;
  outputs: Record<string, ParamValue>;
  artifacts: Record<string, ArtifactRecord>;
  /** Where each artifact's files are in this container's working folder (what downstream steps read). */
  paths: Record<string, string>;
}

/** The cache key of one task execution: step code + parameters + input artifact hashes. */
export function cacheKey(
  step: AnyStep,
  params: Record<string, ParamValue>,
  inputs: Record<string, InputArtifact>,
): string {
  return sha256(
    canonicalJson({
      step: step.name,
      version: step.version,
      code: step.codeHash,
      params,
      artifacts: Object.fromEntries(Object.entries(inputs).map(([k, a]) => [k, a.hash])),
    }),
  );
}

/**
 * Runs a pipeline locally: tasks whose upstream tasks are done start concurrently (up to
 * maxConcurrency), each with its retry policy; unchanged tasks are served from the cache; a
 * failure skips the failed task's downstream tasks while independent branches finish.
 */
export async function runPipeline(
  root: string,
  pipeline: Pipeline,
  opts: RunOptions = {},
): Promise<RunResult> {
  if (opts.metadata) return execute(opts.metadata, pipeline, opts);
  const meta = opts.app ? opts.app.pipelineMetadata(root) : openPipelineMetadata(root);
  try {
    return await execute(meta, pipeline, opts);
  } finally {
    await meta.close();
  }
}

/**
 * Two pipeline runs in two processes would race for the warehouse's write lock, and the second would
 * fail mid-step with a raw lock error: refuse it up front, naming the run that holds it. (Runs of one
 * process, e.g. a scheduled retraining while `telco up` serves, share its warehouse connection.)
 */
async function refuseIfAnotherProcessRuns(meta: PipelineMetadataStore): Promise<void> {
  // A run of this host whose process is gone reads as failed (metadata.toRun), so only live ones stop us.
  const other = (await meta.listRuns(50)).find(
    (r) => r.status === "running" && r.host === hostname() && r.pid !== null && r.pid !== process.pid,
  );
  if (!other) return;
  throw new TelcoError(
    "pipeline_busy",
    `pipeline run ${other.id} (${other.pipeline}) is running in process ${other.pid} since ${other.startedAt}`,
    {
      hint: `Wait for it (\`telco pipeline show ${other.id}\`), or stop that process; a killed run is marked failed and can be resumed with --resume.`,
      details: { run_id: other.id, pid: other.pid },
    },
  );
}

/**
 * Step outputs that no artifact record names: a process killed between a step's write and its metadata
 * commit (or a failed attempt) left them, and nothing reads them (a resumed run re-runs that step into
 * its own folder). Removed when the next run starts; the folders of running runs are left alone (a run
 * whose process died reads as failed). This cleans the local working folder only (under gcp, objects a
 * killed process uploaded to the lake before recording them stay there).
 */
async function removeOrphanOutputs(meta: PipelineMetadataStore): Promise<void> {
  const root = join(meta.root, "artifacts");
  if (!existsSync(root)) return;
  for (const runId of readdirSync(root)) {
    if ((await meta.getRun(runId))?.status === "running") continue;
    const runDir = join(root, runId);
    for (const taskName of readdirSync(runDir)) {
      const taskDir = join(runDir, taskName);
      for (const name of readdirSync(taskDir))
        if (!(await meta.artifact(`${runId}/${taskName}/${name}`)))
          rmSync(join(taskDir, name), { recursive: true, force: true });
      if (readdirSync(taskDir).length === 0) rmSync(taskDir, { recursive: true, force: true });
    }
    if (readdirSync(runDir).length === 0) rmSync(runDir, { recursive: true, force: true });
  }
}

async function execute(
  meta: PipelineMetadataStore,
  pipeline: Pipeline,
  opts: RunOptions,
): Promise<RunResult> {
  let resumeSteps: Map<string, StepResult> | undefined;
  let givenParams = opts.params ?? {};
  if (opts.resume) {
    const old = await meta.getRun(opts.resume);
    if (!old) throw new NotFoundError(`pipeline run ${opts.resume}`, { hint: "See `telco pipeline list`." });
    if (old.pipeline !== pipeline.name)
      throw new ValidationError(
        "--resume",
        `run ${opts.resume} is of pipeline ${old.pipeline}, not ${pipeline.name}`,
      );
    givenParams = { ...old.params, ...givenParams };
    resumeSteps = new Map(
      (await meta.steps(old.id))
        .filter((s) => s.status === "succeeded" || s.status === "cached")
        .map((s) => [s.name, s]),
    );
  }
  const params = resolveParams(pipeline, givenParams);
  await refuseIfAnotherProcessRuns(meta);
  await removeOrphanOutputs(meta);
  const runId = newRunId(pipeline.name);
  const started = Date.now();
  await meta.createRun({
    id: runId,
    pipeline: pipeline.name,
    params,
    trigger: opts.trigger ?? { kind: "manual", at: new Date().toISOString() },
    resumedFrom: opts.resume,
  });

  const results = new Map<string, StepResult>();
  const outcomes = new Map<string, TaskOutcome>();
  const emit = (task: string, status: StepStatus, attempt: number, extra: Partial<RunEvent> = {}) =>
    opts.onEvent?.({ runId, task, status, attempt, ...extra });
  for (const t of pipeline.order) {
    const r: StepResult = {
      name: t,
      step: pipeline.tasks[t]?.step.name ?? t,
      status: "pending",
      duration_ms: 0,
      attempts: 0,
    };
    results.set(t, r);
    await meta.upsertStep(runId, r);
  }

  const maxConcurrency = Math.max(1, opts.maxConcurrency ?? 4);
  const running = new Map<string, Promise<void>>();
  const done = new Set<string>();

  // The in-memory state changes at once (the loop must not start a skipped task); the records follow.
  const markSkipped = async (failed: string) => {
    const skipped: StepResult[] = [];
    for (const t of pipeline.order) {
      const r = results.get(t) as StepResult;
      if (r.status !== "pending") continue;
      if (dependsOn(pipeline, t, failed)) {
        r.status = "skipped";
        r.error = `upstream task ${failed} failed`;
        done.add(t);
        skipped.push(r);
        emit(t, "skipped", 0);
      }
    }
    for (const r of skipped) await meta.upsertStep(runId, r);
  };

  while (done.size < pipeline.order.length) {
    for (const t of pipeline.order) {
      if (running.size >= maxConcurrency) break;
      if (done.has(t) || running.has(t)) continue;
      const ups = pipeline.upstream[t] ?? [];
      if (!ups.every((u) => done.has(u) && outcomes.has(u))) continue;
      const p = (async () => {
        try {
          const outcome = await runTask(
            meta,
            pipeline,
            runId,
            t,
            params,
            outcomes,
            results.get(t) as StepResult,
            opts,
            resumeSteps,
            emit,
          );
          if (outcome) outcomes.set(t, outcome);
        } catch (err) {
          // A bug outside the step function (metadata, hashing, upload) fails the task, not the runner.
          const r = results.get(t) as StepResult;
          Object.assign(r, { status: "failed", error: err instanceof Error ? err.message : String(err) });
          emit(t, "failed", r.attempts, { error: r.error });
          await meta.upsertStep(runId, r);
        }
        done.add(t);
        if (!outcomes.has(t)) await markSkipped(t);
      })().finally(() => running.delete(t));
      running.set(t, p);
    }
    if (running.size === 0) break; // nothing runnable: remaining tasks were skipped
    await Promise.race(running.values());
  }

  const steps = pipeline.order.map((t) => results.get(t) as StepResult);
  const failed = steps.filter((s) => s.status === "failed");
  const status = failed.length === 0 ? "succeeded" : "failed";
  await meta.finishRun(
    runId,
    status,
    failed.length ? failed.map((s) => `${s.name}: ${s.error}`).join("; ") : undefined,
  );
  return {
    run_id: runId,
    pipeline: pipeline.name,
    status,
    duration_ms: Date.now() - started,
    params,
    steps,
    ...(opts.trigger ? { trigger: opts.trigger } : {}),
    ...(opts.resume ? { resumed_from: opts.resume } : {}),
  };
}

function dependsOn(pipeline: Pipeline, task: string, ancestor: string): boolean {
  const stack = [...(pipeline.upstream[task] ?? [])];
  const seen = new Set<string>();
  while (stack.length) {
    const t = stack.pop() as string;
    if (t === ancestor) return true;
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push(...(pipeline.upstream[t] ?? []));
  }
  return false;
}

/**
 * The records and local files of cached artifacts: each must still exist with its recorded size, in the
 * working folder or in the store's lake (then downloaded here; see artifacts.ts).
 */
async function cachedArtifacts(
  meta: PipelineMetadataStore,
  ids: Record<string, string>,
): Promise<{ artifacts: Record<string, ArtifactRecord>; paths: Record<string, string> } | undefined> {
  const artifacts: Record<string, ArtifactRecord> = {};
  const paths: Record<string, string> = {};
  for (const [name, id] of Object.entries(ids)) {
    const a = await meta.artifact(id);
    const path = a ? await materializeArtifact(meta, a) : undefined;
    if (!a || !path) return undefined;
    artifacts[name] = a;
    paths[name] = path;
  }
  return { artifacts, paths };
}

async function runTask(
  meta: PipelineMetadataStore,
  pipeline: Pipeline,
  runId: string,
  taskName: string,
  pipelineParams: Record<string, ParamValue>,
  outcomes: Map<string, TaskOutcome>,
  result: StepResult,
  opts: RunOptions,
  resumeSteps: Map<string, StepResult> | undefined,
  emit: (task: string, status: StepStatus, attempt: number, extra?: Partial<RunEvent>) => void,
): Promise<TaskOutcome | undefined> {
  const t = pipeline.tasks[taskName];
  if (!t) throw new TelcoError("internal", `unknown task ${taskName}`);
  const step = t.step;
  const started = Date.now();
  const startedAt = new Date().toISOString();

  // Resolve inputs.
  const paramInputs: Record<string, ParamValue> = {};
  const artifactInputs: Record<string, InputArtifact> = {};
  const artifactIds: Record<string, string> = {};
  for (const [name, spec] of Object.entries(step.inputs)) {
    const b = t.inputs[name];
    if (!b) {
      if (spec.kind === "param" && spec.default !== undefined) paramInputs[name] = spec.default;
      continue;
    }
    if (b.from === "param") paramInputs[name] = pipelineParams[b.name] as ParamValue;
    else if (b.from === "constant") paramInputs[name] = b.value;
    else {
      const up = outcomes.get(b.task) as TaskOutcome;
      if (spec.kind === "param") paramInputs[name] = up.outputs[b.output] as ParamValue;
      else {
        const a = up.artifacts[b.output] as ArtifactRecord;
        const path = up.paths[b.output] as string;
        artifactInputs[name] = { type: a.type, path, hash: a.hash, metadata: { ...a.metadata } };
        artifactIds[name] = a.id;
      }
    }
  }
  const key = cacheKey(step, paramInputs, artifactInputs);
  result.cache_key = key;
  const recordInputs = async () => {
    for (const [name, id] of Object.entries(artifactIds))
      await meta.addEvent(runId, taskName, id, "input", name);
  };

  // Resume, then cache.
  const cachingEnabled = (t.cache ?? step.cache ?? true) && !opts.noCache;
  const prior = resumeSteps?.get(taskName);
  const candidate =
    prior && prior.cache_key === key
      ? { runId: opts.resume as string, outputs: prior.outputs ?? {}, artifacts: prior.artifacts ?? {} }
      : cachingEnabled
        ? await meta.getCache(key)
        : undefined;
  if (candidate) {
    const found = await cachedArtifacts(meta, candidate.artifacts);
    if (found) {
      const arts = found.artifacts;
      await recordInputs();
      for (const [name, a] of Object.entries(arts))
        await meta.addEvent(runId, taskName, a.id, "output", name);
      Object.assign(result, {
        status: "cached",
        duration_ms: Date.now() - started,
        attempts: 0,
        cache_source: candidate.runId,
        outputs: candidate.outputs,
        artifacts: Object.fromEntries(Object.entries(arts).map(([n, a]) => [n, a.id])),
      });
      await meta.upsertStep(runId, { ...result, startedAt });
      emit(taskName, "cached", 0, { duration_ms: result.duration_ms });
      return { status: "cached", outputs: candidate.outputs, artifacts: arts, paths: found.paths };
    }
    if ("key" in candidate) await meta.deleteCache(key); // artifacts vanished: the entry is useless
  }

  // Execute with retries.
  const retry = t.retry ?? step.retry ?? { maxAttempts: 1 };
  const outDir = join(meta.root, "artifacts", runId, taskName);
  const logger = stepLogger(meta, runId, taskName);
  let lastError = "";
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    result.status = "running";
    result.attempts = attempt;
    await meta.upsertStep(runId, { ...result, startedAt });
    emit(taskName, "running", attempt);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    const slots: Record<string, OutputArtifact> = {};
    for (const [name, spec] of Object.entries(step.outputs))
      if (spec.kind === "artifact") slots[name] = { type: spec.type, path: join(outDir, name), metadata: {} };
    try {
      const returned = (await step.run(
        { ...paramInputs, ...artifactInputs },
        {
          outputs: slots,
          runId,
          task: taskName,
          attempt,
          log: (m, level) => emit(taskName, "running", attempt, { message: logger.log(m, attempt, level) }),
          app: () => {
            if (!opts.app)
              throw new TelcoError("no_app", `step ${step.name} needs an application context`, {
                hint: "Pass { app } to runPipeline (the CLI does).",
              });
            return opts.app;
          },
        },
      )) as Record<string, unknown> | undefined;
      const outputs: Record<string, ParamValue> = {};
      for (const [name, spec] of Object.entries(step.outputs)) {
        if (spec.kind !== "param") continue;
        const v = returned?.[name];
        if (v === undefined)
          throw new ValidationError(`task ${taskName}: output ${name}`, "was not returned by the step");
        outputs[name] = checkParamValue(spec.type, v, `task ${taskName}: output ${name}`);
      }
      const artifacts: Record<string, ArtifactRecord> = {};
      const paths: Record<string, string> = {};
      for (const [name, slot] of Object.entries(slots)) {
        if (!existsSync(slot.path))
          throw new ValidationError(
            `task ${taskName}: output ${name}`,
            `the step did not write its ${slot.type} artifact to ${slot.path}`,
          );
        const { hash, bytes } = await hashPath(slot.path);
        paths[name] = slot.path;
        artifacts[name] = {
          id: `${runId}/${taskName}/${name}`,
          runId,
          task: taskName,
          name,
          type: slot.type,
          uri: slot.path, // the lake's URI once published, below
          hash,
          bytes,
          metadata: slot.metadata,
          createdAt: new Date().toISOString(),
        };
      }
      // Into the store's lake before any record names them (a no-op when the lake is this folder).
      for (const [name, a] of Object.entries(artifacts))
        a.uri = await publishArtifact(meta, runId, taskName, name, paths[name] as string);
      // The step's outputs are on disk and hashed; nothing records them yet (chaos tests kill here).
      crashPoint("pipeline:before-step-commit");
      crashPoint(`pipeline:before-step-commit:${taskName}`);
      await recordInputs();
      for (const [name, a] of Object.entries(artifacts)) {
        await meta.addArtifact(a);
        await meta.addEvent(runId, taskName, a.id, "output", name);
      }
      const artifactMap = Object.fromEntries(Object.entries(artifacts).map(([n, a]) => [n, a.id]));
      if (t.cache ?? step.cache ?? true)
        await meta.putCache({ key, step: step.name, runId, task: taskName, outputs, artifacts: artifactMap });
      Object.assign(result, {
        status: "succeeded",
        duration_ms: Date.now() - started,
        outputs,
        artifacts: artifactMap,
        error: undefined,
      });
      await logger.close(attempt);
      await meta.upsertStep(runId, { ...result, startedAt });
      emit(taskName, "succeeded", attempt, { duration_ms: result.duration_ms });
      return { status: "succeeded", outputs, artifacts, paths };
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      if (attempt < retry.maxAttempts) {
        const base = retry.backoffMs ?? 0;
        const wait = Math.min(
          base * (retry.backoffFactor ?? 2) ** (attempt - 1),
          retry.maxBackoffMs ?? 60_000,
        );
        const note = logger.log(
          `attempt ${attempt} failed: ${lastError}; retrying in ${wait} ms`,
          attempt,
          "warn",
        );
        emit(taskName, "running", attempt, { error: note });
        if (wait > 0) await sleep(wait);
      }
    }
  }
  await logger.close(result.attempts);
  Object.assign(result, { status: "failed", duration_ms: Date.now() - started, error: lastError });
  await meta.upsertStep(runId, { ...result, startedAt });
  emit(taskName, "failed", result.attempts, { duration_ms: result.duration_ms, error: lastError });
  return undefined;
}
