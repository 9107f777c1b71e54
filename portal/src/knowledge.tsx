import { useMemo, useState } from "preact/hooks";
import type { TopLevelSpec } from "vega-lite";
import { VegaChart } from "./chart.tsx";
import type { Strings } from "./i18n.ts";
import { type Operator, Status, useApi } from "./ui.tsx";

/**
 * The console's Knowledge base view: the RAG index's versions (the live pointer and the stored ones),
 * the documents of a version with their sections and pages, a search playground showing the score
 * that ordered the results (and the retrieval score apart when MMR or the rerank reordered them),
 * and the retrieval eval results of the stored eval runs (chart + table). Reads only
 * (`/v1/portal/knowledge/*`, cli/portal/routes-knowledge.ts).
 */

interface IndexVersion {
  version: string;
  current: boolean;
  parent_version: string | null;
  created_at: string;
  documents: number;
  chunk_count: number;
  embedder: string;
  chunker: { maxTokens: number; overlapTokens: number };
  changes: { against: string; added: string[]; removed: string[]; changed: string[] } | null;
}

interface KbDocument {
  doc_id: string;
  title: string;
  type: string;
  product: string;
  language: string;
  format: string;
  chunks: number;
  sections: string[];
  url: string;
}

interface Hit {
  rank: number;
  doc_id: string;
  chunk_id: string;
  title: string;
  section: string;
  score: number;
  fused_score: number;
  text: string;
  url: string;
}

interface QueryResponse {
  index_version: string;
  ordered_by: "mmr" | "rerank" | "retrieval";
  settings: { k: number; mode: string; rerank: string; mmr_lambda: number };
  results: Hit[];
}

type ModeMetrics = {
  recall_at_1: number | null;
  recall_at_5: number | null;
  mrr: number | null;
  ndcg_at_10: number | null;
  questions: number | null;
};

interface EvalResult {
  run_id: string;
  created_at: string;
  engine: string;
  index_version: string | null;
  passed: boolean;
  sets: {
    name: string;
    thresholds: { minRecallAt5: number; minMrr: number } | null;
    modes: Record<string, ModeMetrics>;
  }[];
}

const fmt = (v: number | null | undefined, digits = 3) => (typeof v === "number" ? v.toFixed(digits) : "—");
const when = (iso: string) => iso.replace("T", " ").slice(0, 16);

