import { useEffect, useRef, useState } from "preact/hooks";
import type { TopLevelSpec } from "vega-lite";

/**
 * The console's one chart component: a vega-lite spec compiled and rendered as SVG in the browser.
 *
 * - Offline: vega and vega-lite are bundled by Vite (no CDN, no vega-embed).
 * - Lazy: both load through a dynamic import the first time a chart mounts, so the customer chat
 *   page never downloads them (Vite splits them into their own chunk).
 * - Accessible: the SVG sits in a `role="img"` box named by `label`; vega's own ARIA roles are
 *   switched off (`config.aria: false`) since the box already names it, and the chart's data are
 *   repeated in a visually hidden table (or the `summary` text) for screen readers.
 *
 * Usage: `<VegaChart spec={{ data: { values }, mark: "line", encoding: {…} }} label="Usage over time" />`.
 * The spec's inline `data.values` feed the hidden table unless `table` is given.
 */

type VegaModules = [typeof import("vega-lite"), typeof import("vega")];
let modules: Promise<VegaModules> | undefined;
/** The chart libraries, loaded once (a separate chunk). */
export function loadVega(): Promise<VegaModules> {
  modules ??= Promise.all([import("vega-lite"), import("vega")]);
  return modules;
}

// Colours and font of the portal (styles.css): AA contrast for labels on white.
const BASE_CONFIG = {
  aria: false,
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  background: "transparent",
  view: { stroke: null },
  axis: { labelColor: "#1a1a2e", titleColor: "#1a1a2e", gridColor: "#e3e5ec", domainColor: "#4a4a5a" },
  legend: { labelColor: "#1a1a2e", titleColor: "#1a1a2e" },
  title: { color: "#1a1a2e" },
  range: {
    category: ["#0b4f9c", "#d1495b", "#1e6b30", "#7a4b00", "#6a4c93", "#00798c", "#4a4a5a"],
  },
  mark: { color: "#0b4f9c", aria: false },
};

export interface ChartTable {
  columns: string[];
  rows: (string | number | null)[][];
}

/** The rows a chart draws, as a table (inline `data.values` of the spec; nested specs not walked). */
export function tableOf(spec: TopLevelSpec, max = 100): ChartTable | null {
  const data = (spec as { data?: { values?: unknown } }).data;
  const values = Array.isArray(data?.values) ? (data.values as Record<string, unknown>[]) : null;
  if (!values?.length || typeof values[0] !== "object" || values[0] === null) return null;
  const columns = Object.keys(values[0]).filter((k) => {
    const v = values[0][k];
    return v === null || ["string", "number", "boolean"].includes(typeof v);
  });
  const cell = (v: unknown): string | number | null =>
    typeof v === "number" ? Number(v.toFixed(4)) : v === null || v === undefined ? null : String(v);
  return { columns, rows: values.slice(0, max).map((r) => columns.map((c) => cell(r[c]))) };
}

export interface VegaChartProps {
  spec: TopLevelSpec;
  /** The chart's accessible name (also shown as its caption unless `hideCaption`). */
  label: string;
  /** A one-sentence text alternative (e.g. "Data usage rose from 8 GB to 14 GB"). */
  summary?: string;
  /** The data behind the chart for screen readers; defaults to the spec's inline values. */
  table?: ChartTable | null;
  hideCaption?: boolean;
  class?: string;
}

export function VegaChart({ spec, label, summary, table, hideCaption, class: cls }: VegaChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let live = true;
    let view: { finalize(): void } | undefined;
    setError(null);
    setReady(false);
    loadVega()
      .then(async ([vl, vega]) => {
        if (!live) return;
        const full = {
          width: "container",
          ...spec,
          config: { ...BASE_CONFIG, ...((spec as { config?: object }).config ?? {}) },
        } as unknown as TopLevelSpec;
        const compiled = vl.compile(full).spec;
        const v = new vega.View(vega.parse(compiled), { renderer: "svg", container: el, hover: true });
        view = v;
        await v.runAsync();
        // Vega labels its container itself ("Vega visualization"); the outer role="img" box names the chart.
        for (const a of ["role", "aria-label", "aria-roledescription", "tabindex"]) el.removeAttribute(a);
        // The drawing itself is decoration for assistive technology: the box's name and the hidden
        // table say what it shows (vega's per-mark roles would otherwise need names of their own).
        el.querySelector("svg")?.setAttribute("aria-hidden", "true");
        if (live) setReady(true);
      })
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
      view?.finalize();
      el.replaceChildren();
    };
  }, [JSON.stringify(spec)]);
  const rows = table === undefined ? tableOf(spec) : table;
  return (
    <figure class={`chart ${cls ?? ""}`} data-ready={ready ? "true" : "false"}>
      {!hideCaption && <figcaption>{label}</figcaption>}
      <div class="chart-canvas" role="img" aria-label={summary ? `${label}. ${summary}` : label}>
        <div ref={box} />
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {rows && rows.rows.length > 0 && (
        <table class="sr-only">
          <caption>{label}</caption>
          <thead>
            <tr>
              {rows.columns.map((c) => (
                <th scope="col" key={c}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.rows.map((r, i) => (
              <tr key={i}>
                {r.map((v, j) => (
                  <td key={j}>{v ?? "—"}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </figure>
  );
}
