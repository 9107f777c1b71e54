import { useEffect, useMemo, useState } from "preact/hooks";
import type { TopLevelSpec } from "vega-lite";
import { ApiError, api } from "./api.ts";
import { type ChartTable, VegaChart } from "./chart.tsx";
import type { Strings } from "./i18n.ts";
import { type Operator, Status, useApi } from "./ui.tsx";

/**
 * The console's Models view: versions and aliases with promote/roll back (admin only, checked by the
 * server), each version's model card with ROC, PR, calibration and lift curves and the SHAP summary,
 * a side-by-side comparison of two versions, and the promotion history (the registry's audit log).
 */

interface MetricValue {
  value: number;
  ci?: { lower: number; upper: number; level?: number };
}

export interface ModelsDoc {
  models: {
    name: string;
    aliases: Record<string, number>;
    versions: {
      version: number;
      created_at: string;
      created_by?: string;
      format?: string;
      metrics: Record<string, number | null>;
      aliases: string[];
    }[];
    events: {
      at: string;
      by?: string;
      alias: string;
      from: number | null;
      to: number | null;
      action: string;
      reason?: string;
    }[];
  }[];
}

export interface Evaluation {
  model: string;
  version: number;
  evaluation_dataset: { name: string; version: string };
  matches_card: boolean;
  rows: number;
  positives: number;
  auc: number;
  average_precision: number;
  base_rate: number;
  roc: { threshold: number | null; fpr: number; tpr: number }[];
  pr: { threshold: number; recall: number; precision: number }[];
  calibration: { bin: number; rows: number; mean_predicted: number; observed_rate: number }[];
  lift: { decile: number; rows: number; churn_rate: number; lift: number; cumulative_gain: number }[];
  shap: { rows: number; features: { feature: string; mean_abs: number; mean: number }[] } | null;
  card: {
    metrics: Record<string, MetricValue>;
    intended_use: string | null;
    limitations: string | null;
    training_dataset: { name: string; version: string } | null;
    code_version: string | null;
  };
}

/** At most `max` evenly spaced points (first and last kept): vega draws a few hundred points fast. */
function thin<T>(xs: readonly T[], max = 250): T[] {
  if (xs.length <= max) return [...xs];
  const stride = (xs.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, k) => xs[Math.round(k * stride)]);
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const DIAGONAL = {
  data: {
    values: [
      { x: 0, y: 0 },
      { x: 1, y: 1 },
    ],
  },
  mark: { type: "line" as const, strokeDash: [4, 4], color: "#4a4a5a" },
  encoding: {
    x: { field: "x", type: "quantitative" as const },
    y: { field: "y", type: "quantitative" as const },
  },
};
const unit = { domain: [0, 1] };
const HEIGHT = 220;

type Series = { label: string; e: Evaluation };
const colorBy = (many: boolean) =>
  many ? { color: { field: "version", type: "nominal" as const, title: null } } : {};

export function rocSpec(s: Strings, series: Series[]): TopLevelSpec {
  const values = series.flatMap(({ label, e }) =>
    thin(e.roc).map((p) => ({ version: label, fpr: r4(p.fpr), tpr: r4(p.tpr) })),
  );
  return {
    height: HEIGHT,
    data: { values },
    layer: [
      DIAGONAL,
      {
        mark: { type: "line", interpolate: "linear" },
        encoding: {
          x: { field: "fpr", type: "quantitative", title: s.falsePositiveRate, scale: unit },
          y: { field: "tpr", type: "quantitative", title: s.truePositiveRate, scale: unit },
          order: { field: "fpr", type: "quantitative" },
          ...colorBy(series.length > 1),
        },
      },
    ],
  } as TopLevelSpec;
}

export function prSpec(s: Strings, series: Series[]): TopLevelSpec {
  const values = series.flatMap(({ label, e }) =>
    thin(e.pr).map((p) => ({ version: label, recall: r4(p.recall), precision: r4(p.precision) })),
  );
  return {
    height: HEIGHT,
    data: { values },
    layer: [
      {
        mark: { type: "line", interpolate: "step-after" },
        encoding: {
          x: { field: "recall", type: "quantitative", title: s.recall, scale: unit },
          y: { field: "precision", type: "quantitative", title: s.precision, scale: unit },
          order: { field: "recall", type: "quantitative" },
          ...colorBy(series.length > 1),
        },
      },
      {
        data: { values: [{ base: r4(series[0].e.base_rate) }] },
        mark: { type: "rule", strokeDash: [4, 4], color: "#4a4a5a" },
        encoding: { y: { field: "base", type: "quantitative" } },
      },
    ],
  } as TopLevelSpec;
}

