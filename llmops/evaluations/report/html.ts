import type { TopLevelSpec } from "vega-lite";
import { renderSvg } from "../../../mlops/training/plots.ts";
import {
  type CaseResult,
  type EvalRun,
  type Metric,
  meetsThreshold,
  type SuiteResult,
} from "../suites/types.ts";
import type { BaselineEngine } from "./store.ts";
import { formatValue } from "./text.ts";

/**
 * The HTML eval report: one self-contained file (inline CSS, charts as inline SVG rendered by Vega at
 * build time, no script and no CDN). Per-suite scores against their thresholds and the baseline, the
 * failing cases with their transcripts, and the trend of every gated metric across the stored runs of
 * the same engine.
 */

const esc = (s: unknown) =>
  String(s ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#1f2933;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #d9e2ec;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}.muted{color:#627d98}table{border-collapse:collapse;width:100%;margin:6px 0 12px}
th,td{border-bottom:1px solid #e4e7eb;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f5f7fa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#0b7a3e;font-weight:600}.bad{color:#c81e1e;font-weight:600}
.skip{color:#8a6d00;font-weight:600}.verdict{display:inline-block;padding:4px 10px;border-radius:4px;color:#fff;font-weight:700}
.verdict.ok{background:#0b7a3e}.verdict.bad{background:#c81e1e}details{margin:4px 0 8px;border:1px solid #e4e7eb;border-radius:4px;padding:4px 8px}
summary{cursor:pointer}.turn{margin:4px 0 6px 8px}.user{color:#334e68}.bot{color:#102a43;white-space:pre-wrap}.tools{color:#627d98;font-size:12px}
ul{margin:4px 0 8px 18px;padding:0}.charts{display:flex;flex-wrap:wrap;gap:12px}.charts figure{margin:0}
code{background:#f0f4f8;padding:0 3px;border-radius:3px}`;

function metricRow(m: Metric, base: number | null | undefined): string {
  const ok = meetsThreshold(m);
  const th = m.threshold
    ? `${m.threshold.op} ${formatValue({ value: m.threshold.value, unit: m.unit })}`
    : "";
  const baseText = base === undefined ? "" : formatValue({ value: base, unit: m.unit });
  return `<tr><td>${esc(m.name)}</td><td class="num">${esc(formatValue(m))}</td><td>${esc(th)}${
    m.threshold ? ` <span class="muted">${esc(m.threshold.key)}</span>` : ""
  }</td><td class="num">${esc(baseText)}</td><td>${m.threshold ? (ok ? '<span class="ok">met</span>' : '<span class="bad">missed</span>') : ""}</td></tr>`;
}

function transcriptHtml(c: CaseResult): string {
  if (!c.transcript?.length) return "";
  return c.transcript
    .map(
      (t, i) =>
        `<div class="turn"><div class="user"><b>${i + 1}. Customer:</b> ${esc(t.user)}</div><div class="bot"><b>Assistant:</b> ${esc(
          t.reply,
        )}</div>${t.tools.length ? `<div class="tools">tools: ${esc(t.tools.join(", "))}</div>` : ""}</div>`,
    )
    .join("");
}

function tableOf(value: unknown): string {
  if (
    Array.isArray(value) &&
    value.length &&
    value.every((r) => r && typeof r === "object" && !Array.isArray(r))
  ) {
    const cols = [...new Set(value.flatMap((r) => Object.keys(r as object)))];
    return `<table><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>${value
      .map(
        (r) =>
          `<tr>${cols
            .map((c) => {
              const v = (r as Record<string, unknown>)[c];
              return `<td${typeof v === "number" ? ' class="num"' : ""}>${esc(typeof v === "object" ? JSON.stringify(v) : v)}</td>`;
            })
            .join("")}</tr>`,
      )
      .join("")}</table>`;
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.every(([, v]) => v && typeof v === "object" && !Array.isArray(v)))
      return tableOf(entries.map(([k, v]) => ({ name: k, ...(v as object) })));
    return `<table>${entries.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(typeof v === "object" ? JSON.stringify(v) : v)}</td></tr>`).join("")}</table>`;
  }
  return `<p>${esc(JSON.stringify(value))}</p>`;
}

function suiteSection(
  s: SuiteResult,
  base: BaselineEngine["suites"][string] | undefined,
  maxFailures: number,
): string {
  const failing = s.cases.filter((c) => !c.passed);
  const status =
    s.status === "error"
      ? '<span class="bad">error</span>'
      : s.status === "skipped"
        ? '<span class="skip">skipped</span>'
        : s.metrics.every(meetsThreshold)
          ? '<span class="ok">passed</span>'
          : '<span class="bad">failed</span>';
  const parts = [
    `<h2 id="${esc(s.suite)}">${esc(s.suite)} ${status}</h2>`,
    `<p>${esc(s.summary)} <span class="muted">(${(s.ms / 1000).toFixed(1)} s)</span></p>`,
  ];
  if (s.metrics.length)
    parts.push(
      `<table><tr><th>metric</th><th>value</th><th>threshold</th><th>baseline</th><th></th></tr>${s.metrics
        .map((m) => metricRow(m, base?.metrics[m.name]))
        .join("")}</table>`,
    );
  for (const n of s.notes) parts.push(`<p class="muted">${esc(n)}</p>`);
  if (s.error) parts.push(`<details><summary>error</summary><pre>${esc(s.error)}</pre></details>`);
  for (const [name, value] of Object.entries(s.details ?? {})) {
    if (value === null || value === undefined) continue;
    parts.push(`<details><summary>${esc(name.replace(/_/g, " "))}</summary>${tableOf(value)}</details>`);
  }
  if (failing.length) {
    parts.push(`<h3>Failures (${failing.length} of ${s.cases.length} cases)</h3>`);
    for (const c of failing.slice(0, maxFailures))
      parts.push(
        `<details><summary><code>${esc(c.id)}</code> ${esc(c.failures[0] ?? "")}${
          c.trials
            ? ` <span class="muted">trials ${c.trials.map((t) => (t ? "✓" : "✗")).join("")}</span>`
            : ""
        }</summary><ul>${c.failures.map((f) => `<li>${esc(f)}</li>`).join("")}</ul>${transcriptHtml(c)}</details>`,
      );
    if (failing.length > maxFailures)
      parts.push(`<p class="muted">… and ${failing.length - maxFailures} more (JSON run file)</p>`);
  } else if (s.cases.length) parts.push(`<p class="ok">All ${s.cases.length} cases pass.</p>`);
  return parts.join("\n");
}

/** One chart per suite: each gated metric across the runs of this engine (oldest → newest). */
async function trendCharts(run: EvalRun, history: readonly EvalRun[]): Promise<string> {
  const runs = [...history.filter((r) => r.engine === run.engine && r.run_id !== run.run_id), run]
    .sort((a, b) => a.created_at.localeCompare(b.created_at))
    .slice(-30);
  const charts: string[] = [];
  for (const s of run.suites) {
    // One chart per suite and unit (a rate and a count never share an axis).
    const units = [...new Set(s.metrics.filter((m) => m.threshold || m.regression).map((m) => m.unit))];
    for (const unit of units) {
      const names = s.metrics
        .filter((m) => (m.threshold || m.regression) && m.unit === unit)
        .map((m) => m.name);
      const values = runs.flatMap((r, i) => {
        const rs = r.suites.find((x) => x.suite === s.suite);
        return (rs?.metrics ?? [])
          .filter((m) => names.includes(m.name) && m.value !== null)
          .map((m) => ({ run: i + 1, run_id: r.run_id, metric: m.name, value: m.value }));
      });
      if (!values.length) continue;
      const spec: TopLevelSpec = {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title: { text: `${s.suite}${units.length > 1 ? ` (${unit})` : ""}`, anchor: "start", fontSize: 13 },
        data: { values },
        width: 250,
        height: 120,
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "run", type: "ordinal", title: "run (oldest → newest)" },
          y: {
            field: "value",
            type: "quantitative",
            title: unit,
            scale: { zero: false },
            axis: { format: "~r" },
          },
          color: {
            field: "metric",
            type: "nominal",
            legend: { orient: "bottom", columns: 1, title: null, labelLimit: 320 },
          },
        },
      };
      try {
        charts.push(`<figure>${await renderSvg(spec)}</figure>`);
      } catch (err) {
        charts.push(
          `<p class="muted">${esc(s.suite)}: chart failed (${esc(err instanceof Error ? err.message : err)})</p>`,
        );
      }
    }
  }
  return `<div class="charts">${charts.join("")}</div><p class="muted">${runs.length} run(s) of the ${esc(run.engine)} engine in the workspace.</p>`;
}

export async function renderHtmlReport(
  run: EvalRun,
  opts: { history?: readonly EvalRun[]; baseline?: BaselineEngine | null; maxFailures?: number } = {},
): Promise<string> {
  const g = run.gate;
  const base = opts.baseline ?? null;
  const rows = run.suites
    .map((s) => {
      const gated = s.metrics.filter((m) => m.threshold);
      const ok = s.status === "ran" && s.metrics.every(meetsThreshold);
      return `<tr><td><a href="#${esc(s.suite)}">${esc(s.suite)}</a></td><td>${
        s.status === "error"
          ? '<span class="bad">error</span>'
          : s.status === "skipped"
            ? '<span class="skip">skipped</span>'
            : ok
              ? '<span class="ok">pass</span>'
              : '<span class="bad">fail</span>'
      }</td><td>${esc(gated.map((m) => `${m.name} ${formatValue(m)}`).join(" · "))}</td><td>${esc(s.summary)}</td></tr>`;
    })
    .join("");
  const body = [
    `<h1>Assistant eval report <span class="verdict ${g.passed ? "ok" : "bad"}">${g.passed ? "GATE PASSED" : "GATE FAILED"}</span></h1>`,
    `<p class="muted">run <code>${esc(run.run_id)}</code> · ${esc(run.created_at)} · engine <b>${esc(run.engine)}</b>${
      run.k > 1 ? ` · ${run.k} trials (pass^${run.k})` : ""
    } · model ${esc(run.llm)} · commit ${esc(run.git.commit?.slice(0, 12) ?? "unknown")}${run.git.dirty ? " (uncommitted changes)" : ""} · ${(run.duration_ms / 1000).toFixed(1)} s</p>`,
    g.baseline
      ? `<p class="muted">baseline ${esc(g.baseline.run_id)}, accepted ${esc(g.baseline.accepted_at)}</p>`
      : "",
    g.threshold_misses.length || g.regressions.length
      ? `<ul>${[...g.threshold_misses.map((m) => `<li class="bad">threshold: ${esc(m)}</li>`), ...g.regressions.map((r) => `<li class="bad">regression: ${esc(r)}</li>`)].join("")}</ul>`
      : "",
    g.newly_failing.length
      ? `<p>Newly failing against the baseline: ${g.newly_failing.map((x) => `<code>${esc(x)}</code>`).join(" ")}</p>`
      : "",
    ...g.notes.map((n) => `<p class="muted">${esc(n)}</p>`),
    `<table><tr><th>suite</th><th></th><th>gated metrics</th><th>summary</th></tr>${rows}</table>`,
    `<h2>Trends</h2>`,
    await trendCharts(run, opts.history ?? []),
    ...run.suites.map((s) => suiteSection(s, base?.suites[s.suite], opts.maxFailures ?? 50)),
  ];
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Eval ${esc(
    run.run_id,
  )}</title><style>${CSS}</style></head><body>\n${body.join("\n")}\n</body></html>\n`;
}
