import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError, TelcoError, ValidationError } from "../../platform/errors.ts";
import type { Row, Warehouse } from "../../platform/ports/warehouse.ts";
import {
  buildLatestFeatures,
  dialectOf,
  LATEST_TABLE,
  latestFeatureReads,
  parseIsoDate,
} from "../features/offline.ts";
import { PredictionLogWriter, type PredictionRecord } from "../monitoring/prediction-log.ts";
import { openRegistry } from "../registry/store.ts";
import { loadModelVersion, modelRef } from "./models.ts";
import { reasonsFor, riskBand, servedRiskBands, toDataset } from "./scoring.ts";

export const SCORES_TABLE = "gold.churn_scores";
export const SCORES_PREFIX = "gold/churn_scores";

export interface BatchScoreOptions {
  /** Alias or version of the configured model (default: the serving alias, champion). */
  model?: string;
  /** Scoring date (features as of this date); default: the as-of date of gold.customer_features. */
  asOf?: string;
  /** Reasons per customer (TreeSHAP is the costly part of a batch run); default serving.topReasons. */
  reasons?: number;
  /** Log every batch prediction to the prediction log (default true). */
  log?: boolean;
  onProgress?(rows: number, total: number): void;
}

export interface BatchScoreSummary {
  table: string;
  scoringDate: string;
  model: string;
  modelVersion: number;
  rows: number;
  parts: number;
  bands: Record<string, number>;
  meanProbability: number;
  elapsedMs: number;
  rowsPerSecond: number;
}

