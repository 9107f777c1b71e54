import type { FeaturesConfig } from "../../platform/config/sections/features.ts";
import { NotFoundError, TelcoError, ValidationError } from "../../platform/errors.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import { renderDialect, type SqlDialect, sqlDialect } from "../../platform/sql/dialect.ts";
import { contentVersion, latestDatasetVersion, recordDatasetVersion } from "../ingestion/versions.ts";
import { FEATURE_GROUPS, FEATURES, featureSql, featureVersion, LOOKBACK_DAYS } from "./definitions.ts";

/**
 * Offline store: builds point-in-time-correct feature tables in the warehouse's gold layer.
 * Every row has an event timestamp (`cutoff_date`); every feature of that row is computed from
 * events strictly before it. Tables:
 *  - gold.churn_training: one row per (customer_id, monthly cutoff) with the label;
 *  - gold.synthetic_training: the agreed training shape (customer_id, label, cutoff_date, features);
 *  - gold.customer_features: the latest features, one row per active customer.
 */

export const TRAINING_TABLE = "gold.churn_training";
export const TRAINING_VIEW = "gold.synthetic_training";
export const LATEST_TABLE = "gold.customer_features";
const SPINE = "feature_spine";
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Silver tables the feature SQL reads. */
export const REQUIRED_SOURCES: readonly string[] = [
  ...new Set(["silver.crm_contracts", ...FEATURE_GROUPS.flatMap((g) => g.sources)]),
].sort();

/** What the data covers: first month with invoices/usage and the last date with any event. */
export interface DataRange {
  firstMonth: string;
  lastEventDate: string;
}

export interface TrainingSetSummary {
  table: string;
  view: string;
  asOf: string;
  featureVersion: string;
  horizonDays: number;
  rows: number;
  positives: number;
  positiveRate: number;
  features: number;
  cutoffs: { cutoffDate: string; rows: number; positives: number }[];
  /** Content version of gold.synthetic_training recorded in meta.dataset_versions (training cites it). */
  datasetVersion: string;
}

/**
 * Fills `{{name}}` placeholders (every placeholder must be given; values are validated literals),
 * then expands the `@function(…)` calls for the warehouse's dialect (platform/sql/dialect.ts).
 */
export function renderSql(
  template: string,
  params: Record<string, string | number>,
  dialect: SqlDialect = sqlDialect("duckdb"),
): string {
  const filled = template.replace(/\{\{(\w+)\}\}/g, (_m, name: string) => {
    const v = params[name];
    if (v === undefined) throw new ValidationError("sql", `no value for placeholder {{${name}}}`);
    return String(v);
  });
  return renderDialect(filled, dialect);
}

/** Fails with a hint when a silver table the features need is missing. */
export async function assertSources(wh: Warehouse): Promise<void> {
  const have = new Set(await wh.tables());
  const missing = REQUIRED_SOURCES.filter((t) => !have.has(t));
  if (missing.length > 0) {
    throw new NotFoundError(`silver tables ${missing.join(", ")}`, {
      hint: "Run `telco data generate` then `telco data ingest synthetic` first.",
      details: { missing },
    });
  }
}

/** Reads the span of the ingested data (used for default dates and cutoff bounds). */
export async function dataRange(wh: Warehouse): Promise<DataRange> {
  await assertSources(wh);
  const [row] = await wh.query<{ first_month: unknown; last_event: unknown }>(dataRangeSql(dialectOf(wh)));
  if (!row?.first_month || !row.last_event) {
    throw new NotFoundError("synthetic data (silver tables are empty)", {
      hint: "Run `telco data generate` then `telco data ingest synthetic` first.",
    });
  }
  return { firstMonth: String(row.first_month), lastEventDate: String(row.last_event) };
}

/**
 * The span of the data. min/max over a union rather than least()/greatest(): BigQuery's return
 * null when any argument is null (an empty table), DuckDB's skip nulls.
 */
