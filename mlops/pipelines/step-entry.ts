import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type AppContext, createContext } from "../../platform/context.ts";
import { UsageError, ValidationError } from "../../platform/errors.ts";
import type { ArtifactRecord, ParamValue } from "../../platform/ports/pipelines.ts";
import { getPipeline } from "./catalog.ts";
import {
  type AnyStep,
  checkParamValue,
  type InputArtifact,
  type OutputArtifact,
  type Pipeline,
  parseParamString,
} from "./dsl.ts";
import { hashPath } from "./hash.ts";
import type { PipelineMetadataStore } from "./metadata.ts";
import { stepLogger } from "./step-log.ts";

export interface StepEntryArgs {
  params: string[];
  inputArtifacts: string[];
  outputArtifacts: string[];
  outputParams: string[];
  /**
   * The run this step belongs to (the compiled spec passes the Vertex pipeline job name,
   * `{{$.pipeline_job_name}}`). Given, the step is recorded in `app.pipelineMetadata()` (Firestore
   * under gcp): the run, the step's status, timings, attempts, outputs, log lines and the lineage of
   * its artifacts.
   */
  runId?: string;
  /** The task name in the pipeline's DAG (`{{$.pipeline_task_name}}`); default: the one task using the step. */
  task?: string;
  /** The application context (default: one built from the environment, closed at the end). */
  app?: AppContext;
}

function pairs(list: string[], flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`${flag} expects NAME=VALUE, got "${item}"`);
    out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

/** Finds `PIPELINE/STEP` among the registered pipelines' tasks. */
export function findStep(ref: string): AnyStep {
  return findPipelineStep(ref).step;
}

function findPipelineStep(ref: string): { pipeline: Pipeline; step: AnyStep } {
  const slash = ref.indexOf("/");
  if (slash <= 0) throw new UsageError(`step must be PIPELINE/STEP, got "${ref}"`);
  const pipeline = getPipeline(ref.slice(0, slash));
  const name = ref.slice(slash + 1);
  const t = Object.values(pipeline.tasks).find((x) => x.step.name === name);
  if (!t)
    throw new ValidationError("step", `pipeline ${pipeline.name} has no step "${name}"`, {
      hint: `Steps: ${[...new Set(Object.values(pipeline.tasks).map((x) => x.step.name))].join(", ")}.`,
    });
  return { pipeline, step: t.step };
}

/**
 * Records one step of a run executed elsewhere (Vertex AI Pipelines runs each task in its own
 * container): the run is created by the first of its steps to start; each attempt raises `attempts`;
 * the run is marked succeeded by the step that finds every task of the pipeline done. A failed task
 * leaves the run "running" here: Vertex decides on retries, and `telco pipeline list --target vertex`
 * shows the job's own state. Artifact ids are the artifact paths Vertex passes (the same string for
 * the producer's output and the consumer's input), so the run's lineage joins across containers.
 */
class StepRecorder {
  readonly meta: PipelineMetadataStore;
  readonly runId: string;
  readonly task: string;
  readonly pipeline: Pipeline;
  readonly stepName: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly started = Date.now();
  readonly logger: ReturnType<typeof stepLogger>;

  private constructor(
    meta: PipelineMetadataStore,
    runId: string,
    task: string,
    pipeline: Pipeline,
    step: AnyStep,
    attempt: number,
    startedAt: string,
  ) {
    this.meta = meta;
    this.runId = runId;
    this.task = task;
    this.pipeline = pipeline;
    this.stepName = step.name;
    this.attempt = attempt;
    this.startedAt = startedAt;
    this.logger = stepLogger(meta, runId, task);
  }

