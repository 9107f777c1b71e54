import { useState } from "preact/hooks";
import type { TopLevelSpec } from "vega-lite";
import { VegaChart } from "./chart.tsx";
import type { Strings } from "./i18n.ts";
import { type Operator, Status, useApi } from "./ui.tsx";

/**
 * The console's Customer 360: profile, contracts, churn score with a SHAP waterfall and its history,
 * usage and invoices over time (charts), the offers the rules allow now and why, interactions with
 * transcripts. Reads GET /v1/portal/customers/{id} and GET /v1/portal/customers/{id}/churn.
 */

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

interface Customer360 {
  profile: Record<string, unknown>;
  contracts: Record<string, unknown>[];
  invoices: (Record<string, unknown> & {
    reference_month?: string;
    amount_brl?: number;
    discount_brl?: number;
    status?: string;
  })[];
  usage: { month: string; data_gb: number; voice_minutes: number; sms: number; roaming_mb?: number }[];
  interactions: (Record<string, unknown> & { transcript?: { role: string; text: string }[] })[];
  churn: {
    probability: number;
    band: string;
    reasons: { feature: string; label?: string; contribution?: number }[];
  } | null;
  offers: {
    allowed: { offer_id: string; rule_id?: string; why?: string; terms?: Record<string, unknown> }[];
    explanation: string[];
    rules_version?: string;
  } | null;
}

interface ChurnInsight {
  latest: {
    probability: number;
    band: string;
    model_name: string;
    model_version: string;
    as_of: string;
    base: number;
    margin: number;
    contributions: { feature: string; label: string; value: unknown; contribution: number }[];
  } | null;
  history: { ts: string; probability: number; band: string; model_version: string; source: string }[];
}

const MONTH = (iso: string) => iso.slice(0, 7);
const pct = (p: number) => `${(p * 100).toFixed(1)}%`;
const COLORS = { raises: "#a4161a", lowers: "#1e6b30", total: "#0b4f9c" };

function UsageCharts({ s, usage }: { s: Strings; usage: Customer360["usage"] }) {
  if (!usage.length) return <p>{s.none}</p>;
  const rows = [...usage]
    .sort((a, b) => (a.month < b.month ? -1 : 1))
    .map((u) => ({ ...u, month: MONTH(u.month) }));
  const table = {
    columns: [s.month, s.dataGb, s.voiceMinutes, "SMS"],
    rows: rows.map((u) => [u.month, u.data_gb, u.voice_minutes, u.sms]),
  };
  const first = rows[0];
  const last = rows[rows.length - 1];
  const data: TopLevelSpec = {
    data: { values: rows },
    height: 160,
    mark: { type: "bar", tooltip: true },
    encoding: {
      x: { field: "month", type: "ordinal", title: s.month, axis: { labelAngle: -40 } },
      y: { field: "data_gb", type: "quantitative", title: s.dataGb },
    },
  };
  const voice: TopLevelSpec = {
    data: {
      values: rows.flatMap((u) => [
        { month: u.month, metric: s.voiceMinutes, value: u.voice_minutes },
        { month: u.month, metric: "SMS", value: u.sms },
      ]),
    },
    height: 160,
    mark: { type: "line", point: true, tooltip: true },
    encoding: {
      x: { field: "month", type: "ordinal", title: s.month, axis: { labelAngle: -40 } },
      y: { field: "value", type: "quantitative", title: null },
      color: { field: "metric", type: "nominal", title: null, legend: { orient: "top" } },
    },
  };
  return (
    <div class="charts">
      <VegaChart
        spec={data}
        label={s.usageData}
        summary={s.usageSummary(first.month, first.data_gb, last.month, last.data_gb)}
        table={table}
      />
      <VegaChart spec={voice} label={s.usageVoice} table={table} />
    </div>
  );
}

function InvoiceChart({ s, invoices }: { s: Strings; invoices: Customer360["invoices"] }) {
  const rows = invoices
    .filter((i) => i.reference_month && typeof i.amount_brl === "number")
    .map((i) => ({
      month: MONTH(String(i.reference_month)),
      amount: i.amount_brl as number,
      discount: i.discount_brl ?? 0,
      status: i.status ?? "—",
    }))
    .sort((a, b) => (a.month < b.month ? -1 : 1));
  if (!rows.length) return <p>{s.none}</p>;
  const spec: TopLevelSpec = {
    data: { values: rows },
    height: 170,
    mark: { type: "bar", tooltip: true },
    encoding: {
      x: { field: "month", type: "ordinal", title: s.month, axis: { labelAngle: -40 } },
      y: { field: "amount", type: "quantitative", title: s.amountBrl },
      color: {
        field: "status",
        type: "nominal",
        title: s.invStatus,
        scale: {
          domain: ["paid", "open", "overdue", "disputed", "cancelled"],
          range: ["#1e6b30", "#0b4f9c", "#a4161a", "#7a4b00", "#4a4a5a"],
        },
        legend: { orient: "top" },
      },
    },
  };
  return (
    <VegaChart
      spec={spec}
      label={s.invoicesChart}
      table={{
        columns: [s.month, s.amountBrl, s.discountBrl, s.invStatus],
        rows: rows.map((r) => [r.month, r.amount, r.discount, r.status]),
      }}
    />
  );
}

