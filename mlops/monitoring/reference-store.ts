/**
 * Reference-profile storage: each registered version keeps the profile of its training data and
 * scores beside its artifact. The pipelines and the registry write it at registration, monitoring
 * reads it; none of them imports the others for it.
 */
import { join } from "node:path";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import type { ModelRegistry, ModelVersion } from "../../platform/ports/registry.ts";
import { loadModelVersion } from "../registry/model-loader.ts";
import { openRegistry } from "../registry/store.ts";
import type { TabularDataset } from "../training/dataset.ts";
import { type LoadedTrainingData, loadTrainingData } from "../training/load.ts";
import { buildReferenceProfile, type ReferenceProfile } from "./reference-profile.ts";

/** Attachment name of a version's reference profile in the registry (beside its model.json). */
export const REFERENCE_PROFILE_FILE = "reference-profile.json";

/**
 * Where the local workspace registry keeps a version's reference profile:
 * `<registry>/models/<name>/versions/<n>/reference-profile.json` (the local adapter's layout, for
 * tests that inspect a workspace; code reads and writes it through the registry port).
 */
export function referenceProfilePath(registryRoot: string, name: string, version: number): string {
  return join(registryRoot, "models", name, "versions", String(version), REFERENCE_PROFILE_FILE);
}

/** Reads a version's reference profile; NotFoundError (with how to create it) when absent. */
export async function loadReferenceProfile(
  registry: ModelRegistry,
  name: string,
  version: number,
): Promise<ReferenceProfile> {
  const bytes = await registry.getAttachment(name, version, REFERENCE_PROFILE_FILE);
  if (!bytes)
    throw new NotFoundError(`reference profile of ${name}@${version}`, {
      hint: "Build it with `telco monitor profile --model NAME@VERSION` (training data named in the model card).",
    });
  const where = `${name}@${version} ${REFERENCE_PROFILE_FILE}`;
  let profile: ReferenceProfile;
  try {
    profile = JSON.parse(Buffer.from(bytes).toString("utf8")) as ReferenceProfile;
  } catch {
    throw new ValidationError(where, "is not JSON");
  }
  if (profile?.format !== "telco-reference-profile")
    throw new ValidationError(where, "is not a telco reference profile");
  return profile;
}

/** Stores a version's reference profile in the registry (atomically; the version must exist). Returns where. */
export function writeReferenceProfile(
  registry: ModelRegistry,
  name: string,
  version: number,
  profile: ReferenceProfile,
): Promise<string> {
  return registry.putAttachment(name, version, REFERENCE_PROFILE_FILE, Buffer.from(JSON.stringify(profile)));
}

/**
 * Builds and stores the reference profile of a registered version from its training dataset
 * (card.trainingDataset.name, or `dataset`): the model's feature columns and its scores on them.
 */
export async function storeReferenceProfile(
  app: AppContext,
  ref: string,
  opts: { dataset?: string; training?: LoadedTrainingData } = {},
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
  const training = opts.training ?? (await loadTrainingData(wh, dataset));
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
  const path = await writeReferenceProfile(registry, version.name, version.version, profile);
  return { path, version, rows: data.nRows };
}
