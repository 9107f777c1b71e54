import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, api } from "./api.ts";
import type { Lang, Strings } from "./i18n.ts";
import { CustomerView } from "./customer360.tsx";
import { AssistantView, EvalsView, MonitoringView } from "./observe.tsx";

export interface Operator {
  key: string;
  role: "viewer" | "operator" | "admin";
  key_id: string;
}

const VIEWS = [
  "risk",
  "customer",
  "models",
  "pipelines",
  "knowledge",
  "assistant",
  "evals",
  "monitoring",
] as const;
type View = (typeof VIEWS)[number];

export function useApi<T>(path: string | null, key: string, bump = 0): { data?: T; error?: string } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState({});
    api<T>(path, key)
      .then((data) => live && setState({ data }))
      .catch((e: Error) => live && setState({ error: e.message }));
    return () => {
      live = false;
    };
  }, [path, key, bump]);
  return state;
}

export function Status({ s, error }: { s: Strings; error?: string }) {
  return error ? (
    <p role="alert" class="error">
      {s.error}: {error}
    </p>
  ) : (
    <p aria-busy="true">{s.loading}</p>
  );
}

export function OperatorLogin({ s, onLogin }: { s: Strings; onLogin: (o: Operator) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="card narrow"
      aria-labelledby="op-title"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const me = await api<{ role: Operator["role"]; key_id: string }>("/v1/portal/me", key);
          onLogin({ key, ...me });
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <h2 id="op-title">{s.console}</h2>
      <p>{s.keyIntro}</p>
      <label>
        {s.apiKey}
        <input
          name="api_key"
          type="password"
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          autoComplete="off"
        />
      </label>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <button type="submit">{s.signIn}</button>
    </form>
  );
}

interface RiskRow {
  customer_id: string;
  probability: number;
  band: string;
  reasons: { feature: string; label?: string; contribution?: number }[];
  [k: string]: unknown;
}

