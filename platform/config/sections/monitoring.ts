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

/** An alert rule: when it fires, which channels hear about it, and whether it starts retraining. */
const alertRuleSchema = z
  .object({
    name: z.string().min(1),
    /** drift: any feature drifted; prediction_drift: the score distribution moved; quality: any data-quality issue; auc_below: latest labelled AUC < threshold. */
    when: z.enum(["drift", "prediction_drift", "quality", "auc_below"]),
    threshold: z.number().optional(),
    /** Only fire when at least this many features drifted (drift rule). */
    minFeatures: z.number().int().min(1).default(1),
    channels: z
      .array(z.enum(["log", "webhook", "cloud_monitoring"]))
      .min(1)
      .default(["log"]),
    severity: z.enum(["info", "warning", "critical"]).default("warning"),
    /** Call mlops/pipelines triggerRetraining when the rule fires. */
    retrain: z.boolean().default(false),
  })
  .strict();

const DEFAULT_ALERT_RULES = [
  {
    name: "feature-drift",
    when: "drift" as const,
    minFeatures: 1,
    channels: ["log" as const],
    severity: "warning" as const,
    retrain: false,
  },
  {
    name: "data-quality",
    when: "quality" as const,
    minFeatures: 1,
    channels: ["log" as const],
    severity: "warning" as const,
    retrain: false,
  },
  {
    name: "auc-drop",
    when: "auc_below" as const,
    threshold: 0.7,
    minFeatures: 1,
    channels: ["log" as const],
    severity: "critical" as const,
    retrain: false,
  },
];

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
    /** Below this many predictions in the window, report "not enough data" instead of testing for drift. */
    minSamples: z.number().int().min(1).default(100),
    /** Quality range of a numeric feature: reference [min, max] widened by at least this share of (max − min) on each side (more for counts and for tails that move between months: see mlops/monitoring/reference-profile.ts QualityRange). */
    rangeMargin: z.number().min(0).default(0.1),
    /**
     * Threshold calibration from the reference's own variation between time slices (cutoff dates)
     * of the training window: threshold = max(configured floor, quantile of slice-to-slice effect
     * sizes × margin, robust to one odd slice, JS capped at jsCap) — mlops/monitoring/calibration.ts.
     * Slices smaller than minSliceRows are left out.
     */
    calibration: z
      .object({
        quantile: z.number().min(0).max(1).default(0.95),
        margin: z.number().min(1).default(3),
        minSliceRows: z.number().int().min(1).default(100),
        /** Largest calibrated JS threshold (the JS distance tops out at 1; the floor still wins). */
        jsCap: z.number().gt(0).max(1).default(0.5),
      })
      .strict()
      .default({ quantile: 0.95, margin: 3, minSliceRows: 100, jsCap: 0.5 }),
    /** Per-feature overrides, e.g. { monthly_price_brl: { psi: 0.15 } }: they win over the calibrated threshold. */
    features: z.record(z.string(), featureThresholdSchema).default({}),
    /** Default window of `telco monitor run` (e.g. 7d, 4w). */
    window: z
      .string()
      .regex(/^\d+[dw]$/)
      .default("7d"),
    alerts: z
      .object({
        rules: z.array(alertRuleSchema).default(DEFAULT_ALERT_RULES),
        /** Webhook channel: JSON POST target (e.g. a Slack/Teams relay). */
        webhookUrl: z.string().url().optional(),
        webhookTimeoutMs: z.number().int().min(100).default(5000),
        /** Cloud Monitoring channel: build the custom-metric write request without sending it. */
        cloudMonitoringDryRun: z.boolean().default(false),
      })
      .strict()
      .default({ rules: DEFAULT_ALERT_RULES, webhookTimeoutMs: 5000, cloudMonitoringDryRun: false }),
  })
  .strict();

export type MonitoringConfig = z.infer<typeof monitoringConfigSchema>;
