/**
 * Warehouse port: SQL over the lake's layers. Local adapter: DuckDB file in the workspace;
 * GCP adapter: BigQuery. Schemas are the lake layers (bronze, silver, gold, …).
 */
export type Row = Record<string, unknown>;

export interface Warehouse {
  readonly kind: "duckdb" | "bigquery";
  /**
   * The SQL dialect the warehouse speaks. Domain SQL is written once with `@function(…)` calls for
   * what differs and rendered through `platform/sql/dialect.ts` for this dialect.
   */
  readonly dialect: "duckdb" | "bigquery";
  /** Runs a query and returns all rows as plain objects (BigInt columns become numbers when safe). */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs one or more statements that return nothing useful. */
  exec(sql: string): Promise<void>;
  /** Streams a query's rows in chunks, for tables too large to hold at once. */
  stream<T extends Row = Row>(sql: string, params?: readonly unknown[]): AsyncIterable<T[]>;
  /** Names of tables and views, as "schema.table". */
  tables(): Promise<string[]>;
  /**
   * Another session on the same warehouse (its own connection, temp tables and transaction), so
   * independent statements can run side by side. Closing it leaves this one open. Optional: an
   * adapter without it runs such work one statement at a time.
   */
  session?(): Promise<Warehouse>;
  /**
   * Validates a statement and estimates its cost without running it (BigQuery's dry-run query).
   * Optional: DuckDB has no dry run.
   */
  dryRun?(sql: string): Promise<DryRunResult>;
  close(): Promise<void>;
}

export interface DryRunResult {
  /** Bytes the statement would read (what BigQuery bills on demand). */
  bytesProcessed: number;
}