function ChurnHistoryChart({ s, history }: { s: Strings; history: ChurnInsight["history"] }) {
  if (!history.length) return <p>{s.noHistory}</p>;
  const rows = history.map((h) => ({
    ts: h.ts,
    probability: h.probability,
    model: `v${h.model_version}`,
    source: h.source,
  }));
  const spec: TopLevelSpec = {
    data: { values: rows },
    height: 170,
    mark: { type: "line", point: true, tooltip: true },
    encoding: {
      x: { field: "ts", type: "temporal", title: s.scoredAt, axis: { format: "%d/%m/%Y" } },
      y: {
        field: "probability",
        type: "quantitative",
        title: s.probability,
        scale: { domain: [0, 1] },
        axis: { format: ".0%" },
      },
      color: { field: "model", type: "nominal", title: s.scoreModel, legend: { orient: "top" } },
    },
  };
  const first = history[0];
  const last = history[history.length - 1];
  return (
    <VegaChart
      spec={spec}
      label={s.churnHistory}
      summary={s.churnHistorySummary(history.length, pct(first.probability), pct(last.probability))}
      table={{
        columns: [s.scoredAt, s.probability, s.scoreModel, s.source],
        rows: rows.map((r) => [r.ts, pct(r.probability), r.model, r.source]),
      }}
    />
  );
}

/** Features beyond this many are summed into one "other features" step. */
const WATERFALL_STEPS = 10;

function ShapWaterfall({ s, latest }: { s: Strings; latest: NonNullable<ChurnInsight["latest"]> }) {
  const sorted = [...latest.contributions].sort(
    (a, b) => Math.abs(b.contribution) - Math.abs(a.contribution),
  );
  const shown = sorted.slice(0, WATERFALL_STEPS);
  const rest = sorted.slice(WATERFALL_STEPS);
  const steps = [
    ...shown.map((c) => ({
      label: `${c.label}${c.value === null || c.value === undefined ? "" : ` (${String(c.value)})`}`,
      contribution: c.contribution,
    })),
    ...(rest.length
      ? [{ label: s.otherFeatures(rest.length), contribution: rest.reduce((a, c) => a + c.contribution, 0) }]
      : []),
  ];
  const rows: {
    order: number;
    label: string;
    start: number;
    end: number;
    /** Where the step's number is written: right of the bar, whichever way it goes. */
    right: number;
    kind: string;
    amount: string;
  }[] = [];
  rows.push({
    order: 0,
    label: s.shapBase,
    start: 0,
    end: latest.base,
    right: Math.max(0, latest.base),
    kind: s.shapTotal,
    amount: latest.base.toFixed(3),
  });
  let at = latest.base;
  steps.forEach((st, i) => {
    rows.push({
      order: i + 1,
      label: st.label,
      start: at,
      end: at + st.contribution,
      right: Math.max(at, at + st.contribution),
      kind: st.contribution >= 0 ? s.raisesRisk : s.lowersRisk,
      amount: `${st.contribution >= 0 ? "+" : ""}${st.contribution.toFixed(3)}`,
    });
    at += st.contribution;
  });
  rows.push({
    order: steps.length + 1,
    label: s.shapFinal(pct(latest.probability)),
    start: 0,
    end: latest.margin,
    right: Math.max(0, latest.margin),
    kind: s.shapTotal,
    amount: latest.margin.toFixed(3),
  });
  const spec: TopLevelSpec = {
    data: { values: rows },
    height: { step: 22 },
    encoding: {
      y: {
        field: "label",
        type: "nominal",
        sort: { field: "order", op: "min" },
        title: null,
        axis: { labelLimit: 280 },
      },
    },
    layer: [
      {
        mark: { type: "bar", tooltip: true },
        encoding: {
          x: { field: "start", type: "quantitative", title: s.logOdds },
          x2: { field: "end" },
          color: {
            field: "kind",
            type: "nominal",
            title: null,
            scale: {
              domain: [s.raisesRisk, s.lowersRisk, s.shapTotal],
              range: [COLORS.raises, COLORS.lowers, COLORS.total],
            },
            legend: { orient: "top" },
          },
        },
      },
      {
        mark: { type: "text", align: "left", dx: 4, color: "#1a1a2e", fontSize: 11 },
        encoding: {
          x: { field: "right", type: "quantitative" },
          text: { field: "amount" },
        },
      },
    ],
  } as TopLevelSpec;
  const top = shown[0];
  return (
    <VegaChart
      spec={spec}
      label={s.shapWaterfall}
      summary={s.waterfallSummary(
        latest.base.toFixed(2),
        top ? `${top.label} (${top.contribution >= 0 ? "+" : ""}${top.contribution.toFixed(2)})` : "—",
        pct(latest.probability),
      )}
      table={{
        columns: [s.feature, s.contribution, s.cumulative],
        rows: rows.map((r) => [r.label, r.amount, Number(r.end.toFixed(3))]),
      }}
    />
  );
}

