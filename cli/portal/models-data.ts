import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { listDatasetVersions } from "../../mlops/ingestion/versions.ts";
import { getPipeline, hasPipeline } from "../../mlops/pipelines/catalog.ts";
import { evaluationSetRef } from "../../mlops/registry/evaluation.ts";
import { loadModelVersion } from "../../mlops/registry/model-loader.ts";
import { takeRows } from "../../mlops/training/dataset.ts";
import { loadTrainingData, trainingTableName } from "../../mlops/training/load.ts";
import {
  averagePrecision,
  decileTable,
  reliabilityCurve,
  rocAuc,
  thresholdCurve,
} from "../../mlops/training/metrics.ts";
import { stratifiedSplit } from "../../mlops/training/split.ts";
import { RunStore, writeJsonAtomic } from "../../mlops/training/tracking.ts";
import { datasetVersion } from "../../mlops/training/train.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import type { PipelineMetadataStore } from "../../platform/ports/pipeline-metadata.ts";
import type { ModelRegistry, ModelVersion } from "../../platform/ports/registry.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";

/**
 * The read models behind the console's Models and Pipelines views: a version's evaluation curves
 * and SHAP summary (recomputed from the registered model on its evaluation rows, since the registry
 * stores only the card's scalar metrics), lineage from a version back to the raw files, and one
 * pipeline run as a DAG with its steps' records.
 */

/** At most this many ROC/PR points are sent; a curve with more is thinned (and says so). */
const MAX_CURVE_POINTS = 2000;
/** Rows explained for the SHAP summary (evenly spaced over the evaluation rows). */
const SHAP_ROWS = 300;

export interface ModelEvaluationDoc {
  model: string;
  version: number;
  dataset: string;
  table: string;
  /** The evaluation rows used: the card's evaluation set when the data still matches it. */
  evaluation_dataset: { name: string; version: string };
  card_evaluation_dataset: { name: string; version: string } | null;
  /** True when the rows are exactly those the card's metrics were computed on. */
  matches_card: boolean;
  seed: number;
  rows: number;
  positives: number;
  auc: number;
  card_auc: number | null;
  average_precision: number;
  base_rate: number;
  thinned: boolean;
  /** Highest threshold first; starts at (0, 0). */
  roc: { threshold: number | null; fpr: number; tpr: number }[];
  pr: { threshold: number; recall: number; precision: number }[];
  calibration: { bin: number; rows: number; mean_predicted: number; observed_rate: number }[];
  lift: { decile: number; rows: number; churn_rate: number; lift: number; cumulative_gain: number }[];
  /** Mean |SHAP| per feature (log-odds), largest first; null when the model cannot explain. */
  shap: { rows: number; features: { feature: string; mean_abs: number; mean: number }[] } | null;
  /** The registered card's reviewer fields (metrics with their intervals, intended use, limitations). */
  card: {
    metrics: ModelVersion["card"]["metrics"];
    intended_use: string | null;
    limitations: string | null;
    training_dataset: { name: string; version: string } | null;
    code_version: string | null;
  };
  computed_at: string;
}

/** Trapezoid area under ROC points (the check the tests and the view's caption use). */
export function trapezoidAuc(points: readonly { fpr: number; tpr: number }[]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++)
    area += ((points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr)) / 2;
  return area;
}

const thin = <T>(xs: readonly T[], max: number): T[] => {
  if (xs.length <= max) return [...xs];
  const stride = (xs.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, k) => xs[Math.round(k * stride)]);
};

/** Opens the warehouse read-only for one read and closes it (a server must not hold DuckDB's lock). */
async function withWarehouse<T>(app: AppContext, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const local = app.config.profile !== "gcp";
  if (local && !existsSync(app.paths.warehouse))
    throw new NotFoundError("the warehouse of this workspace", {
      hint: "Build it with `telco up --no-serve` (or ingest data and run the churn-training pipeline).",
    });
  const ctx = contextFromConfig(app.config, app.paths.home);
  try {
    return await fn(await ctx.warehouse({ readOnly: local }));
  } finally {
    await ctx.close();
  }
}

/** The workspace's pipeline metadata store (the caller closes it). */
const openMeta = (app: AppContext): PipelineMetadataStore => app.pipelineMetadata(app.paths.pipelines);

