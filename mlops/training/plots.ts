import { parse as parseVega, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { CurvePoint, DecileRow, ReliabilityBin } from "./metrics.ts";
import type { ProfitCurve } from "./profit.ts";

/**
 * Evaluation plots as standalone SVG: a Vega-Lite spec compiled to Vega and rendered headless
 * (renderer "none", no canvas needed). Each function returns the SVG text.
 */

const WIDTH = 420;
const HEIGHT = 320;

/** Renders a Vega-Lite spec to SVG. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vegaSpec = compile(spec).spec;
  const view = new View(parseVega(vegaSpec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Keeps at most `max` evenly spaced points (always the first and last), so SVGs stay small. */
export function thin<T>(points: readonly T[], max = 300): T[] {
  if (points.length <= max) return [...points];
  const stride = (points.length - 1) / (max - 1);
  const out: T[] = [];
  for (let k = 0; k < max; k++) out.push(points[Math.round(k * stride)]);
  return out;
}

const round = (v: number) => Math.round(v * 1e5) / 1e5;

/** The dashed y = x reference line (chance for ROC, perfect calibration for reliability). */
const CHANCE_DIAGONAL = {
  data: {
    values: [
      { x: 0, y: 0 },
      { x: 1, y: 1 },
    ],
  },
  mark: { type: "line" as const, strokeDash: [4, 4], color: "#999" },
  encoding: {
    x: { field: "x", type: "quantitative" as const },
    y: { field: "y", type: "quantitative" as const },
  },
};

/** ROC curve with the chance diagonal; `auc` goes in the title. */
export function rocPlot(curve: readonly CurvePoint[], auc: number): Promise<string> {
  const values = [{ fpr: 0, tpr: 0 }, ...thin(curve).map((c) => ({ fpr: round(c.fpr), tpr: round(c.tpr) }))];
  return renderSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `ROC curve (AUC ${auc.toFixed(3)})`,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      CHANCE_DIAGONAL,
      {
        data: { values },
        mark: { type: "line", color: "#1f77b4" },
        encoding: {
          x: { field: "fpr", type: "quantitative", title: "false positive rate", scale: { domain: [0, 1] } },
          y: {
            field: "tpr",
            type: "quantitative",
            title: "true positive rate (recall)",
            scale: { domain: [0, 1] },
          },
          order: { field: "fpr", type: "quantitative" },
        },
      },
    ],
  });
}

/** Precision–recall curve with the base-rate line; average precision in the title. */
export function prPlot(
  curve: readonly CurvePoint[],
  averagePrecision: number,
  baseRate: number,
): Promise<string> {
  const values = thin(curve).map((c) => ({ recall: round(c.recall), precision: round(c.precision) }));
  return renderSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `Precision–recall (AP ${averagePrecision.toFixed(3)}, base rate ${(baseRate * 100).toFixed(1)}%)`,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: {
          values: [
            { x: 0, y: baseRate },
            { x: 1, y: baseRate },
          ],
        },
        mark: { type: "line", strokeDash: [4, 4], color: "#999" },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
      },
      {
        data: { values },
        mark: { type: "line", color: "#d62728" },
        encoding: {
          x: { field: "recall", type: "quantitative", title: "recall", scale: { domain: [0, 1] } },
          y: { field: "precision", type: "quantitative", title: "precision", scale: { domain: [0, 1] } },
          order: { field: "recall", type: "quantitative" },
        },
      },
    ],
  });
}

/** Reliability diagram: observed churn rate vs mean predicted probability, one line per series. */
export function calibrationPlot(
  series: { name: string; bins: readonly ReliabilityBin[] }[],
): Promise<string> {
  const values = series.flatMap((s) =>
    s.bins.map((b) => ({
      series: s.name,
      predicted: round(b.mean_predicted),
      observed: round(b.observed_rate),
      rows: b.rows,
    })),
  );
  return renderSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: "Calibration (reliability curve, test split)",
    width: WIDTH,
    height: HEIGHT,
    layer: [
      CHANCE_DIAGONAL,
      {
        data: { values },
        mark: { type: "line", point: true },
        encoding: {
          x: {
            field: "predicted",
            type: "quantitative",
            title: "mean predicted probability",
            scale: { domain: [0, 1] },
          },
          y: {
            field: "observed",
            type: "quantitative",
            title: "observed churn rate",
            scale: { domain: [0, 1] },
          },
          color: { field: "series", type: "nominal", title: null },
          order: { field: "predicted", type: "quantitative" },
        },
      },
    ],
  });
}

