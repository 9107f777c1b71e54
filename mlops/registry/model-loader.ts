/**
 * Model loading: a registered version's artifact becomes a ChurnModel in memory (native JSON
 * models through training's loader, ONNX through onnxruntime). Serving, batch scoring, monitoring
 * (reference profiles) and the pipelines all load models here, so none of them imports another
 * for it.
 */
import { ValidationError } from "../../platform/errors.ts";
import type { ModelRegistry, ModelVersion } from "../../platform/ports/registry.ts";
import { loadChurnModel } from "../training/learners.ts";
import type { ChurnModel } from "../training/model.ts";
import { OnnxChurnModel } from "./onnx-model.ts";

/** A model version loaded in memory, ready to score. Immutable: a swap replaces the whole object. */
export interface LoadedModel {
  name: string;
  version: number;
  format: ModelVersion["format"];
  model: ChurnModel;
  loadedAt: string;
  /** Risk-band cut-offs set at training (model card), when the card has them. */
  riskBands?: { medium: number; high: number };
}

/** Loads one registered version (native JSON models via training's loader, ONNX via onnxruntime). */
export async function loadModelVersion(registry: ModelRegistry, version: ModelVersion): Promise<LoadedModel> {
  const bytes = await registry.readArtifact(version);
  let model: ChurnModel;
  if (version.format === "onnx") {
    model = OnnxChurnModel.load(
      bytes,
      (version.card.features ?? []).map((f) => f.name),
    );
  } else {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString("utf8"));
    } catch {
      throw new ValidationError(`${version.name}@${version.version}`, "artifact is not valid JSON");
    }
    model = await loadChurnModel(json);
  }
  return {
    name: version.name,
    version: version.version,
    format: version.format,
    model,
    loadedAt: new Date().toISOString(),
    ...(version.card.riskBands ? { riskBands: version.card.riskBands } : {}),
  };
}

/** `champion`, `3`, `churn@champion` or `churn@3` → a registry reference for model `name`. */
export function modelRef(name: string, selector: string): string {
  const s = selector.trim();
  if (s.includes("@")) return s;
  return `${name}@${s}`;
}
