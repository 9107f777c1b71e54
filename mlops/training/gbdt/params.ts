/** GBDT hyper-parameters, their defaults and presets. */
import { z } from "zod";

export interface GbdtParams {
  /** Maximum boosting rounds. */
  numTrees: number;
  learningRate: number;
  /** Leaf-wise growth stops at this many leaves per tree. */
  numLeaves: number;
  /** Maximum tree depth; -1 = unlimited. */
  maxDepth: number;
  minDataInLeaf: number;
  /** Minimum sum of hessians in a child. */
  minChildWeight: number;
  lambdaL2: number;
  minSplitGain: number;
  /** Fraction of features sampled per tree. */
  featureFraction: number;
  /** Fraction of rows sampled per tree (without replacement). */
  baggingFraction: number;
  /** Bins per feature including the missing bin, ≤ 255. */
  maxBins: number;
  /** Stop after this many rounds without validation improvement (needs a validation set). */
  earlyStoppingRounds: number;
  /** Categorical splits put at most this many categories on one side (subset splits only). */
  maxCatThreshold: number;
  /**
   * Up to this many categories present in a node, a categorical split is one category against the rest;
   * above it, a subset of categories sorted by gradient/hessian (LightGBM style). 255 (default): always
   * one against the rest.
   */
  maxCatToOnehot: number;
  seed: number;
  /** Threads for histogram construction (main thread included); 0 = auto. */
  threads: number;
}

export const DEFAULT_GBDT_PARAMS: GbdtParams = Object.freeze({
  numTrees: 500,
  learningRate: 0.05,
  numLeaves: 31,
  maxDepth: 6,
  minDataInLeaf: 20,
  minChildWeight: 1e-3,
  lambdaL2: 1,
  minSplitGain: 0,
  featureFraction: 1,
  baggingFraction: 1,
  maxBins: 255,
  earlyStoppingRounds: 50,
  maxCatThreshold: 32,
  maxCatToOnehot: 255,
  seed: 42,
  threads: 1,
});

/** Validates hyper-parameters; the error names the offending field. */
export const gbdtParamsSchema = z.object({
  numTrees: z.number().int().min(1).max(100_000),
  learningRate: z.number().gt(0).max(1),
  numLeaves: z.number().int().min(2).max(4096),
  maxDepth: z
    .number()
    .int()
    .min(-1)
    .max(64)
    .refine((v) => v !== 0, "must be -1 (unlimited) or ≥ 1"),
  minDataInLeaf: z.number().int().min(1),
  minChildWeight: z.number().min(0),
  lambdaL2: z.number().min(0),
  minSplitGain: z.number().min(0),
  featureFraction: z.number().gt(0).max(1),
  baggingFraction: z.number().gt(0).max(1),
  maxBins: z.number().int().min(3).max(255),
  earlyStoppingRounds: z.number().int().min(1),
  maxCatThreshold: z.number().int().min(1),
  // Model documents written before this parameter existed load with the default (params only record training).
  maxCatToOnehot: z.number().int().min(0).max(255).default(255),
  seed: z.number().int(),
  threads: z.number().int().min(0).max(64),
});

/**
 * Settings tuned for small tabular churn data such as the IBM Telco file (7k rows): slow learning rate,
 * small shallow trees, strong leaf-size and L2 regularisation, row and column subsampling. Works with a
 * fixed number of rounds (no validation set) or with early stopping; 5-fold CV numbers are in
 * docs/mlops/gbdt.md (found by a small grid search with mlops/training/gbdt/cv-ibm.ts).
 */
export const SMALL_TABULAR_PARAMS: Partial<GbdtParams> = Object.freeze({
  numTrees: 450,
  learningRate: 0.02,
  numLeaves: 8,
  maxDepth: 3,
  minDataInLeaf: 80,
  lambdaL2: 20,
  featureFraction: 0.4,
  baggingFraction: 0.7,
  earlyStoppingRounds: 100,
});

/** Alias kept for callers that think in terms of the benchmark dataset. */
export const IBM_TELCO_RECOMMENDED_PARAMS = SMALL_TABULAR_PARAMS;

/** Named presets (for CLIs and configs). */
export const GBDT_PRESETS: Readonly<Record<string, Partial<GbdtParams>>> = Object.freeze({
  default: {},
  "small-tabular": SMALL_TABULAR_PARAMS,
});
