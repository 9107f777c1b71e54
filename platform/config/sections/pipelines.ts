import { z } from "zod";

/** Pipeline runner (local) and Vertex AI Pipelines settings. */
export const pipelinesConfigSchema = z
  .object({
    maxConcurrency: z.number().int().min(1).default(4).describe("independent steps run at once (local)"),
    retrainPipeline: z
      .string()
      .default("churn-training")
      .describe("pipeline started by triggerRetraining (drift alerts)"),
    schedules: z
      .array(
        z
          .object({
            pipeline: z.string().min(1),
            cron: z.string().min(1).describe("5-field cron, e.g. '0 3 * * 1' (Mondays 03:00)"),
            params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
          })
          .strict(),
      )
      .default([{ pipeline: "churn-training", cron: "0 3 * * 1", params: {} }])
      .describe("pipelines the local scheduler runs while `telco up` serves (on gcp: Vertex AI schedules)"),
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
