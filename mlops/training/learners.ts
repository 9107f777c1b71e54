import { UsageError, ValidationError } from "../../platform/errors.ts";
import { applyCalibration, type CalibratorJson, calibratorJsonSchema } from "./calibration.ts";
import type { FeatureSpec, TabularDataset } from "./dataset.ts";
import { DEFAULT_GBDT_PARAMS, GBDT_PRESETS, type GbdtParams } from "./gbdt/params.ts";
import { DEFAULT_LOGREG_PARAMS, LogregModel, type LogregParams, trainLogreg } from "./logreg.ts";
import type { ChurnModel, Contribution } from "./model.ts";

/**
 * One entry point over the learners (GBDT, logistic regression) so that CV, tuning and the
 * training flow treat them alike, plus the calibrated wrapper and the JSON loader.
 * The GBDT module is imported lazily: logistic-regression runs never pay for loading it.
 */

export type ModelKind = "gbdt" | "logreg";

/** A model that can also give per-row feature contributions for many rows at once. */
export interface ExplainableModel extends ChurnModel {
  shapValues?(data: TabularDataset): { base: number; values: Float64Array };
  featureImportance?(type: "gain" | "split"): unknown;
}

export interface FitOptions {
  /** Validation data (GBDT early stopping). */
  valid?: TabularDataset;
  onIteration?(iteration: number, trainLoss: number, validLoss?: number): void;
}

export interface FittedModel {
  model: ExplainableModel;
  /** Effective hyper-parameters (defaults filled in). */
  params: Record<string, unknown>;
  /** Fit diagnostics: iterations, best iteration, convergence. */
  info: Record<string, unknown>;
}

/** Below this many training rows the "auto" preset picks small-tabular (shallow, slow, regularised trees). */
export const AUTO_SMALL_TABULAR_ROWS = 250_000;

/**
 * The preset "auto" (the default) stands for small-tabular on small data and default otherwise:
 * on a few thousand noisy churn rows, 31-leaf trees at lr 0.05 overfit (IBM Telco CV AUC 0.844 vs
 * 0.850; simulated operator 0.801 vs 0.822, XGBoost 0.8165 on the same folds — bench:train).
 */
export function choosePreset(kind: ModelKind, preset: string | undefined, rows: number | undefined): string {
  if (preset !== undefined && preset !== "auto") return preset;
  if (kind === "logreg") return "default";
  return rows !== undefined && rows < AUTO_SMALL_TABULAR_ROWS ? "small-tabular" : "default";
}

/** Hyper-parameters of a kind: the defaults, overlaid with a named preset, overlaid with explicit values. */
export function resolveParams(
  kind: ModelKind,
  overrides: Record<string, unknown> = {},
  requestedPreset = "default",
  rows?: number,
): Record<string, unknown> {
  const preset = choosePreset(kind, requestedPreset, rows);
  if (kind === "logreg") {
    if (preset !== "default")
      throw new UsageError(`--preset applies to gbdt only, got "${preset}" for logreg`);
    const known = new Set(Object.keys(DEFAULT_LOGREG_PARAMS));
    for (const k of Object.keys(overrides)) {
      if (!known.has(k)) throw new ValidationError(`params.${k}`, "is not a logistic-regression parameter");
    }
    return { ...DEFAULT_LOGREG_PARAMS, ...overrides };
  }
  const presetParams = GBDT_PRESETS[preset];
  if (!presetParams) {
    throw new UsageError(`unknown GBDT preset "${preset}"`, {
      hint: `Use one of: ${Object.keys(GBDT_PRESETS).join(", ")}.`,
    });
  }
  const known = new Set(Object.keys(DEFAULT_GBDT_PARAMS));
  for (const k of Object.keys(overrides)) {
    if (!known.has(k)) throw new ValidationError(`params.${k}`, "is not a GBDT parameter");
  }
  return { ...DEFAULT_GBDT_PARAMS, ...presetParams, ...overrides };
}

/** Fits a model of `kind` on labelled data with fully resolved params. */
export async function fitModel(
  kind: ModelKind,
  train: TabularDataset,
  params: Record<string, unknown>,
  opts: FitOptions = {},
): Promise<FittedModel> {
  if (kind === "logreg") {
    const model = trainLogreg(train, params as Partial<LogregParams>);
    return { model, params, info: { ...model.fitInfo } };
  }
  const { trainGbdt } = await import("./gbdt/index.ts");
  const model = await trainGbdt(train, params as Partial<GbdtParams>, {
    valid: opts.valid,
    onIteration: opts.onIteration,
  });
  return { model, params, info: { best_iteration: model.bestIteration } };
}

/** Whether a learner uses a validation set during fitting (early stopping). */
export function usesValidation(kind: ModelKind): boolean {
  return kind === "gbdt";
}

/** A base model with a probability calibrator on top; explanations stay in the base model's log-odds. */
export class CalibratedModel implements ExplainableModel {
  readonly kind: ChurnModel["kind"];
  readonly features: readonly FeatureSpec[];
  readonly categories: Readonly<Record<string, readonly string[]>>;
  readonly base: ExplainableModel;
  readonly calibration: CalibratorJson;

  constructor(base: ExplainableModel, calibration: CalibratorJson) {
    this.base = base;
    this.calibration = calibration;
    this.kind = base.kind;
    this.features = base.features;
    this.categories = base.categories;
  }

  predictProba(data: TabularDataset): Float64Array {
    return applyCalibration(this.calibration, this.base.predictProba(data));
  }

  explain(data: TabularDataset, row: number): { base: number; contributions: Contribution[] } {
    if (!this.base.explain)
      throw new ValidationError("model", `${this.kind} model cannot explain predictions`);
    return this.base.explain(data, row);
  }

  shapValues(data: TabularDataset): { base: number; values: Float64Array } {
    if (!this.base.shapValues) throw new ValidationError("model", `${this.kind} model has no SHAP values`);
    return this.base.shapValues(data);
  }

  toJSON(): { format: "telco-calibrated"; version: 1; calibration: CalibratorJson; base: unknown } {
    return {
      format: "telco-calibrated",
      version: 1,
      calibration: this.calibration,
      base: this.base.toJSON(),
    };
  }
}

/**
 * Loads any churn model JSON written by training: "telco-logreg", a GBDT document, or
 * "telco-calibrated" wrapping either.
 */
export async function loadChurnModel(json: unknown): Promise<ExplainableModel> {
  const format =
    json !== null && typeof json === "object" ? (json as { format?: unknown }).format : undefined;
  if (format === "telco-logreg") return LogregModel.fromJSON(json);
  if (format === "telco-calibrated") {
    const doc = json as { calibration?: unknown; base?: unknown };
    const cal = calibratorJsonSchema.safeParse(doc.calibration);
    if (!cal.success) throw new ValidationError("model.calibration", cal.error.issues[0].message);
    return new CalibratedModel(await loadChurnModel(doc.base), cal.data);
  }
  if (typeof format === "string" && format.includes("gbdt")) {
    const { GbdtModel } = await import("./gbdt/index.ts");
    return GbdtModel.fromJSON(json);
  }
  throw new ValidationError("model.format", `unknown model format ${JSON.stringify(format)}`, {
    hint: 'Expected "telco-logreg", "telco-calibrated" or a GBDT model document.',
  });
}