/** Seeds a version's evaluation rows may have been drawn with: its pipeline run's, its training run's, config's. */
async function candidateSeeds(app: AppContext, v: ModelVersion): Promise<number[]> {
  const seeds: number[] = [];
  if (v.lineage.pipelineRunId) {
    const meta = openMeta(app);
    try {
      const s = (await meta.getRun(v.lineage.pipelineRunId))?.params.seed;
      if (typeof s === "number") seeds.push(s);
    } finally {
      await meta.close();
    }
  }
  if (v.lineage.trainingRunId) {
    try {
      const s = new RunStore(app.paths.runs).get(v.lineage.trainingRunId).params.seed;
      if (typeof s === "number") seeds.push(s);
    } catch {
      // a training run removed from the workspace: the other candidates remain
    }
  }
  seeds.push(app.config.training.seed, 42);
  return [...new Set(seeds)];
}

/** The dataset a version was trained on, from its card (training set, else evaluation set "NAME/test"). */
function datasetOf(v: ModelVersion): string {
  const name = v.card.trainingDataset?.name ?? v.card.evaluationDataset?.name.replace(/\/test$/, "");
  if (!name)
    throw new ValidationError(
      `${v.name}@${v.version}`,
      "its model card names no training or evaluation dataset, so its evaluation rows are unknown",
    );
  return name;
}

/**
 * A version's ROC, PR, calibration and lift curves and SHAP summary on its evaluation rows: the
 * dataset's held-out split (same seed, fraction and customer grouping as the pipeline). When the
 * dataset's current version is the card's, the rows are the card's and the AUC equals the card's.
 */
export async function computeModelEvaluation(
  app: AppContext,
  registry: ModelRegistry,
  name: string,
  version: number,
): Promise<ModelEvaluationDoc> {
  const v = await registry.getVersion(name, version);
  const dataset = datasetOf(v);
  const loaded = await loadModelVersion(registry, v);
  const model = loaded.model;
  const fraction = app.config.training.testFraction;
  const { rows, current, seed, matches } = await withWarehouse(app, async (wh) => {
    const data = await loadTrainingData(wh, dataset);
    const dsVersion = await datasetVersion(wh, data.table, {
      rows: data.data.nRows,
      contentHash: data.contentHash,
    });
    const want = v.card.evaluationDataset;
    const seeds = await candidateSeeds(app, v);
    const match = seeds.find((s) => {
      const ref = evaluationSetRef(dataset, dsVersion, s, fraction);
      return want !== undefined && ref.name === want.name && ref.version === want.version;
    });
    const chosen = match ?? seeds[0];
    const split = stratifiedSplit(data.data.label as Uint8Array, fraction, chosen, data.groups);
    return {
      rows: takeRows(data.data, split.test),
      current: evaluationSetRef(dataset, dsVersion, chosen, fraction),
      seed: chosen,
      matches: match !== undefined,
    };
  });
  const missing = model.features.map((f) => f.name).filter((f) => !rows.features.some((c) => c.name === f));
  if (missing.length > 0)
    throw new ValidationError(
      trainingTableName(dataset),
      `lacks the feature(s) ${missing.join(", ")} of ${name}@${version}`,
    );
  const y = rows.label as Uint8Array;
  const p = model.predictProba(rows);
  const positives = y.reduce((s, x) => s + x, 0);
  const curve = thresholdCurve(y, p);
  const roc = [
    { threshold: null, fpr: 0, tpr: 0 },
    ...curve.map((c) => ({ threshold: c.threshold, fpr: c.fpr, tpr: c.tpr })),
  ];
  const thinned = roc.length > MAX_CURVE_POINTS;
  let shap: ModelEvaluationDoc["shap"] = null;
  if (model.explain) {
    const n = Math.min(SHAP_ROWS, rows.nRows);
    const sumAbs = new Map<string, number>();
    const sum = new Map<string, number>();
    for (let k = 0; k < n; k++) {
      const row = n === rows.nRows ? k : Math.round((k * (rows.nRows - 1)) / Math.max(1, n - 1));
      for (const c of model.explain(rows, row).contributions) {
        sumAbs.set(c.feature, (sumAbs.get(c.feature) ?? 0) + Math.abs(c.contribution));
        sum.set(c.feature, (sum.get(c.feature) ?? 0) + c.contribution);
      }
    }
    shap = {
      rows: n,
      features: [...sumAbs.entries()]
        .map(([feature, a]) => ({ feature, mean_abs: a / n, mean: (sum.get(feature) ?? 0) / n }))
        .sort((a, b) => b.mean_abs - a.mean_abs),
    };
  }
  return {
    model: name,
    version,
    dataset,
    table: trainingTableName(dataset),
    evaluation_dataset: current,
    card_evaluation_dataset: v.card.evaluationDataset ?? null,
    matches_card: matches,
    seed,
    rows: rows.nRows,
    positives,
    auc: rocAuc(y, p),
    card_auc: v.card.metrics.auc?.value ?? null,
    average_precision: averagePrecision(y, p),
    base_rate: rows.nRows ? positives / rows.nRows : 0,
    thinned,
    roc: thin(roc, MAX_CURVE_POINTS),
    pr: thin(
      curve.map((c) => ({ threshold: c.threshold, recall: c.recall, precision: c.precision })),
      MAX_CURVE_POINTS,
    ),
    calibration: reliabilityCurve(y, p, 10).map((b) => ({
      bin: b.bin,
      rows: b.rows,
      mean_predicted: b.mean_predicted,
      observed_rate: b.observed_rate,
    })),
    lift: decileTable(y, p).map((d) => ({
      decile: d.decile,
      rows: d.rows,
      churn_rate: d.churn_rate,
      lift: d.lift,
      cumulative_gain: d.cumulative_gain,
    })),
    shap,
    card: {
      metrics: v.card.metrics,
      intended_use: v.card.intendedUse ?? null,
      limitations: v.card.limitations ?? null,
      training_dataset: v.card.trainingDataset ?? null,
      code_version: v.card.codeVersion ?? null,
    },
    computed_at: new Date().toISOString(),
  };
}

