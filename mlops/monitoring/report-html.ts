import type { TopLevelSpec } from "vega-lite";
import { maskPii } from "../../platform/pii/index.ts";
import type { TabularDataset } from "../training/dataset.ts";
import { renderSvg } from "../training/plots.ts";
import { histogram } from "./drift-stats.ts";
import type { PerformancePeriod } from "./performance.ts";
import type { DriftReport, ReferenceProfile } from "./reference-profile.ts";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/**
 * A self-contained HTML monitoring report: drift scores against their thresholds, reference vs
 * current distribution of every feature (drifted ones first), prediction distribution, data
 * quality issues and performance over time. Plots are inline SVG so the file opens anywhere.
 */
export async function renderMonitoringReport(input: {
  title: string;
  generatedAt: string;
  report: DriftReport;
  profile: ReferenceProfile;
  current: TabularDataset;
  currentScores?: Float64Array;
  performance?: PerformancePeriod[];
}): Promise<string> {
  const { report, profile, current } = input;
  const sections: string[] = [];
  if (!report.enoughData) {
    sections.push(
      `<h2>Not enough data</h2><p>${report.nCurrent} predictions in the window; at least ${report.minSamples} are needed before drift is tested (monitoring.minSamples). Widen the window.</p>`,
    );
  } else {
    sections.push(`<h2>Drift scores</h2>${await driftScoresPlot(report)}`);
    sections.push(calibrationTable(profile));
  }
  const order = [...report.features].sort((a, b) => Number(b.drift) - Number(a.drift) || b.score - a.score);
  const plots: string[] = [];
  for (const f of report.enoughData ? order : []) {
    const ref = profile.features.find((p) => p.name === f.name);
    const col = current.features.find((c) => c.name === f.name);
    if (!ref || !col) continue;
    const rows = distributionRows(ref, col);
    const badge = f.drift
      ? `<span class="bad">drift</span>`
      : f.warn
        ? `<span class="warn">watch</span>`
        : `<span class="ok">ok</span>`;
    plots.push(
      `<figure><figcaption>${escapeHtml(f.name)} ${badge} <small>${escapeHtml(testText(f))}</small></figcaption>${await distributionPlot(rows)}</figure>`,
    );
  }
  sections.push(
    `<h2>Feature distributions: reference vs current</h2><div class="grid">${plots.join("")}</div>`,
  );
  if (profile.prediction && input.currentScores) {
    const counts = histogram(input.currentScores, Float64Array.from(profile.prediction.edges));
    const rows = binRows(profile.prediction.edges, profile.prediction.counts, Array.from(counts));
    sections.push(`<h2>Predicted churn probability</h2>${await distributionPlot(rows)}`);
  }
  sections.push(qualityTable(report));
  if (input.performance && input.performance.length > 0) {
    sections.push(`<h2>Performance over time</h2>${await performancePlot(input.performance)}`);
  }
  const verdict = !report.enoughData
    ? `<p class="warn">Not enough data to test for drift.</p>`
    : report.drift
      ? `<p class="bad">Drift detected in ${report.features.filter((f) => f.drift).length} feature(s)${report.predictionDrift?.drift ? " and in predictions" : ""}.</p>`
      : report.predictionDrift?.drift
        ? `<p class="warn">No feature drifted, but the score distribution moved (mean ${report.predictionDrift.referenceMean.toFixed(3)} → ${report.predictionDrift.currentMean.toFixed(3)}).</p>`
        : `<p class="ok">No drift detected.</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
.grid{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;border:1px solid #ddd;padding:.5rem;border-radius:6px}
.bad{color:#b00020;font-weight:600}.warn{color:#a06000;font-weight:600}.ok{color:#1b5e20;font-weight:600}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
</style></head><body>
<h1>${escapeHtml(input.title)}</h1>
<p>Generated ${escapeHtml(input.generatedAt)} · reference rows ${report.nReference} · current rows ${report.nCurrent}</p>
${verdict}
${sections.join("\n")}
</body></html>
`;
}

interface DistRow {
  bin: string;
  order: number;
  sample: "reference" | "current";
  share: number;
}

