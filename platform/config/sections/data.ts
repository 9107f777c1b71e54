import { z } from "zod";

/** Data platform: synthetic operator defaults and ingestion behaviour. */
export const dataConfigSchema = z
  .object({
    generate: z
      .object({
        customers: z.number().int().positive().default(5000),
        months: z.number().int().min(1).max(60).default(12),
        seed: z.number().int().default(42),
      })
      .strict()
      .default({ customers: 5000, months: 12, seed: 42 }),
  })
  .strict();