/**
 * Evaluations are cached in memory and in `<workspace>/cache/model-curves/` (a version is
 * immutable; an evaluation that matches its card never changes). Computations run one at a time.
 */
export function modelEvaluations(app: AppContext, registry: ModelRegistry) {
  const memory = new Map<string, ModelEvaluationDoc>();
  let queue: Promise<unknown> = Promise.resolve();
  const dir = join(app.paths.home, "cache", "model-curves");
  return async (name: string, version: number): Promise<ModelEvaluationDoc> => {
    // The artifact hash is part of the key: a registry rebuilt in the same workspace reuses numbers.
    const sha = (await registry.getVersion(name, version)).artifact.sha256.slice(0, 16);
    const key = `${name}@${version}:${sha}`;
    const hit = memory.get(key);
    if (hit) return hit;
    const file = join(dir, name, `v${version}-${sha}.json`);
    if (existsSync(file)) {
      try {
        const doc = JSON.parse(readFileSync(file, "utf8")) as ModelEvaluationDoc;
        memory.set(key, doc);
        return doc;
      } catch {
        // an unreadable cache file is recomputed
      }
    }
    const run = queue.then(async () => {
      const doc = await computeModelEvaluation(app, registry, name, version);
      if (doc.matches_card) {
        memory.set(key, doc);
        mkdirSync(join(dir, name), { recursive: true });
        writeJsonAtomic(file, doc);
      }
      return doc;
    });
    queue = run.catch(() => undefined);
    return run;
  };
}

// ---------------------------------------------------------------- lineage

export interface LineageDoc {
  model: { name: string; version: number; created_at: string; format: string };
  pipeline_run: { run_id: string; pipeline: string; status: string; started_at: string } | null;
  training_run_id: string | null;
  training_dataset: { table: string; version: string } | null;
  /** Dataset versions from the training table down to the raw files (gold → silver → bronze → raw). */
  datasets: {
    ref: string;
    table: string;
    version: string;
    layer: string;
    rows: number | null;
    batch_id: string | null;
    created_at: string | null;
    parents: string[];
  }[];
  batches: {
    batch_id: string;
    dataset: string;
    started_at: string;
    finished_at: string;
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
  /** Why the chain stops early (no dataset in the card, no versions recorded), if it does. */
  note: string | null;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v ?? ""));