function RiskView({ s, op, open }: { s: Strings; op: Operator; open: (id: string) => void }) {
  const { data, error } = useApi<{ customers: RiskRow[]; columns: string[] }>(
    "/v1/portal/customers/at-risk?limit=200",
    op.key,
  );
  const [band, setBand] = useState("");
  const [q, setQ] = useState("");
  const [sort, setSort] = useState<{ col: string; dir: 1 | -1 }>({ col: "probability", dir: -1 });
  const rows = useMemo(() => {
    const list = (data?.customers ?? []).filter(
      (r) => (!band || r.band === band) && (!q || JSON.stringify(r).toLowerCase().includes(q.toLowerCase())),
    );
    return [...list].sort((a, b) => {
      const x = a[sort.col] as number | string;
      const y = b[sort.col] as number | string;
      return (x > y ? 1 : x < y ? -1 : 0) * sort.dir;
    });
  }, [data, band, q, sort]);
  if (!data) return <Status s={s} error={error} />;
  const cols = ["customer_id", "probability", "band", ...data.columns];
  const head = (c: string) => (
    <th scope="col" aria-sort={sort.col === c ? (sort.dir === 1 ? "ascending" : "descending") : "none"}>
      <button
        type="button"
        class="link"
        aria-label={s.sortBy(c)}
        onClick={() => setSort({ col: c, dir: sort.col === c ? (sort.dir === 1 ? -1 : 1) : -1 })}
      >
        {c}
      </button>
    </th>
  );
  return (
    <section aria-labelledby="risk-title">
      <h2 id="risk-title">{s.atRisk}</h2>
      <div class="row">
        <label>
          {s.band}
          <select name="band" value={band} onChange={(e) => setBand(e.currentTarget.value)}>
            <option value="">{s.all}</option>
            {["high", "medium", "low"].map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </label>
        <label>
          {s.filter}
          <input name="filter" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
      </div>
      <table class="data">
        <thead>
          <tr>
            {cols.map(head)}
            <th scope="col">{s.reasons}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.customer_id}>
              <td>
                <button type="button" class="link" onClick={() => open(r.customer_id)}>
                  {r.customer_id}
                </button>
              </td>
              <td>{(r.probability * 100).toFixed(1)}%</td>
              <td>
                <span class={`badge ${r.band}`}>{r.band}</span>
              </td>
              {data.columns.map((c) => (
                <td key={c}>{String(r[c] ?? "—")}</td>
              ))}
              <td>{r.reasons.map((x) => x.label ?? x.feature).join("; ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function KeyValues({ obj }: { obj: Record<string, unknown> }) {
  return (
    <dl class="kv">
      {Object.entries(obj).map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{typeof v === "object" && v !== null ? JSON.stringify(v) : String(v ?? "—")}</dd>
        </div>
      ))}
    </dl>
  );
}

function Table({ rows, caption, s }: { rows: Record<string, unknown>[]; caption: string; s: Strings }) {
  if (!rows.length)
    return (
      <p>
        {caption}: {s.none}
      </p>
    );
  const cols = Object.keys(rows[0])
    .filter((c) => typeof rows[0][c] !== "object" || rows[0][c] === null)
    .slice(0, 8);
  return (
    <table class="data">
      <caption>{caption}</caption>
      <thead>
        <tr>
          {cols.map((c) => (
            <th scope="col" key={c}>
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            {cols.map((c) => (
              <td key={c}>{String(r[c] ?? "—")}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface ModelsDoc {
  models: {
    name: string;
    aliases: Record<string, number>;
    versions: {
      version: number;
      created_at: string;
      metrics: Record<string, number | null>;
      aliases: string[];
    }[];
    events: {
      at: string;
      alias: string;
      version: number | null;
      action: string;
      reason?: string;
      actor?: string;
    }[];
  }[];
}

function ModelsView({ s, op }: { s: Strings; op: Operator }) {
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
      {data.models.map((m) => {
        const metricNames = [...new Set(m.versions.flatMap((v) => Object.keys(v.metrics)))].slice(0, 5);
        return (
          <div key={m.name} class="card wide">
            <h3>
              {m.name} — {s.aliases}:{" "}
              {Object.entries(m.aliases)
                .map(([a, v]) => `${a}=v${v}`)
                .join(", ") || "—"}
            </h3>
            <button
              type="button"
              class="secondary"
              onClick={() => act(`/v1/portal/models/${m.name}/rollback`, { alias: "champion" })}
            >
              {s.rollback}
            </button>
            <table class="data">
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
                            act(`/v1/portal/models/${m.name}/promote`, {
                              version: v.version,
                              alias: "champion",
                            })
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
            <Table rows={m.events.slice(-10).reverse()} caption={s.history} s={s} />
          </div>
        );
      })}
    </section>
  );
}

interface PipelineRun {
  run_id: string;
  pipeline: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  steps: {
    name: string;
    status: string;
    duration_ms: number;
    attempts: number;
    cached: boolean;
    error: string | null;
  }[];
}

function PipelinesView({ s, op }: { s: Strings; op: Operator }) {
  const { data, error } = useApi<{ runs: PipelineRun[] }>("/v1/portal/pipelines/runs?limit=20", op.key);
  if (!data) return <Status s={s} error={error} />;
  return (
    <section aria-labelledby="pipelines-title">
      <h2 id="pipelines-title">{s.pipelines}</h2>
      {data.runs.length === 0 && <p>{s.none}</p>}
      {data.runs.map((r) => (
        <details key={r.run_id} class="card" open={r === data.runs[0]}>
          <summary>
            <strong>{r.pipeline}</strong> · {r.run_id} ·{" "}
            <span
              class={`badge ${r.status === "succeeded" ? "low" : r.status === "failed" ? "high" : "medium"}`}
            >
              {r.status}
            </span>{" "}
            · {r.started_at} · {r.steps.filter((st) => st.cached).length}/{r.steps.length} {s.cached}
          </summary>
          <ol class="dag" aria-label={`${r.pipeline} ${r.run_id}`}>
            {r.steps.map((st) => (
              <li key={st.name}>
                <span class={`badge ${st.status === "failed" ? "high" : st.cached ? "medium" : "low"}`}>
                  {st.status}
                </span>{" "}
                {st.name} · {(st.duration_ms / 1000).toFixed(1)} s
                {st.attempts > 1 ? ` · ${st.attempts}×` : ""}
                {st.error ? <span class="error"> {st.error}</span> : null}
              </li>
            ))}
          </ol>
        </details>
      ))}
    </section>
  );
}

function KnowledgeView({ s, op }: { s: Strings; op: Operator }) {
  const [q, setQ] = useState("");
  const [path, setPath] = useState<string | null>(null);
  const { data, error } = useApi<{
    results: { doc_id: string; title: string; section: string; score: number; text: string }[];
  }>(path, op.key);
  return (
    <section aria-labelledby="kb-title">
      <h2 id="kb-title">{s.knowledge}</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          setPath(`/v1/portal/knowledge/search?q=${encodeURIComponent(q)}`);
        }}
      >
        <label class="grow">
          {s.query}
          <input name="q" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
        <button type="submit">{s.search}</button>
      </form>
      {path && !data && <Status s={s} error={error} />}
      {data && (
        <ol class="results">
          {data.results.map((r) => (
            <li key={`${r.doc_id}-${r.section}`} class="card">
              <h3>
                {r.title} § {r.section}{" "}
                <span class="muted">
                  ({s.score} {r.score.toFixed(3)})
                </span>
              </h3>
              <p>{r.text}</p>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function Console({ s, op, onLogout }: { s: Strings; lang: Lang; op: Operator; onLogout: () => void }) {
  const [view, setView] = useState<View>(() => {
    const v = location.hash.replace(/^#console\/?/, "") as View;
    return VIEWS.includes(v) ? v : "risk";
  });
  const [customer, setCustomer] = useState("");
  const go = (v: View) => {
    setView(v);
    history.replaceState(null, "", `#console/${v}`);
  };
  const tabs: [View, string][] = [
    ["risk", s.atRisk],
    ["customer", s.c360],
    ["models", s.models],
    ["pipelines", s.pipelines],
    ["knowledge", s.knowledge],
    ["assistant", s.assistantView],
    ["evals", s.evals],
    ["monitoring", s.monitoring],
  ];
  return (
    <div>
      <div class="row spread">
        <nav aria-label={s.console} class="tabs">
          {tabs.map(([v, label]) => (
            <button
              key={v}
              type="button"
              class={view === v ? "tab active" : "tab"}
              aria-current={view === v ? "page" : undefined}
              onClick={() => go(v)}
            >
              {label}
            </button>
          ))}
        </nav>
        <p>
          {s.role}: <strong data-role={op.role}>{op.role}</strong>{" "}
          <button type="button" class="secondary" onClick={onLogout}>
            {s.signOut}
          </button>
        </p>
      </div>
      {view === "risk" && (
        <RiskView
          s={s}
          op={op}
          open={(id) => {
            setCustomer(id);
            go("customer");
          }}
        />
      )}
      {view === "customer" && <CustomerView s={s} op={op} id={customer} setId={setCustomer} />}
      {view === "models" && <ModelsView s={s} op={op} />}
      {view === "pipelines" && <PipelinesView s={s} op={op} />}
      {view === "knowledge" && <KnowledgeView s={s} op={op} />}
      {view === "assistant" && <AssistantView s={s} op={op} />}
      {view === "evals" && <EvalsView s={s} op={op} />}
      {view === "monitoring" && <MonitoringView s={s} op={op} />}
    </div>
  );
}