function distributionRows(
  ref: ReferenceProfile["features"][number],
  col: TabularDataset["features"][number],
): DistRow[] {
  if (ref.kind === "numeric") {
    const values = col.kind === "numeric" ? col.values : new Float64Array(0);
    return binRows(ref.edges, ref.counts, Array.from(histogram(values, Float64Array.from(ref.edges))));
  }
  const index = new Map(ref.categories.map((c, i) => [c, i]));
  const cur = new Array<number>(ref.categories.length + 1).fill(0);
  if (col.kind === "categorical") {
    for (let i = 0; i < col.codes.length; i++) {
      const code = col.codes[i];
      const mapped =
        code >= 0 ? (index.get(col.categories[code]) ?? ref.categories.length) : ref.categories.length;
      cur[mapped]++;
    }
  }
  const labels = [...ref.categories, "(missing/unseen)"];
  return sharesToRows(labels, ref.counts, cur);
}

function binRows(
  edges: readonly number[],
  refCounts: readonly number[],
  curCounts: readonly number[],
): DistRow[] {
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
  const labels = [
    ...Array.from({ length: edges.length + 1 }, (_, i) =>
      i === 0
        ? `< ${fmt(edges[0] ?? 0)}`
        : i === edges.length
          ? `≥ ${fmt(edges[i - 1])}`
          : `${fmt(edges[i - 1])}–${fmt(edges[i])}`,
    ),
    "missing",
  ];
  return sharesToRows(labels, refCounts, curCounts);
}

function sharesToRows(
  labels: string[],
  refCounts: readonly number[],
  curCounts: readonly number[],
): DistRow[] {
  const refTotal = refCounts.reduce((s, v) => s + v, 0) || 1;
  const curTotal = curCounts.reduce((s, v) => s + v, 0) || 1;
  const rows: DistRow[] = [];
  labels.forEach((bin, i) => {
    if ((refCounts[i] ?? 0) === 0 && (curCounts[i] ?? 0) === 0) return;
    rows.push({ bin, order: i, sample: "reference", share: (refCounts[i] ?? 0) / refTotal });
    rows.push({ bin, order: i, sample: "current", share: (curCounts[i] ?? 0) / curTotal });
  });
  return rows;
}

function distributionPlot(rows: DistRow[]): Promise<string> {
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    width: 320,
    height: 160,
    data: { values: rows },
    mark: "bar",
    encoding: {
      x: { field: "bin", type: "nominal", sort: { field: "order" }, title: null, axis: { labelAngle: -40 } },
      xOffset: { field: "sample" },
      y: { field: "share", type: "quantitative", axis: { format: "%" }, title: "share" },
      color: { field: "sample", type: "nominal", scale: { range: ["#9e9e9e", "#1565c0"] }, title: null },
    },
  };
  return renderSvg(spec);
}

/** The thresholds the reference set for itself: natural slice-to-slice variation, quantile, floor. */
function calibrationTable(profile: ReferenceProfile): string {
  const c = profile.calibration;
  if (!c)
    return `<h2>Thresholds</h2><p>Configured thresholds (this reference profile has no calibration; rebuild it with <code>telco monitor profile</code>).</p>`;
  const all = c.prediction ? { ...c.features, "churn_probability (score)": c.prediction } : c.features;
  const rows = Object.entries(all)
    .map(
      ([name, f]) =>
        `<tr><td>${escapeHtml(name)}</td><td>${f.test}</td><td>${f.natural.length ? Math.max(...f.natural).toPrecision(3) : "–"}</td><td>${f.quantile.toPrecision(3)}</td><td>${f.dropped ? `${escapeHtml(f.dropped.slice)} (+${(f.offset ?? 0).toPrecision(3)})` : "–"}</td><td>${f.floor}</td><td>${f.threshold.toPrecision(3)}</td></tr>`,
    )
    .join("");
  const q = `q${Math.round(c.quantile * 100)}`;
  const method =
    c.method === "pairs-robust"
      ? `every pair of slices compared; with 4 or more slices, one odd slice (farther from every other slice than the bound the others set) is left out and the effect size between the whole reference and the reference without it is added; threshold = max(floor, ${q} × ${c.margin} + that offset), JS capped at ${c.jsCap}`
      : `every pair of slices compared; threshold = max(floor, ${q} × ${c.margin})`;
  return `<h2>Thresholds</h2><p>Calibrated on ${c.slices} time slices of the training window: ${method}.</p><table><tr><th>feature</th><th>test</th><th>max natural</th><th>quantile</th><th>odd slice left out</th><th>floor</th><th>threshold</th></tr>${rows}</table>`;
}

