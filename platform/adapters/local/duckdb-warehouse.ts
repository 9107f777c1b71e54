import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from "@duckdb/node-api";
import { TelcoError } from "../../errors.ts";
import type { Row, Warehouse } from "../../ports/warehouse.ts";

/**
 * DuckDB lets one process write a database file (or several read it). Its lock error names only the
 * holder's pid and executable; this names the holder's command line and what to do.
 */
export function lockError(path: string, err: unknown): TelcoError | undefined {
  const message = err instanceof Error ? err.message : String(err);
  const m = /Could not set lock on file.*?\(PID (\d+)\)/s.exec(message);
  if (!m) return undefined;
  const pid = Number(m[1]);
  let command = "";
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    // not Linux, or the process just ended
  }
  const telco = /bin\/telco\.ts\s+(.*)$/.exec(command)?.[1];
  const who = telco ? `\`telco ${telco}\` (pid ${pid})` : `process ${pid}${command ? ` (${command})` : ""}`;
  return new TelcoError("warehouse_locked", `the warehouse ${path} is in use by ${who}`, {
    hint:
      "DuckDB allows one writing process at a time. Wait for that command to finish, or stop it; " +
      "read-only commands (telco sql, data versions) work beside a server that is not writing.",
    details: { pid, command },
  });
}

/** Local warehouse: one DuckDB database file in the workspace (":memory:" for tests). */
export class DuckDbWarehouse implements Warehouse {
  readonly kind = "duckdb" as const;
  readonly dialect = "duckdb" as const;
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
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, options);
    } catch (err) {
      throw lockError(path, err) ?? err;
    }
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
