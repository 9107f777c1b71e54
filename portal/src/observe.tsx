import { useState } from "preact/hooks";
import type { Operator } from "./console.tsx";
import { Status, useApi } from "./console.tsx";
import type { Strings } from "./i18n.ts";

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
  if (!data) return <Status s={s} error={error} />;
  return (
    <table class="data prompts">
      <caption>{s.prompts}</caption>
      <thead>
        <tr>
          <th scope="col">name</th>
          <th scope="col">{s.version}</th>
          <th scope="col">hash</th>
          <th scope="col">lock</th>
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
          </tr>
        ))}
      </tbody>
    </table>
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