/** What decided a feature: effect size vs threshold, or (small samples) p-value vs α and effect size vs natural variation. */
function testText(f: DriftReport["features"][number]): string {
  const n = (x: number) => Number(x.toPrecision(3));
  if (f.test === "psi" || f.test === "js")
    return `${f.test} = ${f.score.toPrecision(3)} (threshold ${n(f.threshold)}${f.thresholdSource === "calibrated" ? ", calibrated" : ""})`;
  const p = `${f.test} p = ${f.score.toPrecision(3)} ${f.score < f.threshold ? "<" : "≥"} α ${n(f.threshold)}`;
  if (f.effect === undefined || f.effectThreshold === undefined) return p;
  const big = f.effect > f.effectThreshold;
  const calibrated = f.thresholdSource === "calibrated";
  const note =
    !f.drift && f.score < f.threshold
      ? calibrated
        ? "; significant but within the reference's natural variation"
        : "; significant but below the configured effect size"
      : "";
  return `${p}, ${f.effectTest ?? "effect"} ${n(f.effect)} ${big ? ">" : "≤"} ${n(f.effectThreshold)} (${calibrated ? "natural variation" : "configured"})${note}`;
}

function driftScoresPlot(report: DriftReport): Promise<string> {
  // Effect-size tests plot score/threshold; p-value tests plot threshold/p, and when the effect must also
  // clear the natural variation, the smaller of both ratios (drift needs both): ≥ 1 means drift.
  const rows = report.features.map((f) => ({
    feature: f.name,
    ratio:
      f.test === "psi" || f.test === "js"
        ? f.score / f.threshold
        : Math.min(
            f.threshold / Math.max(f.score, 1e-12),
            f.effect !== undefined && f.effectThreshold !== undefined
              ? f.effect / Math.max(f.effectThreshold, 1e-12)
              : Number.POSITIVE_INFINITY,
          ),
    drift: f.drift ? "drift" : "ok",
    test: f.test,
  }));
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    width: 520,
    height: Math.max(120, rows.length * 18),
    layer: [
      {
        data: { values: rows },
        mark: "bar",
        encoding: {
          y: { field: "feature", type: "nominal", sort: "-x", title: null },
          x: {
            field: "ratio",
            type: "quantitative",
            title: "score ÷ threshold (≥ 1 is drift)",
            scale: { type: "symlog" },
          },
          color: {
            field: "drift",
            type: "nominal",
            scale: { domain: ["ok", "drift"], range: ["#90a4ae", "#c62828"] },
            title: null,
          },
          tooltip: [{ field: "test" }, { field: "ratio", format: ".2f" }],
        },
      },
      {
        data: { values: [{ x: 1 }] },
        mark: { type: "rule", strokeDash: [4, 4] },
        encoding: { x: { field: "x", type: "quantitative" } },
      },
    ],
  };
  return renderSvg(spec);
}

function performancePlot(periods: PerformancePeriod[]): Promise<string> {
  const rows = periods.flatMap((p) => [
    ...(p.auc === null ? [] : [{ period: p.period, metric: "AUC", value: p.auc }]),
    { period: p.period, metric: "ECE", value: p.ece },
    { period: p.period, metric: "churn rate", value: p.positiveRate },
  ]);
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    width: 520,
    height: 220,
    data: { values: rows },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "period", type: "ordinal", title: null },
      y: { field: "value", type: "quantitative", title: null },
      color: { field: "metric", type: "nominal", title: null },
    },
  };
  return renderSvg(spec);
}

function qualityTable(report: DriftReport): string {
  if (report.quality.issues.length === 0) return `<h2>Data quality</h2><p class="ok">No issues.</p>`;
  const rows = report.quality.issues
    .map(
      (i) =>
        `<tr><td>${escapeHtml(i.feature)}</td><td>${i.kind}</td><td>${(i.value * 100).toFixed(2)}%</td><td>${(i.reference * 100).toFixed(2)}%</td><td>${escapeHtml(i.range ? `accepted [${Number(i.range.low.toPrecision(4))}, ${Number(i.range.high.toPrecision(4))}], worst ${i.worst}` : (i.examples ?? []).map(safeExample).join(", "))}</td></tr>`,
    )
    .join("");
  return `<h2>Data quality</h2><table><tr><th>feature</th><th>issue</th><th>current</th><th>reference</th><th>examples / range</th></tr>${rows}</table>`;
}

/**
 * An unseen value as the report shows it: served values come from API callers, so a CPF or phone sent
 * as a category (LGPD) is masked, and a long value is cut.
 */
function safeExample(value: string): string {
  const masked = maskPii(String(value));
  return masked.length > 64 ? `${masked.slice(0, 64)}…` : masked;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
