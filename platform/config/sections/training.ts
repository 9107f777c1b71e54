import { z } from "zod";

/** Churn model training defaults. */
export const trainingConfigSchema = z
  .object({
    seed: z.number().int().default(42),
    testFraction: z.number().gt(0).lt(1).default(0.2),
  })
  .strict();
