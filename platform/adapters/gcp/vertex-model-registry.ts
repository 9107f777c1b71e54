import type { PlannedCall } from "../../ports/pipeline-service.ts";
import type { ModelVersion } from "../../ports/registry.ts";
import type { MirrorVersionInput, ModelRegistryMirror } from "../../ports/registry-mirror.ts";
import { gcpPreflight } from "./preflight.ts";
import { locationParent, type VertexLocation, vertexEndpoint, vertexId } from "./vertex-common.ts";

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

/** Sends a plan with the real clients (needs Application Default Credentials). Imported lazily. */
export async function executeModelPlan(
  location: VertexLocation,
  plan: VertexModelRequest[],
): Promise<unknown[]> {
  await gcpPreflight({ endpoint: `https://${vertexEndpoint(location)}` });
  const { v1 } = await import("@google-cloud/aiplatform");
  const client = new v1.ModelServiceClient({ apiEndpoint: vertexEndpoint(location) });
  const results: unknown[] = [];
  for (const step of plan) {
    if (step.method === "storage.upload") {
      const { Storage } = await import("@google-cloud/storage");
      const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(step.request.destination);
      if (!m) throw new Error(`not a gs:// URI: ${step.request.destination}`);
      await new Storage().bucket(m[1] as string).upload(step.request.source, { destination: m[2] as string });
      results.push({ uploaded: step.request.destination });
    } else if (step.method === "ModelService.uploadModel") {
      const [operation] = await client.uploadModel(step.request);
      const [response] = await operation.promise();
      results.push(response);
    } else {
      const [model] = await client.mergeVersionAliases(step.request);
      results.push(model);
    }
  }
  await client.close();
  return results;
}

/** The registry mirror port on Vertex AI Model Registry (platform/ports/registry-mirror.ts). */
export class VertexRegistryMirror implements ModelRegistryMirror {
  readonly kind = "vertex" as const;
  private readonly location: VertexLocation;

  constructor(location: VertexLocation) {
    this.location = location;
  }

  planVersion(input: MirrorVersionInput): VertexModelRequest[] {
    return planModelMirror({ location: this.location, ...input });
  }

  planAliases(modelName: string, remoteVersionId: string, aliases: string[]): VertexModelRequest {
    return planAliasMirror(this.location, modelName, remoteVersionId, aliases);
  }

  execute(plan: readonly PlannedCall[]): Promise<unknown[]> {
    return executeModelPlan(this.location, plan as VertexModelRequest[]);
  }
}
