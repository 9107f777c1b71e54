import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from "@duckdb/node-api";
import type { Row, Warehouse } from "../../ports/warehouse.ts";

/** Local warehouse: one DuckDB database file in the workspace (":memory:" for tests). */
export class DuckDbWarehouse implements Warehouse {
  readonly kind = "duckdb" as const;
  private readonly instance: DuckDBInstance;
  private readonly conn: DuckDBConnection;
  readonly path: string;
  /** False for a session: closing it closes its connection, not the database. */
  private readonly ownsInstance: boolean;

  private constructor(instance: DuckDBInstance, conn: DuckDBConnection, path: string, ownsInstance = true) {
    this.instance = instance;
    this.conn = conn;
    this.path = path;
    this.ownsInstance = ownsInstance;
  }

  static async open(
    path: string,
    opts: { readOnly?: boolean; threads?: number } = {},
  ): Promise<DuckDbWarehouse> {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const options: Record<string, string> = {};
    if (opts.readOnly) options.access_mode = "READ_ONLY";
    if (opts.threads) options.threads = String(opts.threads);
    const instance = await DuckDBInstance.create(path, options);
    const conn = await instance.connect();
    return new DuckDbWarehouse(instance, conn, path);
  }

  /** The raw connection, for adapters in this folder (domain code uses the port). */
  connection(): DuckDBConnection {
    return this.conn;
  }

  async query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql, params as DuckDBValue[] | undefined);
    return reader.getRowObjectsJS().map((r) => normaliseRow(r) as T);
  }

  async exec(sql: string): Promise<void> {
    await this.conn.run(sql);
  }

  async *stream<T extends Row = Row>(sql: string, params?: readonly unknown[]): AsyncIterable<T[]> {
    const result = await this.conn.stream(sql, params as DuckDBValue[] | undefined);
    for await (const chunk of result.yieldRowObjectJs()) {
      yield chunk.map((r) => normaliseRow(r) as T);
    }
  }

  async tables(): Promise<string[]> {
    const rows = await this.query<{ name: string }>(
      "select table_schema || '.' || table_name as name from information_schema.tables where table_catalog = current_database() order by 1",
    );
    return rows.map((r) => r.name);
  }

  /** A second connection to the same database: DuckDB runs each connection's queries on its own thread. */
  async session(): Promise<DuckDbWarehouse> {
    return new DuckDbWarehouse(this.instance, await this.instance.connect(), this.path, false);
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    if (this.ownsInstance) this.instance.closeSync();
  }
}

/** BIGINTs come back as bigint; plain numbers are friendlier wherever they fit exactly. */
function normaliseRow(row: Record<string, unknown>): Row {
  for (const key of Object.keys(row)) {
    const v = row[key];
    if (
      typeof v === "bigint" &&
      v <= BigInt(Number.MAX_SAFE_INTEGER) &&
      v >= BigInt(Number.MIN_SAFE_INTEGER)
    ) {
      row[key] = Number(v);
    }
  }
  return row;
}
