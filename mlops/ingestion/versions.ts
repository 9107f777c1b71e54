import { createHash } from "node:crypto";
import { NotFoundError } from "../../platform/errors.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";

/**
 * Dataset versions and lineage, kept in the warehouse's `meta` schema. A version is a content
 * hash: for raw files the file's SHA-256, for tables a hash of the schema, the row count and an
 * order-independent sum of row hashes (so rewriting identical data gives the same version).
 */
export interface DatasetVersion {
  /** "bronze.crm_customers", "gold.ibm_telco_training" or a raw lake key "raw/…". */
  table: string;
  version: string;
  layer: "raw" | "bronze" | "silver" | "gold";
  rowCount: number;
  /** Version of the data contract the data was checked against (null for derived tables). */
  contractVersion: number | null;
  /** Files the version was read from (lake keys or delivered paths). */
  sourceFiles: string[];
  /** Parent versions as "table@version". */
  parents: string[];
  batchId: string | null;
  createdAt: string;
  /** Where the data lives (lake key of the Parquet file, or glob for bronze). */
  location: string;
}

/** Creates the meta schema and its tables if missing (idempotent). */
export async function ensureMetaSchema(wh: Warehouse): Promise<void> {
  if (wh.dialect === "bigquery") {
    await wh.exec(BIGQUERY_META_SCHEMA);
    return;
  }
  await wh.exec(`CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.dataset_versions (
  table_name VARCHAR NOT NULL, version VARCHAR NOT NULL, layer VARCHAR NOT NULL, row_count BIGINT NOT NULL,
  contract_version INTEGER, source_files VARCHAR[] NOT NULL, parents VARCHAR[] NOT NULL, batch_id VARCHAR,
  created_at TIMESTAMP NOT NULL, location VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS meta.ingestion_batches (
  batch_id VARCHAR PRIMARY KEY, dataset VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP NOT NULL,
  files INTEGER NOT NULL, rows BIGINT NOT NULL, rejects BIGINT NOT NULL, warnings VARCHAR[] NOT NULL);
CREATE TABLE IF NOT EXISTS meta.raw_files (
  batch_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL, table_name VARCHAR NOT NULL, lake_key VARCHAR NOT NULL,
  content_hash VARCHAR NOT NULL, bytes BIGINT NOT NULL, delivered_as VARCHAR NOT NULL, rows BIGINT NOT NULL, rejects BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS meta.delivery_identities (
  batch_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL, population VARCHAR NOT NULL, identity VARCHAR NOT NULL);`);
}

/**
 * The meta tables in BigQuery: the dataset comes from Terraform; arrays are ARRAY<STRING> (never
 * null in BigQuery, so without NOT NULL).
 */
export const BIGQUERY_META_SCHEMA = `CREATE TABLE IF NOT EXISTS meta.dataset_versions (
  table_name STRING NOT NULL, version STRING NOT NULL, layer STRING NOT NULL, row_count INT64 NOT NULL,
  contract_version INT64, source_files ARRAY<STRING>, parents ARRAY<STRING>, batch_id STRING,
  created_at TIMESTAMP NOT NULL, location STRING NOT NULL);
CREATE TABLE IF NOT EXISTS meta.ingestion_batches (
  batch_id STRING NOT NULL, dataset STRING NOT NULL, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP NOT NULL,
  files INT64 NOT NULL, \`rows\` INT64 NOT NULL, rejects INT64 NOT NULL, warnings ARRAY<STRING>);
CREATE TABLE IF NOT EXISTS meta.raw_files (
  batch_id STRING NOT NULL, dataset STRING NOT NULL, table_name STRING NOT NULL, lake_key STRING NOT NULL,
  content_hash STRING NOT NULL, bytes INT64 NOT NULL, delivered_as STRING NOT NULL, \`rows\` INT64 NOT NULL, rejects INT64 NOT NULL);
CREATE TABLE IF NOT EXISTS meta.delivery_identities (
  batch_id STRING NOT NULL, dataset STRING NOT NULL, population STRING NOT NULL, identity STRING NOT NULL);`;

