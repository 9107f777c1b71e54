import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type AppContext, createContext } from "../../platform/context.ts";
import { UsageError, ValidationError } from "../../platform/errors.ts";
import type { ParamValue } from "../../platform/ports/pipelines.ts";
import { getPipeline } from "./catalog.ts";
import {
  type AnyStep,
  checkParamValue,
  type InputArtifact,
  type OutputArtifact,
  parseParamString,
} from "./dsl.ts";
import { hashPath } from "./hash.ts";

export interface StepEntryArgs {
  params: string[];
  inputArtifacts: string[];
  outputArtifacts: string[];
  outputParams: string[];
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
  const slash = ref.indexOf("/");
  if (slash <= 0) throw new UsageError(`step must be PIPELINE/STEP, got "${ref}"`);
  const pipeline = getPipeline(ref.slice(0, slash));
  const name = ref.slice(slash + 1);
  const t = Object.values(pipeline.tasks).find((x) => x.step.name === name);
  if (!t)
    throw new ValidationError("step", `pipeline ${pipeline.name} has no step "${name}"`, {
      hint: `Steps: ${[...new Set(Object.values(pipeline.tasks).map((x) => x.step.name))].join(", ")}.`,
    });
  return t.step;
}

/**
 * Runs one step the way a Vertex AI executor does: values and paths come from the command
 * line (KFP placeholders resolved by Vertex); output parameters are written to their files.
 */
export async function runStepEntry(
  ref: string,
  args: StepEntryArgs,
): Promise<{ step: string; outputs: Record<string, ParamValue> }> {
  const step = findStep(ref);
  const params = pairs(args.params, "--param");
  const inArts = pairs(args.inputArtifacts, "--input-artifact");
  const outArts = pairs(args.outputArtifacts, "--output-artifact");
  const outParams = pairs(args.outputParams, "--output-param");
  const inputs: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(step.inputs)) {
    if (spec.kind === "param") {
      const raw = params.get(name);
      if (raw === undefined) {
        if (spec.default === undefined)
          throw new UsageError(`--param ${name}=VALUE is required by step ${step.name}`);
        inputs[name] = spec.default;
      } else
        inputs[name] = spec.type === "string" ? raw : parseParamString(spec.type, raw, `--param ${name}`);
    } else {
      const path = inArts.get(name);
      if (!path) throw new UsageError(`--input-artifact ${name}=PATH is required by step ${step.name}`);
      if (!existsSync(path)) throw new ValidationError(`--input-artifact ${name}`, `${path} does not exist`);
      const { hash } = await hashPath(path);
      inputs[name] = { type: spec.type, path, hash, metadata: {} } satisfies InputArtifact;
    }
  }
  const slots: Record<string, OutputArtifact> = {};
  for (const [name, spec] of Object.entries(step.outputs)) {
    if (spec.kind === "artifact") {
      const path = outArts.get(name);
      if (!path) throw new UsageError(`--output-artifact ${name}=PATH is required by step ${step.name}`);
      mkdirSync(dirname(path), { recursive: true });
      slots[name] = { type: spec.type, path, metadata: {} };
    } else if (!outParams.get(name))
      throw new UsageError(`--output-param ${name}=FILE is required by step ${step.name}`);
  }
  let app: AppContext | undefined;
  const returned = (await step.run(inputs, {
    outputs: slots,
    runId: process.env.TELCO_PIPELINE_RUN_ID ?? "vertex",
    task: step.name,
    attempt: 1,
    log: (m) => process.stderr.write(`${m}\n`),
    app: () => {
      app ??= createContext();
      return app;
    },
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
      throw new ValidationError(`step ${step.name}: output ${name}`, "the step did not write its artifact");
  }
  await app?.close();
  return { step: step.name, outputs };
}
