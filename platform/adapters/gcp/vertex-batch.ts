import { UsageError } from "../../errors.ts";
import { locationParent, type VertexLocation, vertexId } from "./vertex-common.ts";
import { vertexAlias } from "./vertex-model-registry.ts";
import type { PlannedRequest } from "./vertex-rest.ts";

/**
 * `telco predict batch --target vertex`: one batchPredictionJobs.create request that scores the
 * BigQuery features table with the model version uploaded by `telco models deploy` (its container is
 * the serving image, which answers Vertex's predict route: mlops/serving/vertex-contract.ts).
 * Each table row is sent as one JSON object (instanceType "object") restricted to `customer_id` and
 * the model's features, which is exactly a feature-row instance of the contract; the predictions land
 * in a new BigQuery table `predictions_<timestamp>` of the output dataset, one row per customer with
 * the instance and the prediction (probability, risk_band, model_version).
 * REST reference: https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.batchPredictionJobs/create
 */

export interface BatchJobInput {
  location: VertexLocation;
  apiBase: string;
  modelName: string;
  /** Vertex version alias or `vN` (what `models deploy` uploads). */
  versionAlias: string;
  /** bq://PROJECT.DATASET.TABLE of the features. */
  sourceTable: string;
  /** bq://PROJECT.DATASET where Vertex creates the predictions table. */
  outputDataset: string;
  /** Columns sent per row: customer_id and the model card's features. */
  includedFields: string[];
  machineType: string;
  startingReplicas: number;
  maxReplicas: number;
  /** Instances per predict request (<= serving.maxBatch of the image). */
  batchSize: number;
  displayName: string;
  serviceAccount?: string;
}

const BQ_TABLE = /^bq:\/\/[a-z][a-z0-9-]{4,29}\.[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_$-]{1,1024}$/;
const BQ_DATASET = /^bq:\/\/[a-z][a-z0-9-]{4,29}\.[A-Za-z0-9_]{1,1024}$/;

/** bq://PROJECT.DATASET for a layer of the warehouse (gcp.bigqueryDatasetPrefix: PREFIX_layer). */
export function bigqueryDataset(project: string, prefix: string, layer: string): string {
  return `bq://${project}.${prefix ? `${prefix}_${layer}` : layer}`;
}

export function planBatchPrediction(input: BatchJobInput): PlannedRequest {
  if (!BQ_TABLE.test(input.sourceTable))
    throw new UsageError(`the source table must be bq://PROJECT.DATASET.TABLE, got "${input.sourceTable}"`);
  if (!BQ_DATASET.test(input.outputDataset))
    throw new UsageError(`the output must be a dataset, bq://PROJECT.DATASET, got "${input.outputDataset}"`);
  if (input.startingReplicas < 1 || input.maxReplicas < input.startingReplicas)
    throw new UsageError(
      `replicas must satisfy 1 <= starting (${input.startingReplicas}) <= max (${input.maxReplicas})`,
    );
  if (input.includedFields.length < 2)
    throw new UsageError("the model card lists no features to send (included fields)");
  const parent = locationParent(input.location);
  return {
    id: "batch-prediction-job",
    description: `score ${input.sourceTable} with ${input.modelName}@${input.versionAlias} into ${input.outputDataset}`,
    method: "POST",
    url: `${input.apiBase}/v1/${parent}/batchPredictionJobs`,
    body: {
      displayName: input.displayName,
      model: `${parent}/models/${vertexId(input.modelName)}@${vertexAlias(input.versionAlias)}`,
      inputConfig: { instancesFormat: "bigquery", bigquerySource: { inputUri: input.sourceTable } },
      instanceConfig: { instanceType: "object", includedFields: input.includedFields },
      outputConfig: {
        predictionsFormat: "bigquery",
        bigqueryDestination: { outputUri: input.outputDataset },
      },
      dedicatedResources: {
        machineSpec: { machineType: input.machineType },
        startingReplicaCount: input.startingReplicas,
        maxReplicaCount: input.maxReplicas,
      },
      manualBatchTuningParameters: { batchSize: input.batchSize },
      ...(input.serviceAccount ? { serviceAccount: input.serviceAccount } : {}),
      labels: { telco_model: vertexId(input.modelName), telco_version: vertexId(input.versionAlias) },
    },
  };
}

/** A batch job's states that end it (JobState in the REST reference). */
export const TERMINAL_JOB_STATES = new Set([
  "JOB_STATE_SUCCEEDED",
  "JOB_STATE_FAILED",
  "JOB_STATE_CANCELLED",
  "JOB_STATE_EXPIRED",
  "JOB_STATE_PARTIALLY_SUCCEEDED",
]);