  /** Records the step as running (creating the run if this is its first step to start). */
  static async start(
    meta: PipelineMetadataStore,
    runId: string,
    task: string,
    pipeline: Pipeline,
    step: AnyStep,
  ): Promise<StepRecorder> {
    const startedAt = new Date().toISOString();
    if (!(await meta.getRun(runId))) {
      try {
        await meta.createRun({
          id: runId,
          pipeline: pipeline.name,
          params: {},
          trigger: { kind: "api", reason: `Vertex AI pipeline job ${runId}`, at: startedAt },
        });
      } catch (err) {
        if (!(await meta.getRun(runId))) throw err; // another task of the run created it first: fine
      }
    }
    const before = (await meta.steps(runId)).find((s) => s.name === task);
    const attempt = (before?.attempts ?? 0) + 1;
    await meta.upsertStep(runId, {
      name: task,
      step: step.name,
      status: "running",
      duration_ms: 0,
      attempts: attempt,
      startedAt,
    });
    return new StepRecorder(meta, runId, task, pipeline, step, attempt, startedAt);
  }

  log(message: string, level?: "info" | "warn" | "error"): string {
    return this.logger.log(message, this.attempt, level);
  }

  /** Input artifacts as lineage events (their records were written by the producing task). */
  async inputs(params: Record<string, unknown>, artifacts: Map<string, string>): Promise<void> {
    const shown = Object.entries(params).map(
      ([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`,
    );
    if (shown.length > 0) this.log(`inputs: ${shown.join(", ")}`, "info");
    for (const [name, path] of artifacts)
      await this.meta.addEvent(this.runId, this.task, path, "input", name);
  }

  async succeeded(
    outputs: Record<string, ParamValue>,
    slots: Record<string, OutputArtifact & { type: ArtifactRecord["type"] }>,
  ): Promise<void> {
    const artifacts: Record<string, string> = {};
    for (const [name, slot] of Object.entries(slots)) {
      const { hash, bytes } = await hashPath(slot.path);
      await this.meta.addArtifact({
        id: slot.path,
        runId: this.runId,
        task: this.task,
        name,
        type: slot.type,
        uri: slot.path,
        hash,
        bytes,
        metadata: slot.metadata,
        createdAt: new Date().toISOString(),
      });
      await this.meta.addEvent(this.runId, this.task, slot.path, "output", name);
      artifacts[name] = slot.path;
    }
    await this.logger.close(this.attempt);
    await this.meta.upsertStep(this.runId, {
      name: this.task,
      step: this.stepName,
      status: "succeeded",
      duration_ms: Date.now() - this.started,
      attempts: this.attempt,
      outputs,
      artifacts,
    });
    const done = new Set(
      (await this.meta.steps(this.runId))
        .filter((s) => s.status === "succeeded" || s.status === "cached")
        .map((s) => s.name),
    );
    if (
      this.pipeline.order.every((t) => done.has(t)) &&
      (await this.meta.getRun(this.runId))?.status === "running"
    )
      await this.meta.finishRun(this.runId, "succeeded");
  }

  async failed(err: unknown): Promise<void> {
    await this.logger.close(this.attempt);
    await this.meta.upsertStep(this.runId, {
      name: this.task,
      step: this.stepName,
      status: "failed",
      duration_ms: Date.now() - this.started,
      attempts: this.attempt,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

function taskName(pipeline: Pipeline, step: AnyStep, given: string | undefined): string {
  if (given !== undefined) {
    if (!pipeline.tasks[given])
      throw new ValidationError("--task", `pipeline ${pipeline.name} has no task "${given}"`, {
        hint: `Tasks: ${pipeline.order.join(", ")}.`,
      });
    return given;
  }
  const using = pipeline.order.filter((t) => pipeline.tasks[t]?.step.name === step.name);
  return using.length === 1 ? (using[0] as string) : step.name;
}

/**
 * Runs one step the way a Vertex AI executor does: values and paths come from the command
 * line (KFP placeholders resolved by Vertex); output parameters are written to their files. With a
 * run id the step is also recorded in the pipeline metadata store (see StepRecorder).
 */
export async function runStepEntry(
  ref: string,
  args: StepEntryArgs,
): Promise<{ step: string; outputs: Record<string, ParamValue>; run_id?: string; task?: string }> {
  const { pipeline, step } = findPipelineStep(ref);
  if (args.runId !== undefined && (args.runId.trim() === "" || args.runId.includes("{{")))
    throw new ValidationError("--run-id", `"${args.runId}" is not a run id (an unresolved placeholder?)`, {
      hint: "Vertex AI fills {{$.pipeline_job_name}} in; by hand pass any id, or leave --run-id out.",
    });
  const task = taskName(pipeline, step, args.task);
  const params = pairs(args.params, "--param");
  const inArts = pairs(args.inputArtifacts, "--input-artifact");
  const outArts = pairs(args.outputArtifacts, "--output-artifact");
  const outParams = pairs(args.outputParams, "--output-param");
  const inputs: Record<string, unknown> = {};
  const inputParams: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(step.inputs)) {
    if (spec.kind === "param") {
      const raw = params.get(name);
      if (raw === undefined) {
        if (spec.default === undefined)
          throw new UsageError(`--param ${name}=VALUE is required by step ${step.name}`);
        inputs[name] = spec.default;
      } else
        inputs[name] = spec.type === "string" ? raw : parseParamString(spec.type, raw, `--param ${name}`);
      inputParams[name] = inputs[name];
    } else {
      const path = inArts.get(name);
      if (!path) throw new UsageError(`--input-artifact ${name}=PATH is required by step ${step.name}`);
      if (!existsSync(path)) throw new ValidationError(`--input-artifact ${name}`, `${path} does not exist`);
      const { hash } = await hashPath(path);
      inputs[name] = { type: spec.type, path, hash, metadata: {} } satisfies InputArtifact;
    }
  }
  const slots: Record<string, OutputArtifact & { type: ArtifactRecord["type"] }> = {};
  for (const [name, spec] of Object.entries(step.outputs)) {
    if (spec.kind === "artifact") {
      const path = outArts.get(name);
      if (!path) throw new UsageError(`--output-artifact ${name}=PATH is required by step ${step.name}`);
      mkdirSync(dirname(path), { recursive: true });
      slots[name] = { type: spec.type, path, metadata: {} };
    } else if (!outParams.get(name))
      throw new UsageError(`--output-param ${name}=FILE is required by step ${step.name}`);
  }
  let own: AppContext | undefined;
  const app = () => {
    if (args.app) return args.app;
    own ??= createContext();
    return own;
  };
  const meta = args.runId !== undefined ? app().pipelineMetadata() : undefined;
  try {
    const rec = meta ? await StepRecorder.start(meta, args.runId as string, task, pipeline, step) : undefined;
    await rec?.inputs(inputParams, new Map([...inArts].filter(([n]) => step.inputs[n]?.kind === "artifact")));
    try {
      const returned = (await step.run(inputs, {
        outputs: slots,
        runId: args.runId ?? process.env.TELCO_PIPELINE_RUN_ID ?? "vertex",
        task,
        attempt: rec?.attempt ?? 1,
        log: (m, level) => process.stderr.write(`${rec ? rec.log(m, level) : m}\n`),
        app,
      })) as Record<string, unknown> | undefined;
      const outputs: Record<string, ParamValue> = {};
      for (const [name, spec] of Object.entries(step.outputs)) {
        if (spec.kind === "param") {
          const v = checkParamValue(spec.type, returned?.[name], `step ${step.name}: output ${name}`);
          outputs[name] = v;
          const file = outParams.get(name) as string;
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, typeof v === "string" ? v : JSON.stringify(v));
        } else if (!existsSync(slots[name]?.path as string))
          throw new ValidationError(
            `step ${step.name}: output ${name}`,
            "the step did not write its artifact",
          );
      }
      await rec?.succeeded(outputs, slots);
      return { step: step.name, outputs, ...(rec ? { run_id: rec.runId, task } : {}) };
    } catch (err) {
      // The step's own error is what the caller needs, even when recording the failure fails too.
      await rec?.failed(err).catch(() => undefined);
      throw err;
    }
  } finally {
    await meta?.close();
    await own?.close();
  }
}
