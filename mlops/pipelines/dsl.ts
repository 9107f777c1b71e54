import { createHash } from "node:crypto";
import type { AppContext } from "../../platform/context.ts";
import { ValidationError } from "../../platform/errors.ts";
import type { ArtifactType, ParamType, ParamValue } from "../../platform/ports/pipelines.ts";

type ParamValueOf<T extends ParamType> = T extends "string"
  ? string
  : T extends "int" | "double"
    ? number
    : T extends "bool"
      ? boolean
      : Record<string, unknown>;

export interface ParamSpec<T extends ParamType = ParamType> {
  kind: "param";
  type: T;
  default?: ParamValueOf<T>;
  description?: string;
}

export interface ArtifactSpec<T extends ArtifactType = ArtifactType> {
  kind: "artifact";
  type: T;
  description?: string;
}

export type IOSpec = ParamSpec | ArtifactSpec;
export type IOSpecs = Record<string, IOSpec>;

/** Parameter declarations: `param.int({ default: 100 })`. */
export const param = {
  string: (o: { default?: string; description?: string } = {}): ParamSpec<"string"> => ({
    kind: "param",
    type: "string",
    ...o,
  }),
  int: (o: { default?: number; description?: string } = {}): ParamSpec<"int"> => ({
    kind: "param",
    type: "int",
    ...o,
  }),
  double: (o: { default?: number; description?: string } = {}): ParamSpec<"double"> => ({
    kind: "param",
    type: "double",
    ...o,
  }),
  bool: (o: { default?: boolean; description?: string } = {}): ParamSpec<"bool"> => ({
    kind: "param",
    type: "bool",
    ...o,
  }),
  struct: (o: { default?: Record<string, unknown>; description?: string } = {}): ParamSpec<"struct"> => ({
    kind: "param",
    type: "struct",
    ...o,
  }),
};

/** Artifact declarations: `artifact.dataset()`, `artifact.model()`, … */
export const artifact = {
  dataset: (description?: string): ArtifactSpec<"Dataset"> => ({
    kind: "artifact",
    type: "Dataset",
    description,
  }),
  model: (description?: string): ArtifactSpec<"Model"> => ({ kind: "artifact", type: "Model", description }),
  metrics: (description?: string): ArtifactSpec<"Metrics"> => ({
    kind: "artifact",
    type: "Metrics",
    description,
  }),
  classificationMetrics: (description?: string): ArtifactSpec<"ClassificationMetrics"> => ({
    kind: "artifact",
    type: "ClassificationMetrics",
    description,
  }),
};

/** An input artifact as a step sees it: a local path (file or folder) plus its content hash. */
export interface InputArtifact {
  type: ArtifactType;
  path: string;
  hash: string;
  metadata: Record<string, unknown>;
}

/** An output artifact slot: the step writes a file or folder at `path` and may fill `metadata`. */
export interface OutputArtifact {
  type: ArtifactType;
  path: string;
  metadata: Record<string, unknown>;
}

type ParamKeys<S extends IOSpecs> = { [K in keyof S]: S[K] extends ParamSpec ? K : never }[keyof S];
type ArtifactKeys<S extends IOSpecs> = { [K in keyof S]: S[K] extends ArtifactSpec ? K : never }[keyof S];

/** What a step function receives: parameter values and input artifacts, by input name. */
export type InputValues<I extends IOSpecs> = {
  [K in keyof I]: I[K] extends ParamSpec<infer T> ? ParamValueOf<T> : InputArtifact;
};

/** What a step function returns: its output parameter values (artifacts are written to disk). */
export type OutputParams<O extends IOSpecs> = {
  [K in ParamKeys<O>]: O[K] extends ParamSpec<infer T> ? ParamValueOf<T> : never;
};

