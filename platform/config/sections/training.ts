import { z } from "zod";

/**
 * Retention-campaign economics used to pick the decision threshold (profit curve). Defaults are
 * for Aurora Telecom (data/sample/operator-catalog.json): RET-DESC10 (10% off for 6 months) on a
 * ≈R$100 bill costs ≈R$60 plus ≈R$5 of contact; a customer contributes ≈R$50/month of margin.
 */
export const profitConfigSchema = z
  .object({
    offerCostBrl: z
      .number()
      .nonnegative()
      .default(65)
      .describe("cost of one retention offer incl. contact, BRL"),
    monthlyMarginBrl: z
      .number()
      .nonnegative()
      .default(50)
      .describe("monthly contribution margin of a customer, BRL"),
    horizonMonths: z
      .number()
      .positive()
      .default(12)
      .describe("months of margin a retained customer is worth"),
    acceptanceRate: z
      .number()
      .min(0)
      .max(1)
      .default(0.3)
      .describe("share of targeted would-be churners the offer retains (assumption)"),
  })
  .strict();

/** Churn model training defaults. */
export const trainingConfigSchema = z
  .object({
    seed: z.number().int().default(42),
    testFraction: z.number().gt(0).lt(1).default(0.2),
    /** Share of the training split held out for early stopping, calibration and the threshold. */
    validFraction: z.number().gt(0).lt(1).default(0.2),
    model: z.enum(["gbdt", "logreg"]).default("gbdt"),
    /** Default K for `telco train --cv` when given without a number, and for tuning. */
    cvFolds: z.number().int().min(2).max(20).default(5),
    /** L2 penalty of the logistic regression (λ = 1/C). */
    logregL2: z.number().nonnegative().default(1),
    bootstrapReplicates: z.number().int().min(0).max(100_000).default(1000),
    profit: profitConfigSchema.default(profitConfigSchema.parse({})),
  })
  .strict();
