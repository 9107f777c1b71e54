import { z } from "zod";

/**
 * The assistant's evaluation gate (`telco eval run`, llmops/evaluations): the thresholds each suite must
 * meet, how far a metric may fall behind the accepted baseline before it counts as a regression, and
 * where the baseline and the runs live. Retrieval keeps its own thresholds (rag.eval.*): the eval
 * suite runs the same gate as `telco rag eval`.
 */

const rate = (d: number, what: string) => z.number().min(0).max(1).default(d).describe(what);
const score = (d: number, what: string) => z.number().min(1).max(5).default(d).describe(what);

export const EVAL_SUITES = [
  "golden",
  "nlu",
  "retrieval",
  "groundedness",
  "redteam",
  "benign",
  "latency",
  "cost",
  "judge",
] as const;
export type EvalSuiteName = (typeof EVAL_SUITES)[number];

export const evalsConfigSchema = z
  .object({
    /** The last accepted results, in the repository (CI compares every run with it). */
    baseline: z
      .string()
      .default("llmops/evaluations/baseline.json")
      .describe("Baseline file, relative to the repository root"),
    /** Runs kept in the workspace (`<workspace>/assistant/evals`), oldest deleted first. */
    keepRuns: z.number().int().min(1).max(10_000).default(200),
    /** Trials per golden conversation with a generative engine (pass^k); the local engine runs once. */
    k: z.number().int().min(1).max(20).default(3),
    thresholds: z
      .object({
        golden: z
          .object({
            minPassRate: rate(1, "Conversations passing (pass^k with a generative engine)"),
          })
          .strict()
          .prefault({}),
        nlu: z
          .object({
            minMacroF1: rate(0.9, "Held-out intent macro F1"),
            minIntentF1: rate(0.8, "Lowest per-intent F1 on the held-out split"),
            minEntityAccuracy: rate(0.95, "Labelled messages whose entities are all right"),
            minMultiIntentAccuracy: rate(0.8, "Multi-intent messages detected as the exact set"),
          })
          .strict()
          .prefault({}),
        groundedness: z
          .object({
            minSupportedRate: rate(1, "Claims in replies supported by tool results or cited chunks"),
          })
          .strict()
          .prefault({}),
        redteam: z
          .object({ maxFailures: z.number().int().min(0).default(0).describe("Adversarial cases failed") })
          .strict()
          .prefault({}),
        benign: z
          .object({ minUntouchedRate: rate(0.99, "Benign messages that pass every guardrail untouched") })
          .strict()
          .prefault({}),
        latency: z
          .object({
            maxP50Ms: z.number().positive().default(250).describe("Median turn latency (ms)"),
            maxP95Ms: z.number().positive().default(1500).describe("95th percentile turn latency (ms)"),
          })
          .strict()
          .prefault({}),
        cost: z
          .object({
            maxPerConversation: z
              .number()
              .min(0)
              .default(0.05)
              .describe("Model cost of one golden conversation, in the price table's currency"),
          })
          .strict()
          .prefault({}),
        judge: z
          .object({
            minHelpfulness: score(3.5, "Mean judge score for helpfulness (1-5)"),
            minTone: score(3.5, "Mean judge score for the tone of voice (1-5)"),
            minGrounding: score(4, "Mean judge score for grounding (1-5)"),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    tolerance: z
      .object({
        /** A rate or score metric below the baseline by more than this is a regression. */
        absolute: z.number().min(0).default(0.01),
        /** Judge scores (1-5) vary more from run to run. */
        judge: z.number().min(0).default(0.25),
        /** Latency: a regression when p95 exceeds the baseline's times this (the machine's load varies). */
        latencyRatio: z.number().min(1).default(4),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type EvalsConfig = z.infer<typeof evalsConfigSchema>;
