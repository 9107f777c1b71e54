/**
 * The metrics a model card records for one evaluation set. Used by the churn-training pipeline
 * (at training) and by the registry (`models evaluate`, `models register --from-run`).
 */
import type { MetricValue, ModelCard, SegmentMetrics } from "../../platform/ports/registry.ts";
import type { TabularDataset } from "../training/dataset.ts";
import {
  bootstrapAuc,
  classificationMetrics,
  expectedCalibrationError,
  rocAuc,
} from "../training/metrics.ts";
import type { ChurnModel } from "../training/model.ts";

const SEGMENT_DIMENSIONS = ["uf", "product"] as const;

/** Metrics of a model on the evaluation rows: headline metrics with a bootstrap CI on AUC, and per segment. */
export function evaluateOn(
  model: ChurnModel,
  data: TabularDataset,
  seed: number,
): Pick<ModelCard, "metrics" | "segmentMetrics"> {
  const y = data.label as Uint8Array;
  const p = model.predictProba(data);
  const m = classificationMetrics(y, p);
  const ci = bootstrapAuc(y, p, { replicates: 500, seed });
  const metrics: Record<string, MetricValue> = {
    auc: { value: m.auc, ci: { lower: ci.lower, upper: ci.upper, level: ci.level } },
  };
  for (const key of [
    "pr_auc",
    "logloss",
    "brier",
    "ks",
    "ece",
    "precision_top10",
    "recall_top10",
    "base_rate",
  ] as const) {
    metrics[key] = { value: m[key] };
  }
  const segmentMetrics: Record<string, Record<string, SegmentMetrics>> = {};
  for (const dim of SEGMENT_DIMENSIONS) {
    const col = data.features.find((f) => f.name === dim);
    if (col?.kind !== "categorical") continue;
    const bySegment: Record<string, SegmentMetrics> = {};
    col.categories.forEach((value, code) => {
      const idx: number[] = [];
      for (let i = 0; i < data.nRows; i++) if (col.codes[i] === code) idx.push(i);
      const ys = Uint8Array.from(idx, (i) => y[i]);
      const ps = Float64Array.from(idx, (i) => p[i]);
      const positives = ys.reduce((s, v) => s + v, 0);
      if (positives === 0 || positives === ys.length) return;
      bySegment[value] = {
        n: idx.length,
        metrics: { auc: { value: rocAuc(ys, ps) }, ece: { value: expectedCalibrationError(ys, ps) } },
      };
    });
    segmentMetrics[dim] = bySegment;
  }
  return { metrics, segmentMetrics };
}
