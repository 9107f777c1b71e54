import type { FeatureSpec, TabularDataset } from "./dataset.ts";

/** One feature's contribution to one prediction (TreeSHAP or linear), in log-odds. */
export interface Contribution {
  feature: string;
  value: number | string | null;
  contribution: number;
}

/**
 * What serving, batch scoring, evaluation and the registry need from any churn model,
 * whatever learned it (our GBDT, logistic regression, or an ONNX file trained elsewhere).
 */
export interface ChurnModel {
  readonly kind: "gbdt" | "logreg" | "onnx";
  /** Features the model expects, in order, with their kind. */
  readonly features: readonly FeatureSpec[];
  /** Fixed categorical vocabularies (so rows are coded the way the model was trained). */
  readonly categories: Readonly<Record<string, readonly string[]>>;
  /** Churn probability per row. */
  predictProba(data: TabularDataset): Float64Array;
  /** Per-feature contributions for one row plus the base value (log-odds); absent when unsupported. */
  explain?(data: TabularDataset, row: number): { base: number; contributions: Contribution[] };
  /** Versioned, documented JSON form. */
  toJSON(): unknown;
}
