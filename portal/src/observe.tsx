import { useMemo, useState } from "preact/hooks";
import type { TopLevelSpec } from "vega-lite";
import { VegaChart } from "./chart.tsx";
import type { Strings } from "./i18n.ts";
import type { Operator } from "./ui.tsx";
import { Status, useApi } from "./ui.tsx";

// The console's assistant, evals and monitoring views; each reads one /v1/portal endpoint.

type Attrs = Record<string, unknown>;
interface SpanNode {
  span_id: string;
  name: string;
  status: string;
  duration_ms: number;
  attributes: Attrs;
  children: SpanNode[];
}
interface SessionRow {
  session_id: string;
  turns: number;
  last_at: string;
  last_intent: string | null;
  channel: string | null;
  input_tokens: number;
  output_tokens: number;
  cost: number;
}
interface Turn {
  turn_no: number;
  trace_id: string;
  message: string | null;
  reply: string | null;
  intent: string | null;
}
type Guardrail = { span: string; stage?: unknown; action?: unknown; category?: unknown; reason?: unknown };

// Attributes worth showing on a span line (the rest is in `telco traces show`).
const SHOWN = [
  "telco.tool.name",
  "gen_ai.tool.name",
  "gen_ai.request.model",
  "gen_ai.usage.input_tokens",
  "gen_ai.usage.output_tokens",
  "telco.cost.total",
  "telco.prompts",
  "telco.rules.version",
  "telco.rag.index_version",
  "telco.guardrail.action",
  "telco.turn.intent",
];

function SpanTree({ nodes }: { nodes: SpanNode[] }) {
  return (
    <ul class="tree">
      {nodes.map((n) => (
        <li key={n.span_id}>
          <span class={`badge ${n.status === "error" ? "high" : "low"}`}>{n.status}</span>{" "}
          <strong>{n.name}</strong> · {n.duration_ms.toFixed(1)} ms
          {SHOWN.filter((k) => n.attributes[k] !== undefined).map((k) => (
            <span key={k} class="muted">
              {" "}
              · {k.replace(/^(telco|gen_ai)\./, "")}={String(n.attributes[k])}
            </span>
          ))}
          {n.children.length > 0 && <SpanTree nodes={n.children} />}
        </li>
      ))}
    </ul>
  );
}

