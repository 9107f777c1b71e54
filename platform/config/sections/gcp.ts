import { z } from "zod";

/** Google Cloud settings, used only by the `gcp` profile's adapters. */
export const gcpConfigSchema = z
  .object({
    project: z.string().min(1).optional().describe("GCP project id"),
    region: z.string().default("southamerica-east1"),
    bucket: z.string().optional().describe("Cloud Storage bucket for the lake (gs://BUCKET)"),
    bigqueryDataset: z
      .string()
      .default("telco")
      .describe("BigQuery dataset prefix; layers become DATASET_bronze, …"),
    artifactRegistry: z.string().optional().describe("REGION-docker.pkg.dev/PROJECT/REPO"),
    serviceAccount: z.string().optional(),
  })
  .strict();
