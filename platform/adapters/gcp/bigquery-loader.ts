import { TelcoError } from "../../errors.ts";
import type {
  JobOutcome,
  LoadBatch,
  LoadColumnType,
  LoadResult,
  LoadRuleKind,
  LoadTableSpec,
  Warehouse,
} from "../../ports/warehouse.ts";

export type { LoadBatch, LoadColumnType, LoadResult, LoadTableSpec };

/** What the loader needs of the warehouse: run a script, and the dataset of a layer. */
type ScriptRunner = Pick<Warehouse, "exec"> & { dataset(layer: string): string };

/**
 * Raw files into BigQuery: a load job reads the delivered files from Cloud Storage into a staging
 * table of STRING columns (BigQuery counts malformed lines as bad records instead of failing), then
 * one script types every row into `bronze.<table>` — partitioned by month of the event time and
 * clustered by the primary key — and sends the rows that fail the contract (type, required, enum,
 * range, pattern) and the bad records to `bronze._quarantine` with the reason.
 */

/** The slice of @google-cloud/bigquery's client the loader uses. */
export interface BigQueryJobsLike {
  createJob(options: {
    configuration: Record<string, unknown>;
    location?: string;
    jobPrefix?: string;
  }): Promise<[BigQueryJobLike, ...unknown[]]>;
}

export interface BigQueryJobLike {
  id?: string;
  getMetadata(): Promise<[LoadJobMetadata, ...unknown[]]>;
}

interface LoadJobMetadata {
  status?: {
    state?: string;
    errorResult?: { message?: string; reason?: string; location?: string };
    errors?: { message?: string; reason?: string; location?: string }[];
  };
  statistics?: { load?: { outputRows?: string; badRecords?: string } };
}

/** How the split SQL spells what differs: BigQuery, or DuckDB for the runnable twin in tests. */
export interface LoadSqlEngine {
  typeName(t: LoadColumnType): string;
  safeCast(expr: string, t: LoadColumnType): string;
  /** Whole-string match of an anchored or unanchored pattern. */
  matches(expr: string, pattern: string): string;
  /** The row as JSON text, for the quarantine. */
  rowJson(alias: string): string;
  timestamp(iso: string): string;
  partitionClause(expr: string | undefined, clusterBy: string[]): string;
  quote(name: string): string;
  /** A string literal. */
  lit(value: string): string;
  /** `delete` (BigQuery's FROM is optional) or `delete from`. */
  deleteFrom: string;
}

const BQ_TYPES: Record<LoadColumnType, string> = {
  string: "STRING",
  integer: "INT64",
  number: "FLOAT64",
  boolean: "BOOL",
  date: "DATE",
  timestamp: "TIMESTAMP",
};

export const bigqueryLoadSql: LoadSqlEngine = {
  typeName: (t) => BQ_TYPES[t],
  safeCast: (e, t) => `safe_cast(${e} as ${BQ_TYPES[t]})`,
  matches: (e, p) => `regexp_contains(${e}, ${bqLit(anchored(p))})`,
  rowJson: (a) => `to_json_string(${a})`,
  timestamp: (iso) => `timestamp ${bqLit(iso)}`,
  partitionClause: (expr, cluster) =>
    `${expr ? `partition by ${expr}` : ""}${cluster.length ? ` cluster by ${cluster.slice(0, 4).join(", ")}` : ""}`.trim(),
  quote: (n) => `\`${n}\``,
  lit: (v) => bqLit(v),
  deleteFrom: "delete",
};

const DUCK_TYPES: Record<LoadColumnType, string> = {
  string: "VARCHAR",
  integer: "BIGINT",
  number: "DOUBLE",
  boolean: "BOOLEAN",
  date: "DATE",
  timestamp: "TIMESTAMP",
};