/** Cumulative gain by decile (with the random-targeting diagonal) beside lift per decile. */
export function liftGainPlot(deciles: readonly DecileRow[]): Promise<string> {
  const gain = [
    { targeted: 0, gain: 0 },
    ...deciles.map((d) => ({ targeted: d.decile / deciles.length, gain: round(d.cumulative_gain) })),
  ];
  const lift = deciles.map((d) => ({ decile: d.decile, lift: round(d.lift) }));
  return renderSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: "Cumulative gain and lift by decile (test split)",
    hconcat: [
      {
        width: 300,
        height: 260,
        layer: [
          {
            data: {
              values: [
                { x: 0, y: 0 },
                { x: 1, y: 1 },
              ],
            },
            mark: { type: "line", strokeDash: [4, 4], color: "#999" },
            encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
          },
          {
            data: { values: gain },
            mark: { type: "line", point: true, color: "#2ca02c" },
            encoding: {
              x: {
                field: "targeted",
                type: "quantitative",
                title: "share of customers targeted",
                axis: { format: "%" },
              },
              y: {
                field: "gain",
                type: "quantitative",
                title: "share of churners reached",
                axis: { format: "%" },
              },
            },
          },
        ],
      },
      {
        width: 300,
        height: 260,
        data: { values: lift },
        mark: { type: "bar", color: "#ff7f0e" },
        encoding: {
          x: { field: "decile", type: "ordinal", title: "score decile (1 = riskiest)" },
          y: { field: "lift", type: "quantitative", title: "lift vs base rate" },
        },
      },
    ],
  });
}

/** Horizontal bars of the top features by importance. */
export function importancePlot(
  rows: readonly { feature: string; importance: number }[],
  measure: string,
): Promise<string> {
  const top = [...rows].sort((a, b) => b.importance - a.importance).slice(0, 20);
  return renderSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `Feature importance (${measure})`,
    width: WIDTH,
    height: Math.max(120, top.length * 18),
    data: { values: top.map((r) => ({ feature: r.feature, importance: round(r.importance) })) },
    mark: { type: "bar", color: "#9467bd" },
    encoding: {
      y: { field: "feature", type: "nominal", sort: "-x", title: null },
      x: { field: "importance", type: "quantitative", title: measure },
    },
  });
}

/** Realised profit by share targeted, with the chosen threshold marked. */
export function profitPlot(curve: ProfitCurve, chosenFraction: number): Promise<string> {
  const values = thin(curve.points).map((p) => ({
    targeted: round(p.targeted_fraction),
    profit: Math.round(p.profit_brl),
    expected: Math.round(p.expected_profit_brl),
  }));
  const long = values.flatMap((v) => [
    { targeted: v.targeted, series: "realised", brl: v.profit },
    { targeted: v.targeted, series: "expected by model", brl: v.expected },
  ]);
  return renderSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `Campaign profit (test split; break-even p = ${curve.break_even_probability.toFixed(2)})`,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: long },
        mark: { type: "line" },
        encoding: {
          x: {
            field: "targeted",
            type: "quantitative",
            title: "share of customers targeted",
            axis: { format: "%" },
          },
          y: { field: "brl", type: "quantitative", title: "profit (BRL)" },
          color: { field: "series", type: "nominal", title: null, legend: { labelLimit: 0 } },
          order: { field: "targeted", type: "quantitative" },
        },
      },
      {
        data: { values: [{ x: chosenFraction }] },
        mark: { type: "rule", strokeDash: [4, 4], color: "#333" },
        encoding: { x: { field: "x", type: "quantitative" } },
      },
    ],
  });
}