/** A version's lineage: registry → pipeline/training run → dataset versions → lake batches → raw files. */
export async function modelLineage(
  app: AppContext,
  registry: ModelRegistry,
  name: string,
  version: number,
): Promise<LineageDoc> {
  const v = await registry.getVersion(name, version);
  let pipelineRun: LineageDoc["pipeline_run"] = null;
  if (v.lineage.pipelineRunId) {
    const meta = openMeta(app);
    try {
      const r = await meta.getRun(v.lineage.pipelineRunId);
      if (r) pipelineRun = { run_id: r.id, pipeline: r.pipeline, status: r.status, started_at: r.startedAt };
    } finally {
      await meta.close();
    }
  }
  const doc: LineageDoc = {
    model: { name, version, created_at: v.createdAt, format: v.format },
    pipeline_run: pipelineRun,
    training_run_id: v.lineage.trainingRunId ?? null,
    training_dataset: null,
    datasets: [],
    batches: [],
    raw_files: [],
    note: null,
  };
  const ds = v.card.trainingDataset;
  if (!ds) {
    doc.note = "the model card names no training dataset";
    return doc;
  }
  const table = trainingTableName(ds.name);
  doc.training_dataset = { table, version: ds.version };
  await withWarehouse(app, async (wh) => {
    const versions = await listDatasetVersions(wh).catch(() => []);
    const byRef = new Map<
      string,
      Pick<
        (typeof versions)[number],
        "table" | "version" | "layer" | "rowCount" | "batchId" | "createdAt" | "parents"
      >
    >(versions.map((d) => [`${d.table}@${d.version}`, d]));
    // listDatasetVersions leaves raw files out; the lineage's leaves are those raw versions.
    const raw = await wh
      .query<Record<string, unknown>>(
        "SELECT table_name, version, row_count, batch_id, created_at FROM meta.dataset_versions WHERE layer = 'raw'",
      )
      .catch(() => []);
    for (const r of raw)
      byRef.set(`${r.table_name}@${r.version}`, {
        table: String(r.table_name),
        version: String(r.version),
        layer: "raw",
        rowCount: Number(r.row_count),
        batchId: r.batch_id == null ? null : String(r.batch_id),
        createdAt: iso(r.created_at),
        parents: [],
      });
    const start = `${table}@${ds.version}`;
    if (!byRef.has(start)) {
      doc.note = `no dataset version ${start} is recorded in the warehouse`;
      return;
    }
    const seen = new Set<string>();
    const walk = (ref: string) => {
      if (seen.has(ref)) return;
      seen.add(ref);
      const d = byRef.get(ref);
      const at = ref.lastIndexOf("@");
      doc.datasets.push({
        ref,
        table: d?.table ?? ref.slice(0, at),
        version: d?.version ?? ref.slice(at + 1),
        layer: d?.layer ?? "unknown",
        rows: d?.rowCount ?? null,
        batch_id: d?.batchId ?? null,
        created_at: d?.createdAt ?? null,
        parents: d?.parents ?? [],
      });
      for (const p of d?.parents ?? []) walk(p);
    };
    walk(start);
    const batchIds = [...new Set(doc.datasets.map((d) => d.batch_id).filter((b): b is string => !!b))];
    const rawKeys = new Set(doc.datasets.filter((d) => d.layer === "raw").map((d) => d.table));
    if (batchIds.length === 0) return;
    const marks = batchIds.map(() => "?").join(", ");
    const batches = await wh.query<Record<string, unknown>>(
      `SELECT * FROM meta.ingestion_batches WHERE batch_id IN (${marks}) ORDER BY started_at`,
      batchIds,
    );
    doc.batches = batches.map((b) => ({
      batch_id: String(b.batch_id),
      dataset: String(b.dataset),
      started_at: iso(b.started_at),
      finished_at: iso(b.finished_at),
      files: Number(b.files),
      rows: Number(b.rows),
      rejects: Number(b.rejects),
    }));
    const files = await wh.query<Record<string, unknown>>(
      `SELECT * FROM meta.raw_files WHERE batch_id IN (${marks}) ORDER BY delivered_as`,
      batchIds,
    );
    doc.raw_files = files
      .filter((f) => rawKeys.has(String(f.lake_key)))
      .map((f) => ({
        lake_key: String(f.lake_key),
        delivered_as: String(f.delivered_as),
        table: String(f.table_name),
        batch_id: String(f.batch_id),
        content_hash: String(f.content_hash),
        bytes: Number(f.bytes),
        rows: Number(f.rows),
        rejects: Number(f.rejects),
      }));
  });
  return doc;
}

// ---------------------------------------------------------------- one pipeline run

export interface RunDetailDoc {
  run: {
    run_id: string;
    pipeline: string;
    status: string;
    started_at: string;
    finished_at: string | null;
    params: Record<string, unknown>;
    trigger: unknown;
    resumed_from: string | null;
    error: string | null;
  };
  /** Where the edges come from: the registered pipeline definition, else the run's artifact events. */
  edges_from: "definition" | "artifacts" | "none";
  edges: { from: string; to: string }[];
  steps: {
    name: string;
    step: string;
    description: string | null;
    status: string;
    cached: boolean;
    cache_source: string | null;
    duration_ms: number;
    attempts: number;
    started_at: string | null;
    finished_at: string | null;
    outputs: Record<string, unknown>;
    artifacts: { name: string; direction: "input" | "output"; type: string; bytes: number; hash: string }[];
    error: string | null;
    /**
     * The step as log lines: its record (start, cache, artifacts, outputs, error, end) around the lines
     * the step itself logged (ctx.log, stored by the runner: PII masked, at most 500 lines × 2 KB).
     */
    log: string[];
    /** The lines the step itself logged, as stored (time, level or null, attempt, message). */
    step_log: { at: string; level: string | null; attempt: number; message: string }[];
  }[];
}

