import { useMemo, useState } from "preact/hooks";
import { api } from "./api.ts";
import { CustomerView } from "./customer360.tsx";
import type { Lang, Strings } from "./i18n.ts";
import { KnowledgeView } from "./knowledge.tsx";
import { ModelsView } from "./models.tsx";
import { AssistantView, EvalsView, MonitoringView } from "./observe.tsx";
import { PipelinesView } from "./pipelines.tsx";
import { type Operator, Status, useApi } from "./ui.tsx";

// The views share these with the console; they live in ui.tsx so no view imports console.tsx.
export { type Operator, Status, useApi } from "./ui.tsx";

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
