import { z } from "zod";

/** Google Cloud settings, used only by the `gcp` profile's adapters. */
export const gcpConfigSchema = z
  .object({
    project: z.string().min(1).optional().describe("GCP project id"),
    region: z.string().default("southamerica-east1"),
    bucket: z.string().optional().describe("Cloud Storage bucket for the lake (gs://BUCKET)"),
    bigqueryDatasetPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_]*$/)
      .default("")
      .describe(
        "BigQuery dataset prefix: layers become PREFIX_bronze, PREFIX_silver, … (empty: bronze, silver, …)",
      ),
    registryPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, "folder names of letters, digits, _ . - joined by /")
      .default("registry")
      .describe(
        "Cloud Storage prefix of the model registry in gcp.bucket (gs://BUCKET/PREFIX/models/…; TELCO_GCP__REGISTRY_PREFIX)",
      ),
    artifactRegistry: z.string().optional().describe("REGION-docker.pkg.dev/PROJECT/REPO"),
    serviceAccount: z.string().optional(),
    assistantDatabase: z
      .string()
      .min(1)
      .default("(default)")
      .describe("Firestore database of the assistant's sessions (Terraform creates telco-assistant-ENV)"),
    sessionRetentionDays: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        "Days after their last turn Firestore's TTL policy may delete assistant sessions (expires_at); unset = kept",
      ),
    searchDataStore: z
      .string()
      .optional()
      .describe(
        "Vertex AI Search data store id (telco-kb-ENV from Terraform): the assistant retrieves from it under gcp; unset = the workspace RAG index",
      ),
  })
  .strict();