/** BigQuery's split logic in DuckDB's spelling (tests run it as the BigQuery statements' twin). */
export const duckdbLoadSql: LoadSqlEngine = {
  typeName: (t) => DUCK_TYPES[t],
  safeCast: (e, t) => `try_cast(${e} as ${DUCK_TYPES[t]})`,
  matches: (e, p) => `regexp_matches(${e}, ${sqlStr(anchored(p))})`,
  rowJson: (a) => `cast(to_json(${a}) as varchar)`,
  timestamp: (iso) => `cast(${sqlStr(iso)} as timestamp)`,
  partitionClause: () => "",
  quote: (n) => `"${n}"`,
  lit: (v) => sqlStr(v),
  deleteFrom: "delete from",
};

/** A staged batch's way into bronze, in three parts (see `LoadResult.publish`). */
export interface LoadScript {
  /** Idempotent DDL: the bronze table and the quarantine (BigQuery runs no DDL in a transaction). */
  setup: string[];
  /** DML only, so it can run inside BEGIN/COMMIT TRANSACTION with the caller's bookkeeping. */
  statements: string[];
  /** Drops the staging table. */
  cleanup: string[];
}

/**
 * The statements that move a staged batch into bronze and the quarantine. Rerunning a batch first
 * deletes its rows, so a retried load does not duplicate them. Rows that pass the contract but
 * repeat a primary key of this batch are quarantined as the local bronze stage words it
 * ("duplicate key (id=C1), first seen on line 2"); the first one (lowest `_line`) is kept. Without
 * `lines` the staging table has no line numbers: any duplicate may be kept and the line reads "?".
 */