export interface StepContext<O extends IOSpecs> {
  /** Output artifact slots, by output name. */
  outputs: { [K in ArtifactKeys<O>]: OutputArtifact };
  runId: string;
  task: string;
  /** 1 on the first try, 2 on the first retry, … */
  attempt: number;
  /**
   * A line for the task's log: stored in the run's metadata (PII masked, capped; see step-log.ts) and
   * shown live. Without a level, a leading "warning:" or "error:" sets one.
   */
  log(message: string, level?: "info" | "warn" | "error"): void;
  /** The application context (config, workspace, warehouse) of the process running the step. */
  app(): AppContext;
}

export interface RetryPolicy {
  /** Total tries including the first (1 = no retry). */
  maxAttempts: number;
  backoffMs?: number;
  backoffFactor?: number;
  maxBackoffMs?: number;
}

export interface StepDefinition<I extends IOSpecs, O extends IOSpecs> {
  name: string;
  /** Bump when behaviour changes in code the function calls (its own source is hashed too). */
  version: string;
  description?: string;
  inputs: I;
  outputs: O;
  retry?: RetryPolicy;
  /** Reuse results for identical inputs (default true). */
  cache?: boolean;
  run(inputs: InputValues<I>, ctx: StepContext<O>): Promise<OutputParams<O>> | OutputParams<O>;
}

/** A defined step: its declaration plus the hash of its function source (part of the cache key). */
export interface Step<I extends IOSpecs = IOSpecs, O extends IOSpecs = IOSpecs> extends StepDefinition<I, O> {
  readonly codeHash: string;
}

/** Type-erased step, as stored inside a pipeline. */
export interface AnyStep {
  name: string;
  version: string;
  description?: string;
  inputs: IOSpecs;
  outputs: IOSpecs;
  retry?: RetryPolicy;
  cache?: boolean;
  readonly codeHash: string;
  run(inputs: Record<string, unknown>, ctx: StepContext<IOSpecs>): Promise<unknown> | unknown;
}

const ID_RE = /^[a-z][a-z0-9_-]{0,62}$/;

/** Declares a step: a function with typed inputs and outputs. */
export function defineStep<I extends IOSpecs, O extends IOSpecs>(def: StepDefinition<I, O>): Step<I, O> {
  if (!ID_RE.test(def.name))
    throw new ValidationError("step.name", `"${def.name}" must be lowercase letters, digits, '-' or '_'`);
  for (const name of Object.keys({ ...def.inputs, ...def.outputs }))
    if (!/^[a-z][a-z0-9_]{0,62}$/i.test(name))
      throw new ValidationError(`step ${def.name}: ${name}`, "input/output names must be identifiers");
  for (const name of Object.keys(def.inputs))
    if (name in def.outputs)
      throw new ValidationError(`step ${def.name}: ${name}`, "is both an input and an output");
  validateRetry(def.retry, `step ${def.name}`);
  // Whitespace is collapsed so re-formatting (or Node's type stripping, which blanks types) does not
  // invalidate the cache; the declared version covers code the function calls.
  const source = def.run.toString().replace(/\s+/g, " ");
  const codeHash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  return { ...def, codeHash };
}

function validateRetry(retry: RetryPolicy | undefined, where: string): void {
  if (!retry) return;
  if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1 || retry.maxAttempts > 20)
    throw new ValidationError(`${where}: retry.maxAttempts`, "must be a whole number from 1 to 20");
  if (retry.backoffMs !== undefined && !(retry.backoffMs >= 0))
    throw new ValidationError(`${where}: retry.backoffMs`, "must be ≥ 0");
}

/** Where a task input comes from. */
export type Binding =
  | { from: "param"; name: string }
  | { from: "task"; task: string; output: string }
  | { from: "constant"; value: ParamValue };

/** Bind to a pipeline parameter. */
export const fromParam = (name: string): Binding => ({ from: "param", name });
/** Bind to an upstream task's output (parameter or artifact). */
export const fromTask = (task: string, output: string): Binding => ({ from: "task", task, output });
/** Bind to a constant. */
export const constant = (value: ParamValue): Binding => ({ from: "constant", value });

export interface TaskDefinition {
  step: AnyStep;
  inputs: Record<string, Binding>;
  after: string[];
  retry?: RetryPolicy;
  cache?: boolean;
}

