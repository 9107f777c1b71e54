import { TelcoError } from "../../errors.ts";
import type { PlannedCall } from "../../ports/pipeline-service.ts";
import type { ModelVersion } from "../../ports/registry.ts";
import type { MirrorVersionInput, ModelRegistryMirror } from "../../ports/registry-mirror.ts";
import { locationParent, type VertexLocation, vertexId } from "./vertex-common.ts";
import { type PlannedRequest, storageUploadUrl, VertexRest, type VertexRestOptions } from "./vertex-rest.ts";

/** One request of a mirror plan, printed verbatim by `--dry-run`. */
export type VertexModelRequest =
  | { method: "storage.upload"; request: { source: string; destination: string } }
  | { method: "ModelService.uploadModel"; request: UploadModelRequest }
  | { method: "ModelService.mergeVersionAliases"; request: { name: string; versionAliases: string[] } };

export interface UploadModelRequest {
  parent: string;
  modelId?: string;
  parentModel?: string;
  model: {
    displayName: string;
    description?: string;
    versionDescription: string;
    artifactUri: string;
    containerSpec: { imageUri: string; env?: Array<{ name: string; value: string }> };
    versionAliases: string[];
    labels: Record<string, string>;
    metadataSchemaUri?: string;
  };
}

export interface MirrorInput {
  location: VertexLocation;
  /** gs://BUCKET/PATH under which each version's artifact folder is created. */
  artifactPrefix: string;
  servingImage: string;
  version: ModelVersion;
  /** Local path of the version's artifact file (for the GCS upload step). */
  artifactPath: string;
  /** Aliases this version holds locally. */
  aliases: string[];
  /** Whether the model already exists in Vertex (then this upload is a new version of it). */
  modelExists: boolean;
}

/** Vertex alias syntax is [a-z][a-zA-Z0-9-]{0,126}[a-z0-9]; local aliases are mapped onto it. */
export function vertexAlias(alias: string): string {
  const a = alias.replace(/_/g, "-").replace(/[^a-zA-Z0-9-]/g, "");
  return /^[a-z]/.test(a) ? a : `a-${a}`;
}

/**
 * The exact requests that mirror one local version to Vertex AI Model Registry: copy the artifact
 * to GCS, upload it (a new model, or a new version via parentModel), then point its aliases.
 */
export function planModelMirror(input: MirrorInput): VertexModelRequest[] {
  const parent = locationParent(input.location);
  const modelId = vertexId(input.version.name);
  const artifactUri = `${input.artifactPrefix.replace(/\/$/, "")}/${modelId}/v${input.version.version}/`;
  const metrics = input.version.card.metrics;
  const aliases = input.aliases.map(vertexAlias);
  const upload: UploadModelRequest = {
    parent,
    ...(input.modelExists ? { parentModel: `${parent}/models/${modelId}` } : { modelId }),
    model: {
      displayName: input.version.name,
      ...(input.version.description ? { description: input.version.description } : {}),
      versionDescription: `telco ${input.version.name} v${input.version.version} (${input.version.format})${
        metrics.auc ? ` auc=${metrics.auc.value.toFixed(4)}` : ""
      }`,
      artifactUri,
      // No TELCO_* env here: the config loader rejects unknown TELCO_ keys at container start, and
      // the format travels in the artifact folder's telco-version.json and the telco_format label.
      containerSpec: { imageUri: input.servingImage },
      versionAliases: aliases,
      labels: {
        telco_version: String(input.version.version),
        telco_format: vertexId(input.version.format),
        ...(input.version.card.codeVersion
          ? { code_version: vertexId(input.version.card.codeVersion.slice(0, 40)) }
          : {}),
      },
    },
  };
  const requests: VertexModelRequest[] = [
    {
      method: "storage.upload",
      request: { source: input.artifactPath, destination: `${artifactUri}${input.version.artifact.file}` },
    },
    { method: "ModelService.uploadModel", request: upload },
  ];
  return requests;
}

/**
 * Request that moves aliases onto an existing Vertex version (aliases are unique per model in
 * Vertex, so adding one to a version takes it off the previous holder).
 */