export function loadScript(
  engine: LoadSqlEngine,
  spec: LoadTableSpec,
  staging: string,
  batch: {
    batchId: string;
    ingestedAt: string;
    badRecordErrors?: string[];
    lines?: boolean;
    reason?: LoadBatch["reason"];
  },
): LoadScript {
  const target = `bronze.${spec.name}`;
  const q = engine.quote;
  const str = engine.typeName("string");
  // the cell as text, blank = NULL, as the checks see it and a reason shows it (before a decimal
  // comma is turned): a string without its leading and trailing spaces (`trim(x, ' ')`, as the
  // local stage), other types trimmed
  const cell = (c: LoadTableSpec["columns"][number]) =>
    c.type === "string" ? `nullif(trim(s.${q(c.name)}, ' '), '')` : `nullif(trim(s.${q(c.name)}), '')`;
  const value = (c: LoadTableSpec["columns"][number]) => {
    const v = cell(c);
    return c.type === "number" && c.decimal === "," ? `replace(${v}, ',', '.')` : v;
  };
  // what bronze holds: a string as delivered (only an empty cell is NULL), others typed from value
  const stored = (c: LoadTableSpec["columns"][number]) =>
    c.type === "string" ? `nullif(s.${q(c.name)}, '')` : engine.safeCast(value(c), c.type);
  const checks = spec.columns.flatMap((c) => {
    const v = value(c);
    const typed = engine.safeCast(v, c.type);
    const out: [string, string][] = [];
    const why = (rule: LoadRuleKind, own: string) =>
      batch.reason ? batch.reason(c, rule, cell(c), engine.lit) : engine.lit(own);
    if (!c.nullable) out.push([`${v} is not null`, why("empty", `${c.name}: empty`)]);
    if (c.type === "integer") {
      // a pattern too, so "1.5" is refused on both engines (DuckDB would round it)
      out.push([
        `${v} is null or (${typed} is not null and ${engine.matches(v, "[+-]?[0-9]+")})`,
        why("type", `${c.name}: not an integer`),
      ]);
    } else if (c.type !== "string")
      out.push([`${v} is null or ${typed} is not null`, why("type", `${c.name}: not a ${c.type}`)]);
    // a range is checked on a value of the column's type only: one that is not is refused (and
    // worded) by the type check alone, as the local bronze stage does
    const inType =
      c.type === "integer"
        ? `(${typed} is not null and ${engine.matches(v, "[+-]?[0-9]+")})`
        : `${typed} is not null`;
    if (c.min !== undefined)
      out.push([`not ${inType} or ${typed} >= ${c.min}`, why("below", `${c.name}: below ${c.min}`)]);
    if (c.max !== undefined)
      out.push([`not ${inType} or ${typed} <= ${c.max}`, why("above", `${c.name}: above ${c.max}`)]);
    if (c.enum)
      out.push([
        `${v} is null or ${v} in (${c.enum.map(engine.lit).join(", ")})`,
        why("enum", `${c.name}: not one of ${c.enum.join(", ")}`),
      ]);
    if (c.pattern)
      out.push([
        `${v} is null or ${engine.matches(v, c.pattern)}`,
        why("pattern", `${c.name}: does not match ${c.pattern}`),
      ]);
    return out;
  });
  // coalesce(…, false): a failed cast makes a range check null, which must count as failing
  const ok = checks.length ? checks.map(([cond]) => `coalesce(${cond}, false)`).join("\n    and ") : "true";
  const broken = checks.map(([cond, why]) => `case when not coalesce(${cond}, false) then ${why} end`);
  // the caller's wording names every broken rule (as the local path does); the loader's the first
  const reason = !checks.length
    ? `cast(null as ${str})`
    : batch.reason
      ? `array_to_string([${broken.join(", ")}], '; ')`
      : `coalesce(${broken.join(", ")})`;
  const event = spec.columns.find((c) => c.name === spec.eventTime);
  const partition = event
    ? event.type === "timestamp"
      ? `timestamp_trunc(${q(event.name)}, month)`
      : event.type === "date"
        ? `date_trunc(${q(event.name)}, month)`
        : undefined
    : "timestamp_trunc(_ingested_at, month)";
  const layout = engine.partitionClause(partition, spec.primaryKey.map(q));
  const columns = spec.columns.map((c) => `${q(c.name)} ${engine.typeName(c.type)}`).join(", ");
  const batchId = engine.lit(batch.batchId);
  const at = engine.timestamp(batch.ingestedAt);
  const quarantineLayout = engine.partitionClause("timestamp_trunc(quarantined_at, month)", ["table_name"]);
  // Duplicate keys among the rows that pass: ranked by line within the key (typed, as bronze has it).
  const keyCols = spec.primaryKey
    .map((k) => spec.columns.find((c) => c.name === k))
    .filter((c) => c !== undefined);
  const keys = keyCols.map((c) => engine.safeCast(value(c), c.type));
  const line = batch.lines ? "s._line" : `cast(null as ${engine.typeName("integer")})`;
  const ranked = (extra: string) =>
    keys.length
      ? `(select ${extra}, row_number() over (partition by ${keys.join(", ")} order by ${line}) as _dup_rank, min(${line}) over (partition by ${keys.join(", ")}) as _first_line from ${staging} as s where ${ok})`
      : `(select ${extra}, 1 as _dup_rank, cast(null as ${engine.typeName("integer")}) as _first_line from ${staging} as s where ${ok})`;
  const keyDesc = keyCols
    .map((c, i) => `${engine.lit(`${c.name}=`)} || coalesce(cast(d._k${i} as ${str}), 'NULL')`)
    .join(" || ', ' || ");
  const statements = [
    `${engine.deleteFrom} ${target} where _batch_id = ${batchId}`,
    `${engine.deleteFrom} bronze._quarantine where table_name = ${engine.lit(spec.name)} and batch_id = ${batchId}`,
    // columns named: a bronze table may hold them in another order (a column added by ALTER is last)
    `insert into ${target} (${[...spec.columns.map((c) => q(c.name)), "_batch_id", "_ingested_at"].join(", ")}) select ${spec.columns
      .map((c) => `${stored(c)} as ${q(c.name)}`)
      .join(
        ", ",
      )}, ${batchId} as _batch_id, ${at} as _ingested_at from ${ranked("s.*")} as s where s._dup_rank = 1`,
    `insert into bronze._quarantine select ${engine.lit(spec.name)} as table_name, ${batchId} as batch_id, ${reason} as reason, ${engine.rowJson("s")} as record, ${at} as quarantined_at from ${staging} as s where not (${ok})`,
    ...(keys.length
      ? [
          `insert into bronze._quarantine select ${engine.lit(spec.name)} as table_name, ${batchId} as batch_id, 'duplicate key (' || ${keyDesc} || '), first seen on line ' || coalesce(cast(d._first_line as ${str}), '?') as reason, d._record as record, ${at} as quarantined_at from ${ranked(`${engine.rowJson("s")} as _record, ${keys.map((k, i) => `${k} as _k${i}`).join(", ")}`)} as d where d._dup_rank > 1`,
        ]
      : []),
    ...(batch.badRecordErrors ?? []).map(
      (message) =>
        `insert into bronze._quarantine values (${engine.lit(spec.name)}, ${batchId}, ${engine.lit(`unreadable: ${message}`)}, cast(null as ${str}), ${at})`,
    ),
  ];
  return {
    setup: [
      `create table if not exists ${target} (${columns}, _batch_id ${str}, _ingested_at ${engine.typeName("timestamp")})${layout ? ` ${layout}` : ""}`,
      `create table if not exists bronze._quarantine (table_name ${str}, batch_id ${str}, reason ${str}, record ${str}, quarantined_at ${engine.typeName("timestamp")})${quarantineLayout ? ` ${quarantineLayout}` : ""}`,
    ],
    statements,
    // the load job just created it
    cleanup: [`drop table ${staging}`],
  };
}