/** A use of a step in a pipeline, with its input bindings (checked against the step's inputs). */
export function task<I extends IOSpecs, O extends IOSpecs>(
  step: Step<I, O>,
  inputs: { [K in keyof I]?: Binding },
  opts: { after?: string[]; retry?: RetryPolicy; cache?: boolean } = {},
): TaskDefinition {
  return {
    step: step as unknown as AnyStep,
    inputs: inputs as Record<string, Binding>,
    after: opts.after ?? [],
    retry: opts.retry,
    cache: opts.cache,
  };
}

export interface PipelineDefinition {
  name: string;
  description?: string;
  params: Record<string, ParamSpec>;
  tasks: Record<string, TaskDefinition>;
}

/** A validated pipeline: tasks in a topological order and each task's upstream tasks. */
export interface Pipeline extends PipelineDefinition {
  readonly order: string[];
  readonly upstream: Readonly<Record<string, readonly string[]>>;
}

const compatible = (from: ParamType, to: ParamType) => from === to || (from === "int" && to === "double");

/**
 * Validates a pipeline (names, bindings, types, cycles) and returns it with its topological
 * order. Every error names the task and input at fault.
 */
export function definePipeline(def: PipelineDefinition): Pipeline {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(def.name))
    throw new ValidationError("pipeline.name", `"${def.name}" must be lowercase letters, digits and '-'`);
  const taskNames = Object.keys(def.tasks);
  if (taskNames.length === 0) throw new ValidationError(`pipeline ${def.name}`, "has no tasks");
  for (const [name, spec] of Object.entries(def.params)) {
    if (spec.kind !== "param")
      throw new ValidationError(`pipeline ${def.name}: param ${name}`, "must be a parameter");
    if (spec.default !== undefined)
      checkParamValue(spec.type, spec.default, `pipeline ${def.name}: param ${name}`);
  }
  const stepsByName = new Map<string, AnyStep>();
  const upstream: Record<string, string[]> = {};
  for (const [taskName, t] of Object.entries(def.tasks)) {
    const where = `task ${taskName}`;
    if (!ID_RE.test(taskName))
      throw new ValidationError(where, "task names must be lowercase letters, digits, '-' or '_'");
    const same = stepsByName.get(t.step.name);
    if (same && same !== t.step)
      throw new ValidationError(
        where,
        `another step is also named "${t.step.name}"; step names must be unique`,
      );
    stepsByName.set(t.step.name, t.step);
    validateRetry(t.retry, where);
    const deps = new Set<string>();
    for (const [input, binding] of Object.entries(t.inputs)) {
      const spec = t.step.inputs[input];
      if (!spec)
        throw new ValidationError(
          `${where}: input ${input}`,
          `step ${t.step.name} has no input named "${input}"`,
        );
      if (binding.from === "param") {
        const p = def.params[binding.name];
        if (!p)
          throw new ValidationError(
            `${where}: input ${input}`,
            `refers to unknown pipeline parameter "${binding.name}"`,
          );
        if (spec.kind !== "param")
          throw new ValidationError(`${where}: input ${input}`, "is an artifact; bind it to a task output");
        if (!compatible(p.type, spec.type))
          throw new ValidationError(
            `${where}: input ${input}`,
            `expects ${spec.type}, parameter ${binding.name} is ${p.type}`,
          );
      } else if (binding.from === "constant") {
        if (spec.kind !== "param")
          throw new ValidationError(`${where}: input ${input}`, "is an artifact; bind it to a task output");
        checkParamValue(spec.type, binding.value, `${where}: input ${input}`);
      } else {
        const producer = def.tasks[binding.task];
        if (!producer)
          throw new ValidationError(`${where}: input ${input}`, `refers to unknown task "${binding.task}"`);
        const out = producer.step.outputs[binding.output];
        if (!out)
          throw new ValidationError(
            `${where}: input ${input}`,
            `task ${binding.task} has no output named "${binding.output}"`,
          );
        if (
          out.kind !== spec.kind ||
          (out.kind === "artifact" && spec.kind === "artifact" && out.type !== spec.type)
        )
          throw new ValidationError(
            `${where}: input ${input}`,
            `expects ${describe(spec)}, ${binding.task}.${binding.output} is ${describe(out)}`,
          );
        if (out.kind === "param" && spec.kind === "param" && !compatible(out.type, spec.type))
          throw new ValidationError(
            `${where}: input ${input}`,
            `expects ${spec.type}, ${binding.task}.${binding.output} is ${out.type}`,
          );
        deps.add(binding.task);
      }
    }
    for (const [input, spec] of Object.entries(t.step.inputs)) {
      if (t.inputs[input]) continue;
      if (spec.kind === "artifact" || spec.default === undefined)
        throw new ValidationError(`${where}: input ${input}`, "is required but not bound");
    }
    for (const a of t.after) {
      if (!def.tasks[a]) throw new ValidationError(`${where}: after`, `refers to unknown task "${a}"`);
      deps.add(a);
    }
    if (deps.has(taskName)) throw new ValidationError(where, "depends on itself");
    upstream[taskName] = [...deps].sort();
  }
  return { ...def, order: topologicalOrder(upstream), upstream };
}

