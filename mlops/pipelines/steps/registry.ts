import { readFileSync } from "node:fs";
import { ValidationError } from "../../../platform/errors.ts";
import { MODEL_FORMATS, type ModelCard, type ModelFormat } from "../../../platform/ports/registry.ts";
import { promoteIfBetter } from "../../registry/policy.ts";
import { openRegistry } from "../../registry/store.ts";
import { artifact, defineStep, param } from "../dsl.ts";

/**
 * Reusable steps for the end of a training pipeline: register the trained model, then run the
 * promotion gate. Wire them after the step that writes a Model artifact (the model bytes: toJSON
 * output or ONNX) and a Metrics artifact holding the model card JSON.
 */

/**
 * Registers the model with its card and the pipeline run as lineage. Idempotent: if the latest
 * version already has the same artifact bytes and card, it is returned instead of a duplicate.
 */
export const registerModelStep = defineStep({
  name: "register-model",
  version: "1",
  description: "register the trained model and its card in the model registry",
  inputs: {
    model: artifact.model(),
    card: artifact.metrics(),
    model_name: param.string({ default: "churn" }),
    format: param.string({ default: "telco-gbdt" }),
    training_run_id: param.string({ default: "" }),
  },
  outputs: { version: param.int() },
  cache: false, // a side effect on the registry: always checked, idempotent instead
  async run({ model, card, model_name, format, training_run_id }, ctx) {
    if (!MODEL_FORMATS.includes(format as ModelFormat))
      throw new ValidationError("format", `"${format}" is not one of ${MODEL_FORMATS.join(", ")}`);
    const bytes = readFileSync(model.path);
    let parsed: ModelCard;
    try {
      parsed = JSON.parse(readFileSync(card.path, "utf8")) as ModelCard;
    } catch {
      throw new ValidationError("card", `${card.path} is not a JSON model card`);
    }
    const registry = openRegistry(ctx.app());
    const versions = await registry.listVersions(model_name).catch(() => []);
    const latest = versions.at(-1);
    if (
      latest &&
      latest.artifact.sha256 === model.hash &&
      JSON.stringify(latest.card) === JSON.stringify(parsed)
    ) {
      ctx.log(`unchanged model: reusing ${model_name}@${latest.version}`);
      return { version: latest.version };
    }
    const v = await registry.register({
      name: model_name,
      format: format as ModelFormat,
      artifact: bytes,
      card: parsed,
      lineage: { pipelineRunId: ctx.runId, ...(training_run_id ? { trainingRunId: training_run_id } : {}) },
    });
    ctx.log(`registered ${model_name}@${v.version}`);
    return { version: v.version };
  },
});

/** Runs `promoteIfBetter` with the configured policy; outputs whether the alias moved and why. */
export const promotionGateStep = defineStep({
  name: "promotion-gate",
  version: "1",
  description: "promote the new version to champion if it beats the current one (registry policy)",
  inputs: {
    model_name: param.string({ default: "churn" }),
    version: param.int(),
    alias: param.string({ default: "champion" }),
  },
  outputs: { promoted: param.bool(), decision: param.struct() },
  cache: false, // depends on the registry's current champion, not only on inputs
  async run({ model_name, version, alias }, ctx) {
    const app = ctx.app();
    const decision = await promoteIfBetter(openRegistry(app), {
      name: model_name,
      version,
      alias,
      policy: app.config.registry.promotion,
    });
    ctx.log(
      decision.applied
        ? `${model_name}@${alias} → v${version}`
        : `kept ${alias}: ${decision.reasons.join("; ")}`,
    );
    return { promoted: decision.applied, decision: decision as unknown as Record<string, unknown> };
  },
});
