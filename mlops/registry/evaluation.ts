import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { jsonReplacer } from "../../platform/cli/runtime.ts";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import type { ModelCard, ModelFormat, ModelRegistry, ModelVersion } from "../../platform/ports/registry.ts";
import { takeRows } from "../training/dataset.ts";
import { loadChurnModel } from "../training/learners.ts";
import { loadTrainingData } from "../training/load.ts";
import type { ChurnModel } from "../training/model.ts";
import { evaluationSetRef, stratifiedSplit } from "../training/split.ts";
import { RunStore } from "../training/tracking.ts";
import { datasetVersion } from "../training/train.ts";
import { evaluateOn } from "./card-metrics.ts";
import { loadModelVersion } from "./model-loader.ts";
import { openRegistry } from "./store.ts";

/** The held-out rows' identity lives beside the split that draws them (the pipeline uses it too). */
export { evaluationSetRef } from "../training/split.ts";

/** Cut-offs putting the top `high` share of scores in high and the next `medium` share in medium. */
export function riskBandsFromScores(
  scores: ArrayLike<number>,
  shares: { high: number; medium: number },
): NonNullable<ModelCard["riskBands"]> {
  if (scores.length === 0) throw new ValidationError("scores", "no scores to set risk bands from");
  const sorted = Float64Array.from(scores).sort();
  const at = (share: number) => sorted[Math.min(sorted.length - 1, Math.floor((1 - share) * sorted.length))];
  const high = at(shares.high);
  let medium = at(shares.high + shares.medium);
  // Ties at the cut (many equal scores) could make the bands collapse; keep medium strictly below.
  if (!(medium < high)) medium = high * (1 - 1e-9);
  return { medium, high, shares: { ...shares }, rows: sorted.length };
}

/** Scores of a model on a dataset's whole training table (for risk bands and the reference profile). */
async function scoresOn(app: AppContext, model: ChurnModel, dataset: string): Promise<Float64Array> {
  const loaded = await loadTrainingData(await app.warehouse(), dataset);
  checkFeatures(
    model,
    loaded.data.features.map((f) => f.name),
    dataset,
  );
  return Float64Array.from(model.predictProba(loaded.data));
}

function checkFeatures(model: ChurnModel, columns: string[], dataset: string): void {
  const have = new Set(columns);
  const missing = model.features.map((f) => f.name).filter((n) => !have.has(n));
  if (missing.length > 0)
    throw new ValidationError(
      "--dataset",
      `gold.${dataset}_training lacks the model's feature(s) ${missing.join(", ")}; evaluate on the dataset the model was trained on`,
    );
}

export interface VersionEvaluation {
  model: string;
  version: number;
  dataset: string;
  datasetVersion: string;
  seed: number;
  evaluationDataset: { name: string; version: string };
  metrics: ModelCard["metrics"];
  segmentMetrics: NonNullable<ModelCard["segmentMetrics"]>;
  rows: number;
  /** Where the evaluation is stored (read by `models promote`): a path, or a gs:// URI under gcp. */
  path: string;
}

/**
 * The registry attachment holding a version's re-evaluation on an evaluation set (the local
 * registry keeps it as `models/<name>/evaluations/v<n>-<set version>.json`).
 */
function evaluationAttachment(ref: { version: string }): string {
  return `evaluations/${ref.version}.json`;
}

/**
 * Re-evaluates a registered version on a dataset's current version (the held-out rows of that
 * version, `seed`, configured test fraction) and stores the result beside the registry, so
 * `models promote` can compare two versions on the same rows.
 */
export async function evaluateVersion(
  app: AppContext,
  name: string,
  version: number,
  opts: { dataset: string; seed?: number },
): Promise<VersionEvaluation> {
  const registry = openRegistry(app);
  const v = await registry.getVersion(name, version);
  const loadedModel = await loadModelVersion(registry, v);
  const wh = await app.warehouse();
  const loaded = await loadTrainingData(wh, opts.dataset);
  checkFeatures(
    loadedModel.model,
    loaded.data.features.map((f) => f.name),
    opts.dataset,
  );
  const seed = opts.seed ?? app.config.training.seed;
  const fraction = app.config.training.testFraction;
  const dsVersion = await datasetVersion(wh, loaded.table, {
    rows: loaded.data.nRows,
    contentHash: loaded.contentHash,
  });
  const split = stratifiedSplit(loaded.data.label as Uint8Array, fraction, seed, loaded.groups);
  const rows = takeRows(loaded.data, split.test);
  const evaluationDataset = evaluationSetRef(opts.dataset, dsVersion, seed, fraction);
  const { metrics, segmentMetrics } = evaluateOn(loadedModel.model, rows, seed);
  const out: VersionEvaluation = {
    model: name,
    version,
    dataset: opts.dataset,
    datasetVersion: dsVersion,
    seed,
    evaluationDataset,
    metrics,
    segmentMetrics: segmentMetrics ?? {},
    rows: rows.nRows,
    path: "",
  };
  const { path: _unset, ...stored } = out;
  out.path = await registry.putAttachment(
    name,
    version,
    evaluationAttachment(evaluationDataset),
    Buffer.from(`${JSON.stringify(stored, jsonReplacer, 2)}\n`),
  );
  return out;
}