/** `loadScript` as one list: setup, publish, cleanup (what `loadFiles` runs when not deferred). */
export function loadStatements(
  engine: LoadSqlEngine,
  spec: LoadTableSpec,
  staging: string,
  batch: { batchId: string; ingestedAt: string; badRecordErrors?: string[]; lines?: boolean },
): string[] {
  const s = loadScript(engine, spec, staging, batch);
  return [...s.setup, ...s.statements, ...s.cleanup];
}

/** Loads delivered files from Cloud Storage into bronze through BigQuery load jobs. */
export class BigQueryLoader {
  private readonly jobs: BigQueryJobsLike;
  private readonly warehouse: ScriptRunner;
  private readonly project: string;
  private readonly location: string;
  private readonly maxBadRecords: number;
  private readonly pollMs: number;

  constructor(opts: {
    jobs: BigQueryJobsLike;
    warehouse: ScriptRunner;
    project: string;
    location: string;
    /** Unparseable lines a load tolerates (they go to the quarantine); more fail the load. */
    maxBadRecords?: number;
    pollMs?: number;
  }) {
    this.jobs = opts.jobs;
    this.warehouse = opts.warehouse;
    this.project = opts.project;
    this.location = opts.location;
    this.maxBadRecords = opts.maxBadRecords ?? 1000;
    this.pollMs = opts.pollMs ?? 1000;
  }

