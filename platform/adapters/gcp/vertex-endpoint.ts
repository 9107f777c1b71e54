import { TelcoError, UsageError } from "../../errors.ts";
import type { ModelVersion } from "../../ports/registry.ts";
import { locationParent, type VertexLocation, vertexId } from "./vertex-common.ts";
import { vertexAlias } from "./vertex-model-registry.ts";
import { type PlannedRequest, storageUploadUrl } from "./vertex-rest.ts";

/**
 * `telco models deploy NAME --target vertex-endpoint`: the REST requests that put the champion (and
 * optionally challengers with a share of the traffic) behind a Vertex AI endpoint:
 *   1. per version: upload the artifact and its metadata (card, sha256) to Cloud Storage, then models.upload (the first as a new model
 *      unless it exists, the others as versions of it via parentModel), each version aliased `vN`;
 *   2. endpoints.create (unless --endpoint names an existing one);
 *   3. endpoints.deployModel for the champion, then for each challenger with trafficSplit: "0" is the
 *      model being deployed, the others are deployed-model ids returned by the earlier steps
 *      (`{{deploy-champion.deployedModel.id}}` in the printed plan, filled in when executed).
 * REST reference: https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models/upload,
 * …/projects.locations.endpoints/create and …/projects.locations.endpoints/deployModel.
 */

/** Where the serving image answers (the custom-container contract, mlops/serving/vertex-contract.ts). */
export const VERTEX_PREDICT_ROUTE = "/v1/vertex/predict";
export const VERTEX_HEALTH_ROUTE = "/v1/vertex/health";
const CONTAINER_PORT = 8080;
/** Name of the version's metadata (card, format, sha256) beside the artifact; read by `telco models import`. */
export const VERSION_METADATA_FILE = "telco-version.json";
export const CONTAINER_START = 'telco models import "$AIP_STORAGE_URI" --alias champion && exec telco serve';

export interface DeployedVersion {
  /** The local alias this deployment carries (champion, challenger, …). */
  alias: string;
  version: ModelVersion;
  /** Local path of the version's artifact file. */
  artifactPath: string;
  /** Traffic percentage; the champion gets what the others leave. */
  percent?: number;
}

export interface EndpointDeployInput {
  location: VertexLocation;
  apiBase: string;
  storageBase: string;
  /** gs://BUCKET/PATH under which each version's artifact folder is created. */
  artifactPrefix: string;
  servingImage: string;
  champion: DeployedVersion;
  challengers: DeployedVersion[];
  /** Existing endpoint id; undefined creates `ENDPOINT_ID` (default `<model>-endpoint`). */
  endpointId?: string;
  createEndpointId?: string;
  /** The Vertex model already exists: every upload is a new version of it. */
  modelExists: boolean;
  machineType: string;
  minReplicas: number;
  maxReplicas: number;
  serviceAccount?: string;
}

/** `challenger=10` (repeatable) → { challenger: 10 }; the percentages must leave the champion something. */
export function parseTraffic(specs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const spec of specs) {
    for (const part of spec.split(",")) {
      const m = /^([A-Za-z][\w-]*)=(\d{1,3})$/.exec(part.trim());
      if (!m)
        throw new UsageError(`--traffic expects ALIAS=PERCENT (e.g. challenger=10), got "${part.trim()}"`);
      const [, alias, pct] = m;
      if (alias === "champion")
        throw new UsageError("--traffic names the challengers; the champion gets the rest of the traffic");
      if (alias in out) throw new UsageError(`--traffic names ${alias} twice`);
      out[alias] = Number(pct);
    }
  }
  const total = Object.values(out).reduce((a, b) => a + b, 0);
  if (Object.values(out).some((p) => p < 1) || total > 99)
    throw new UsageError(
      `--traffic percentages must be 1-99 and leave the champion at least 1% (got ${total}% for challengers)`,
    );
  return out;
}

function uploadBody(
  input: EndpointDeployInput,
  d: DeployedVersion,
  modelId: string,
  artifactUri: string,
  first: boolean,
) {
  const parent = locationParent(input.location);
  const v = d.version;
  const auc = v.card.metrics.auc?.value;
  return {
    ...(first && !input.modelExists ? { modelId } : { parentModel: `${parent}/models/${modelId}` }),
    model: {
      displayName: v.name,
      ...(v.description ? { description: v.description } : {}),
      versionDescription: `telco ${v.name} v${v.version} (${v.format}, ${d.alias})${auc === undefined ? "" : ` auc=${auc.toFixed(4)}`}`,
      artifactUri,
      containerSpec: {
        imageUri: input.servingImage,
        // Vertex copies artifactUri to AIP_STORAGE_URI: the container registers that version locally
        // (`telco models import`, checking its sha256) and serves it as its champion.
        command: ["sh", "-c"],
        args: [CONTAINER_START],
        // Config overrides only (TELCO_SECTION__KEY): any other TELCO_* name fails the config load.
        env: [{ name: "TELCO_SERVING__MODEL_NAME", value: v.name }],
        ports: [{ containerPort: CONTAINER_PORT }],
        predictRoute: VERTEX_PREDICT_ROUTE,
        healthRoute: VERTEX_HEALTH_ROUTE,
      },
      // `vN` names the exact version for deployModel; the local alias follows it.
      versionAliases: [`v${v.version}`, vertexAlias(d.alias)],
      labels: {
        telco_version: String(v.version),
        telco_format: vertexId(v.format),
        ...(v.card.codeVersion ? { code_version: vertexId(v.card.codeVersion.slice(0, 40)) } : {}),
      },
    },
  };
}