function Versions({
  s,
  versions,
  current,
}: {
  s: Strings;
  versions: IndexVersion[];
  current: string | null;
}) {
  if (!versions.length) return <p>{s.kbNoIndex}</p>;
  return (
    <table class="data kb-versions">
      <caption>
        {s.kbVersions} — {s.kbPointer}: <code>{current ?? "—"}</code>
      </caption>
      <thead>
        <tr>
          <th scope="col">{s.version}</th>
          <th scope="col">{s.kbBuilt}</th>
          <th scope="col">{s.kbDocuments}</th>
          <th scope="col">{s.kbChunks}</th>
          <th scope="col">{s.kbEmbedder}</th>
          <th scope="col">{s.kbChunker}</th>
          <th scope="col">{s.kbChanges}</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => (
          <tr key={v.version} data-version={v.version} data-current={v.current ? "true" : "false"}>
            <th scope="row">
              <code>{v.version}</code> {v.current && <span class="badge low">{s.kbLive}</span>}
            </th>
            <td>{when(v.created_at)}</td>
            <td>{v.documents}</td>
            <td>{v.chunk_count}</td>
            <td>
              <code>{v.embedder}</code>
            </td>
            <td>{s.kbChunkerValue(v.chunker.maxTokens, v.chunker.overlapTokens)}</td>
            <td>
              {v.changes
                ? s.kbChangeSummary(
                    v.changes.added.length,
                    v.changes.changed.length,
                    v.changes.removed.length,
                  )
                : "—"}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Documents({ s, op, versions }: { s: Strings; op: Operator; versions: IndexVersion[] }) {
  const [version, setVersion] = useState("");
  const [type, setType] = useState("");
  const { data, error } = useApi<{ index_version: string | null; documents: KbDocument[] }>(
    `/v1/portal/knowledge/documents${version ? `?version=${encodeURIComponent(version)}` : ""}`,
    op.key,
  );
  const types = useMemo(() => [...new Set((data?.documents ?? []).map((d) => d.type))].sort(), [data]);
  const docs = (data?.documents ?? []).filter((d) => !type || d.type === type);
  return (
    <section aria-labelledby="kb-docs-title" class="kb-documents">
      <h3 id="kb-docs-title">{s.kbDocuments}</h3>
      <div class="row">
        <label>
          {s.kbIndexVersion}
          <select name="kb_version" value={version} onChange={(e) => setVersion(e.currentTarget.value)}>
            <option value="">{s.kbLiveVersion}</option>
            {versions
              .filter((v) => !v.current)
              .map((v) => (
                <option key={v.version} value={v.version}>
                  {v.version} ({when(v.created_at)})
                </option>
              ))}
          </select>
        </label>
        <label>
          {s.kbType}
          <select name="kb_type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">{s.all}</option>
            {types.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      </div>
      {!data ? (
        <Status s={s} error={error} />
      ) : !data.documents.length ? (
        <p>{s.kbNoIndex}</p>
      ) : (
        <table class="data kb-docs">
          <caption class="sr-only">{s.kbDocuments}</caption>
          <thead>
            <tr>
              <th scope="col">{s.kbDocId}</th>
              <th scope="col">{s.kbTitle}</th>
              <th scope="col">{s.kbType}</th>
              <th scope="col">{s.kbProduct}</th>
              <th scope="col">{s.kbChunks}</th>
              <th scope="col">{s.kbSections}</th>
            </tr>
          </thead>
          <tbody>
            {docs.map((d) => (
              <tr key={d.doc_id} data-doc={d.doc_id}>
                <th scope="row">
                  <a href={d.url} target="_blank" rel="noopener">
                    {d.doc_id}
                  </a>
                </th>
                <td>{d.title}</td>
                <td>{d.type}</td>
                <td>{d.product || "—"}</td>
                <td>{d.chunks}</td>
                <td>
                  {d.sections.length ? (
                    <details>
                      <summary>{s.kbSectionCount(d.sections.length)}</summary>
                      <ul class="kb-sections">
                        {d.sections.map((sec) => (
                          <li key={sec}>
                            <a href={`${d.url}#${encodeURIComponent(sec)}`} target="_blank" rel="noopener">
                              {sec}
                            </a>
                          </li>
                        ))}
                      </ul>
                    </details>
                  ) : (
                    "—"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Playground({ s, op }: { s: Strings; op: Operator }) {
  const [q, setQ] = useState("");
  const [mode, setMode] = useState("");
  const [rerank, setRerank] = useState("");
  const [mmr, setMmr] = useState(true);
  const [k, setK] = useState("5");
  const [path, setPath] = useState<string | null>(null);
  const { data, error } = useApi<QueryResponse>(path, op.key);
  const reordered = data && data.ordered_by !== "retrieval";
  return (
    <section aria-labelledby="kb-search-title" class="kb-playground">
      <h3 id="kb-search-title">{s.kbPlayground}</h3>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!q.trim()) return;
          const p = new URLSearchParams({ q, k });
          if (mode) p.set("mode", mode);
          if (rerank) p.set("rerank", rerank);
          if (!mmr) p.set("mmr", "1");
          setPath(`/v1/portal/knowledge/query?${p}`);
        }}
      >
        <label class="grow">
          {s.query}
          <input name="q" value={q} required onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
        <label>
          {s.kbMode}
          <select name="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
            <option value="">{s.kbConfigured}</option>
            {["hybrid", "bm25", "dense"].map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          {s.kbRerank}
          <select name="rerank" value={rerank} onChange={(e) => setRerank(e.currentTarget.value)}>
            <option value="">{s.kbConfigured}</option>
            {["features", "coverage", "none"].map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          {s.kbTopK}
          <select name="k" value={k} onChange={(e) => setK(e.currentTarget.value)}>
            {["3", "5", "10", "20"].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label class="check">
          <input type="checkbox" name="mmr" checked={mmr} onChange={(e) => setMmr(e.currentTarget.checked)} />
          {s.kbMmr}
        </label>
        <button type="submit">{s.search}</button>
      </form>
      {path && !data && <Status s={s} error={error} />}
      {data && (
        <>
          <p class="muted kb-ordering" data-ordered-by={data.ordered_by}>
            {s.kbOrderedBy(data.ordered_by, data.settings.mmr_lambda)} · {s.kbIndexVersion}{" "}
            <code>{data.index_version}</code> · {data.settings.mode} · rerank {data.settings.rerank}
          </p>
          {!data.results.length && <p>{s.none}</p>}
          <ol class="results">
            {data.results.map((r) => (
              <li key={r.chunk_id} class="card" data-chunk={r.chunk_id}>
                <h4>
                  {r.rank}.{" "}
                  <a href={r.url} target="_blank" rel="noopener">
                    {r.title}
                    {r.section ? ` § ${r.section}` : ""}
                  </a>
                </h4>
                <p class="kb-scores">
                  <span class="kb-score" data-score={r.score}>
                    {reordered ? s.kbOrderScore(data.ordered_by) : s.score} <strong>{fmt(r.score, 4)}</strong>
                  </span>
                  {reordered && (
                    <span class="kb-fused" data-fused={r.fused_score}>
                      {s.kbFusedScore} <strong>{fmt(r.fused_score, 4)}</strong>
                    </span>
                  )}
                  <span class="muted">
                    <code>{r.doc_id}</code>
                  </span>
                </p>
                <p class="kb-text">{r.text}</p>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

function EvalResults({ s, op }: { s: Strings; op: Operator }) {
  const { data, error } = useApi<{ runs: EvalResult[] }>("/v1/portal/knowledge/evals", op.key);
  const [mode, setMode] = useState("hybrid");
  const rows = useMemo(
    () =>
      (data?.runs ?? []).flatMap((r) =>
        r.sets.map((set) => ({ run: r, set, m: set.modes[mode] ?? null })).filter((x) => x.m !== null),
      ),
    [data, mode],
  );
  if (!data) return <Status s={s} error={error} />;
  const modes = [...new Set(data.runs.flatMap((r) => r.sets.flatMap((x) => Object.keys(x.modes))))].sort();
  const values = rows.flatMap(({ run, set, m }) =>
    [
      ["recall@1", m?.recall_at_1],
      ["recall@5", m?.recall_at_5],
      ["MRR", m?.mrr],
    ]
      .filter(([, v]) => typeof v === "number")
      .map(([metric, v]) => ({
        run: `${when(run.created_at)} ${run.run_id.slice(-4)}`,
        set: set.name,
        metric: String(metric),
        value: v as number,
      })),
  );
  const spec = {
    data: { values },
    height: 200,
    encoding: {
      x: { field: "run", type: "ordinal", title: s.kbEvalRun, axis: { labelAngle: 0 } },
      y: { field: "value", type: "quantitative", title: s.value, scale: { domain: [0, 1] } },
      color: { field: "set", type: "nominal", title: s.kbEvalSet, legend: { orient: "top" } },
    },
    layer: [
      {
        mark: { type: "line" },
        encoding: { strokeDash: { field: "metric", type: "nominal", title: s.metrics } },
      },
      {
        mark: { type: "point", filled: true, size: 70 },
        encoding: { shape: { field: "metric", type: "nominal", title: s.metrics } },
      },
    ],
  } as TopLevelSpec;
  return (
    <section aria-labelledby="kb-evals-title" class="kb-evals">
      <h3 id="kb-evals-title">{s.kbEvals}</h3>
      {!data.runs.length ? (
        <p>{s.kbNoEvals}</p>
      ) : (
        <>
          <div class="row">
            <label>
              {s.kbEvalMode}
              <select name="eval_mode" value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
                {modes.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <VegaChart spec={spec} label={s.kbEvalChart(mode)} class="kb-eval-chart" />
          <table class="data kb-eval-table">
            <caption class="sr-only">{s.kbEvals}</caption>
            <thead>
              <tr>
                <th scope="col">{s.kbEvalRun}</th>
                <th scope="col">{s.kbEvalSet}</th>
                <th scope="col">{s.kbCases}</th>
                <th scope="col">recall@1</th>
                <th scope="col">recall@5</th>
                <th scope="col">MRR</th>
                <th scope="col">nDCG@10</th>
                <th scope="col">{s.kbGate}</th>
                <th scope="col">{s.kbIndexVersion}</th>
              </tr>
            </thead>
            <tbody>
              {[...rows].reverse().map(({ run, set, m }) => {
                const t = set.thresholds;
                const ok =
                  t && m && m.recall_at_5 !== null && m.mrr !== null
                    ? m.recall_at_5 >= t.minRecallAt5 && m.mrr >= t.minMrr
                    : null;
                return (
                  <tr key={`${run.run_id}-${set.name}`} data-run={run.run_id} data-set={set.name}>
                    <th scope="row">
                      <code>{run.run_id}</code> <span class="muted">{when(run.created_at)}</span>
                    </th>
                    <td>{set.name}</td>
                    <td>{m?.questions ?? "—"}</td>
                    <td>{fmt(m?.recall_at_1)}</td>
                    <td class="kb-recall5">{fmt(m?.recall_at_5)}</td>
                    <td class="kb-mrr">{fmt(m?.mrr)}</td>
                    <td>{fmt(m?.ndcg_at_10)}</td>
                    <td>
                      {t ? `recall@5 ≥ ${t.minRecallAt5}, MRR ≥ ${t.minMrr}` : "—"}
                      {mode === "hybrid" && ok !== null && (
                        <>
                          {" "}
                          <span class={`badge ${ok ? "low" : "high"}`}>{ok ? s.kbPass : s.kbFail}</span>
                        </>
                      )}
                    </td>
                    <td>
                      <code>{run.index_version ?? "—"}</code>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

export function KnowledgeView({ s, op }: { s: Strings; op: Operator }) {
  const { data, error } = useApi<{ current_version: string | null; versions: IndexVersion[] }>(
    "/v1/portal/knowledge/versions",
    op.key,
  );
  return (
    <section aria-labelledby="kb-title" class="knowledge">
      <h2 id="kb-title">{s.knowledge}</h2>
      <Playground s={s} op={op} />
      <section aria-labelledby="kb-versions-title">
        <h3 id="kb-versions-title">{s.kbVersions}</h3>
        {data ? (
          <Versions s={s} versions={data.versions} current={data.current_version} />
        ) : (
          <Status s={s} error={error} />
        )}
      </section>
      <EvalResults s={s} op={op} />
      {data && <Documents s={s} op={op} versions={data.versions} />}
    </section>
  );
}