/** BigQuery's INSERT of a version, values inlined (its client wants a type for every null parameter). */
export function bigqueryInsertVersionSql(v: Omit<DatasetVersion, "createdAt"> & { createdAt: Date }): string {
  const s = (x: string | null) =>
    x === null ? "NULL" : `'${x.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  const arr = (xs: string[]) => `[${xs.map(s).join(", ")}]`;
  return `INSERT INTO meta.dataset_versions VALUES (${[
    s(v.table),
    s(v.version),
    s(v.layer),
    String(Math.trunc(v.rowCount)),
    v.contractVersion === null ? "NULL" : String(Math.trunc(v.contractVersion)),
    arr(v.sourceFiles),
    arr(v.parents),
    s(v.batchId),
    `TIMESTAMP ${s(v.createdAt.toISOString())}`,
    s(v.location),
  ].join(", ")})`;
}

/** Records one version (skipped when the table's latest version already has this hash). */
export async function recordDatasetVersion(
  wh: Warehouse,
  v: Omit<DatasetVersion, "createdAt"> & { createdAt?: Date },
): Promise<boolean> {
  await ensureMetaSchema(wh);
  const latest = await latestDatasetVersion(wh, v.table);
  if (latest?.version === v.version) return false;
  if (wh.dialect === "bigquery") {
    await wh.exec(bigqueryInsertVersionSql({ ...v, createdAt: v.createdAt ?? new Date() }));
    return true;
  }
  await wh.query(
    "INSERT INTO meta.dataset_versions VALUES (?, ?, ?, ?, ?, ?::VARCHAR[], ?::VARCHAR[], ?, ?::TIMESTAMP, ?)",
    [
      v.table,
      v.version,
      v.layer,
      v.rowCount,
      v.contractVersion,
      JSON.stringify(v.sourceFiles),
      JSON.stringify(v.parents),
      v.batchId,
      (v.createdAt ?? new Date()).toISOString().replace("T", " ").replace("Z", ""),
      v.location,
    ],
  );
  return true;
}

type VersionRow = {
  table_name: string;
  version: string;
  layer: DatasetVersion["layer"];
  row_count: number;
  contract_version: number | null;
  source_files: string[];
  parents: string[];
  batch_id: string | null;
  created_at: Date | string;
  location: string;
};

function fromRow(r: VersionRow): DatasetVersion {
  return {
    table: r.table_name,
    version: r.version,
    layer: r.layer,
    rowCount: Number(r.row_count),
    contractVersion: r.contract_version,
    sourceFiles: [...r.source_files],
    parents: [...r.parents],
    batchId: r.batch_id,
    createdAt: r.created_at instanceof Date ? r.created_at.toISOString() : String(r.created_at),
    location: r.location,
  };
}

async function hasMeta(wh: Warehouse): Promise<boolean> {
  if (wh.dialect === "bigquery") {
    const rows = await wh.query(
      "SELECT 1 FROM meta.INFORMATION_SCHEMA.TABLES WHERE table_name = 'dataset_versions'",
    );
    return rows.length > 0;
  }
  const rows = await wh.query(
    "SELECT 1 FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'dataset_versions'",
  );
  return rows.length > 0;
}

/** The newest recorded version of a table ("gold.ibm_telco_training"), or undefined if never written. */
export async function latestDatasetVersion(
  wh: Warehouse,
  table: string,
): Promise<DatasetVersion | undefined> {
  if (!(await hasMeta(wh))) return undefined;
  // BigQuery has no rowid: created_at (microseconds) orders its versions
  const rows = await wh.query<VersionRow>(
    `SELECT * FROM meta.dataset_versions WHERE table_name = ? ORDER BY created_at DESC${wh.dialect === "bigquery" ? "" : ", rowid DESC"} LIMIT 1`,
    [table],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** All versions, newest first; optionally of one table. Raw files are listed only when asked for. */
export async function listDatasetVersions(wh: Warehouse, table?: string): Promise<DatasetVersion[]> {
  if (!(await hasMeta(wh))) return [];
  const order = wh.dialect === "bigquery" ? "created_at DESC" : "created_at DESC, rowid DESC";
  const rows = table
    ? await wh.query<VersionRow>(
        `SELECT * FROM meta.dataset_versions WHERE table_name = ? ORDER BY ${order}`,
        [table],
      )
    : await wh.query<VersionRow>(
        `SELECT * FROM meta.dataset_versions WHERE layer <> 'raw' ORDER BY ${order}`,
      );
  return rows.map(fromRow);
}

/** One node of a lineage tree: a dataset version and the versions it was built from. */
export interface LineageNode {
  table: string;
  version: string;
  layer: DatasetVersion["layer"] | "unknown";
  rowCount: number | null;
  createdAt: string | null;
  sourceFiles: string[];
  /** For versions written by a batch whose delivery had a manifest: who generated it and how. */
  delivery?: DeliveryIdentity;
  parents: LineageNode[];
}

/**
 * Identity of a delivery, from its manifest.json: the generator and its parameters. `population`
 * names the customers it describes (generator, seed, customers, start): deliveries with the same
 * population may differ in months, drift or defects; different populations must not be merged.
 */
export interface DeliveryIdentity {
  population: string;
  identity: Record<string, unknown>;
}

async function hasDeliveryIdentities(wh: Warehouse): Promise<boolean> {
  const rows = await wh.query<{ t: number }>(
    wh.dialect === "bigquery"
      ? "SELECT count(*) AS t FROM meta.INFORMATION_SCHEMA.TABLES WHERE table_name = 'delivery_identities'"
      : "SELECT count(*) AS t FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'delivery_identities'",
  );
  return Number(rows[0]?.t ?? 0) > 0;
}

/**
 * Fingerprint of the populations (delivery identities) the warehouse holds, plus `including` (the
 * delivery about to be ingested). Pipelines key their cache on it, so a population merged in outside the pipeline (`--allow-mixed`) re-runs their
 * steps; the pipeline's own re-ingest of its delivery leaves it unchanged (its cache stays valid).
 */
export async function ingestedState(wh: Warehouse, including: string[] = []): Promise<string> {
  const held = (await hasDeliveryIdentities(wh))
    ? await wh.query<{ p: string }>("SELECT DISTINCT population AS p FROM meta.delivery_identities")
    : [];
  const pops = [...new Set([...held.map((r) => r.p), ...including])].sort();
  return createHash("sha256").update(JSON.stringify(pops)).digest("hex").slice(0, 16);
}

/** Populations already ingested into a dataset, with one batch of each. */
export async function ingestedPopulations(
  wh: Warehouse,
  dataset: string,
): Promise<{ population: string; identity: Record<string, unknown>; batchId: string }[]> {
  if (!(await hasDeliveryIdentities(wh))) return [];
  const found = await wh.query<{ population: string; identity: string; batch_id: string }>(
    wh.dialect === "bigquery"
      ? // BigQuery has no ordered any_value: max_by gives the newest batch's identity
        "SELECT population, max_by(identity, batch_id) AS identity, max(batch_id) AS batch_id FROM meta.delivery_identities WHERE dataset = ? GROUP BY population ORDER BY 3"
      : "SELECT population, any_value(identity ORDER BY batch_id DESC) AS identity, max(batch_id) AS batch_id FROM meta.delivery_identities WHERE dataset = ? GROUP BY population ORDER BY 3",
    [dataset],
  );
  return found.map((r) => ({
    population: r.population,
    identity: JSON.parse(r.identity) as Record<string, unknown>,
    batchId: r.batch_id,
  }));
}

/**
 * Walks a table's version back to the raw files it came from. Without `version` it starts from
 * the latest one. Shared ancestors are expanded once (later occurrences have no parents listed).
 */
export async function datasetLineage(wh: Warehouse, table: string, version?: string): Promise<LineageNode> {
  const start = version
    ? (await listDatasetVersions(wh, table)).find((v) => v.version === version)
    : await latestDatasetVersion(wh, table);
  if (!start) {
    throw new NotFoundError(`dataset version of ${table}${version ? `@${version}` : ""}`, {
      hint: "Run `telco data versions` to see what has been ingested.",
    });
  }
  const seen = new Set<string>();
  const byRef = new Map<string, DatasetVersion>();
  for (const v of await wh.query<VersionRow>("SELECT * FROM meta.dataset_versions")) {
    const d = fromRow(v);
    byRef.set(`${d.table}@${d.version}`, d);
  }
  const deliveries = new Map<string, DeliveryIdentity>();
  if (await hasDeliveryIdentities(wh)) {
    for (const r of await wh.query<{ batch_id: string; population: string; identity: string }>(
      "SELECT batch_id, population, identity FROM meta.delivery_identities",
    )) {
      deliveries.set(r.batch_id, { population: r.population, identity: JSON.parse(r.identity) });
    }
  }
  const build = (v: DatasetVersion): LineageNode => {
    const ref = `${v.table}@${v.version}`;
    const expand = !seen.has(ref);
    seen.add(ref);
    const delivery = v.batchId ? deliveries.get(v.batchId) : undefined;
    return {
      table: v.table,
      version: v.version,
      layer: v.layer,
      rowCount: v.rowCount,
      createdAt: v.createdAt,
      sourceFiles: v.sourceFiles,
      ...(delivery ? { delivery } : {}),
      parents: expand
        ? v.parents.map((p) => {
            const found = byRef.get(p);
            if (found) return build(found);
            const at = p.lastIndexOf("@");
            return {
              table: p.slice(0, at),
              version: p.slice(at + 1),
              layer: "unknown" as const,
              rowCount: null,
              createdAt: null,
              sourceFiles: [],
              parents: [],
            };
          })
        : [],
    };
  };
  return build(start);
}

/** Raw files at the leaves of a lineage tree. */
export function lineageRawFiles(node: LineageNode): string[] {
  const out = new Set<string>();
  const walk = (n: LineageNode) => {
    if (n.layer === "raw") out.add(n.table);
    n.parents.forEach(walk);
  };
  walk(node);
  return [...out].sort();
}

/**
 * Content version of a relation (a table name or `read_parquet(...)`): sha256 of column
 * names/types, row count and the sum of per-row hashes, truncated to 16 hex digits.
 * Columns in `exclude` (batch ids, ingestion times) do not change the version.
 */
export async function contentVersion(
  wh: Warehouse,
  relation: string,
  exclude: readonly string[] = [],
): Promise<{ version: string; rows: number; schema: string }> {
  if (wh.dialect === "bigquery") return bigqueryContentVersion(wh, relation, exclude);
  const cols = await wh.query<{ column_name: string; column_type: string }>(
    `DESCRIBE SELECT * FROM ${relation}`,
  );
  const kept = cols.filter((c) => !exclude.includes(c.column_name));
  const schema = kept.map((c) => `${c.column_name}:${c.column_type}`).join(",");
  const list = kept.map((c) => `"${c.column_name.replaceAll('"', '""')}"`).join(", ");
  const [r] = await wh.query<{ n: number; h: unknown }>(
    `SELECT count(*) AS n, CAST(coalesce(sum(hash(x)::HUGEINT), 0) AS VARCHAR) AS h FROM (SELECT ${list} FROM ${relation}) x`,
  );
  const version = createHash("sha256")
    .update(`${schema}\n${r.n}\n${String(r.h)}`)
    .digest("hex")
    .slice(0, 16);
  return { version, rows: Number(r.n), schema };
}

