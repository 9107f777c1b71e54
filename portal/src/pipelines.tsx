import { Fragment } from "preact";
import { useState } from "preact/hooks";
import type { Strings } from "./i18n.ts";
import type { ModelsDoc } from "./models.tsx";
import { type Operator, Status, useApi } from "./ui.tsx";

/**
 * The console's Pipelines view: recent runs, each as a DAG (steps with status, duration and cache
 * hits; edges from the pipeline definition) with its steps' records, and the lineage of a model
 * version back to the raw files (pipeline run → dataset versions → lake batches → raw files).
 */

interface PipelineRun {
  run_id: string;
  pipeline: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  /** "vertex": a Vertex AI job none of whose steps has recorded the run (no detail to open). */
  source?: "metadata" | "vertex";
  /** Under gcp: the Vertex AI job of the same id (null: none), or why Vertex did not answer. */
  vertex?: { state: string } | { error: string } | null;
  steps: {
    name: string;
    status: string;
    duration_ms: number;
    attempts: number;
    cached: boolean;
    error: string | null;
  }[];
}

interface RunStep {
  name: string;
  step: string;
  description: string | null;
  status: string;
  cached: boolean;
  cache_source: string | null;
  duration_ms: number;
  attempts: number;
  error: string | null;
  /** The step's record around the lines it logged itself (see step_log). */
  log: string[];
  step_log: { at: string; level: "info" | "warn" | "error" | null; attempt: number; message: string }[];
}

/** A stored step line at warn/error level (`<at> [attempt n] warn …`) or the record's error line. */
const LOUD_LINE = /^(\S+( \[attempt \d+\])? (warn|error) |error: )/;

interface RunDetail {
  run: { run_id: string; pipeline: string; status: string; params: Record<string, unknown> };
  edges_from: "definition" | "artifacts" | "none";
  edges: { from: string; to: string }[];
  steps: RunStep[];
}

interface Lineage {
  model: { name: string; version: number; created_at: string; format: string };
  pipeline_run: { run_id: string; pipeline: string; status: string; started_at: string } | null;
  training_run_id: string | null;
  training_dataset: { table: string; version: string } | null;
  datasets: {
    ref: string;
    table: string;
    version: string;
    layer: string;
    rows: number | null;
    batch_id: string | null;
    parents: string[];
  }[];
  batches: {
    batch_id: string;
    dataset: string;
    started_at: string;
    files: number;
    rows: number;
    rejects: number;
  }[];
  raw_files: {
    lake_key: string;
    delivered_as: string;
    table: string;
    batch_id: string;
    content_hash: string;
    bytes: number;
    rows: number;
    rejects: number;
  }[];
  note: string | null;
}

const badge = (status: string) => (status === "failed" ? "high" : status === "succeeded" ? "low" : "medium");
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// Status colours of DAG nodes (borders; the text stays dark on white for contrast).
const STROKE: Record<string, string> = {
  succeeded: "#1e6b30",
  cached: "#7a4b00",
  failed: "#a4161a",
  skipped: "#4a4a5a",
  running: "#0b4f9c",
  pending: "#4a4a5a",
};

const NODE_W = 168;
const NODE_H = 44;
const GAP_X = 24;
const GAP_Y = 26;
const PAD = 12;

/**
 * Lays a run's steps out top to bottom by their longest path from a source (hand-made: a dozen
 * nodes need no layout library). Edges that skip a layer bend to the right of the column.
 */
