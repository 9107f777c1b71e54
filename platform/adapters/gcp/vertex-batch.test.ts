import { describe, expect, it } from "vitest";
import { UsageError } from "../../errors.ts";
import { bigqueryDataset, planBatchPrediction } from "./vertex-batch.ts";

const input = {
  location: { project: "aurora-ml", region: "southamerica-east1" },
  apiBase: "https://southamerica-east1-aiplatform.googleapis.com",
  modelName: "churn",
  versionAlias: "champion",
  sourceTable: "bq://aurora-ml.telco_prod_gold.customer_features",
  outputDataset: "bq://aurora-ml.telco_prod_gold",
  includedFields: ["customer_id", "tenure_months", "monthly_price_brl"],
  machineType: "n1-standard-2",
  startingReplicas: 1,
  maxReplicas: 4,
  batchSize: 64,
  displayName: "churn-batch-20261207t1000",
};

describe("planBatchPrediction", () => {
  it("is one batchPredictionJobs.create: BigQuery in, BigQuery out, rows as feature-row objects", () => {
    const req = planBatchPrediction(input);
    expect(req.method).toBe("POST");
    expect(req.longRunning).toBeUndefined(); // the API answers the job itself, not an operation
    expect(req.url).toBe(
      "https://southamerica-east1-aiplatform.googleapis.com/v1/projects/aurora-ml/locations/southamerica-east1/batchPredictionJobs",
    );
    expect(req.body).toEqual({
      displayName: "churn-batch-20261207t1000",
      model: "projects/aurora-ml/locations/southamerica-east1/models/churn@champion",
      inputConfig: {
        instancesFormat: "bigquery",
        bigquerySource: { inputUri: "bq://aurora-ml.telco_prod_gold.customer_features" },
      },
      instanceConfig: { instanceType: "object", includedFields: input.includedFields },
      outputConfig: {
        predictionsFormat: "bigquery",
        bigqueryDestination: { outputUri: "bq://aurora-ml.telco_prod_gold" },
      },
      dedicatedResources: {
        machineSpec: { machineType: "n1-standard-2" },
        startingReplicaCount: 1,
        maxReplicaCount: 4,
      },
      manualBatchTuningParameters: { batchSize: 64 },
      labels: { telco_model: "churn", telco_version: "champion" },
    });
  });

  it("names the dataset of a layer with and without the prefix", () => {
    expect(bigqueryDataset("aurora-ml", "telco_dev", "gold")).toBe("bq://aurora-ml.telco_dev_gold");
    expect(bigqueryDataset("aurora-ml", "", "gold")).toBe("bq://aurora-ml.gold");
  });

  it("rejects a source that is not a table, an output that is not a dataset, and bad replica bounds", () => {
    expect(() => planBatchPrediction({ ...input, sourceTable: "aurora-ml.gold.customer_features" })).toThrow(
      /bq:\/\/PROJECT.DATASET.TABLE/,
    );
    expect(() => planBatchPrediction({ ...input, outputDataset: "bq://aurora-ml.gold.t" })).toThrow(
      UsageError,
    );
    expect(() => planBatchPrediction({ ...input, startingReplicas: 5 })).toThrow(/replicas/);
    expect(() => planBatchPrediction({ ...input, includedFields: ["customer_id"] })).toThrow(/no features/);
  });
});
