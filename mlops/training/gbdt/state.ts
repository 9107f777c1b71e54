/**
 * The data of a trained GBDT, apart from the class that predicts with it: `model.ts` builds a
 * `GbdtModel` from it, `json.ts` parses it and `onnx.ts` exports it, so imports run one way
 * (model.ts → json.ts / onnx.ts → state.ts).
 */
import type { FeatureSpec } from "../dataset.ts";
import type { GbdtParams } from "./params.ts";
import type { GbdtTree } from "./tree.ts";

export interface GbdtModelState {
  features: FeatureSpec[];
  categories: Record<string, string[]>;
  /** Log-odds of the training positive rate; every prediction starts here. */
  baseScore: number;
  bestIteration: number;
  params: GbdtParams;
  trees: GbdtTree[];
}

/** What exporters read from a trained ensemble (a `GbdtModel` or a parsed state). */
export interface GbdtForestView {
  readonly features: readonly FeatureSpec[];
  readonly categories: Readonly<Record<string, readonly string[]>>;
  readonly baseScore: number;
  readonly trees: readonly GbdtTree[];
}
