/**
 * Registry mirror port (version 1): copies a version of the workspace registry (platform/ports/
 * registry.ts) and its aliases to a managed model registry, for managed serving. Every call is
 * planned first, so `--dry-run` prints exactly what `execute` would send.
 *
 * Adapter: platform/adapters/gcp/vertex-model-registry.ts (Vertex AI Model Registry).
 */
import type { PlannedCall } from "./pipeline-service.ts";
import type { ModelVersion } from "./registry.ts";

export interface MirrorVersionInput {
  version: ModelVersion;
  /** Local path of the version's artifact file. */
  artifactPath: string;
  /** Aliases this version holds locally. */
  aliases: string[];
  /** The model already exists remotely (this upload is a new version of it). */
  modelExists: boolean;
  /** URI prefix (gs://…) under which each version's artifact folder is created. */
  artifactPrefix: string;
  /** Serving container image the remote registry records for the model. */
  servingImage: string;
}

export interface ModelRegistryMirror {
  readonly kind: string;
  /** Copy the artifact, upload the version, point its aliases. */
  planVersion(input: MirrorVersionInput): PlannedCall[];
  /** Only move aliases onto an already mirrored remote version. */
  planAliases(modelName: string, remoteVersionId: string, aliases: string[]): PlannedCall;
  execute(plan: readonly PlannedCall[]): Promise<unknown[]>;
}