/** The statements of a BigQuery content version of `layer.table` (columns, then count and row hashes). */
export function bigqueryContentVersionSql(
  relation: string,
  columns?: readonly string[],
): { columns: string; hash: string } {
  const m = /^([a-z]+)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(relation);
  if (!m) throw new NotFoundError(`BigQuery table "${relation}" (expected layer.table)`);
  const list = (columns ?? []).map((c) => `\`${c}\``).join(", ");
  return {
    columns: `SELECT column_name, data_type AS column_type FROM ${m[1]}.INFORMATION_SCHEMA.COLUMNS WHERE table_name = '${m[2]}' ORDER BY ordinal_position`,
    // farm_fingerprint of each row's JSON, summed in NUMERIC (no INT64 overflow): order-independent
    hash: `SELECT count(*) AS n, CAST(coalesce(sum(CAST(farm_fingerprint(to_json_string(x)) AS NUMERIC)), 0) AS STRING) AS h FROM (SELECT ${list} FROM ${relation}) AS x`,
  };
}

async function bigqueryContentVersion(
  wh: Warehouse,
  relation: string,
  exclude: readonly string[],
): Promise<{ version: string; rows: number; schema: string }> {
  const cols = await wh.query<{ column_name: string; column_type: string }>(
    bigqueryContentVersionSql(relation).columns,
  );
  const kept = cols.filter((c) => !exclude.includes(c.column_name));
  const schema = kept.map((c) => `${c.column_name}:${c.column_type}`).join(",");
  const [r] = await wh.query<{ n: number; h: unknown }>(
    bigqueryContentVersionSql(
      relation,
      kept.map((c) => c.column_name),
    ).hash,
  );
  const version = createHash("sha256")
    .update(`bigquery\n${schema}\n${r.n}\n${String(r.h)}`)
    .digest("hex")
    .slice(0, 16);
  return { version, rows: Number(r.n), schema };
}