export function layoutDag(
  steps: readonly { name: string }[],
  edges: readonly { from: string; to: string }[],
) {
  const names = steps.map((s) => s.name);
  const depth = new Map<string, number>(names.map((n) => [n, 0]));
  // Steps come in topological order (the runner's); relax edges until stable for safety.
  for (let pass = 0; pass < names.length; pass++) {
    let changed = false;
    for (const e of edges) {
      const d = (depth.get(e.from) ?? 0) + 1;
      if (depth.has(e.to) && d > (depth.get(e.to) ?? 0)) {
        depth.set(e.to, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const deepest = Math.max(0, ...depth.values());
  const layers: string[][] = Array.from({ length: deepest + 1 }, () => []);
  for (const n of names) layers[depth.get(n) ?? 0].push(n);
  const widest = Math.max(1, ...layers.map((l) => l.length));
  const skips = edges.filter((e) => (depth.get(e.to) ?? 0) - (depth.get(e.from) ?? 0) > 1).length;
  const width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X + (skips > 0 ? 40 + skips * 10 : 0);
  const center = PAD + (widest * NODE_W + (widest - 1) * GAP_X) / 2;
  const pos = new Map<string, { x: number; y: number }>();
  layers.forEach((layer, d) => {
    layer.forEach((n, i) => {
      const x = center + (i - (layer.length - 1) / 2) * (NODE_W + GAP_X) - NODE_W / 2;
      pos.set(n, { x, y: PAD + d * (NODE_H + GAP_Y) });
    });
  });
  const height = PAD * 2 + layers.length * NODE_H + Math.max(0, layers.length - 1) * GAP_Y;
  let k = 0;
  const paths = edges
    .filter((e) => pos.has(e.from) && pos.has(e.to))
    .map((e) => {
      const a = pos.get(e.from) as { x: number; y: number };
      const b = pos.get(e.to) as { x: number; y: number };
      const x1 = a.x + NODE_W / 2;
      const y1 = a.y + NODE_H;
      const x2 = b.x + NODE_W / 2;
      const y2 = b.y;
      const skip = (depth.get(e.to) ?? 0) - (depth.get(e.from) ?? 0) > 1;
      if (skip) {
        k++;
        const bend = Math.max(a.x, b.x) + NODE_W + 16 + k * 10;
        return {
          ...e,
          d: `M${a.x + NODE_W},${a.y + NODE_H / 2} C${bend},${a.y + NODE_H / 2} ${bend},${b.y + NODE_H / 2} ${b.x + NODE_W},${b.y + NODE_H / 2}`,
        };
      }
      const my = (y1 + y2) / 2;
      return { ...e, d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}` };
    });
  return { pos, paths, width, height };
}

function Dag({ s, detail }: { s: Strings; detail: RunDetail }) {
  const { pos, paths, width, height } = layoutDag(detail.steps, detail.edges);
  const cached = detail.steps.filter((st) => st.cached).length;
  return (
    <svg
      class="dag-graph"
      role="img"
      aria-label={`${s.runGraph}: ${s.runGraphLabel(detail.steps.length, cached)}`}
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
    >
      <defs>
        <marker
          id="dag-arrow"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto"
        >
          <path d="M0,0 L10,5 L0,10 z" fill="#4a4a5a" />
        </marker>
      </defs>
      {paths.map((p) => (
        <path
          key={`${p.from}>${p.to}`}
          class="dag-edge"
          data-from={p.from}
          data-to={p.to}
          d={p.d}
          fill="none"
          stroke="#4a4a5a"
          stroke-width="1.4"
          marker-end="url(#dag-arrow)"
        />
      ))}
      {detail.steps.map((st) => {
        const p = pos.get(st.name);
        if (!p) return null;
        return (
          <g
            key={st.name}
            class="dag-node"
            data-step={st.name}
            data-status={st.status}
            transform={`translate(${p.x},${p.y})`}
          >
            <title>
              {st.name}: {st.status}, {secs(st.duration_ms)}
              {st.description ? ` — ${st.description}` : ""}
            </title>
            <rect
              width={NODE_W}
              height={NODE_H}
              rx="8"
              fill="#ffffff"
              stroke={STROKE[st.status] ?? "#4a4a5a"}
              stroke-width={st.status === "failed" ? 3 : 2}
              stroke-dasharray={st.cached ? "5 3" : undefined}
            />
            <text x="10" y="18" font-size="13" font-weight="600" fill="#1a1a2e">
              {st.name}
            </text>
            <text x="10" y="35" font-size="12" fill="#1a1a2e">
              {st.status} · {secs(st.duration_ms)}
              {st.attempts > 1 ? ` · ${st.attempts}×` : ""}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function RunDetailPanel({ s, op, runId }: { s: Strings; op: Operator; runId: string }) {
  const { data, error } = useApi<RunDetail>(`/v1/portal/pipelines/runs/${encodeURIComponent(runId)}`, op.key);
  if (!data) return <Status s={s} error={error} />;
  return (
    <div class="run-detail">
      <h3 class="sr-only">{s.runGraph}</h3>
      <div class="dag-scroll">
        <Dag s={s} detail={data} />
      </div>
      <h4>{s.stepLogs}</h4>
      <p class="muted">{s.stepLogsNote}</p>
      <ul class="step-logs">
        {data.steps.map((st) => (
          <li key={st.name}>
            <details>
              <summary>
                <span class={`badge ${badge(st.status)}`}>{st.status}</span> {st.name} ·{" "}
                {secs(st.duration_ms)}
              </summary>
              {st.description && <p class="muted">{st.description}</p>}
              <pre class="log">
                {st.log.map((line, i) => (
                  <Fragment key={i}>
                    {i > 0 && "\n"}
                    {LOUD_LINE.test(line) ? <strong>{line}</strong> : line}
                  </Fragment>
                ))}
              </pre>
            </details>
          </li>
        ))}
      </ul>
    </div>
  );
}

function LineageView({ s, op }: { s: Strings; op: Operator }) {
  const models = useApi<ModelsDoc>("/v1/portal/models", op.key);
  const options = (models.data?.models ?? []).flatMap((m) =>
    m.versions.map((v) => ({ name: m.name, version: v.version, aliases: v.aliases })),
  );
  const [choice, setChoice] = useState<string>("");
  const champion = options.find((o) => o.aliases.includes("champion")) ?? options.at(-1);
  const current = choice || (champion ? `${champion.name}@${champion.version}` : "");
  const at = current.lastIndexOf("@");
  const path = current
    ? `/v1/portal/models/${encodeURIComponent(current.slice(0, at))}/versions/${current.slice(at + 1)}/lineage`
    : null;
  const { data, error } = useApi<Lineage>(path, op.key);
  const layers = ["gold", "silver", "bronze", "raw", "unknown"];
  return (
    <section class="card" aria-labelledby="lineage-title">
      <h3 id="lineage-title">{s.lineage}</h3>
      {models.data && options.length === 0 && <p>{s.none}</p>}
      {options.length > 0 && (
        <label class="inline">
          {s.modelVersion}
          <select name="lineage_version" value={current} onChange={(e) => setChoice(e.currentTarget.value)}>
            {options.map((o) => (
              <option key={`${o.name}@${o.version}`} value={`${o.name}@${o.version}`}>
                {o.name}@{o.version}
                {o.aliases.length ? ` (${o.aliases.join(", ")})` : ""}
              </option>
            ))}
          </select>
        </label>
      )}
      {path && !data && <Status s={s} error={error} />}
      {data && (
        <>
          <ol class="lineage-chain">
            <li>
              <strong>{s.modelVersion}:</strong> {data.model.name}@{data.model.version} ({data.model.format},{" "}
              {data.model.created_at})
            </li>
            <li>
              <strong>{s.pipelineRun}:</strong>{" "}
              {data.pipeline_run
                ? `${data.pipeline_run.pipeline} · ${data.pipeline_run.run_id} · ${data.pipeline_run.status}`
                : "—"}
            </li>
            <li>
              <strong>{s.trainingRun}:</strong> {data.training_run_id ?? "—"}
            </li>
            <li>
              <strong>{s.trainingSet}:</strong>{" "}
              {data.training_dataset
                ? `${data.training_dataset.table}@${data.training_dataset.version}`
                : "—"}
            </li>
            <li>
              <strong>{s.datasetVersions}:</strong>{" "}
              {layers
                .map((l) => [l, data.datasets.filter((d) => d.layer === l).length] as const)
                .filter(([, n]) => n > 0)
                .map(([l, n]) => `${n} ${l}`)
                .join(" → ")}
            </li>
            <li>
              <strong>{s.batches}:</strong> {data.batches.map((b) => b.batch_id).join(", ") || "—"}
            </li>
            <li>
              <strong>{s.rawFiles}:</strong> {data.raw_files.length}
            </li>
          </ol>
          {data.note && <p class="muted">{data.note}</p>}
          {data.datasets.length > 0 && (
            <details>
              <summary>
                {s.datasetVersions} ({data.datasets.length})
              </summary>
              <table class="data lineage-datasets">
                <caption>{s.datasetVersions}</caption>
                <thead>
                  <tr>
                    <th scope="col">{s.layer}</th>
                    <th scope="col">{s.table}</th>
                    <th scope="col">{s.version}</th>
                    <th scope="col">{s.rows}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.datasets.map((d) => (
                    <tr key={d.ref}>
                      <td>{d.layer}</td>
                      <td class="mono">{d.table}</td>
                      <td class="mono">{d.version}</td>
                      <td>{d.rows ?? "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          )}
          {data.batches.length > 0 && (
            <table class="data lineage-batches">
              <caption>{s.batches}</caption>
              <thead>
                <tr>
                  <th scope="col">{s.batch}</th>
                  <th scope="col">{s.created}</th>
                  <th scope="col">{s.rawFiles}</th>
                  <th scope="col">{s.rows}</th>
                  <th scope="col">{s.rejects}</th>
                </tr>
              </thead>
              <tbody>
                {data.batches.map((b) => (
                  <tr key={b.batch_id}>
                    <td class="mono">{b.batch_id}</td>
                    <td>{b.started_at}</td>
                    <td>{b.files}</td>
                    <td>{b.rows}</td>
                    <td>{b.rejects}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {data.raw_files.length > 0 && (
            <table class="data raw-files">
              <caption>{s.rawFiles}</caption>
              <thead>
                <tr>
                  <th scope="col">{s.deliveredAs}</th>
                  <th scope="col">{s.lakeKey}</th>
                  <th scope="col">{s.rows}</th>
                  <th scope="col">{s.rejects}</th>
                  <th scope="col">{s.bytes}</th>
                  <th scope="col">sha256</th>
                </tr>
              </thead>
              <tbody>
                {data.raw_files.map((f) => (
                  <tr key={f.lake_key}>
                    <td class="mono">{f.delivered_as}</td>
                    <td class="mono">{f.lake_key}</td>
                    <td>{f.rows}</td>
                    <td>{f.rejects}</td>
                    <td>{f.bytes}</td>
                    <td class="mono">{f.content_hash.slice(0, 12)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

export function PipelinesView({ s, op }: { s: Strings; op: Operator }) {
  const { data, error } = useApi<{ runs: PipelineRun[] }>("/v1/portal/pipelines/runs?limit=20", op.key);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  if (!data) return <Status s={s} error={error} />;
  return (
    <section aria-labelledby="pipelines-title">
      <h2 id="pipelines-title">{s.pipelines}</h2>
      {data.runs.length === 0 && <p>{s.none}</p>}
      {data.runs.map((r) => {
        const isOpen = open[r.run_id] ?? r === data.runs[0];
        return (
          <details
            key={r.run_id}
            class="card run"
            open={isOpen}
            onToggle={(e) => {
              const now = (e.currentTarget as HTMLDetailsElement).open;
              if (now !== isOpen) setOpen((o) => ({ ...o, [r.run_id]: now }));
            }}
          >
            <summary>
              <strong>{r.pipeline}</strong> · {r.run_id} ·{" "}
              <span class={`badge ${badge(r.status)}`}>{r.status}</span> · {r.started_at} ·{" "}
              {r.steps.filter((st) => st.cached).length}/{r.steps.length} {s.cached}
              {r.vertex && "state" in r.vertex && (
                <>
                  {" "}
                  · <span class={`badge ${badge(r.vertex.state)}`}>Vertex AI: {r.vertex.state}</span>
                </>
              )}
              {r.vertex && "error" in r.vertex && (
                <>
                  {" "}
                  ·{" "}
                  <span class="badge medium" title={r.vertex.error}>
                    {s.vertexUnavailable}
                  </span>
                </>
              )}
            </summary>
            {isOpen && r.source === "vertex" && (
              <div class="run-detail">
                <p class="muted">{s.vertexOnly}</p>
                <ul class="step-logs">
                  {r.steps.map((st) => (
                    <li key={st.name}>
                      <span class={`badge ${badge(st.status)}`}>{st.status}</span> {st.name} ·{" "}
                      {secs(st.duration_ms)}
                      {st.error ? ` · ${st.error}` : ""}
                    </li>
                  ))}
                </ul>
              </div>
            )}
            {isOpen && r.source !== "vertex" && <RunDetailPanel s={s} op={op} runId={r.run_id} />}
          </details>
        );
      })}
      <LineageView s={s} op={op} />
    </section>
  );
}