function GuardrailList({ s, items }: { s: Strings; items: Guardrail[] }) {
  return (
    <>
      <h3>{s.guardrails}</h3>
      {items.length === 0 ? (
        <p>{s.none}</p>
      ) : (
        <ul class="guardrails">
          {items.map((g, i) => (
            <li key={i}>
              <span class="badge high">{String(g.action ?? "triggered")}</span> {g.span} ·{" "}
              {String(g.stage ?? "")} {String(g.category ?? "")} {g.reason ? `— ${String(g.reason)}` : ""}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function TraceView({ s, op, id }: { s: Strings; op: Operator; id: string }) {
  const { data, error } = useApi<{
    trace_id: string;
    spans: number;
    tree: SpanNode[];
    guardrails: Guardrail[];
  }>(`/v1/portal/assistant/traces/${encodeURIComponent(id)}`, op.key);
  if (!data) return <Status s={s} error={error} />;
  return (
    <section class="card" aria-labelledby="trace-title">
      <h3 id="trace-title">
        {s.trace} {data.trace_id.slice(0, 12)} ({data.spans} spans)
      </h3>
      <SpanTree nodes={data.tree} />
      <GuardrailList s={s} items={data.guardrails} />
    </section>
  );
}

function SessionView({ s, op, id }: { s: Strings; op: Operator; id: string }) {
  const { data, error } = useApi<{ session: Attrs; turns: Turn[]; guardrails: Guardrail[] }>(
    `/v1/portal/assistant/sessions/${encodeURIComponent(id)}`,
    op.key,
  );
  const [trace, setTrace] = useState<string | null>(null);
  if (!data) return <Status s={s} error={error} />;
  return (
    <section aria-labelledby="session-title">
      <h3 id="session-title">
        {s.turns} · {id}
      </h3>
      <ol class="transcript">
        {data.turns.map((t) => (
          <li key={t.turn_no} class="card">
            <p>
              <strong>{s.customer}:</strong> {t.message ?? "—"}
            </p>
            <p>
              <strong>{s.assistant}:</strong> {t.reply ?? "—"}
            </p>
            <button type="button" class="link" onClick={() => setTrace(t.trace_id)}>
              {s.trace} #{t.turn_no} {t.intent ? `(${t.intent})` : ""}
            </button>
          </li>
        ))}
      </ol>
      <GuardrailList s={s} items={data.guardrails} />
      {trace && <TraceView s={s} op={op} id={trace} />}
    </section>
  );
}

/** One line of a line diff: kept, added or removed. */
export interface DiffLine {
  op: " " | "+" | "-";
  text: string;
}

/**
 * Line diff of two texts by longest common subsequence. Written by hand: no diff library is a
 * dependency, and prompt templates are a few hundred lines at most (the O(n·m) table stays small).
 */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.replace(/\r\n?/g, "\n").split("\n");
  const b = after.replace(/\r\n?/g, "\n").split("\n");
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = LCS length of a[i..] and b[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i * (m + 1) + j] =
        a[i] === b[j]
          ? lcs[(i + 1) * (m + 1) + j + 1] + 1
          : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: " ", text: a[i] });
      i++;
      j++;
    } else if (lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1]) out.push({ op: "-", text: a[i++] });
    else out.push({ op: "+", text: b[j++] });
  }
  while (i < n) out.push({ op: "-", text: a[i++] });
  while (j < m) out.push({ op: "+", text: b[j++] });
  return out;
}

/** Unchanged runs longer than this around changes are folded into one "… n unchanged lines" row. */
const CONTEXT = 2;

function DiffView({ s, lines, label }: { s: Strings; lines: DiffLine[]; label: string }) {
  const added = lines.filter((l) => l.op === "+").length;
  const removed = lines.filter((l) => l.op === "-").length;
  const near = (k: number) =>
    lines.slice(Math.max(0, k - CONTEXT), k + CONTEXT + 1).some((l) => l.op !== " ");
  const rows: (DiffLine | { fold: number })[] = [];
  lines.forEach((l, k) => {
    if (l.op !== " " || near(k)) rows.push(l);
    else {
      const last = rows[rows.length - 1];
      if (last && "fold" in last) last.fold++;
      else rows.push({ fold: 1 });
    }
  });
  return (
    <figure class="diff">
      <figcaption>
        {label} · {s.linesChanged(added, removed)}
      </figcaption>
      <pre>
        {rows.map((r, k) =>
          "fold" in r ? (
            <span key={k} class="fold">
              … {s.unchangedLines(r.fold)} …{"\n"}
            </span>
          ) : r.op === "+" ? (
            <ins key={k}>
              <span class="sr-only">{s.added}: </span>+ {r.text}
              {"\n"}
            </ins>
          ) : r.op === "-" ? (
            <del key={k}>
              <span class="sr-only">{s.removed}: </span>- {r.text}
              {"\n"}
            </del>
          ) : (
            <span key={k}>
              {"  "}
              {r.text}
              {"\n"}
            </span>
          ),
        )}
      </pre>
    </figure>
  );
}

interface PromptVersion {
  version: string;
  hash: string | null;
  source: string;
  commit: string | null;
  at: string | null;
  text: string;
}

function PromptVersions({ s, op, name }: { s: Strings; op: Operator; name: string }) {
  const { data, error } = useApi<{ versions: PromptVersion[] }>(
    `/v1/portal/assistant/prompts/${encodeURIComponent(name)}/versions`,
    op.key,
  );
  if (!data) return <Status s={s} error={error} />;
  const v = data.versions;
  const tag = (x: PromptVersion) =>
    `${x.version}${x.commit ? ` (${x.commit.slice(0, 7)})` : ` (${x.source})`}`;
  return (
    <section class="card prompt-versions" aria-label={s.versionsOf(name)}>
      <h4>{s.versionsOf(name)}</h4>
      <ol class="versions">
        {v.map((x) => (
          <li key={`${x.version}-${x.commit ?? x.source}`}>
            <strong>{x.version}</strong> · {x.source} {x.commit ? `· ${x.commit.slice(0, 7)}` : ""}{" "}
            {x.at ? `· ${x.at}` : ""} {x.hash ? <code>{x.hash.slice(0, 12)}</code> : null}
          </li>
        ))}
      </ol>
      {v.length < 2 ? (
        <p>{s.onlyOneVersion}</p>
      ) : (
        v
          .slice(1)
          .map((x, k) => (
            <DiffView
              key={k}
              s={s}
              lines={lineDiff(v[k].text, x.text)}
              label={s.diffOf(name, tag(v[k]), tag(x))}
            />
          ))
          .reverse()
      )}
    </section>
  );
}

function PromptsTable({ s, op }: { s: Strings; op: Operator }) {
  const { data, error } = useApi<{
    prompts: {
      name: string;
      version: string;
      hash: string;
      in_lock: boolean;
      locked_version: string | null;
    }[];
  }>("/v1/portal/assistant/prompts", op.key);
  const [open, setOpen] = useState<string | null>(null);
  if (!data) return <Status s={s} error={error} />;
  return (
    <>
      <table class="data prompts">
        <caption>{s.prompts}</caption>
        <thead>
          <tr>
            <th scope="col">name</th>
            <th scope="col">{s.version}</th>
            <th scope="col">hash</th>
            <th scope="col">lock</th>
            <th scope="col">
              <span class="sr-only">{s.showVersions}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {data.prompts.map((p) => (
            <tr key={p.name}>
              <td>{p.name}</td>
              <td>{p.version}</td>
              <td>
                <code>{p.hash.slice(0, 12)}</code>
              </td>
              <td>
                <span class={`badge ${p.in_lock ? "low" : "high"}`}>
                  {p.in_lock ? s.inLock : `${s.notInLock} (${p.locked_version ?? "—"})`}
                </span>
              </td>
              <td>
                <button
                  type="button"
                  class="link"
                  aria-expanded={open === p.name}
                  aria-label={`${s.showVersions}: ${p.name}`}
                  onClick={() => setOpen(open === p.name ? null : p.name)}
                >
                  {s.showVersions}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && <PromptVersions key={open} s={s} op={op} name={open} />}
    </>
  );
}

export function AssistantView({ s, op }: { s: Strings; op: Operator }) {
  const { data, error } = useApi<{ sessions: SessionRow[] }>(
    "/v1/portal/assistant/sessions?limit=50",
    op.key,
  );
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section aria-labelledby="assistant-title">
      <h2 id="assistant-title">{s.assistantView}</h2>
      <h3>{s.conversations}</h3>
      {!data ? (
        <Status s={s} error={error} />
      ) : data.sessions.length === 0 ? (
        <p>{s.none}</p>
      ) : (
        <table class="data sessions">
          <thead>
            <tr>
              <th scope="col">session</th>
              <th scope="col">{s.turns}</th>
              <th scope="col">intent</th>
              <th scope="col">{s.tokens}</th>
              <th scope="col">{s.cost}</th>
              <th scope="col">{s.created}</th>
            </tr>
          </thead>
          <tbody>
            {data.sessions.map((r) => (
              <tr key={r.session_id}>
                <td>
                  <button type="button" class="link" onClick={() => setOpen(r.session_id)}>
                    {r.session_id}
                  </button>
                </td>
                <td>{r.turns}</td>
                <td>{r.last_intent ?? "—"}</td>
                <td>
                  {r.input_tokens}/{r.output_tokens}
                </td>
                <td>{r.cost.toFixed(4)}</td>
                <td>{r.last_at}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && <SessionView key={open} s={s} op={op} id={open} />}
      <PromptsTable s={s} op={op} />
    </section>
  );
}

interface Metric {
  name: string;
  value: number | null;
  unit: string;
  threshold?: { op: string; value: number };
}
interface EvalRunRow {
  run_id: string;
  created_at: string;
  engine: string;
  llm: string;
  gate: { passed?: boolean; [k: string]: unknown };
  suites: {
    suite: string;
    status: string;
    summary: string;
    metrics: Metric[];
    cases: number;
    passed: number;
    failures: { id: string; failures: string[] }[];
  }[];
}

export function EvalsView({ s, op }: { s: Strings; op: Operator }) {
  const { data, error } = useApi<{ runs: EvalRunRow[] }>("/v1/portal/evals/runs?limit=10", op.key);
  if (!data) return <Status s={s} error={error} />;
  return (
    <section aria-labelledby="evals-title">
      <h2 id="evals-title">{s.evals}</h2>
      {data.runs.length === 0 && <p>{s.none}</p>}
      {data.runs.map((r) => (
        <details key={r.run_id} class="card" open={r === data.runs[0]}>
          <summary>
            <strong>{r.run_id}</strong> · {r.engine} · {r.llm} · {r.created_at} · {s.gate}:{" "}
            <span class={`badge ${r.gate.passed ? "low" : "high"}`}>{r.gate.passed ? "pass" : "fail"}</span>
          </summary>
          <table class="data evals">
            <thead>
              <tr>
                <th scope="col">{s.suite}</th>
                <th scope="col">status</th>
                <th scope="col">cases</th>
                <th scope="col">{s.metrics}</th>
                <th scope="col">{s.failures}</th>
              </tr>
            </thead>
            <tbody>
              {r.suites.map((su) => (
                <tr key={su.suite}>
                  <td>{su.suite}</td>
                  <td>{su.status}</td>
                  <td>
                    {su.passed}/{su.cases}
                  </td>
                  <td>
                    {su.metrics.map((m) => (
                      <div key={m.name}>
                        {m.name}={m.value === null ? "—" : m.value.toFixed(3)}
                        {m.threshold ? ` (${m.threshold.op} ${m.threshold.value})` : ""}
                      </div>
                    ))}
                  </td>
                  <td>
                    {su.failures.length === 0
                      ? "—"
                      : su.failures.map((f) => (
                          <div key={f.id}>
                            <strong>{f.id}</strong>: {f.failures.join("; ")}
                          </div>
                        ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ))}
    </section>
  );
}

interface MonitorRun {
  at: string;
  model: string;
  model_version: string;
  drift: boolean;
  features: { name: string; test: string; score: number; threshold: number; drift: boolean; warn: boolean }[];
  prediction_drift: {
    score: number;
    threshold: number;
    drift: boolean;
    referenceMean: number;
    currentMean: number;
  } | null;
  quality?: { ok: boolean; issues: { feature: string; kind: string; value: number; reference: number }[] };
  alerts?: { rule: string; severity: string; message: string }[];
}

interface Distribution {
  name: string;
  kind: string;
  bins: string[];
  reference: number[];
  current: number[];
  n_reference: number;
  n_current: number;
  test: string | null;
  score: number | null;
  threshold: number | null;
  drift: boolean;
}
interface MonitorRunRow {
  at: string | null;
  model_version: string | null;
  drift: boolean | null;
  n_predictions: number | null;
  features: { name: string; score: number; threshold: number; drift: boolean }[];
  alerts: unknown[];
}
interface PerfRow {
  period: string;
  n: number;
  auc: number | null;
  ece: number;
  positiveRate: number;
  meanProbability: number;
}

/** Reference and current shares of one feature's bins, side by side. */
function DistributionChart({ s, d }: { s: Strings; d: Distribution }) {
  const rows = d.bins.flatMap((bin, i) => [
    { bin, order: i, series: s.reference, share: d.reference[i] },
    { bin, order: i, series: s.current, share: d.current[i] },
  ]);
  const spec = {
    data: { values: rows },
    height: 180,
    mark: { type: "bar", tooltip: true },
    encoding: {
      x: {
        field: "bin",
        type: "nominal",
        sort: { field: "order", op: "min" },
        title: s.bin,
        axis: { labelAngle: -35, labelLimit: 120 },
      },
      xOffset: { field: "series", sort: [s.reference, s.current] },
      y: { field: "share", type: "quantitative", title: s.share, axis: { format: ".0%" } },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain: [s.reference, s.current], range: ["#8a8fa3", "#0b4f9c"] },
        legend: { orient: "top" },
      },
    },
  } as TopLevelSpec;
  return (
    <VegaChart
      spec={spec}
      label={s.distributionOf(d.name)}
      summary={
        d.score === null
          ? undefined
          : s.distributionSummary(d.name, d.score.toFixed(4), (d.threshold ?? 0).toFixed(4), d.drift)
      }
      table={{
        columns: [s.bin, `${s.reference} (n=${d.n_reference})`, `${s.current} (n=${d.n_current})`],
        rows: d.bins.map((b, i) => [
          b,
          `${(d.reference[i] * 100).toFixed(1)}%`,
          `${(d.current[i] * 100).toFixed(1)}%`,
        ]),
      }}
    />
  );
}

function Distributions({ s, op }: { s: Strings; op: Operator }) {
  const { data, error } = useApi<{
    run: { window?: { from: string; to: string } | null } | null;
    source: string;
    features: Distribution[];
  }>("/v1/portal/monitoring/distributions", op.key);
  // Drifted features first, then by how close each came to its threshold.
  const ranked = useMemo(
    () =>
      [...(data?.features ?? [])].sort((a, b) => {
        const r = (d: Distribution) => (d.drift ? 1e6 : 0) + (d.score ?? 0) / (d.threshold || 1);
        return r(b) - r(a);
      }),
    [data],
  );
  const [chosen, setChosen] = useState<string | null>(null);
  if (!data) return <Status s={s} error={error} />;
  if (!ranked.length) return <p>{s.none}</p>;
  const shown = ranked.find((d) => d.name === chosen) ?? ranked[0];
  return (
    <div class="distributions">
      <div class="row">
        <label>
          {s.chooseFeature}
          <select name="feature" value={shown.name} onChange={(e) => setChosen(e.currentTarget.value)}>
            {ranked.map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
                {d.drift ? " — drift" : ""}
              </option>
            ))}
          </select>
        </label>
        {data.run?.window && (
          <p class="muted">
            {s.window}: {data.run.window.from} → {data.run.window.to}
          </p>
        )}
      </div>
      <DistributionChart key={shown.name} s={s} d={shown} />
    </div>
  );
}

function RunsOverTime({ s, op }: { s: Strings; op: Operator }) {
  const { data, error } = useApi<{ runs: MonitorRunRow[]; performance: PerfRow[] }>(
    "/v1/portal/monitoring/runs",
    op.key,
  );
  if (!data) return <Status s={s} error={error} />;
  const drift = data.runs.flatMap((r) =>
    r.features.map((f) => ({
      at: (r.at ?? "").slice(0, 16).replace("T", " "),
      feature: f.name,
      ratio: f.threshold > 0 ? Number((f.score / f.threshold).toFixed(4)) : 0,
      drift: f.drift,
    })),
  );
  const driftSpec = {
    data: { values: drift },
    height: 200,
    layer: [
      {
        mark: { type: "line", point: true, tooltip: true },
        encoding: {
          x: { field: "at", type: "ordinal", title: s.run, axis: { labelAngle: -30 } },
          y: { field: "ratio", type: "quantitative", title: `${s.score} ÷ ${s.threshold}` },
          color: { field: "feature", type: "nominal", title: s.feature },
        },
      },
      {
        data: { values: [{ y: 1 }] },
        mark: { type: "rule", color: "#a4161a", strokeDash: [4, 3] },
        encoding: { y: { field: "y", type: "quantitative" } },
      },
    ],
  } as TopLevelSpec;
  const perf = data.performance.flatMap((p) => [
    ...(p.auc === null ? [] : [{ period: p.period, metric: "AUC", value: p.auc }]),
    { period: p.period, metric: "ECE", value: p.ece },
  ]);
  const perfSpec = {
    data: { values: perf },
    height: 180,
    mark: { type: "line", point: true, tooltip: true },
    encoding: {
      x: { field: "period", type: "ordinal", title: s.period },
      y: { field: "value", type: "quantitative", title: null, scale: { domain: [0, 1] } },
      color: { field: "metric", type: "nominal", title: null, legend: { orient: "top" } },
    },
  } as TopLevelSpec;
  return (
    <>
      <h3>{s.driftOverRuns}</h3>
      {drift.length === 0 ? (
        <p>{s.none}</p>
      ) : (
        <VegaChart
          spec={driftSpec}
          label={s.driftOverRuns}
          hideCaption
          table={{
            columns: [s.run, s.feature, `${s.score} ÷ ${s.threshold}`, s.drift],
            rows: drift.map((d) => [d.at, d.feature, d.ratio, d.drift ? "drift" : "ok"]),
          }}
        />
      )}
      <h3>{s.performanceOverTime}</h3>
      {perf.length === 0 ? (
        <p>{s.noPerformance}</p>
      ) : (
        <VegaChart
          spec={perfSpec}
          label={s.performanceOverTime}
          hideCaption
          table={{
            columns: [s.period, "n", "AUC", "ECE"],
            rows: data.performance.map((p) => [
              p.period,
              p.n,
              p.auc === null ? "—" : p.auc.toFixed(3),
              p.ece.toFixed(3),
            ]),
          }}
        />
      )}
    </>
  );
}

export function MonitoringView({ s, op }: { s: Strings; op: Operator }) {
  const { data, error } = useApi<{ run: MonitorRun | null }>("/v1/portal/monitoring/last-run", op.key);
  if (!data) return <Status s={s} error={error} />;
  const r = data.run;
  if (!r)
    return (
      <section aria-labelledby="mon-title">
        <h2 id="mon-title">{s.monitoring}</h2>
        <p>{s.none}</p>
      </section>
    );
  const pd = r.prediction_drift;
  return (
    <section aria-labelledby="mon-title">
      <h2 id="mon-title">{s.monitoring}</h2>
      <p>
        {s.lastRun}: {r.at} · {r.model}@{r.model_version} · {s.drift}:{" "}
        <span class={`badge ${r.drift ? "high" : "low"}`}>{r.drift ? "yes" : "no"}</span>
      </p>
      <table class="data drift">
        <thead>
          <tr>
            <th scope="col">{s.feature}</th>
            <th scope="col">test</th>
            <th scope="col">{s.score}</th>
            <th scope="col">{s.threshold}</th>
            <th scope="col">{s.drift}</th>
            <th scope="col">
              <span class="sr-only">bar</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {r.features.map((f) => (
            <tr key={f.name}>
              <td>{f.name}</td>
              <td>{f.test}</td>
              <td>{f.score.toFixed(4)}</td>
              <td>{f.threshold.toFixed(4)}</td>
              <td>
                <span class={`badge ${f.drift ? "high" : f.warn ? "medium" : "low"}`}>
                  {f.drift ? "drift" : f.warn ? "warn" : "ok"}
                </span>
              </td>
              <td>
                <meter
                  aria-label={`${f.name} ${s.score}/${s.threshold}`}
                  min={0}
                  max={Math.max(f.threshold * 2, f.score)}
                  high={f.threshold}
                  value={f.score}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>{s.distributions}</h3>
      <Distributions s={s} op={op} />
      <RunsOverTime s={s} op={op} />
      <h3>{s.predictionDrift}</h3>
      {pd ? (
        <p>
          {s.score} {pd.score.toFixed(4)} · {s.threshold} {pd.threshold.toFixed(4)} · mean{" "}
          {pd.referenceMean.toFixed(3)} → {pd.currentMean.toFixed(3)} ·{" "}
          <span class={`badge ${pd.drift ? "high" : "low"}`}>{pd.drift ? "drift" : "ok"}</span>
        </p>
      ) : (
        <p>{s.none}</p>
      )}
      <h3>{s.quality}</h3>
      {!r.quality || r.quality.issues.length === 0 ? (
        <p>{s.none}</p>
      ) : (
        <ul class="quality">
          {r.quality.issues.map((q) => (
            <li key={`${q.feature}-${q.kind}`}>
              {q.feature}: {q.kind} {q.value} (ref {q.reference})
            </li>
          ))}
        </ul>
      )}
      <h3>{s.alerts}</h3>
      {!r.alerts || r.alerts.length === 0 ? (
        <p>{s.none}</p>
      ) : (
        <ul class="alerts">
          {r.alerts.map((a) => (
            <li key={a.rule}>
              <span class={`badge ${a.severity === "critical" ? "high" : "medium"}`}>{a.severity}</span>{" "}
              {a.rule}: {a.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
