import type { ArtifactType, ParamType, ParamValue } from "../../platform/ports/pipelines.ts";
import type { AnyStep, IOSpecs, Pipeline } from "./dsl.ts";

/** KFP v2 parameter type names. */
export const KFP_PARAMETER_TYPE: Record<ParamType, string> = {
  string: "STRING",
  int: "NUMBER_INTEGER",
  double: "NUMBER_DOUBLE",
  bool: "BOOLEAN",
  struct: "STRUCT",
};

/** KFP system artifact schema titles. */
export const KFP_ARTIFACT_SCHEMA: Record<ArtifactType, string> = {
  Dataset: "system.Dataset",
  Model: "system.Model",
  Metrics: "system.Metrics",
  ClassificationMetrics: "system.ClassificationMetrics",
};

export const PIPELINE_SPEC_SCHEMA_VERSION = "2.1.0";

type Json = Record<string, unknown>;

export interface CompileOptions {
  /** Container image holding the telco CLI (entry point of every executor). */
  image: string;
  /** Recorded as sdkVersion, e.g. "telco-0.1.0". */
  sdkVersion: string;
}

const componentName = (step: string) => `comp-${step.replace(/_/g, "-")}`;
const executorName = (step: string) => `exec-${step.replace(/_/g, "-")}`;

function definitions(specs: IOSpecs, isInput: boolean): Json {
  const parameters: Json = {};
  const artifacts: Json = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.kind === "param") {
      parameters[name] = {
        parameterType: KFP_PARAMETER_TYPE[spec.type],
        ...(isInput && spec.default !== undefined ? { defaultValue: spec.default, isOptional: true } : {}),
        ...(spec.description ? { description: spec.description } : {}),
      };
    } else {
      artifacts[name] = {
        artifactType: { schemaTitle: KFP_ARTIFACT_SCHEMA[spec.type], schemaVersion: "0.0.1" },
        ...(spec.description ? { description: spec.description } : {}),
      };
    }
  }
  return {
    ...(Object.keys(parameters).length ? { parameters } : {}),
    ...(Object.keys(artifacts).length ? { artifacts } : {}),
  };
}

/**
 * Container args for one step: `telco pipeline step PIPELINE/STEP` followed by KFP placeholders
 * that Vertex resolves at run time (the pipeline job and task names, values, artifact paths on the
 * GCS FUSE mount, output files). The job and task names let the step record itself in the pipeline
 * metadata store (Firestore under gcp) as a step of that run.
 */
export function executorArgs(pipelineName: string, step: AnyStep): string[] {
  const args = [
    "pipeline",
    "step",
    `${pipelineName}/${step.name}`,
    "--run-id",
    "{{$.pipeline_job_name}}",
    "--task",
    "{{$.pipeline_task_name}}",
  ];
  for (const [name, spec] of Object.entries(step.inputs)) {
    if (spec.kind === "param") args.push("--param", `${name}={{$.inputs.parameters['${name}']}}`);
    else args.push("--input-artifact", `${name}={{$.inputs.artifacts['${name}'].path}}`);
  }
  for (const [name, spec] of Object.entries(step.outputs)) {
    if (spec.kind === "param")
      args.push("--output-param", `${name}={{$.outputs.parameters['${name}'].output_file}}`);
    else args.push("--output-artifact", `${name}={{$.outputs.artifacts['${name}'].path}}`);
  }
  return args;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;

/**
 * Compiles a pipeline into a KFP v2 PipelineSpec (the JSON Vertex AI Pipelines runs): one
 * component and executor per step, one DAG task per pipeline task, with caching and retries.
 */
export function compilePipeline(pipeline: Pipeline, opts: CompileOptions): Json {
  const components: Json = {};
  const executors: Json = {};
  const tasks: Json = {};
  for (const taskName of pipeline.order) {
    const t = pipeline.tasks[taskName];
    if (!t) continue;
    const step = t.step;
    const comp = componentName(step.name);
    if (!components[comp]) {
      components[comp] = {
        executorLabel: executorName(step.name),
        inputDefinitions: definitions(step.inputs, true),
        outputDefinitions: definitions(step.outputs, false),
      };
      executors[executorName(step.name)] = {
        container: { image: opts.image, command: ["telco"], args: executorArgs(pipeline.name, step) },
      };
    }
    const parameters: Json = {};
    const artifacts: Json = {};
    for (const [input, b] of Object.entries(t.inputs)) {
      if (b.from === "param") parameters[input] = { componentInputParameter: b.name };
      else if (b.from === "constant")
        parameters[input] = { runtimeValue: { constant: b.value as ParamValue } };
      else if (step.inputs[input]?.kind === "param")
        parameters[input] = { taskOutputParameter: { producerTask: b.task, outputParameterKey: b.output } };
      else artifacts[input] = { taskOutputArtifact: { producerTask: b.task, outputArtifactKey: b.output } };
    }
    const retry = t.retry ?? step.retry;
    tasks[taskName] = {
      taskInfo: { name: taskName },
      componentRef: { name: comp },
      ...(pipeline.upstream[taskName]?.length
        ? { dependentTasks: [...(pipeline.upstream[taskName] ?? [])] }
        : {}),
      inputs: {
        ...(Object.keys(parameters).length ? { parameters } : {}),
        ...(Object.keys(artifacts).length ? { artifacts } : {}),
      },
      cachingOptions: { enableCache: t.cache ?? step.cache ?? true },
      ...(retry && retry.maxAttempts > 1
        ? {
            retryPolicy: {
              maxRetryCount: retry.maxAttempts - 1,
              backoffDuration: seconds(retry.backoffMs ?? 0),
              backoffFactor: retry.backoffFactor ?? 2,
              backoffMaxDuration: seconds(Math.min(retry.maxBackoffMs ?? 3_600_000, 3_600_000)),
            },
          }
        : {}),
    };
  }
  const rootParams: Json = {};
  for (const [name, spec] of Object.entries(pipeline.params))
    rootParams[name] = {
      parameterType: KFP_PARAMETER_TYPE[spec.type],
      ...(spec.default !== undefined ? { defaultValue: spec.default, isOptional: true } : {}),
      ...(spec.description ? { description: spec.description } : {}),
    };
  return {
    pipelineInfo: {
      name: pipeline.name,
      ...(pipeline.description ? { description: pipeline.description } : {}),
    },
    sdkVersion: opts.sdkVersion,
    schemaVersion: PIPELINE_SPEC_SCHEMA_VERSION,
    components,
    deploymentSpec: { executors },
    root: {
      dag: { tasks },
      ...(Object.keys(rootParams).length ? { inputDefinitions: { parameters: rootParams } } : {}),
    },
  };
}
