import { z } from "zod";

/** Pipeline runner (local) and Vertex AI Pipelines settings. */
export const pipelinesConfigSchema = z
  .object({
    maxConcurrency: z.number().int().min(1).default(4).describe("independent steps run at once (local)"),
    retrainPipeline: z
      .string()
      .default("churn-training")
      .describe("pipeline started by triggerRetraining (drift alerts)"),
    vertex: z
      .object({
        image: z.string().optional().describe("container image with the telco CLI, used by compile/submit"),
        pipelineRoot: z
          .string()
          .optional()
          .describe("gs://BUCKET/PATH for pipeline outputs (default gs://<gcp.bucket>/pipelines)"),
        maxConcurrentRunCount: z.number().int().min(1).default(1),
      })
      .strict()
      .default({ maxConcurrentRunCount: 1 }),
  })
  .strict();

export type PipelinesConfig = z.infer<typeof pipelinesConfigSchema>;
