import { z } from "zod";

/** Feature store: training-set construction (cutoffs, label horizon) and online materialization. */
export const featuresConfigSchema = z
  .object({
    labelHorizonDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .default(30)
      .describe("label = 1 when the contract is cancelled within this many days after the cutoff"),
    warmupMonths: z
      .number()
      .int()
      .min(0)
      .max(24)
      .default(3)
      .describe("monthly cutoffs start this many months after the first data month, so trends have history"),
    onlineBatchSize: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(5000)
      .describe("rows per batch when streaming features into the online store"),
  })
  .strict();

export type FeaturesConfig = z.infer<typeof featuresConfigSchema>;