function lit(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/**
 * Scores every active customer of gold.customer_features and writes the lake partition
 * `gold/churn_scores/scoring_date=D/part-*.parquet` (replacing it, so re-runs are idempotent),
 * exposed as the warehouse view gold.churn_scores. Rows are streamed and scored in chunks of
 * serving.batchChunkRows, so memory is bounded by one chunk whatever the customer count.
 */
export async function scoreBatch(app: AppContext, opts: BatchScoreOptions = {}): Promise<BatchScoreSummary> {
  const started = performance.now();
  const cfg = app.config.serving;
  const registry = openRegistry(app);
  const version = await registry.resolve(modelRef(cfg.modelName, opts.model ?? cfg.alias));
  const loaded = await loadModelVersion(registry, version);
  const model = loaded.model;
  const bandCutoffs = servedRiskBands(loaded, cfg);
  const wh = await app.warehouse();
  const lake = app.lake();

  const scoringDate = await ensureFeatures(wh, opts.asOf);
  const columns = new Set(
    (await wh.query<{ column_name: string }>(latestFeatureReads(dialectOf(wh)).columns)).map(
      (r) => r.column_name,
    ),
  );
  const missing = model.features.filter((f) => !columns.has(f.name)).map((f) => f.name);
  if (missing.length > 0)
    throw new ValidationError(LATEST_TABLE, `lacks model features ${missing.join(", ")}`, {
      hint: "The model was trained on other features; retrain it or rebuild the feature store.",
    });
  const [{ n: total }] = await wh.query<{ n: number }>(`select count(*) as n from ${LATEST_TABLE}`);

  const k = opts.reasons ?? cfg.topReasons;
  const logWriter =
    opts.log === false
      ? undefined
      : new PredictionLogWriter(lake, { maxBuffer: Math.max(cfg.logBufferSize, cfg.batchChunkRows) });
  const tmp = mkdtempSync(join(tmpdir(), "telco-scores-"));
  const jsonParts: string[] = [];
  const bands: Record<string, number> = { low: 0, medium: 0, high: 0 };
  let rows = 0;
  let sumP = 0;
  const scoredAt = new Date().toISOString();
  const sql = latestFeatureReads(dialectOf(wh)).rows(model.features.map((f) => f.name));
  let chunk: Row[] = [];

  const flushChunk = async () => {
    if (chunk.length === 0) return;
    const data = toDataset(model, chunk);
    const t0 = performance.now();
    const proba = model.predictProba(data);
    const perRowMs = (performance.now() - t0) / chunk.length;
    const lines: string[] = new Array(chunk.length);
    for (let i = 0; i < chunk.length; i++) {
      const p = proba[i];
      const band = riskBand(p, bandCutoffs);
      bands[band]++;
      sumP += p;
      const id = String(chunk[i].customer_id);
      const reasons =
        k > 0 && model.explain
          ? reasonsFor(model, data, i, k, "pt-BR").map((r) => ({
              feature: r.feature,
              value: r.value === null ? null : String(r.value),
              contribution: r.contribution,
            }))
          : [];
      lines[i] = JSON.stringify({ customer_id: id, probability: p, risk_band: band, top_reasons: reasons });
      if (logWriter) {
        const features: PredictionRecord["features"] = {};
        for (const f of model.features) {
          const v = chunk[i][f.name];
          features[f.name] = v === undefined || v === null ? null : typeof v === "number" ? v : String(v);
        }
        logWriter.append({
          prediction_id: randomUUID(),
          ts: `${scoringDate}T00:00:00.000Z`,
          source: "batch",
          model_name: loaded.name,
          model_version: String(loaded.version),
          customer_id: id,
          features,
          probability: p,
          risk_band: band,
          latency_ms: perRowMs,
        });
      }
    }
    // Only a file write here: a DuckDB statement on this connection would end the open stream.
    const part = String(jsonParts.length).padStart(5, "0");
    const jsonFile = join(tmp, `part-${part}.json`);
    writeFileSync(jsonFile, lines.join("\n"));
    jsonParts.push(jsonFile);
    rows += chunk.length;
    chunk = [];
    if (logWriter) await logWriter.flush(); // keeps memory bounded: no backlog of unflushed records
    opts.onProgress?.(rows, Number(total));
  };

  try {
    for await (const rowsChunk of wh.stream(sql)) {
      for (const r of rowsChunk) {
        chunk.push(r);
        if (chunk.length >= cfg.batchChunkRows) await flushChunk();
      }
    }
    await flushChunk();
    if (rows !== Number(total))
      throw new TelcoError(
        "batch_incomplete",
        `scored ${rows} of ${total} customers; nothing was published`,
        {
          hint: "gold.customer_features changed during the run, or the warehouse stream ended early; run again.",
        },
      );
    const parquetFiles: { key: string; file: string }[] = [];
    for (const jsonFile of jsonParts) {
      const file = jsonFile.replace(/\.json$/, ".parquet");
      await wh.exec(
        `COPY (select customer_id, date ${lit(scoringDate)} as scoring_date, probability, risk_band, top_reasons, ${lit(loaded.name)} as model_name, ${lit(String(loaded.version))} as model_version, timestamp ${lit(scoredAt.replace("T", " ").replace("Z", ""))} as scored_at
           from read_json(${lit(jsonFile)}, format = 'newline_delimited', columns = {customer_id: 'VARCHAR', probability: 'DOUBLE', risk_band: 'VARCHAR', top_reasons: 'STRUCT(feature VARCHAR, value VARCHAR, contribution DOUBLE)[]'}))
         TO ${lit(file)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      rmSync(jsonFile);
      parquetFiles.push({ key: `${SCORES_PREFIX}/scoring_date=${scoringDate}/${basename(file)}`, file });
    }
    // Publish: the partition is replaced only once every part is scored and converted.
    await lake.deletePrefix(`${SCORES_PREFIX}/scoring_date=${scoringDate}/`);
    for (const p of parquetFiles) await lake.write(p.key, readFileSync(p.file));
    await exposeScores(wh, lake.uri(SCORES_PREFIX));
    if (logWriter) await logWriter.close();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const elapsedMs = performance.now() - started;
  return {
    table: SCORES_TABLE,
    scoringDate,
    model: loaded.name,
    modelVersion: loaded.version,
    rows,
    parts: jsonParts.length,
    bands,
    meanProbability: rows ? sumP / rows : 0,
    elapsedMs: Math.round(elapsedMs),
    rowsPerSecond: Math.round(rows / (elapsedMs / 1000)),
  };
}

/** Makes sure gold.customer_features describes `asOf` (rebuilding it when asked for another date). */
async function ensureFeatures(wh: Warehouse, asOf: string | undefined): Promise<string> {
  const tables = await wh.tables();
  const wanted = asOf ? parseIsoDate("--as-of", asOf) : undefined;
  if (tables.includes(LATEST_TABLE)) {
    const [{ d }] = await wh.query<{ d: unknown }>(latestFeatureReads(dialectOf(wh)).asOfDate);
    const current = d === null || d === undefined ? undefined : String(d).slice(0, 10);
    if (current && (!wanted || wanted === current)) return current;
  } else if (!tables.some((t) => t.startsWith("silver."))) {
    throw new NotFoundError(`feature table ${LATEST_TABLE}`, {
      hint: "Ingest data and run `telco features materialize` first.",
    });
  }
  const built = await buildLatestFeatures(wh, { asOf: wanted });
  return built.asOf;
}

/** (Re)creates the warehouse view over every scoring-date partition in the lake. */
async function exposeScores(wh: Warehouse, prefixUri: string): Promise<void> {
  await wh.exec("create schema if not exists gold");
  await wh.exec(
    `create or replace view ${SCORES_TABLE} as select * from read_parquet(${lit(`${prefixUri}/*/*.parquet`)}, union_by_name = true, hive_partitioning = false)`,
  );
}