export function dataRangeSql(dialect: SqlDialect): string {
  const last = [
    "select max(issue_date) as d from silver.billing_invoices",
    "select max(paid_date) as d from silver.billing_payments",
    "select max(opened_date) as d from silver.billing_disputes",
    "select max(cast(opened_at as date)) as d from silver.support_tickets",
    "select max(cast(measured_at as date)) as d from silver.network_quality",
    "select max(cast(started_at as date)) as d from silver.network_outages",
    "select max(start_date) as d from silver.crm_contracts",
    "select max(cancel_date) as d from silver.crm_contracts",
    "select max(cast(created_at as date)) as d from silver.crm_interactions",
  ];
  const first = [
    "select min(reference_month) as d from silver.billing_invoices",
    "select min(month) as d from silver.usage_monthly",
  ];
  return renderDialect(
    `select
  (select @string(min(d)) from (${first.join(" union all ")}) as f) as first_month,
  (select @string(max(d)) from (${last.join(" union all ")}) as l) as last_event`,
    dialect,
  );
}

/** The dialect the warehouse speaks. */
export function dialectOf(wh: Warehouse): SqlDialect {
  return sqlDialect(wh.dialect);
}

/** Default as-of date: the day after the last event, so every ingested event is known. */
export function defaultAsOf(range: DataRange): string {
  return addDays(range.lastEventDate, 1);
}

/** Validates an ISO date given on the command line or in code. */
export function parseIsoDate(field: string, value: string): string {
  const d = new Date(`${value}T00:00:00Z`);
  if (!ISO_DATE.test(value) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) {
    throw new ValidationError(field, `expected a date YYYY-MM-DD, got "${value}"`);
  }
  return value;
}

/**
 * Monthly cutoffs usable for training as of `asOf`: first days of months from `warmupMonths`
 * after the first data month, up to the last one whose label window [cutoff, cutoff + horizon)
 * ends by `asOf` (so every label is fully observed).
 */
export function trainingCutoffs(range: DataRange, asOf: string, cfg: FeaturesConfig): string[] {
  const first = addMonths(`${range.firstMonth.slice(0, 7)}-01`, cfg.warmupMonths);
  const lastLabelled = addDays(asOf, -cfg.labelHorizonDays);
  const out: string[] = [];
  for (let c = first; c <= lastLabelled; c = addMonths(c, 1)) out.push(c);
  return out;
}

/**
 * The SELECT that joins every feature group onto the spine. With `spine` (a query) the spine is
 * the first CTE (BigQuery: no temp table outlives a job); without it, the temp table `feature_spine`.
 */
export function featureSelect(
  spineColumns: readonly string[],
  dialect: SqlDialect = sqlDialect("duckdb"),
  spine?: string,
): string {
  const params = { spine: SPINE, lookback_days: LOOKBACK_DAYS };
  const ctes = FEATURE_GROUPS.map(
    (g) => `g_${g.name} as (\n${renderSql(featureSql(g.name), params, dialect).trim()}\n)`,
  );
  if (spine !== undefined) ctes.unshift(`${SPINE} as (\n${spine.trim()}\n)`);
  const joins = FEATURE_GROUPS.map(
    (g) =>
      `left join g_${g.name} on g_${g.name}.customer_id = s.customer_id and g_${g.name}.cutoff_date = s.cutoff_date`,
  );
  const columns = [
    ...spineColumns.map((c) => `s.${c}`),
    ...FEATURES.map((f) => `g_${f.group}.${f.name} as ${f.name}`),
  ];
  return `with ${ctes.join(",\n")}\nselect ${columns.join(", ")}\nfrom ${SPINE} s\n${joins.join("\n")}`;
}

/**
 * Builds gold.churn_training (and the gold.synthetic_training view) for every monthly cutoff
 * whose label is fully observed by `asOf`. Only events before `asOf` are read.
 */
export async function buildTrainingSet(
  wh: Warehouse,
  cfg: FeaturesConfig,
  opts: { asOf?: string } = {},
): Promise<TrainingSetSummary> {
  const { asOf, cutoffs } = await trainingPlan(wh, cfg, opts);
  const dialect = dialectOf(wh);
  for (const sql of trainingSetStatements(dialect, {
    firstCutoff: cutoffs[0],
    lastCutoff: cutoffs[cutoffs.length - 1],
    horizonDays: cfg.labelHorizonDays,
  })) {
    await wh.exec(sql);
  }
  return summarizeTrainingSet(wh, cfg, asOf);
}