/** The exact requests of one deployment, in order. */
export function planEndpointDeploy(input: EndpointDeployInput): PlannedRequest[] {
  if (input.minReplicas < 1 || input.maxReplicas < input.minReplicas)
    throw new UsageError(
      `replicas must satisfy 1 <= min (${input.minReplicas}) <= max (${input.maxReplicas})`,
    );
  const parent = locationParent(input.location);
  const api = `${input.apiBase}/v1`;
  const modelId = vertexId(input.champion.version.name);
  const all = [input.champion, ...input.challengers];
  const seen = new Set<number>();
  for (const d of all) {
    if (d.version.name !== input.champion.version.name)
      throw new TelcoError("plan", `every deployed version must be of model ${input.champion.version.name}`);
    if (seen.has(d.version.version))
      throw new UsageError(
        `${d.alias} is version ${d.version.version}, which another deployed alias already is; deploy it once`,
      );
    seen.add(d.version.version);
  }
  const plan: PlannedRequest[] = [];
  all.forEach((d, i) => {
    const artifactUri = `${input.artifactPrefix.replace(/\/$/, "")}/${modelId}/v${d.version.version}/`;
    plan.push({
      id: `artifact-v${d.version.version}`,
      description: `copy ${d.version.name} v${d.version.version} (${d.alias}) to ${artifactUri}`,
      method: "POST",
      url: storageUploadUrl(input.storageBase, `${artifactUri}${d.version.artifact.file}`),
      uploadFrom: d.artifactPath,
    });
    plan.push({
      id: `metadata-v${d.version.version}`,
      description: `write ${d.version.name} v${d.version.version}'s card and checksum beside it (${VERSION_METADATA_FILE})`,
      method: "POST",
      url: storageUploadUrl(input.storageBase, `${artifactUri}${VERSION_METADATA_FILE}`),
      body: d.version,
    });
    plan.push({
      id: `upload-v${d.version.version}`,
      description: `register ${d.version.name} v${d.version.version} in Vertex AI Model Registry (models.upload)`,
      method: "POST",
      url: `${api}/${parent}/models:upload`,
      body: uploadBody(input, d, modelId, artifactUri, i === 0),
      longRunning: true,
    });
  });
  let endpoint: string;
  if (input.endpointId) endpoint = `${parent}/endpoints/${input.endpointId}`;
  else {
    const id = vertexId(input.createEndpointId ?? `${modelId}-endpoint`);
    endpoint = `${parent}/endpoints/${id}`;
    plan.push({
      id: "create-endpoint",
      description: `create endpoint ${id} (endpoints.create)`,
      method: "POST",
      url: `${api}/${parent}/endpoints?endpointId=${encodeURIComponent(id)}`,
      body: { displayName: id, labels: { telco_model: modelId } },
      longRunning: true,
    });
  }
  const challengerTotal = input.challengers.reduce((a, d) => a + (d.percent ?? 0), 0);
  const deployedModel = (d: DeployedVersion) => ({
    model: `${parent}/models/${modelId}@v${d.version.version}`,
    displayName: `${modelId}-v${d.version.version}-${vertexAlias(d.alias)}`,
    dedicatedResources: {
      machineSpec: { machineType: input.machineType },
      minReplicaCount: input.minReplicas,
      maxReplicaCount: input.maxReplicas,
    },
    ...(input.serviceAccount ? { serviceAccount: input.serviceAccount } : {}),
  });
  // The champion takes all traffic first; each challenger's deployment then sets the split so far.
  const deployed: { step: string; percent: number }[] = [];
  plan.push({
    id: "deploy-champion",
    description: `deploy ${input.champion.alias} v${input.champion.version.version} to ${endpoint} (endpoints.deployModel)`,
    method: "POST",
    url: `${api}/${endpoint}:deployModel`,
    body: { deployedModel: deployedModel(input.champion), trafficSplit: { "0": 100 } },
    longRunning: true,
  });
  let championShare = 100;
  for (const d of input.challengers) {
    const pct = d.percent ?? 0;
    championShare -= pct;
    const split: Record<string, number> = { "0": pct, "{{deploy-champion.deployedModel.id}}": championShare };
    for (const p of deployed) split[`{{${p.step}.deployedModel.id}}`] = p.percent;
    const step = `deploy-${vertexAlias(d.alias)}`;
    plan.push({
      id: step,
      description: `deploy ${d.alias} v${d.version.version} with ${pct}% of the traffic (endpoints.deployModel)`,
      method: "POST",
      url: `${api}/${endpoint}:deployModel`,
      body: { deployedModel: deployedModel(d), trafficSplit: split },
      longRunning: true,
    });
    deployed.push({ step, percent: pct });
  }
  if (100 - challengerTotal !== championShare) throw new TelcoError("plan", "traffic split does not add up");
  return plan;
}

/** The endpoint's resource name a plan deploys to. */
export function planEndpoint(plan: readonly PlannedRequest[]): string | undefined {
  const deploy = plan.find((s) => s.id === "deploy-champion");
  return deploy ? /\/v1\/(.+):deployModel$/.exec(deploy.url)?.[1] : undefined;
}