export function calibrationSpec(s: Strings, series: Series[]): TopLevelSpec {
  const values = series.flatMap(({ label, e }) =>
    e.calibration.map((b) => ({
      version: label,
      predicted: r4(b.mean_predicted),
      observed: r4(b.observed_rate),
      rows: b.rows,
    })),
  );
  const enc = {
    x: { field: "predicted", type: "quantitative", title: s.predicted, scale: unit },
    y: { field: "observed", type: "quantitative", title: s.observed, scale: unit },
    ...colorBy(series.length > 1),
  };
  return {
    height: HEIGHT,
    data: { values },
    layer: [
      DIAGONAL,
      { mark: { type: "line" }, encoding: enc },
      {
        mark: { type: "point", filled: true },
        encoding: {
          ...enc,
          size: { field: "rows", type: "quantitative", legend: null, scale: { range: [20, 160] } },
        },
      },
    ],
  } as TopLevelSpec;
}

export function liftSpec(s: Strings, series: Series[]): TopLevelSpec {
  const values = series.flatMap(({ label, e }) =>
    e.lift.map((d) => ({ version: label, decile: d.decile, lift: r4(d.lift) })),
  );
  const many = series.length > 1;
  return {
    height: HEIGHT,
    data: { values },
    layer: [
      {
        mark: { type: "bar" },
        encoding: {
          x: { field: "decile", type: "ordinal", title: s.decile },
          y: { field: "lift", type: "quantitative", title: s.lift },
          ...(many ? { xOffset: { field: "version" } } : {}),
          ...colorBy(many),
        },
      },
      {
        data: { values: [{ one: 1 }] },
        mark: { type: "rule", strokeDash: [4, 4], color: "#4a4a5a" },
        encoding: { y: { field: "one", type: "quantitative" } },
      },
    ],
  } as TopLevelSpec;
}

export function shapSpec(s: Strings, e: Evaluation, top = 15): TopLevelSpec {
  const values = (e.shap?.features ?? [])
    .slice(0, top)
    .map((f) => ({ feature: f.feature, mean_abs_shap: r4(f.mean_abs), mean_shap: r4(f.mean) }));
  return {
    height: Math.max(120, values.length * 18),
    data: { values },
    mark: { type: "bar" },
    encoding: {
      y: { field: "feature", type: "nominal", sort: "-x", title: null },
      x: { field: "mean_abs_shap", type: "quantitative", title: s.meanAbsShap },
    },
  } as TopLevelSpec;
}

/** A curve's text alternative: a few evenly spaced points per version (hundreds of rows help no one). */
export function curveTable(series: Series[], kind: "roc" | "pr", points = 11): ChartTable {
  const columns = kind === "roc" ? ["version", "fpr", "tpr"] : ["version", "recall", "precision"];
  const rows = series.flatMap(({ label, e }) =>
    kind === "roc"
      ? thin(e.roc, points).map((p) => [label, r4(p.fpr), r4(p.tpr)])
      : thin(e.pr, points).map((p) => [label, r4(p.recall), r4(p.precision)]),
  );
  return { columns, rows };
}

const fmt = (x: number | null | undefined, d = 3) => (x == null || Number.isNaN(x) ? "—" : x.toFixed(d));

function useEvaluation(name: string, version: number | null, key: string) {
  return useApi<Evaluation>(
    version ? `/v1/portal/models/${encodeURIComponent(name)}/versions/${version}/evaluation` : null,
    key,
  );
}