function ChurnCard({ s, op, id, data }: { s: Strings; op: Operator; id: string; data: Customer360 }) {
  const lang = document.documentElement.lang === "en" ? "en" : "pt-BR";
  const insight = useApi<ChurnInsight>(
    `/v1/portal/customers/${encodeURIComponent(id)}/churn?language=${lang}`,
    op.key,
  );
  return (
    <div class="card wide">
      <h3 id="c360-churn">{s.churn}</h3>
      {data.churn ? (
        <p class="big">
          {pct(data.churn.probability)} <span class={`badge ${data.churn.band}`}>{data.churn.band}</span>
          {insight.data?.latest && (
            <span class="muted small">
              {" "}
              · {insight.data.latest.model_name}@v{insight.data.latest.model_version} ·{" "}
              {insight.data.latest.as_of}
            </span>
          )}
        </p>
      ) : (
        <p>{s.none}</p>
      )}
      {!insight.data ? (
        <Status s={s} error={insight.error} />
      ) : (
        <div class="charts">
          {insight.data.latest ? <ShapWaterfall s={s} latest={insight.data.latest} /> : <p>{s.none}</p>}
          <ChurnHistoryChart s={s} history={insight.data.history} />
        </div>
      )}
    </div>
  );
}

function Offers({ s, offers }: { s: Strings; offers: Customer360["offers"] }) {
  return (
    <div class="card">
      <h3>{s.offersNow}</h3>
      {offers?.allowed.length ? (
        <ul>
          {offers.allowed.map((o) => (
            <li key={o.offer_id}>
              <strong>{o.offer_id}</strong> {o.rule_id ? `(${s.rule} ${o.rule_id})` : ""} {o.why ?? ""}
              {o.terms ? <span class="muted"> · {JSON.stringify(o.terms)}</span> : null}
            </li>
          ))}
        </ul>
      ) : (
        <p>{s.none}</p>
      )}
      {offers?.explanation.length ? (
        <>
          <h4>
            {s.why}
            {offers.rules_version ? (
              <span class="muted">
                {" "}
                · {s.rulesVersion} {offers.rules_version}
              </span>
            ) : null}
          </h4>
          <ul class="offers-why">
            {offers.explanation.map((l) => (
              <li key={l} class={/: allowed/.test(l) ? "allowed" : "refused"}>
                {l}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

export function CustomerView({
  s,
  op,
  id,
  setId,
}: {
  s: Strings;
  op: Operator;
  id: string;
  setId: (id: string) => void;
}) {
  const [input, setInput] = useState(id);
  const { data, error } = useApi<Customer360>(
    id ? `/v1/portal/customers/${encodeURIComponent(id)}` : null,
    op.key,
  );
  return (
    <section aria-labelledby="c360-title">
      <h2 id="c360-title">{s.c360}</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          setId(input.trim());
        }}
      >
        <label>
          {s.customerId}
          <input name="customer_id" value={input} onInput={(e) => setInput(e.currentTarget.value)} />
        </label>
        <button type="submit">{s.open}</button>
      </form>
      {id && !data && <Status s={s} error={error} />}
      {data && (
        <div class="grid">
          <div class="card">
            <h3>{s.profile}</h3>
            <KeyValues obj={data.profile} />
          </div>
          <Offers s={s} offers={data.offers} />
          <ChurnCard s={s} op={op} id={id} data={data} />
          <div class="card wide">
            <Table rows={data.contracts} caption={s.contracts} s={s} />
          </div>
          <div class="card wide">
            <h3>{s.usageOverTime}</h3>
            <UsageCharts s={s} usage={data.usage ?? []} />
          </div>
          <div class="card wide">
            <h3>{s.invoices}</h3>
            <InvoiceChart s={s} invoices={data.invoices} />
            <details>
              <summary>{s.invoicesTable}</summary>
              <Table rows={data.invoices} caption={s.invoices} s={s} />
            </details>
          </div>
          <div class="card wide">
            <h3>{s.interactions}</h3>
            {data.interactions.length === 0 && <p>{s.none}</p>}
            {data.interactions.map((it, i) => (
              <details key={i}>
                <summary>
                  {String(it.created_at ?? it.date ?? "")} · {String(it.category ?? it.channel ?? "")} ·{" "}
                  {String(it.summary ?? "")}
                </summary>
                {it.transcript?.length ? (
                  <ol class="transcript">
                    {it.transcript.map((t, j) => (
                      <li key={j}>
                        <strong>{t.role}:</strong> {t.text}
                      </li>
                    ))}
                  </ol>
                ) : (
                  <KeyValues obj={it} />
                )}
              </details>
            ))}
          </div>
        </div>
      )}
    </section>
  );
}
