import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import type { Lake } from "../../platform/ports/lake.ts";
import type { LoadResult, Warehouse } from "../../platform/ports/warehouse.ts";
import { type SqlDialect, sqlDialect } from "../../platform/sql/dialect.ts";
import type { DataContract } from "./contract.ts";
import { bigqueryIdent, conformedCell, ident, renderSql } from "./sql.ts";
import { contentVersion, recordDatasetVersion } from "./versions.ts";

/**
 * Ingestion for a warehouse that loads files itself (BigQuery under the gcp profile, through
 * `Warehouse.loadFiles`): the delivered files, already in the lake's raw layer, reach
 * `bronze.<table>` by load jobs (rows that break the contract go to `bronze._quarantine`), then
 * `silver.<table>` is rebuilt from bronze with the dialect's SQL — the latest row per primary key,
 * the same dedupe.sql the local path runs — and both versions are recorded with their lineage.
 * The local path (DuckDB reading the files, mlops/ingestion/ingest.ts) is unchanged.
 */

export interface WarehouseLoadFile {
  /** Contract (table) name, e.g. crm_customers. */
  table: string;
  /** Lake key of the delivered file, e.g. raw/synthetic/2026-12-01/crm/customers.csv. */
  key: string;
}

export interface WarehouseLoadSummary {
  batchId: string;
  tables: {
    table: string;
    bronze: LoadResult & { version: string; rows: number };
    /** Rows of this batch sent to bronze._quarantine (contract violations and unreadable lines). */
    quarantined: number;
    silver: { table: string; rows: number; version: string };
  }[];
}

/**
 * Silver from a bronze table filled by load jobs: dedupe.sql (latest row per primary key) over
 * `bronze.<table>`. Such a table has no `_line` (a load job keeps no line numbers): a null one is
 * added, so within one batch any duplicate may win. `quote` is the engine's identifier quoting.
 */
export function loadedSilverSelect(
  contract: Pick<DataContract, "name" | "columns" | "primaryKey">,
  dialect: SqlDialect,
  quote: (name: string) => string,
): string {
  return renderSql(
    "silver",
    "dedupe",
    {
      columns: contract.columns
        .map((c) => `${conformedCell(c.type, quote(c.name))} AS ${quote(c.name)}`)
        .join(", "),
      bronze: `(SELECT *, CAST(NULL AS INT64) AS _line FROM bronze.${contract.name})`,
      primary_key: contract.primaryKey
        .map((k) => conformedCell(contract.columns.find((c) => c.name === k)?.type ?? "", quote(k)))
        .join(", "),
    },
    dialect,
  );
}

export async function loadDeliveryInWarehouse(
  wh: Warehouse,
  lake: Lake,
  opts: {
    contracts: readonly DataContract[];
    files: readonly WarehouseLoadFile[];
    batchId: string;
    ingestedAt?: Date;
  },
): Promise<WarehouseLoadSummary> {
  if (!wh.loadFiles) {
    throw new ValidationError("warehouse", `the ${wh.dialect} warehouse reads delivered files itself`, {
      hint: "Use `telco data ingest` (the local bronze stage); warehouse loads are BigQuery's path.",
    });
  }
  const byName = new Map(opts.contracts.map((c) => [c.name, c]));
  for (const f of opts.files) {
    if (!byName.has(f.table)) throw new NotFoundError(`data contract ${f.table} (file ${f.key})`);
  }
  const ingestedAt = (opts.ingestedAt ?? new Date()).toISOString().replace("T", " ").replace("Z", "");
  const out: WarehouseLoadSummary["tables"] = [];
  for (const contract of opts.contracts) {
    const keys = opts.files.filter((f) => f.table === contract.name).map((f) => f.key);
    if (keys.length === 0) continue;
    if (contract.rowId) {
      throw new ValidationError(
        contract.name,
        `rows are keyed by "${contract.rowId}" (file and line), which a load job does not know`,
        { hint: "Give the file an id column in its contract, or ingest it with the local profile." },
      );
    }
    const bronze = await wh.loadFiles(contract, {
      uris: keys.map((k) => lake.uri(k)),
      batchId: opts.batchId,
      ingestedAt,
    });
    const [{ n: quarantined }] = await wh.query<{ n: number }>(
      `select count(*) as n from bronze._quarantine where table_name = '${contract.name}' and batch_id = '${opts.batchId}'`,
    );
    const built = await buildLoadedSilver(wh, contract, keys, opts.batchId);
    out.push({
      table: contract.name,
      bronze: { ...bronze, ...built.bronze },
      quarantined: Number(quarantined),
      silver: built.silver,
    });
  }
  return { batchId: opts.batchId, tables: out };
}

/**
 * After a batch reached `bronze.<table>`: silver rebuilt from bronze (dedupe.sql, or `silverSelect`
 * for a source with its own silver SQL, e.g. ibm_telco) and both versions recorded with lineage.
 */
export async function buildLoadedSilver(
  wh: Warehouse,
  contract: DataContract,
  sourceFiles: string[],
  batchId: string,
  silverSelect?: (contract: DataContract, dialect: SqlDialect) => string,
): Promise<{
  bronze: { version: string; rows: number };
  silver: { table: string; rows: number; version: string };
}> {
  const dialect = sqlDialect(wh.dialect);
  const q = wh.dialect === "bigquery" ? bigqueryIdent : ident;
  const silverTable = `silver.${contract.name}`;
  const select = silverSelect ? silverSelect(contract, dialect) : loadedSilverSelect(contract, dialect, q);
  await wh.exec(dialect.createTableAs(silverTable, select, { clusterBy: contract.primaryKey.map(q) }));
  const bronzeVersion = await contentVersion(wh, `bronze.${contract.name}`, ["_batch_id", "_ingested_at"]);
  await recordDatasetVersion(wh, {
    table: `bronze.${contract.name}`,
    version: bronzeVersion.version,
    layer: "bronze",
    rowCount: bronzeVersion.rows,
    contractVersion: contract.version,
    sourceFiles,
    parents: [],
    batchId,
    location: `warehouse:bronze.${contract.name}`,
  });
  const silverVersion = await contentVersion(wh, silverTable);
  await recordDatasetVersion(wh, {
    table: silverTable,
    version: silverVersion.version,
    layer: "silver",
    rowCount: silverVersion.rows,
    contractVersion: contract.version,
    sourceFiles: [],
    parents: [`bronze.${contract.name}@${bronzeVersion.version}`],
    batchId,
    location: `warehouse:${silverTable}`,
  });
  return {
    bronze: { version: bronzeVersion.version, rows: bronzeVersion.rows },
    silver: { table: silverTable, rows: silverVersion.rows, version: silverVersion.version },
  };
}