function ModelCard({ s, op, name, version }: { s: Strings; op: Operator; name: string; version: number }) {
  const { data: e, error } = useEvaluation(name, version, op.key);
  // A version registered without its datasets (e.g. `models register`) has no evaluation rows: a note, not an error.
  if (!e && error) return <p class="muted">{`${s.modelCard}: ${error}`}</p>;
  if (!e) return <Status s={s} />;
  const series = [{ label: `v${version}`, e }];
  return (
    <div class="model-card" data-version={version}>
      <p class="muted">
        {s.evaluationSet}: {e.evaluation_dataset.name}@{e.evaluation_dataset.version} ·{" "}
        {s.evalRows(e.rows, e.positives)} · {e.matches_card ? s.sameRowsAsCard : s.rowsChanged}
      </p>
      <table class="data metrics">
        <caption>
          {s.metrics} (v{version})
        </caption>
        <thead>
          <tr>
            <th scope="col">{s.metric}</th>
            <th scope="col">{s.value}</th>
            <th scope="col">{s.interval}</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(e.card.metrics).map(([k, m]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td>{fmt(m.value, 4)}</td>
              <td>{m.ci ? `${fmt(m.ci.lower, 4)} – ${fmt(m.ci.upper, 4)}` : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="charts">
        <VegaChart
          spec={rocSpec(s, series)}
          table={curveTable(series, "roc")}
          label={`${s.rocCurve} (AUC ${fmt(e.auc, 4)})`}
        />
        <VegaChart
          spec={prSpec(s, series)}
          table={curveTable(series, "pr")}
          label={`${s.prCurve} (AP ${fmt(e.average_precision, 4)})`}
        />
        <VegaChart spec={calibrationSpec(s, series)} label={s.calibrationCurve} />
        <VegaChart spec={liftSpec(s, series)} label={s.liftChart} />
        {e.shap && <VegaChart spec={shapSpec(s, e)} label={s.shapSummary} class="shap" />}
      </div>
      {(e.card.intended_use || e.card.limitations) && (
        <dl class="kv">
          {e.card.intended_use && (
            <div>
              <dt>{s.intendedUse}</dt>
              <dd>{e.card.intended_use}</dd>
            </div>
          )}
          {e.card.limitations && (
            <div>
              <dt>{s.limitations}</dt>
              <dd>{e.card.limitations}</dd>
            </div>
          )}
        </dl>
      )}
    </div>
  );
}

function Compare({ s, op, name, a, b }: { s: Strings; op: Operator; name: string; a: number; b: number }) {
  const ea = useEvaluation(name, a, op.key);
  const eb = useEvaluation(name, b, op.key);
  if (!ea.data || !eb.data) return <Status s={s} error={ea.error ?? eb.error} />;
  const A = ea.data;
  const B = eb.data;
  const series = [
    { label: `v${a}`, e: A },
    { label: `v${b}`, e: B },
  ];
  const names = [...new Set([...Object.keys(A.card.metrics), ...Object.keys(B.card.metrics)])];
  return (
    <div class="compare">
      <table class="data compare-metrics">
        <caption>
          {s.compare}: v{a} × v{b}
        </caption>
        <thead>
          <tr>
            <th scope="col">{s.metric}</th>
            <th scope="col">v{a}</th>
            <th scope="col">v{b}</th>
            <th scope="col">{s.difference}</th>
          </tr>
        </thead>
        <tbody>
          {names.map((n) => {
            const x = A.card.metrics[n]?.value;
            const y = B.card.metrics[n]?.value;
            return (
              <tr key={n}>
                <th scope="row">{n}</th>
                <td>{fmt(x, 4)}</td>
                <td>{fmt(y, 4)}</td>
                <td>{x == null || y == null ? "—" : `${y - x >= 0 ? "+" : ""}${(y - x).toFixed(4)}`}</td>
              </tr>
            );
          })}
          <tr>
            <th scope="row">{s.evaluationSet}</th>
            <td>{s.evalRows(A.rows, A.positives)}</td>
            <td>{s.evalRows(B.rows, B.positives)}</td>
            <td>{A.evaluation_dataset.version === B.evaluation_dataset.version ? "=" : "≠"}</td>
          </tr>
        </tbody>
      </table>
      <div class="charts">
        <VegaChart
          spec={rocSpec(s, series)}
          table={curveTable(series, "roc")}
          label={`${s.rocCurve}: v${a} × v${b}`}
        />
        <VegaChart
          spec={prSpec(s, series)}
          table={curveTable(series, "pr")}
          label={`${s.prCurve}: v${a} × v${b}`}
        />
        <VegaChart spec={calibrationSpec(s, series)} label={`${s.calibrationCurve}: v${a} × v${b}`} />
        <VegaChart spec={liftSpec(s, series)} label={`${s.liftChart}: v${a} × v${b}`} />
      </div>
    </div>
  );
}

function VersionSelect({
  label,
  name,
  value,
  versions,
  onChange,
}: {
  label: string;
  name: string;
  value: number;
  versions: number[];
  onChange: (v: number) => void;
}) {
  return (
    <label>
      {label}
      <select name={name} value={String(value)} onChange={(ev) => onChange(Number(ev.currentTarget.value))}>
        {versions.map((v) => (
          <option key={v} value={String(v)}>
            v{v}
          </option>
        ))}
      </select>
    </label>
  );
}

type Model = ModelsDoc["models"][number];

function ModelPanel({
  s,
  op,
  m,
  act,
}: {
  s: Strings;
  op: Operator;
  m: Model;
  act: (path: string, body: unknown) => void;
}) {
  const versions = m.versions.map((v) => v.version);
  const champion = m.aliases.champion ?? versions.at(-1) ?? 1;
  const [card, setCard] = useState(champion);
  const others = versions.filter((v) => v !== champion);
  const [a, setA] = useState(champion);
  const [b, setB] = useState(others.at(-1) ?? champion);
  useEffect(() => setCard(champion), [champion]);
  const metricNames = useMemo(
    () => [...new Set(m.versions.flatMap((v) => Object.keys(v.metrics)))].slice(0, 5),
    [m],
  );
  const slug = m.name.replace(/[^a-z0-9_-]/g, "");
  return (
    <div class="card wide">
      <h3>
        {m.name} — {s.aliases}:{" "}
        {Object.entries(m.aliases)
          .map(([al, v]) => `${al}=v${v}`)
          .join(", ") || "—"}
      </h3>
      <button
        type="button"
        class="secondary"
        onClick={() => act(`/v1/portal/models/${m.name}/rollback`, { alias: "champion" })}
      >
        {s.rollback}
      </button>
      <table class="data versions">
        <caption>
          {m.name}: {s.version}
        </caption>
        <thead>
          <tr>
            <th scope="col">{s.version}</th>
            <th scope="col">{s.created}</th>
            <th scope="col">{s.aliases}</th>
            {metricNames.map((n) => (
              <th scope="col" key={n}>
                {n}
              </th>
            ))}
            <th scope="col">
              <span class="sr-only">{s.promote}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {m.versions.map((v) => (
            <tr key={v.version}>
              <td>v{v.version}</td>
              <td>{v.created_at}</td>
              <td>{v.aliases.join(", ")}</td>
              {metricNames.map((n) => (
                <td key={n}>{v.metrics[n] == null ? "—" : Number(v.metrics[n]).toFixed(3)}</td>
              ))}
              <td>
                {!v.aliases.includes("champion") && (
                  <button
                    type="button"
                    aria-label={`${s.promote}: ${m.name} v${v.version}`}
                    onClick={() =>
                      act(`/v1/portal/models/${m.name}/promote`, { version: v.version, alias: "champion" })
                    }
                  >
                    {s.promote}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <section aria-labelledby={`card-${slug}`}>
        <div class="row spread">
          <h4 id={`card-${slug}`}>{s.modelCard}</h4>
          <VersionSelect
            label={s.cardOf}
            name="card_version"
            value={card}
            versions={versions}
            onChange={setCard}
          />
        </div>
        <ModelCard s={s} op={op} name={m.name} version={card} />
      </section>

      {versions.length > 1 && (
        <section aria-labelledby={`compare-${slug}`}>
          <h4 id={`compare-${slug}`}>{s.compare}</h4>
          <div class="row">
            <VersionSelect
              label={s.versionA}
              name="compare_a"
              value={a}
              versions={versions}
              onChange={setA}
            />
            <VersionSelect
              label={s.versionB}
              name="compare_b"
              value={b}
              versions={versions}
              onChange={setB}
            />
          </div>
          {a !== b && <Compare s={s} op={op} name={m.name} a={a} b={b} />}
        </section>
      )}

      <table class="data history">
        <caption>{s.history}</caption>
        <thead>
          <tr>
            <th scope="col">{s.when}</th>
            <th scope="col">{s.action}</th>
            <th scope="col">{s.alias}</th>
            <th scope="col">{s.fromTo}</th>
            <th scope="col">{s.by}</th>
            <th scope="col">{s.reason}</th>
          </tr>
        </thead>
        <tbody>
          {[...m.events].reverse().map((ev, i) => (
            <tr key={i}>
              <td>{ev.at}</td>
              <td>{ev.action}</td>
              <td>{ev.alias}</td>
              <td>
                {ev.from == null ? "—" : `v${ev.from}`} → {ev.to == null ? "—" : `v${ev.to}`}
              </td>
              <td>{ev.by ?? "—"}</td>
              <td>{ev.reason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ModelsView({ s, op }: { s: Strings; op: Operator }) {
  const [bump, setBump] = useState(0);
  const { data, error } = useApi<ModelsDoc>("/v1/portal/models", op.key, bump);
  const [message, setMessage] = useState<string | null>(null);
  async function act(path: string, body: unknown) {
    setMessage(null);
    try {
      await api(path, op.key, { method: "POST", body: JSON.stringify(body) });
      setBump((b) => b + 1);
    } catch (e) {
      setMessage(e instanceof ApiError ? `${s.refused}: ${e.message}` : String(e));
    }
  }
  if (!data) return <Status s={s} error={error} />;
  return (
    <section aria-labelledby="models-title">
      <h2 id="models-title">{s.models}</h2>
      {message && (
        <p role="alert" class="error">
          {message}
        </p>
      )}
      {data.models.length === 0 && <p>{s.none}</p>}
      {data.models.map((m) => (
        <ModelPanel key={m.name} s={s} op={op} m={m} act={act} />
      ))}
    </section>
  );
}