/** The as-of date and monthly cutoffs a training set would use (validated; reads the data range). */
export async function trainingPlan(
  wh: Warehouse,
  cfg: FeaturesConfig,
  opts: { asOf?: string } = {},
): Promise<{ asOf: string; cutoffs: string[] }> {
  const range = await dataRange(wh);
  const maxAsOf = defaultAsOf(range);
  const asOf = opts.asOf ? parseIsoDate("--as-of", opts.asOf) : maxAsOf;
  if (asOf > maxAsOf) {
    throw new ValidationError("--as-of", `${asOf} is after the data ends (${range.lastEventDate})`, {
      hint: `Use a date up to ${maxAsOf}; later labels would count customers as staying only because their cancellation is not in the data yet.`,
    });
  }
  const cutoffs = trainingCutoffs(range, asOf, cfg);
  if (cutoffs.length === 0) {
    throw new ValidationError(
      "--as-of",
      `no monthly cutoff has a complete ${cfg.labelHorizonDays}-day label window by ${asOf} (data starts ${range.firstMonth}, warm-up ${cfg.warmupMonths} months)`,
      { hint: "Use a later --as-of, generate more months of data, or lower features.warmupMonths." },
    );
  }
  return { asOf, cutoffs };
}

async function summarizeTrainingSet(
  wh: Warehouse,
  cfg: FeaturesConfig,
  asOf: string,
): Promise<TrainingSetSummary> {
  const dialect = dialectOf(wh);
  const perCutoff = await wh.query<{ cutoff_date: unknown; n_rows: number; positives: number }>(
    renderDialect(
      `select @string(cutoff_date) as cutoff_date, count(*) as n_rows, cast(sum(label) as integer) as positives
     from ${TRAINING_TABLE} group by cutoff_date order by cutoff_date`,
      dialect,
    ),
  );
  const rows = perCutoff.reduce((a, r) => a + Number(r.n_rows), 0);
  const positives = perCutoff.reduce((a, r) => a + Number(r.positives), 0);
  const summary: Omit<TrainingSetSummary, "datasetVersion"> = {
    table: TRAINING_TABLE,
    view: TRAINING_VIEW,
    asOf,
    featureVersion: featureVersion(),
    horizonDays: cfg.labelHorizonDays,
    rows,
    positives,
    positiveRate: rows === 0 ? 0 : positives / rows,
    features: FEATURES.length,
    cutoffs: perCutoff.map((r) => ({
      cutoffDate: String(r.cutoff_date),
      rows: Number(r.n_rows),
      positives: Number(r.positives),
    })),
  };
  await recordFeatureSet(wh, summary.table, summary.asOf, summary.rows);
  const training = await recordGoldVersion(wh, TRAINING_TABLE, await sourceVersions(wh));
  const view = await recordGoldVersion(wh, TRAINING_VIEW, [training]);
  return { ...summary, datasetVersion: view.slice(view.indexOf("@") + 1) };
}

/**
 * Builds gold.customer_features: one row per customer active at `asOf` (default: the day
 * after the last event), features from events strictly before `asOf`.
 */
export async function buildLatestFeatures(
  wh: Warehouse,
  opts: { asOf?: string } = {},
): Promise<{ table: string; asOf: string; rows: number; featureVersion: string }> {
  const asOf = await latestAsOf(wh, opts);
  for (const sql of latestFeatureStatements(dialectOf(wh), asOf)) await wh.exec(sql);
  const [{ n }] = await wh.query<{ n: number }>(`select count(*) as n from ${LATEST_TABLE}`);
  await recordFeatureSet(wh, LATEST_TABLE, asOf, Number(n));
  await recordGoldVersion(wh, LATEST_TABLE, await sourceVersions(wh));
  return { table: LATEST_TABLE, asOf, rows: Number(n), featureVersion: featureVersion() };
}

/**
 * The statements that build gold.churn_training and the gold.synthetic_training view, in order.
 * DuckDB keeps the spine in a temp table the feature groups share; BigQuery, where each statement
 * is its own job, gets one CREATE TABLE AS with the spine as a CTE, partitioned by cutoff month
 * and clustered by customer.
 */
