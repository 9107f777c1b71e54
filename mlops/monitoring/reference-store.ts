/**
 * Reference-profile storage: each registered version keeps the profile of its training data and
 * scores beside its artifact. The pipelines and the registry write it at registration, monitoring
 * reads it; none of them imports the others for it.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import type { ModelVersion } from "../../platform/ports/registry.ts";
import { loadModelVersion } from "../registry/model-loader.ts";
import { openRegistry } from "../registry/store.ts";
import type { TabularDataset } from "../training/dataset.ts";
import { loadTrainingData } from "../training/load.ts";
import { buildReferenceProfile, type ReferenceProfile } from "./reference-profile.ts";

/** File name of a version's reference profile, next to its model.json in the registry. */
export const REFERENCE_PROFILE_FILE = "reference-profile.json";

/**
 * The reference-profile contract: `<registry>/models/<name>/versions/<n>/reference-profile.json`
 * (a ReferenceProfile built with buildReferenceProfile on the training data and the model's scores).
 */
export function referenceProfilePath(registryRoot: string, name: string, version: number): string {
  return join(registryRoot, "models", name, "versions", String(version), REFERENCE_PROFILE_FILE);
}

/** Reads a version's reference profile; NotFoundError (with how to create it) when absent. */
export function loadReferenceProfile(registryRoot: string, name: string, version: number): ReferenceProfile {
  const path = referenceProfilePath(registryRoot, name, version);
  if (!existsSync(path))
    throw new NotFoundError(`reference profile of ${name}@${version}`, {
      hint: "Build it with `telco monitor profile --model NAME@VERSION` (training data named in the model card).",
    });
  const profile = JSON.parse(readFileSync(path, "utf8")) as ReferenceProfile;
  if (profile.format !== "telco-reference-profile")
    throw new ValidationError(path, "is not a telco reference profile");
  return profile;
}

/** Writes a version's reference profile atomically (the version folder must exist). */
export function writeReferenceProfile(
  registryRoot: string,
  name: string,
  version: number,
  profile: ReferenceProfile,
): string {
  const path = referenceProfilePath(registryRoot, name, version);
  if (!existsSync(dirname(path))) throw new NotFoundError(`model ${name} version ${version}`);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(profile));
  renameSync(tmp, path);
  return path;
}

/**
 * Builds and stores the reference profile of a registered version from its training dataset
 * (card.trainingDataset.name, or `dataset`): the model's feature columns and its scores on them.
 */
export async function storeReferenceProfile(
  app: AppContext,
  ref: string,
  opts: { dataset?: string } = {},
): Promise<{ path: string; version: ModelVersion; rows: number }> {
  const registry = openRegistry(app);
  const version = await registry.resolve(ref);
  const dataset = opts.dataset ?? version.card.trainingDataset?.name;
  if (!dataset)
    throw new ValidationError(
      "--dataset",
      `${version.name}@${version.version} does not name its training dataset`,
    );
  const loaded = await loadModelVersion(registry, version);
  const wh = await app.warehouse();
  const training = await loadTrainingData(wh, dataset);
  const names = new Set(loaded.model.features.map((f) => f.name));
  const data: TabularDataset = {
    nRows: training.data.nRows,
    features: training.data.features.filter((f) => names.has(f.name)),
  };
  const scores = loaded.model.predictProba(data);
  const profile = buildReferenceProfile(data, scores, {
    bins: app.config.monitoring.bins,
    slices: training.cutoffs,
    config: app.config.monitoring,
  });
  const path = writeReferenceProfile(registry.root, version.name, version.version, profile);
  return { path, version, rows: data.nRows };
}