  async load(spec: LoadTableSpec, batch: LoadBatch): Promise<LoadResult> {
    if (batch.uris.length === 0 || batch.uris.some((u) => !u.startsWith("gs://"))) {
      throw new TelcoError(
        "bad_input",
        `${spec.name}: load needs gs:// URIs, got ${batch.uris.join(", ") || "none"}`,
      );
    }
    if (!/^[A-Za-z0-9_-]+$/.test(batch.batchId)) {
      throw new TelcoError("bad_input", `batch id "${batch.batchId}" may hold letters, digits, _ and - only`);
    }
    const stagingTable = `_load_${spec.name}_${batch.batchId.replaceAll("-", "_")}`;
    const lines = batch.lines === true && spec.format === "jsonl";
    const [job] = await this.jobs.createJob({
      location: this.location,
      jobPrefix: `telco_load_${spec.name}_`,
      configuration: {
        load: {
          sourceUris: batch.uris,
          sourceFormat: spec.format === "csv" ? "CSV" : "NEWLINE_DELIMITED_JSON",
          ...(spec.format === "csv"
            ? { skipLeadingRows: 1, allowQuotedNewlines: true, fieldDelimiter: spec.delimiter ?? "," }
            : {}),
          // JSONL maps keys to fields by name (the REST reference's NEWLINE_DELIMITED_JSON); keys the
          // contract does not know are dropped, not failed (the caller reports extra columns)
          ...(spec.format === "jsonl" ? { ignoreUnknownValues: true } : {}),
          // every column as STRING: typing happens in SQL, where a bad value quarantines its row
          schema: {
            fields: [
              ...spec.columns.map((c) => ({ name: c.name, type: "STRING", mode: "NULLABLE" })),
              ...(lines ? [{ name: "_line", type: "INTEGER", mode: "NULLABLE" }] : []),
            ],
          },
          destinationTable: {
            projectId: this.project,
            datasetId: this.warehouse.dataset("bronze"),
            tableId: stagingTable,
          },
          createDisposition: "CREATE_IF_NEEDED",
          writeDisposition: "WRITE_TRUNCATE",
          maxBadRecords: this.maxBadRecords,
        },
      },
    });
    const meta = await this.waitDone(job);
    if (meta.status?.errorResult) {
      const e = meta.status.errorResult;
      throw new TelcoError(
        "load_failed",
        `loading ${batch.uris.join(", ")} into bronze.${spec.name} failed: ${e.message ?? e.reason ?? "unknown error"}`,
        {
          hint: "Check the files against the contract (columns, delimiter); more than maxBadRecords unreadable lines fail the whole load.",
          details: { errors: meta.status.errors ?? [] },
        },
      );
    }
    const badRecordErrors = (meta.status?.errors ?? []).map(
      (e) => `${e.location ? `${e.location}: ` : ""}${e.message ?? e.reason ?? "unreadable"}`,
    );
    const script = loadScript(bigqueryLoadSql, spec, `bronze.${stagingTable}`, {
      batchId: batch.batchId,
      ingestedAt: batch.ingestedAt,
      badRecordErrors,
      lines,
      reason: batch.reason,
    });
    if (!batch.deferPublish) {
      // One script, one job: BigQuery keeps no session between calls.
      await this.warehouse.exec(`${[...script.setup, ...script.statements, ...script.cleanup].join(";\n")};`);
    }
    return {
      ...(batch.deferPublish ? { publish: script } : {}),
      table: `bronze.${spec.name}`,
      staging: `bronze.${stagingTable}`,
      jobId: job.id ?? "",
      stagedRows: Number(meta.statistics?.load?.outputRows ?? 0),
      badRecords: Number(meta.statistics?.load?.badRecords ?? 0),
      badRecordErrors,
    };
  }

  private async waitDone(job: BigQueryJobLike): Promise<LoadJobMetadata> {
    for (;;) {
      const [meta] = await job.getMetadata();
      if (meta.status?.state === "DONE") return meta;
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }
}

/** The slice of the client that looks a job up by id (jobs.get). */
export interface BigQueryJobLookup {
  job(id: string, options: { location?: string }): BigQueryJobLike;
}

/**
 * How a job ended, by its id (jobs.get): DONE without errorResult is done, DONE with one failed,
 * any other state running; a 404 means the job was never created (its insert never arrived).
 */
export async function bigqueryJobOutcome(
  client: BigQueryJobLookup,
  jobId: string,
  location: string,
): Promise<JobOutcome> {
  let meta: LoadJobMetadata;
  try {
    [meta] = await client.job(jobId, { location }).getMetadata();
  } catch (err) {
    if ((err as { code?: number }).code === 404) return { state: "missing" };
    throw err;
  }
  if (meta.status?.state !== "DONE") return { state: "running" };
  const e = meta.status.errorResult;
  return e ? { state: "failed", message: e.message ?? e.reason ?? "unknown error" } : { state: "done" };
}

/** BigQuery reads backslash escapes in string literals (and no doubled quote). */
function bqLit(v: string): string {
  return `'${v.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

function sqlStr(v: string): string {
  return `'${v.replaceAll("'", "''")}'`;
}

function anchored(p: string): string {
  return `${p.startsWith("^") ? "" : "^"}${p}${p.endsWith("$") ? "" : "$"}`;
}
