import { z } from "zod";

/**
 * Monitoring defaults (see docs/mlops/monitoring.md for why these numbers):
 * - PSI ≥ 0.25 is the industry rule of thumb for a major shift (0.1–0.25 moderate: reported as a warning);
 * - Jensen–Shannon distance ≥ 0.1 on a categorical mix is a clearly visible change of shares;
 * - below `largeSampleThreshold` rows effect sizes are noisy, so KS (numeric) and chi-square
 *   (categorical) p-values decide, at `alpha`.
 */
const featureThresholdSchema = z
  .object({
    psi: z.number().positive().optional(),
    js: z.number().positive().optional(),
    alpha: z.number().gt(0).lt(1).optional(),
  })
  .strict();

export const monitoringConfigSchema = z
  .object({
    psiWarn: z.number().positive().default(0.1),
    psiDrift: z.number().positive().default(0.25),
    jsDrift: z.number().positive().default(0.1),
    alpha: z.number().gt(0).lt(1).default(0.01),
    largeSampleThreshold: z.number().int().positive().default(1000),
    bins: z.number().int().min(2).max(100).default(10),
    /** Null share may rise this much (absolute) over the reference before it is a quality issue. */
    nullRateTolerance: z.number().min(0).max(1).default(0.05),
    /** Share of values outside the reference [min, max] that is a quality issue. */
    outOfRangeTolerance: z.number().min(0).max(1).default(0.01),
    /** Per-feature overrides, e.g. { monthly_price_brl: { psi: 0.15 } }. */
    features: z.record(z.string(), featureThresholdSchema).default({}),
  })
  .strict();

export type MonitoringConfig = z.infer<typeof monitoringConfigSchema>;