export async function pipelineRunDetail(app: AppContext, runId: string): Promise<RunDetailDoc> {
  const meta = openMeta(app);
  try {
    const run = await meta.getRun(runId);
    if (!run) throw new NotFoundError(`pipeline run ${runId}`);
    // The four reads are independent: under gcp they go to Firestore together.
    const [stepTimes, lineage, steps, stepLogs] = await Promise.all([
      meta.stepTimes(runId),
      meta.lineage(runId),
      meta.steps(runId),
      meta.stepLogs(runId),
    ]);
    const times = new Map(stepTimes.map((t) => [t.task, t]));
    const names = new Set(steps.map((s) => s.name));
    let edges: { from: string; to: string }[] = [];
    let edgesFrom: RunDetailDoc["edges_from"] = "none";
    const definition = hasPipeline(run.pipeline) ? getPipeline(run.pipeline) : undefined;
    if (definition && steps.every((s) => s.name in definition.upstream)) {
      edgesFrom = "definition";
      edges = steps.flatMap((s) =>
        (definition.upstream[s.name] ?? []).filter((u) => names.has(u)).map((u) => ({ from: u, to: s.name })),
      );
    } else {
      const producers = new Map(
        lineage.filter((e) => e.direction === "output").map((e) => [e.artifact.id, e.task]),
      );
      const seen = new Set<string>();
      for (const e of lineage) {
        const from = producers.get(e.artifact.id);
        if (e.direction !== "input" || !from || from === e.task || seen.has(`${from}>${e.task}`)) continue;
        seen.add(`${from}>${e.task}`);
        edges.push({ from, to: e.task });
      }
      if (edges.length > 0) edgesFrom = "artifacts";
    }
    return {
      run: {
        run_id: run.id,
        pipeline: run.pipeline,
        status: run.status,
        started_at: run.startedAt,
        finished_at: run.finishedAt,
        params: run.params,
        trigger: run.trigger,
        resumed_from: run.resumedFrom,
        error: run.error,
      },
      edges_from: edgesFrom,
      edges,
      steps: steps.map((s) => {
        const t = times.get(s.name);
        const artifacts = lineage
          .filter((e) => e.task === s.name)
          .map((e) => ({
            name: e.name,
            direction: e.direction,
            type: e.artifact.type,
            bytes: e.artifact.bytes,
            hash: e.artifact.hash,
          }));
        const log: string[] = [];
        if (t?.startedAt) log.push(`${t.startedAt} started (attempt ${Math.max(1, s.attempts)})`);
        if (s.status === "cached")
          log.push(`cache hit${s.cache_source ? ` from ${s.cache_source}` : ""} (key ${s.cache_key ?? "—"})`);
        else if (s.cache_key) log.push(`cache key ${s.cache_key}`);
        const own = stepLogs[s.name] ?? [];
        for (const l of own)
          log.push(
            `${l.at}${s.attempts > 1 ? ` [attempt ${l.attempt}]` : ""}${l.level ? ` ${l.level}` : ""} ${l.message}`,
          );
        if (s.attempts > 1) log.push(`${s.attempts} attempts`);
        for (const a of artifacts)
          log.push(`${a.direction} ${a.name}: ${a.type}, ${a.bytes} bytes, sha256 ${a.hash.slice(0, 12)}`);
        for (const [k, val] of Object.entries(s.outputs ?? {}))
          log.push(`output ${k} = ${JSON.stringify(val).slice(0, 300)}`);
        if (s.error) log.push(`error: ${s.error}`);
        log.push(`${t?.finishedAt ?? ""} ${s.status} in ${(s.duration_ms / 1000).toFixed(2)} s`.trim());
        return {
          name: s.name,
          step: s.step,
          description: definition?.tasks[s.name]?.step.description ?? null,
          status: s.status,
          cached: s.status === "cached",
          cache_source: s.cache_source ?? null,
          duration_ms: s.duration_ms,
          attempts: s.attempts,
          started_at: t?.startedAt ?? null,
          finished_at: t?.finishedAt ?? null,
          outputs: (s.outputs ?? {}) as Record<string, unknown>,
          artifacts,
          error: s.error ?? null,
          log,
          step_log: own,
        };
      }),
    };
  } finally {
    await meta.close();
  }
}
