/**
 * Public API of the hand-written histogram GBDT (binary logloss) with exact TreeSHAP, JSON and ONNX export.
 * Why hand-written: no well-kept TypeScript GBDT exists. See docs/mlops/gbdt.md.
 */
export { float32AtMost, numericUpperBounds, separatingThreshold } from "./binning.ts";
export type { GbdtModelJson } from "./json.ts";
export { gbdtModelJsonSchema } from "./json.ts";
export { chooseThreads, mulberry32, resolveParams, type TrainGbdtOptions, trainGbdt } from "./learner.ts";
export { GbdtModel } from "./model.ts";
export {
  DEFAULT_GBDT_PARAMS,
  GBDT_PRESETS,
  type GbdtParams,
  gbdtParamsSchema,
  IBM_TELCO_RECOMMENDED_PARAMS,
  SMALL_TABULAR_PARAMS,
} from "./params.ts";
export type { GbdtForestView, GbdtModelState } from "./state.ts";
export type { GbdtDataset, GbdtTree, NumericValues } from "./tree.ts";