/** Evaluation sets a version was re-evaluated on (newest first). */
export async function storedEvaluationSets(
  registry: ModelRegistry,
  name: string,
  version: number,
): Promise<{ name: string; version: string }[]> {
  const out: { name: string; version: string }[] = [];
  for (const a of await registry.listAttachments(name, version)) {
    if (!a.file.startsWith("evaluations/") || !a.file.endsWith(".json")) continue;
    const e = parseEvaluation(await registry.getAttachment(name, version, a.file));
    if (e) out.push(e.evaluationDataset);
  }
  return out;
}

/** A stored re-evaluation of a version on an evaluation set, if `models evaluate` made one. */
export async function storedEvaluation(
  registry: ModelRegistry,
  name: string,
  version: number,
  ref: { name: string; version: string } | undefined,
): Promise<{ version: number; card: ModelCard } | undefined> {
  if (!ref) return undefined;
  const e = parseEvaluation(await registry.getAttachment(name, version, evaluationAttachment(ref)));
  if (!e || e.evaluationDataset.name !== ref.name) return undefined;
  return {
    version,
    card: { metrics: e.metrics, segmentMetrics: e.segmentMetrics, evaluationDataset: e.evaluationDataset },
  };
}

function parseEvaluation(bytes: Uint8Array | null): Omit<VersionEvaluation, "path"> | undefined {
  if (!bytes) return undefined;
  return JSON.parse(Buffer.from(bytes).toString("utf8")) as Omit<VersionEvaluation, "path">;
}

/**
 * Stores the monitoring reference profile of a registered version (`NAME@VERSION`) built from
 * `dataset`; returns where. Injected by the composition root (`cli/main.ts` passes
 * mlops/monitoring's `storeReferenceProfile`): monitoring reads the registry, so the registry
 * must not import monitoring.
 */
export type StoreReferenceProfile = (
  app: AppContext,
  ref: string,
  opts: { dataset: string },
) => Promise<{ path: string }>;

export interface RegisterRunDeps {
  storeProfile: StoreReferenceProfile;
}

export interface RegisteredRun {
  version: ModelVersion;
  run: string;
  /** Path of the stored reference profile, or null when `profile: false`. */
  profile: string | null;
}

/**
 * Registers a `telco train` run: its model.json with a card built from the run (test metrics with
 * the AUC interval, training and evaluation dataset versions, features, parameters, code version,
 * risk bands from the training score distribution) and the run as lineage; then stores the
 * monitoring reference profile through `deps.storeProfile`, so `monitor profile`/`monitor run`
 * work on it.
 */
export async function registerRun(
  app: AppContext,
  runId: string,
  opts: { name: string; description?: string; profile?: boolean },
  deps: RegisterRunDeps,
): Promise<RegisteredRun> {
  const store = new RunStore(app.paths.runs);
  const run = store.get(runId);
  if (run.status !== "completed")
    throw new ValidationError(`run ${run.run_id}`, `is ${run.status}; only completed runs can be registered`);
  const modelPath = join(store.dir(run.run_id), "model.json");
  if (!existsSync(modelPath))
    throw new NotFoundError(`model.json of run ${run.run_id}`, { hint: `Looked in ${modelPath}.` });
  const bytes = readFileSync(modelPath);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new ValidationError(modelPath, "is not a JSON model");
  }
  const model = await loadChurnModel(json);
  const format: ModelFormat = model.kind === "logreg" ? "telco-logreg" : "telco-gbdt";
  const h = ((run.metrics as { headline?: Record<string, number> }).headline ?? {}) as Record<string, number>;
  if (typeof h.auc !== "number")
    throw new ValidationError(`run ${run.run_id}`, "has no headline metrics (metrics.headline.auc)");
  const metrics: ModelCard["metrics"] = {
    auc: {
      value: h.auc,
      ...(typeof h.auc_ci_low === "number" && typeof h.auc_ci_high === "number"
        ? { ci: { lower: h.auc_ci_low, upper: h.auc_ci_high, level: 0.95 } }
        : {}),
    },
  };
  for (const key of [
    "pr_auc",
    "logloss",
    "brier",
    "ks",
    "ece",
    "precision_top10",
    "recall_top10",
    "precision_top20",
    "recall_top20",
    "base_rate",
    "profit_brl",
    "cv_auc",
  ])
    if (typeof h[key] === "number") metrics[key] = { value: h[key] };
  const seed = Number(run.params.seed ?? app.config.training.seed);
  const fraction = Number(run.params.test_fraction ?? app.config.training.testFraction);
  const dataset = run.dataset.name;
  const scores = await scoresOn(app, model, dataset);
  const card: ModelCard = {
    metrics,
    evaluationDataset: evaluationSetRef(dataset, run.dataset.version, seed, fraction),
    trainingDataset: { name: dataset, version: run.dataset.version },
    features: model.features.map((f) => ({ name: f.name })),
    params: run.model.params,
    ...(run.code_version ? { codeVersion: run.code_version } : {}),
    riskBands: riskBandsFromScores(scores, app.config.serving.riskBandShares),
  };
  const registry = openRegistry(app);
  const version = await registry.register({
    name: opts.name,
    format,
    artifact: bytes,
    card,
    lineage: { trainingRunId: run.run_id },
    description: opts.description ?? `telco train run ${run.run_id} on ${dataset}@${run.dataset.version}`,
  });
  let profile: string | null = null;
  if (opts.profile !== false) {
    profile = (await deps.storeProfile(app, `${version.name}@${version.version}`, { dataset })).path;
  }
  return { version, run: run.run_id, profile };
}