export function trainingSetStatements(
  dialect: SqlDialect,
  p: { firstCutoff: string; lastCutoff: string; horizonDays: number },
): string[] {
  const spine = renderSql(
    featureSql("spine_training"),
    { first_cutoff: p.firstCutoff, last_cutoff: p.lastCutoff, horizon_days: p.horizonDays },
    dialect,
  );
  const columns = ["customer_id", "cutoff_date", "label", "churn_date", "contract_id"];
  const layout = { partitionBy: "date_trunc(cutoff_date, month)", clusterBy: ["customer_id"] };
  const view = `create or replace view ${TRAINING_VIEW} as select customer_id, label, cutoff_date, ${FEATURES.map((f) => f.name).join(", ")} from ${TRAINING_TABLE}`;
  if (!dialect.tempTables) {
    return [
      ...schemaStatements(dialect),
      dialect.createTableAs(
        TRAINING_TABLE,
        `${featureSelect(columns, dialect, spine)}\norder by cutoff_date, customer_id`,
        layout,
      ),
      view,
    ];
  }
  return [
    ...schemaStatements(dialect),
    `create or replace temp table ${SPINE} as ${spine}`,
    dialect.createTableAs(
      TRAINING_TABLE,
      `${featureSelect(columns, dialect)}\norder by cutoff_date, customer_id`,
    ),
    view,
    `drop table if exists ${SPINE}`,
  ];
}

/** The statements that build gold.customer_features as of `asOf` (see trainingSetStatements). */
export function latestFeatureStatements(dialect: SqlDialect, asOf: string): string[] {
  const spine = renderSql(featureSql("spine_latest"), { as_of: asOf }, dialect);
  const select = (inner: string) =>
    `select customer_id, cast(cutoff_date as date) as as_of_date, ${FEATURES.map((f) => f.name).join(", ")} from (${inner}) as f order by customer_id`;
  if (!dialect.tempTables) {
    return [
      ...schemaStatements(dialect),
      dialect.createTableAs(
        LATEST_TABLE,
        select(featureSelect(["customer_id", "cutoff_date"], dialect, spine)),
        {
          clusterBy: ["customer_id"],
        },
      ),
    ];
  }
  return [
    ...schemaStatements(dialect),
    `create or replace temp table ${SPINE} as ${spine}`,
    dialect.createTableAs(LATEST_TABLE, select(featureSelect(["customer_id", "cutoff_date"], dialect))),
    `drop table if exists ${SPINE}`,
  ];
}

/** DuckDB creates its schemas; BigQuery's datasets come from Terraform (infra/terraform/modules/data-platform). */
function schemaStatements(dialect: SqlDialect): string[] {
  return dialect.name === "bigquery"
    ? []
    : ["create schema if not exists gold", "create schema if not exists meta"];
}

/**
 * The reads batch scoring makes of gold.customer_features, for the warehouse's dialect: its columns,
 * its as-of date, and the rows of the model's features in customer order.
 */