export function planAliasMirror(
  location: VertexLocation,
  modelName: string,
  vertexVersionId: string,
  aliases: string[],
): VertexModelRequest {
  return {
    method: "ModelService.mergeVersionAliases",
    request: {
      name: `${locationParent(location)}/models/${vertexId(modelName)}@${vertexVersionId}`,
      versionAliases: aliases.map(vertexAlias),
    },
  };
}

/**
 * One planned step as the REST request that carries it: the request message's path field (`parent`,
 * `name`) goes into the URL and the rest is the body, exactly as `--dry-run` prints it; a Cloud
 * Storage copy is a media upload of the source file's bytes (objects.insert, uploadType=media).
 */
export function restRequestFor(
  rest: { apiBase: string; storageBase: string },
  step: VertexModelRequest,
): PlannedRequest {
  if (step.method === "storage.upload")
    return {
      id: "copy",
      description: `copy ${step.request.source} to ${step.request.destination}`,
      method: "POST",
      url: storageUploadUrl(rest.storageBase, step.request.destination),
      uploadFrom: step.request.source,
    };
  if (step.method === "ModelService.uploadModel") {
    const { parent, ...body } = step.request;
    return {
      id: "upload",
      description: `upload model ${step.request.model.displayName}`,
      method: "POST",
      url: `${rest.apiBase}/v1/${parent}/models:upload`,
      body,
      longRunning: true,
    };
  }
  if (step.method === "ModelService.mergeVersionAliases") {
    const { name, ...body } = step.request;
    return {
      id: "aliases",
      description: `move aliases ${step.request.versionAliases.join(", ")} onto ${name}`,
      method: "POST",
      url: `${rest.apiBase}/v1/${name}:mergeVersionAliases`,
      body,
    };
  }
  throw new TelcoError(
    "plan",
    `unknown Vertex AI Model Registry call ${(step as { method?: string }).method}`,
  );
}

/**
 * Sends a plan over REST (vertex-rest.ts: bearer token, Google errors as TelcoError, models.upload's
 * long-running operation polled until done). Results, in plan order: the Cloud Storage object written
 * ({ uploaded, generation }), the UploadModelResponse ({ model, modelVersionId }), the Model.
 */
export async function executeModelPlan(
  location: VertexLocation,
  plan: readonly VertexModelRequest[],
  opts: VertexRestOptions = {},
): Promise<unknown[]> {
  const rest = new VertexRest(location, opts);
  const requests = plan.map((step) => restRequestFor(rest, step));
  const results: unknown[] = [];
  await rest.execute(requests, (step, result) => {
    const source = plan[requests.indexOf(step)];
    if (source?.method === "storage.upload") {
      const object = result as { generation?: string; size?: string };
      results.push({
        uploaded: source.request.destination,
        ...(object.generation ? { generation: object.generation } : {}),
        ...(object.size ? { size: object.size } : {}),
      });
    } else results.push(result);
  });
  return results;
}

/** The registry mirror port on Vertex AI Model Registry (platform/ports/registry-mirror.ts). */
export class VertexRegistryMirror implements ModelRegistryMirror {
  readonly kind = "vertex" as const;
  private readonly location: VertexLocation;
  private readonly restOptions: VertexRestOptions;

  /** `rest`: base URLs, token and fetch (default VERTEX_API_ENDPOINT / STORAGE_EMULATOR_HOST, ADC). */
  constructor(location: VertexLocation, rest: VertexRestOptions = {}) {
    this.location = location;
    this.restOptions = rest;
  }

  planVersion(input: MirrorVersionInput): VertexModelRequest[] {
    return planModelMirror({ location: this.location, ...input });
  }

  planAliases(modelName: string, remoteVersionId: string, aliases: string[]): VertexModelRequest {
    return planAliasMirror(this.location, modelName, remoteVersionId, aliases);
  }

  execute(plan: readonly PlannedCall[]): Promise<unknown[]> {
    return executeModelPlan(this.location, plan as VertexModelRequest[], this.restOptions);
  }
}
