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
  /**
   * Loads delivered files already in the lake's object store into `bronze.<spec.name>`, typed by the
   * contract, with the rows that break it in `bronze._quarantine`. Optional: BigQuery has it (load
   * jobs from Cloud Storage); DuckDB's bronze stage reads files itself (mlops/ingestion/bronze.ts).
   */
  loadFiles?(spec: LoadTableSpec, batch: LoadBatch): Promise<LoadResult>;
  /**
   * Runs a script as one job under the id given (BigQuery: jobs.insert with that job id), so a
   * caller whose answer is lost (network error, timeout) can ask how it ended with `jobOutcome`.
   * Optional: DuckDB runs in-process and never loses an answer.
   */
  execJob?(sql: string, jobId: string): Promise<void>;
  /** How a job run by `execJob` ended, looked up by its id (BigQuery: jobs.get). */
  jobOutcome?(jobId: string): Promise<JobOutcome>;
  close(): Promise<void>;
}

/** A job's state: succeeded, failed (with the message), still running, or never created. */
export type JobOutcome =
  | { state: "done" }
  | { state: "failed"; message: string }
  | { state: "running" }
  | { state: "missing" };

export type LoadColumnType = "string" | "integer" | "number" | "boolean" | "date" | "timestamp";

/** The part of a data contract a load reads (mlops' DataContract fits it). */
export interface LoadTableSpec {
  name: string;
  format: "csv" | "jsonl";
  delimiter?: string;
  primaryKey: string[];
  eventTime?: string;
  columns: {
    name: string;
    type: LoadColumnType;
    nullable: boolean;
    enum?: string[];
    min?: number;
    max?: number;
    pattern?: string;
    decimal?: "." | ",";
  }[];
}

export interface LoadBatch {
  /** Object-store URIs (gs://…) of the delivered files of this table. */
  uris: string[];
  batchId: string;
  /** ISO timestamp written to `_ingested_at`. */
  ingestedAt: string;
  /**
   * JSONL lines carry `_line` (the delivered file's line): duplicate keys name the first line.
   */
  lines?: boolean;
  /**
   * Load into the staging table only and return the statements that publish it (`LoadResult.publish`),
   * for the caller to run in one transaction with its own bookkeeping.
   */
  deferPublish?: boolean;
  /**
   * The caller's wording of a broken rule, as a SQL string expression over the cell's text (see
   * mlops/ingestion/reasons.ts): the rows' reasons then read as the local path's, every broken rule
   * of a row joined with "; ". Without it the loader words them itself (first broken rule only).
   */
  reason?: (
    column: LoadTableSpec["columns"][number],
    rule: LoadRuleKind,
    cell: string,
    lit: (text: string) => string,
  ) => string;
}

/** A contract rule a loaded cell can break. */
export type LoadRuleKind = "empty" | "type" | "below" | "above" | "enum" | "pattern";

export interface LoadResult {
  table: string;
  staging: string;
  jobId: string;
  /** Rows the load read (unreadable lines excluded). */
  stagedRows: number;
  /** Lines the engine could not parse (each in the quarantine, with its message). */
  badRecords: number;
  badRecordErrors: string[];
  /**
   * With `deferPublish`: `setup` (idempotent DDL, run before the transaction), `statements` (DML
   * only, run inside BEGIN/COMMIT TRANSACTION) and `cleanup` (drops the staging table).
   */
  publish?: { setup: string[]; statements: string[]; cleanup: string[] };
}

export interface DryRunResult {
  /** Bytes the statement would read (what BigQuery bills on demand). */
  bytesProcessed: number;
}