export function latestFeatureReads(dialect: SqlDialect): {
  columns: string;
  asOfDate: string;
  rows(features: readonly string[]): string;
} {
  const bigquery = dialect.name === "bigquery";
  const quote = (n: string) => (bigquery ? `\`${n.replaceAll("`", "")}\`` : `"${n.replaceAll('"', '""')}"`);
  return {
    columns: bigquery
      ? "select column_name from gold.INFORMATION_SCHEMA.COLUMNS where table_name = 'customer_features'"
      : "select column_name from information_schema.columns where table_schema = 'gold' and table_name = 'customer_features'",
    asOfDate: renderDialect(`select @string(max(as_of_date)) as d from ${LATEST_TABLE}`, dialect),
    rows: (features) =>
      `select customer_id, ${features.map(quote).join(", ")} from ${LATEST_TABLE} order by customer_id`,
  };
}

/** The as-of date of a latest-features build (given, or the day after the last event). */
export async function latestAsOf(wh: Warehouse, opts: { asOf?: string } = {}): Promise<string> {
  if (opts.asOf) return parseIsoDate("--as-of", opts.asOf);
  return defaultAsOf(await dataRange(wh));
}

export interface DryRunReport {
  dialect: "duckdb" | "bigquery";
  /** Whether the warehouse checked the statements (BigQuery's dry run), or they are only printed. */
  checked: boolean;
  note?: string;
  statements: { sql: string; bytesProcessed?: number; error?: string }[];
  /** Sum over the statements BigQuery accepted. */
  totalBytesProcessed?: number;
}

/**
 * Checks statements without running them: BigQuery validates each (tables, columns, types) and
 * estimates its bytes; a rejected statement reports BigQuery's message (e.g. a view over a table the
 * build has not created yet). Without Google Cloud credentials, or on DuckDB (no dry run), the
 * statements are returned unchecked, as they would run.
 */
export async function dryRunStatements(wh: Warehouse, statements: readonly string[]): Promise<DryRunReport> {
  if (!wh.dryRun) {
    return {
      dialect: wh.dialect,
      checked: false,
      note: `${wh.dialect} has no dry run; these are the statements a build runs`,
      statements: statements.map((sql) => ({ sql })),
    };
  }
  const out: DryRunReport["statements"] = [];
  let total = 0;
  for (const sql of statements) {
    try {
      const { bytesProcessed } = await wh.dryRun(sql);
      total += bytesProcessed;
      out.push({ sql, bytesProcessed });
    } catch (err) {
      // Without credentials BigQuery cannot be asked: the statements are printed, unchecked.
      if (err instanceof TelcoError && err.code === "gcp_credentials" && out.length === 0) {
        return {
          dialect: wh.dialect,
          checked: false,
          note: `${err.message}; the statements were not checked (${err.hint ?? "add credentials to dry-run them"})`,
          statements: statements.map((s) => ({ sql: s })),
        };
      }
      // network problems stop the dry run; a statement BigQuery rejects is its answer
      if (err instanceof TelcoError) throw err;
      out.push({ sql, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { dialect: wh.dialect, checked: true, statements: out, totalBytesProcessed: total };
}

/** Lineage: which feature version built which gold table as of which date. */
async function recordFeatureSet(wh: Warehouse, table: string, asOf: string, rows: number): Promise<void> {
  for (const sql of featureSetStatements(wh.dialect, { table, asOf, rows })) await wh.exec(sql);
}

/**
 * The lineage row of a feature build, values inlined (all validated: a constant table name, an
 * ISO date, a count, a hex hash) so the statement is the same text on both engines.
 */
export function featureSetStatements(
  dialect: "duckdb" | "bigquery",
  r: { table: string; asOf: string; rows: number },
): string[] {
  // `rows` is reserved in BigQuery: backticks there, plain in DuckDB (same column).
  const rowsColumn = dialect === "bigquery" ? "`rows`" : "rows";
  const q = (v: string) => `'${v.replaceAll("'", "''")}'`;
  return [
    `create table if not exists meta.feature_sets (table_name string, feature_version string, as_of date, ${rowsColumn} int64, built_at timestamp)`,
    `insert into meta.feature_sets values (${q(r.table)}, ${q(featureVersion())}, date ${q(parseIsoDate("as_of", r.asOf))}, ${Math.trunc(r.rows)}, current_timestamp)`,
  ];
}

/** "silver.x@version" of every source that has a recorded version (lineage parents). */
async function sourceVersions(wh: Warehouse): Promise<string[]> {
  const out: string[] = [];
  for (const table of REQUIRED_SOURCES) {
    const v = await latestDatasetVersion(wh, table);
    if (v) out.push(`${table}@${v.version}`);
  }
  return out;
}

/**
 * Records a gold table's content version in meta.dataset_versions with its parents, so
 * `telco data lineage gold.synthetic_training` walks back to the raw files and training runs
 * cite the exact data. Returns "table@version".
 */
async function recordGoldVersion(wh: Warehouse, table: string, parents: string[]): Promise<string> {
  const v = await contentVersion(wh, table);
  await recordDatasetVersion(wh, {
    table,
    version: v.version,
    layer: "gold",
    rowCount: v.rows,
    contractVersion: null,
    sourceFiles: [],
    parents,
    batchId: null,
    location: `warehouse:${table}`,
  });
  return `${table}@${v.version}`;
}

function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function addMonths(iso: string, months: number): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
}
