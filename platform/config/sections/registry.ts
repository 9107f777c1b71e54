import { z } from "zod";

/** A guardrail: a metric the challenger may not make worse than the champion beyond `tolerance`. */
const guardrailSchema = z
  .object({
    metric: z.string().min(1).describe("metric name in the model card, e.g. ece"),
    higherIsBetter: z.boolean().default(false),
    tolerance: z.number().min(0).default(0.01).describe("largest allowed absolute regression"),
  })
  .strict();

/** Model registry and promotion policy (challenger → champion). */
export const registryConfigSchema = z
  .object({
    promotion: z
      .object({
        primaryMetric: z.string().min(1).default("auc"),
        higherIsBetter: z.boolean().default(true),
        minAbsoluteGain: z
          .number()
          .min(0)
          .default(0.001)
          .describe("challenger must beat the champion's primary metric by at least this much"),
        minRelativeGain: z
          .number()
          .min(0)
          .default(0)
          .describe("…and by at least this fraction of the champion's value (0 = no relative margin)"),
        guardrails: z
          .array(guardrailSchema)
          .default([{ metric: "ece", higherIsBetter: false, tolerance: 0.01 }]),
        segmentMetric: z.string().min(1).default("auc").describe("metric compared in every customer segment"),
        segmentTolerance: z.number().min(0).default(0.02).describe("largest allowed drop in any segment"),
        minSegmentSize: z
          .number()
          .int()
          .min(0)
          .default(50)
          .describe("segments with fewer evaluation rows are reported but not enforced"),
      })
      .strict()
      .default({
        primaryMetric: "auc",
        higherIsBetter: true,
        minAbsoluteGain: 0.001,
        minRelativeGain: 0,
        guardrails: [{ metric: "ece", higherIsBetter: false, tolerance: 0.01 }],
        segmentMetric: "auc",
        segmentTolerance: 0.02,
        minSegmentSize: 50,
      }),
    lockTimeoutMs: z.number().int().min(0).default(30_000).describe("how long to wait for the registry lock"),
    vertex: z
      .object({
        servingImage: z
          .string()
          .optional()
          .describe(
            "serving container (our `telco serve` image) uploaded with each version; default <gcp.artifactRegistry>/telco:latest",
          ),
        artifactPrefix: z
          .string()
          .optional()
          .describe("gs://BUCKET/PATH where model artifacts are copied (default gs://<gcp.bucket>/models)"),
      })
      .strict()
      .default({}),
  })
  .strict();

export type RegistryConfig = z.infer<typeof registryConfigSchema>;
export type PromotionPolicy = RegistryConfig["promotion"];
