import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDbWarehouse } from "../../../platform/adapters/local/duckdb-warehouse.ts";
import type { Warehouse } from "../../../platform/ports/warehouse.ts";
import type { DataContract } from "../../ingestion/contract.ts";
import { loadSyntheticContracts } from "../../simulator/contracts.ts";

/**
 * Test helpers: an in-memory warehouse with empty `silver.<contract>` tables typed from the
 * synthetic data contracts, and an insert that fills unspecified columns with neutral values,
 * so a fixture states only what its test is about.
 */
export type FixtureRow = Record<string, unknown>;

const SQL_TYPES = {
  string: "varchar",
  integer: "bigint",
  number: "double",
  boolean: "boolean",
  date: "date",
  timestamp: "timestamp",
} as const;

let contracts: Map<string, DataContract> | undefined;

function contractsByName(): Map<string, DataContract> {
  contracts ??= loadSyntheticContracts();
  return contracts;
}

/** Opens a warehouse (in memory by default) with every synthetic silver table created (empty). */
export async function silverWarehouse(path = ":memory:"): Promise<DuckDbWarehouse> {
  const wh = await DuckDbWarehouse.open(path, { threads: 1 });
  await createSilverTables(wh);
  return wh;
}

/** Creates empty silver.<contract> tables typed from the synthetic contracts. */
export async function createSilverTables(wh: Warehouse): Promise<void> {
  await wh.exec("create schema if not exists silver");
  for (const c of contractsByName().values()) {
    const cols = c.columns.map((col) => `${col.name} ${SQL_TYPES[col.type]}`).join(", ");
    await wh.exec(`create table silver.${c.name} (${cols})`);
  }
}

/** Inserts rows into silver.`table`; columns left out get null (nullable) or a neutral value. */
export async function insertRows(wh: Warehouse, table: string, rows: readonly FixtureRow[]): Promise<void> {
  const contract = contractsByName().get(table);
  if (!contract) throw new Error(`no synthetic contract named ${table}`);
  if (rows.length === 0) return;
  const cols = contract.columns;
  // One NDJSON file read by DuckDB per table: much faster than binding thousands of parameters.
  const lines = rows.map((row) => {
    const full: FixtureRow = {};
    for (const col of cols) {
      const v = col.name in row ? row[col.name] : col.nullable ? null : neutral(col.type, col.enum);
      full[col.name] = v === undefined ? null : v;
    }
    return JSON.stringify(full);
  });
  const dir = mkdtempSync(join(tmpdir(), "silver-fixture-"));
  const file = join(dir, `${table}.ndjson`);
  try {
    writeFileSync(file, `${lines.join("\n")}\n`);
    const types = cols.map((c) => `'${c.name}': '${SQL_TYPES[c.type]}'`).join(", ");
    await wh.exec(
      `insert into silver.${table} by name select * from read_json('${file}', format = 'newline_delimited', columns = {${types}})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function neutral(type: keyof typeof SQL_TYPES, values: string[] | undefined): unknown {
  switch (type) {
    case "string":
      return values?.[0] ?? "x";
    case "integer":
    case "number":
      return 0;
    case "boolean":
      return false;
    case "date":
      return "2000-01-01";
    case "timestamp":
      return "2000-01-01 00:00:00";
  }
}