function describe(spec: IOSpec): string {
  return spec.kind === "artifact" ? `artifact ${spec.type}` : `parameter ${spec.type}`;
}

/** Kahn's algorithm; on a cycle, names the tasks on it. */
function topologicalOrder(upstream: Record<string, string[]>): string[] {
  const remaining = new Map(Object.entries(upstream).map(([t, d]) => [t, new Set(d)]));
  const order: string[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining]
      .filter(([, d]) => d.size === 0)
      .map(([t]) => t)
      .sort();
    if (ready.length === 0) {
      const cycle = findCycle(upstream, [...remaining.keys()]);
      throw new ValidationError("pipeline", `dependency cycle: ${cycle.join(" → ")}`, {
        hint: "Remove one of the bindings or `after` entries on the cycle.",
      });
    }
    for (const t of ready) {
      order.push(t);
      remaining.delete(t);
      for (const d of remaining.values()) d.delete(t);
    }
  }
  return order;
}

function findCycle(upstream: Record<string, string[]>, candidates: string[]): string[] {
  const start = candidates[0] as string;
  const path: string[] = [];
  const seen = new Set<string>();
  let node: string | undefined = start;
  while (node && !seen.has(node)) {
    seen.add(node);
    path.push(node);
    node = (upstream[node] ?? []).find((d) => candidates.includes(d));
  }
  const from = node ? path.indexOf(node) : 0;
  return [...path.slice(from), node ?? start].reverse();
}

/** Checks a parameter value against its declared type; `where` names it in the error. */
export function checkParamValue(type: ParamType, value: unknown, where: string): ParamValue {
  const ok =
    (type === "string" && typeof value === "string") ||
    (type === "int" && Number.isSafeInteger(value)) ||
    (type === "double" && typeof value === "number" && Number.isFinite(value)) ||
    (type === "bool" && typeof value === "boolean") ||
    (type === "struct" && typeof value === "object" && value !== null && !Array.isArray(value));
  if (!ok) throw new ValidationError(where, `expected ${type}, got ${JSON.stringify(value)}`);
  return value as ParamValue;
}

/** Parses a command-line string (`--param k=v`) into a typed parameter value. */
export function parseParamString(type: ParamType, text: string, where: string): ParamValue {
  let value: unknown = text;
  if (type === "int" || type === "double") value = text.trim() === "" ? Number.NaN : Number(text);
  else if (type === "bool") value = text === "true" ? true : text === "false" ? false : text;
  else if (type === "struct") {
    try {
      value = JSON.parse(text);
    } catch {
      throw new ValidationError(where, `expected a JSON object, got ${text}`);
    }
  }
  return checkParamValue(type, value, where);
}
