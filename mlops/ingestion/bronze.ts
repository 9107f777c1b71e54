import { closeSync, openSync, readSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "../../platform/errors.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import type { ColumnType, ContractColumn, DataContract } from "./contract.ts";
import { labelCounts, type RuleKind, reasonKindSql, ruleReasonSql } from "./reasons.ts";
import { type FileScan, scanFile } from "./scan.ts";
import { ident, lit } from "./sql.ts";

/** DuckDB type each contract type is stored as from bronze on. */
export const DUCKDB_TYPES: Record<ColumnType, string> = {
  string: "VARCHAR",
  integer: "BIGINT",
  number: "DOUBLE",
  boolean: "BOOLEAN",
  date: "DATE",
  timestamp: "TIMESTAMP",
};

/** Columns bronze adds to every row: where it came from and when. */
export const BRONZE_META_COLUMNS = ["_source_file", "_line", "_batch_id", "_ingested_at"] as const;

export interface BronzeInput {
  contract: DataContract;
  scan: FileScan;
  /** Path of the file as delivered (shown in rejects and messages). */
  deliveredAs: string;
  batchId: string;
  ingestedAt: Date;
  /** Local staging folder for this file (Parquet outputs and helper files). */
  stagingDir: string;
  /**
   * Try the contract-typed read first (default true). `false` forces the text pass; tests use it
   * to prove both passes give the same bronze rows and rejects.
   */
  typedRead?: boolean;
}

export interface BronzeResult {
  table: string;
  rows: number;
  rejects: number;
  /** Reject counts by first reason kind (type, enum, duplicate key, …). */
  rejectReasons: Record<string, number>;
  warnings: string[];
  extraColumns: string[];
  bronzeFile: string;
  rejectsFile: string | undefined;
  /** Which pass produced bronze: the contract-typed read, or the text (VARCHAR + TRY_CAST) pass. */
  pass: "typed" | "text";
}

/**
 * How the typed read asks DuckDB for each contract type. Integers are read as DOUBLE: DuckDB's
 * BIGINT reader rounds "1.5" to 2, which the contract rejects, so integrality is checked in SQL.
 */
const TYPED_READ: Record<ColumnType, string> = {
  string: "VARCHAR",
  integer: "DOUBLE",
  number: "DOUBLE",
  boolean: "BOOLEAN",
  date: "DATE",
  timestamp: "TIMESTAMP",
};

/** 2^53: integers read as DOUBLE are exact below it; larger ones go to the text pass. */
const EXACT_DOUBLE_INT = 9007199254740992;

/** A relation over one delivered file: `_rec` (record index) plus one SQL expression per cell. */
interface Reader {
  from: string;
  cells: Map<string, string>;
  /** Structural problem of the record (NULL when none), e.g. a line that is not a JSON object. */
  pre: string;
  /** TRUE for records to skip (blank JSONL lines). */
  blank: string;
}

/**
 * Whether the typed read may parse this column as its contract type and still give exactly
 * what the text pass gives: a pattern or enum is checked on the delivered text, so those columns
 * stay text. In JSON, DuckDB turns `true` into 1 for a number column and `2` into true for a
 * boolean one (the text pass rejects both), so JSON booleans stay text, and JSON numbers are
 * read typed only when the scan found no `true`/`false` anywhere in the file.
 */
function readsTyped(c: ContractColumn, scan: FileScan): boolean {
  if (c.type === "string" || c.pattern !== undefined || c.enum !== undefined) return false;
  // A decimal comma is turned into a point on the text before the cast (text pass).
  if (c.decimal === ",") return false;
  if (scan.format === "jsonl") {
    if (c.type === "boolean") return false;
    if ((c.type === "integer" || c.type === "number") && scan.booleanLiterals > 0) return false;
  }
  return true;
}

/** Schema of the rejects Parquet files (bronze.rejects). */
export const REJECT_COLUMNS =
  "dataset VARCHAR, table_name VARCHAR, source_file VARCHAR, line BIGINT, reason VARCHAR, record VARCHAR, batch_id VARCHAR, ingested_at TIMESTAMP";

/**
 * Checks the header against the contract: a missing required column fails the file (nothing is
 * written); an unexpected column is kept as VARCHAR and reported as a warning.
 */
export function checkHeader(
  contract: DataContract,
  header: string[],
  file: string,
): { extra: string[]; missingOptional: string[] } {
  const seen = new Set<string>();
  for (const h of header) {
    if (h.trim() === "") throw new ValidationError(file, "the header has an empty column name");
    if (seen.has(h)) throw new ValidationError(file, `the header repeats column "${h}"`);
    seen.add(h);
  }
  const missing = contract.columns.filter((c) => !seen.has(c.name));
  const missingRequired = missing.filter((c) => c.required).map((c) => c.name);
  if (missingRequired.length > 0) {
    throw new ValidationError(
      file,
      `missing required column(s) ${missingRequired.join(", ")} (contract ${contract.name} v${contract.version})`,
      {
        hint: `The contract is ${contract.dataset}/${contract.name}.json; fix the export or version the contract.`,
        details: { missing: missingRequired, header },
      },
    );
  }
  const known = new Set(contract.columns.map((c) => c.name));
  return {
    extra: header.filter((h) => !known.has(h)),
    missingOptional: missing.map((c) => c.name),
  };
}

/**
 * Parses one delivered file into a bronze Parquet file plus a rejects Parquet file, all in
 * DuckDB. First try: read the file with the contract's types (DuckDB parses numbers and dates
 * itself, as its own loader does) and evaluate the remaining rules on typed values. That read
 * only counts when DuckDB raised no cast error and every record passed; otherwise the file goes
 * through the text pass: every cell as VARCHAR, TRY_CAST to the contract types and a reason per
 * failed rule, so rejects name file, line and field. Both give the same bronze rows (tested).
 * Writes only inside `stagingDir`.
 */
export async function stageBronze(wh: Warehouse, input: BronzeInput): Promise<BronzeResult> {
  const { contract, scan, deliveredAs, stagingDir } = input;
  const warnings: string[] = [];
  const maxLine = Math.max(2 * 1024 * 1024, scan.maxRecordBytes + 1024);
  const bufferSize = Math.max(16 * 1024 * 1024, 2 * maxLine);
  let extra: string[];
  let names: string[];
  let lineExpr: string;
  let joins = "";
  let raggedError = "NULL::VARCHAR";
  // Builds the reader for a set of columns read with contract types (the rest as VARCHAR).
  let reader: (typedCols: ReadonlySet<string>) => Reader;

  if (scan.format === "csv") {
    const header = scan.header ?? [];
    ({ extra } = checkHeader(contract, header, deliveredAs));
    names = header;
    const delim = contract.delimiter ?? ",";
    // Short rows need null_padding, which DuckDB only supports with the serial reader; clean
    // files keep the parallel one. Long rows are cut to the header by strict_mode=false.
    const padding = scan.ragged.some((r) => r.fields < header.length);
    const typeOf = new Map(contract.columns.map((c) => [c.name, c.type]));
    const decimalComma = new Set(contract.columns.filter((c) => c.decimal === ",").map((c) => c.name));
    const cell = (h: string, i: number) =>
      decimalComma.has(h) ? `replace(${ident(`c${i}`)}, ',', '.')` : ident(`c${i}`);
    reader = (typedCols) => {
      const colSpec = header
        .map((h, i) => {
          const t = typeOf.get(h);
          return `${lit(`c${i}`)}: ${lit(t && typedCols.has(h) ? TYPED_READ[t] : "VARCHAR")}`;
        })
        .join(", ");
      // Unless the scan counted fields, DuckDB's strict mode is what refuses a ragged row.
      const strict = !scan.raggedChecked;
      const from = `read_csv(${lit(scan.path)}, header=true, auto_detect=false, delim=${lit(delim)}, quote='"', escape='"', columns={${colSpec}}, null_padding=${padding}, parallel=${!padding}, strict_mode=${strict}, max_line_size=${maxLine}, buffer_size=${bufferSize})`;
      return {
        from: `(SELECT ordinality - 1 AS _rec, * EXCLUDE (ordinality) FROM ${from} WITH ORDINALITY)`,
        cells: new Map(header.map((h, i) => [h, cell(h, i)])),
        pre: "NULL::VARCHAR",
        blank: "FALSE",
      };
    };
    lineExpr = await lineNumbers(wh, scan, stagingDir);
    if (lineExpr.includes("_bp")) joins += " ASOF LEFT JOIN _bp ON s._rec >= _bp.record";
    if (scan.ragged.length > 0) {
      const file = join(stagingDir, "ragged.csv");
      writeFileSync(file, `record,fields\n${scan.ragged.map((r) => `${r.record},${r.fields}`).join("\n")}\n`);
      await wh.exec(
        `CREATE OR REPLACE TEMP TABLE _rag AS SELECT * FROM read_csv(${lit(file)}, header=true, columns={'record': 'BIGINT', 'fields': 'BIGINT'})`,
      );
      joins += " LEFT JOIN _rag ON _rag.record = s._rec";
      raggedError = `CASE WHEN _rag.fields IS NOT NULL THEN 'ragged row: ' || _rag.fields || ' fields, header has ${header.length}' END`;
    }
  } else {
    const keys = sampleJsonKeys(scan.path);
    if (keys.length === 0) {
      throw new ValidationError(deliveredAs, "no line at the start of the file is a JSON object", {
        details: { path: scan.path },
      });
    }
    ({ extra } = checkHeader(contract, keys, deliveredAs));
    names = [...contract.columns.map((c) => c.name).filter((n) => keys.includes(n)), ...extra];
    lineExpr = "s._rec + 1";
    const typeOf = new Map(contract.columns.map((c) => [c.name, c.type]));
    // DuckDB's vectorised read_json: valid when every line is a JSON object and there are no
    // blank lines (then row order = line order).
    reader = (typedCols) => {
      const spec = names.map((n) => {
        const t = typeOf.get(n);
        return `${lit(n)}: ${lit(t && typedCols.has(n) ? TYPED_READ[t] : "VARCHAR")}`;
      });
      const from = `read_json(${lit(scan.path)}, format='newline_delimited', records=true, columns={${spec.join(", ")}}, maximum_object_size=${maxLine}) WITH ORDINALITY`;
      return {
        from: `(SELECT ordinality - 1 AS _rec, * EXCLUDE (ordinality) FROM ${from})`,
        cells: new Map(names.map((n) => [n, ident(n)])),
        pre: "NULL::VARCHAR",
        blank: "FALSE",
      };
    };
  }
  if (extra.length > 0) {
    warnings.push(
      `${deliveredAs}: unexpected column(s) ${extra.join(", ")} not in contract ${contract.name} v${contract.version}; kept in bronze as text`,
    );
  }

  // Every row, typed and checked, streamed straight from the reader (no temp table: materialising
  // the file in DuckDB cost as much as parsing it). `_rec` is the record index from WITH ORDINALITY,
  // which DuckDB numbers correctly under its parallel CSV/JSON readers.
  const checkedSql = (r: Reader, typedCols: ReadonlySet<string>) => {
    const rules = contract.columns.flatMap((c, i) => columnRules(c, i, typedCols.has(c.name)));
    const violated = ["_pre IS NOT NULL", ...rules.map(([cond]) => `(${cond})`)].join(" OR ");
    const cells = [
      ...contract.columns.map((c, i) => `${r.cells.get(c.name) ?? "NULL::VARCHAR"} AS r${i}`),
      ...extra.map((e, i) => `${r.cells.get(e)} AS x${i}`),
    ];
    const blanks = contract.columns.map((c, i) => `${blank(c, i, typedCols.has(c.name))} AS b${i}`);
    const typed = contract.columns.map((c, i) =>
      typedColumn(c, r.cells.get(c.name), i, typedCols.has(c.name)),
    );
    const inner = `SELECT _rec, ${cells.join(", ")}, ${r.pre} AS _pre, ${r.blank} AS _blank FROM ${r.from}`;
    const withTyped = `SELECT *, ${typed.join(", ")} FROM (SELECT *, ${blanks.join(", ")} FROM (${inner}))`;
    const withChecks = `SELECT s.* REPLACE (coalesce(${raggedError}, s._pre) AS _pre), ${lineExpr} AS _line FROM (${withTyped}) s${joins} WHERE NOT s._blank`;
    return `(SELECT *, (${violated}) IS NOT TRUE AS _ok FROM (${withChecks}))`;
  };
  // Joins against the scan's small tables (ASOF for line numbers) do not keep file order.
  const order = joins ? " ORDER BY c._rec" : "";
  const ingestedAt = lit(input.ingestedAt.toISOString().replace("T", " ").replace("Z", ""));
  const bronzeFile = join(stagingDir, "bronze.parquet");
  const candidateFile = join(stagingDir, "candidate.parquet");
  const outCols = [
    ...contract.columns.map((c, i) => `c.t${i} AS ${ident(c.name)}`),
    ...extra.map((e, i) => `c.x${i} AS ${ident(e)}`),
    ...(contract.rowId ? [`${lit(`${deliveredAs}:`)} || c._line AS ${ident(contract.rowId)}`] : []),
    `${lit(deliveredAs)} AS _source_file`,
    "c._line AS _line",
    `${lit(input.batchId)} AS _batch_id`,
    `${ingestedAt}::TIMESTAMP AS _ingested_at`,
  ];
  // Rows passing every per-row rule go to Parquet in one single-threaded pass. COPY reports how many
  // rows it wrote, so a clean file (every scanned record written) needs no second pass.
  const copyGood = async (r: Reader, typedCols: ReadonlySet<string>) => {
    const [res] = await serial(wh, () =>
      wh.query<{ Count: number }>(
        `COPY (SELECT ${outCols.join(", ")} FROM ${checkedSql(r, typedCols)} c WHERE c._ok${order}) TO ${lit(candidateFile)} (FORMAT parquet, COMPRESSION zstd)`,
      ),
    );
    return Number(res.Count);
  };

  // 1. Typed read: only when the scan found nothing structural (ragged rows, blank JSON lines).
  const typedCols = new Set(
    contract.columns.filter((c) => names.includes(c.name) && readsTyped(c, scan)).map((c) => c.name),
  );
  const tryTyped =
    input.typedRead !== false &&
    typedCols.size > 0 &&
    (scan.format === "csv" ? scan.ragged.length === 0 : scan.blankLines === 0);
  // The text pass needs every ragged row named, so a CSV scanned line by line is rescanned
  // with field counts before it.
  const textWithFieldCounts = async () => {
    const full = await scanFile(scan.path, {
      format: "csv",
      delimiter: contract.delimiter,
      countFields: true,
    });
    return stageBronze(wh, { ...input, scan: full, typedRead: false });
  };
  if (scan.format === "csv" && !scan.raggedChecked && !tryTyped) return textWithFieldCounts();
  let pass: BronzeResult["pass"] = "text";
  let written = -1;
  if (tryTyped) {
    // A cast error (DuckDB stops at the first one) or any failing row sends the file to the
    // text pass, which names every reason; the typed attempt's output is discarded.
    const n = await copyGood(reader(typedCols), typedCols).catch(() => -1);
    if (n === scan.records) {
      pass = "typed";
      written = n;
    } else {
      rmSync(candidateFile, { force: true });
      if (scan.format === "csv" && !scan.raggedChecked) return textWithFieldCounts();
    }
  }

  // 2. Text pass: every cell VARCHAR, TRY_CAST and a reason per failed rule.
  const none = new Set<string>();
  let text = reader(none);
  if (pass === "text") {
    let jsonFast = scan.format === "jsonl" && scan.blankLines === 0;
    if (jsonFast) {
      written = await copyGood(text, none).catch(() => -1);
      jsonFast = written >= 0;
    }
    if (scan.format === "jsonl" && !jsonFast) {
      // Read lines as text and parse each one, so a line that is not a JSON object becomes a
      // reject with its line number.
      const struct = `{${names.map((n) => `${JSON.stringify(n)}: "VARCHAR"`).join(", ")}}`;
      text = {
        from: `(SELECT ordinality - 1 AS _rec, j, CASE WHEN json_valid(j) AND json_type(j) = 'OBJECT' THEN from_json(j, ${lit(struct)}) END AS _obj FROM read_csv(${lit(scan.path)}, header=false, auto_detect=false, delim='\\x01', quote='', escape='', columns={'j': 'VARCHAR'}, strict_mode=false, max_line_size=${maxLine}, buffer_size=${bufferSize}) WITH ORDINALITY)`,
        cells: new Map(names.map((n) => [n, `_obj[${lit(n)}]`])),
        pre: "CASE WHEN _obj IS NULL THEN 'not a JSON object: ' || left(j, 80) END",
        blank: "(j IS NULL OR trim(j) = '')",
      };
    }
    if (scan.format === "csv" || !jsonFast) written = await copyGood(text, none);
  }

  // 3. Rejects (only when some record was not written): the failing rows with every reason.
  const badFile = join(stagingDir, "rejects-rules.parquet");
  let bad = 0;
  if (written !== scan.records) {
    const rules = contract.columns.flatMap((c, i) => columnRules(c, i, false));
    const errors = ["_pre", ...rules.map(([cond, msg]) => `CASE WHEN ${cond} THEN ${msg} END`)];
    const recordJson = `to_json(struct_pack(${contract.columns.map((c, i) => `${ident(c.name)} := r${i}`).join(", ")}))`;
    const reasonList = `array_to_string(list_filter([${errors.join(", ")}], x -> x IS NOT NULL), '; ')`;
    const [r] = await wh.query<{ Count: number }>(
      `COPY (SELECT ${lit(contract.dataset)} AS dataset, ${lit(contract.name)} AS table_name, ${lit(deliveredAs)} AS source_file, c._line::BIGINT AS line, ${reasonList} AS reason, ${recordJson} AS record, ${lit(input.batchId)} AS batch_id, ${ingestedAt}::TIMESTAMP AS ingested_at FROM ${checkedSql(text, none)} c WHERE NOT c._ok ORDER BY c._rec) TO ${lit(badFile)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    bad = Number(r.Count);
  }

  // Duplicate keys among valid rows: the first occurrence (lowest line) is kept. Looking for a
  // repeated 64-bit hash of the key is much cheaper than grouping the key strings; exact keys are
  // compared only for the (usually zero) hashes seen twice.
  // A string key is compared as the checks see it (without its spaces, as on BigQuery and in
  // silver): " c1" repeats "c1".
  const keyType = new Map(contract.columns.map((c) => [c.name, c.type]));
  const keyOf = (k: string, a = "") =>
    keyType.get(k) === "string" ? `NULLIF(trim(${a}${ident(k)}, ' '), '')` : `${a}${ident(k)}`;
  const pkCols = contract.primaryKey.map((k) => keyOf(k));
  const cand = `read_parquet(${lit(candidateFile)})`;
  const dupFile = join(stagingDir, "rejects-dups.parquet");
  let dups = 0;
  // Repeated hashes are found by sorting the hashes and comparing neighbours: at 18 M keys the
  // sort (radix, sequential memory) costs ~3 CPU-s against 6–8 for a GROUP BY hash table, whose
  // random probes miss the caches (not a spill: a 4 GB memory limit costs the same).
  const [hashDups] = await wh.query<{ Count: number }>(
    `CREATE OR REPLACE TEMP TABLE _duph AS SELECT DISTINCT h FROM (SELECT h, lag(h) OVER (ORDER BY h) AS p FROM (SELECT hash(${pkCols.join(", ")}) AS h FROM ${cand})) WHERE h = p`,
  );
  if (Number(hashDups.Count) > 0) {
    await wh.exec(
      `CREATE OR REPLACE TEMP TABLE _dups AS SELECT ${pkCols.map((k, j) => `${k} AS _k${j}`).join(", ")}, min(_line) AS _first_line FROM ${cand} WHERE hash(${pkCols.join(", ")}) IN (SELECT h FROM _duph) GROUP BY ${pkCols.join(", ")} HAVING count(*) > 1`,
    );
    const on = contract.primaryKey.map((k, j) => `${keyOf(k, "c.")} = d._k${j}`).join(" AND ");
    const keyDesc = contract.primaryKey
      .map((k, j) => `${lit(`${k}=`)} || coalesce(CAST(d._k${j} AS VARCHAR), 'NULL')`)
      .join(" || ', ' || ");
    const dupRecord = `to_json(struct_pack(${contract.columns.map((col) => `${ident(col.name)} := c.${ident(col.name)}`).join(", ")}))`;
    const [r] = await wh.query<{ Count: number }>(
      `COPY (SELECT ${lit(contract.dataset)} AS dataset, ${lit(contract.name)} AS table_name, ${lit(deliveredAs)} AS source_file, c._line::BIGINT AS line, 'duplicate key (' || ${keyDesc} || '), first seen on line ' || d._first_line AS reason, ${dupRecord} AS record, ${lit(input.batchId)} AS batch_id, ${ingestedAt}::TIMESTAMP AS ingested_at FROM ${cand} c JOIN _dups d ON ${on} WHERE c._line <> d._first_line ORDER BY c._line) TO ${lit(dupFile)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    dups = Number(r.Count);
    await wh.exec(
      `COPY (SELECT c.* FROM ${cand} c LEFT JOIN _dups d ON ${on} WHERE d._first_line IS NULL OR c._line = d._first_line ORDER BY c._line) TO ${lit(bronzeFile)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    rmSync(candidateFile, { force: true });
  } else {
    renameSync(candidateFile, bronzeFile);
  }
  const counts = { rows: written - dups, rejects: bad + dups };

  let rejectsFile: string | undefined;
  const rejectReasons: Record<string, number> = {};
  if (counts.rejects > 0) {
    rejectsFile = join(stagingDir, "rejects.parquet");
    if (bad > 0 && dups > 0) {
      await wh.exec(
        `COPY (SELECT * FROM read_parquet([${lit(badFile)}, ${lit(dupFile)}]) ORDER BY line) TO ${lit(rejectsFile)} (FORMAT parquet, COMPRESSION zstd)`,
      );
    } else renameSync(bad > 0 ? badFile : dupFile, rejectsFile);
    const kinds = await wh.query<{ kind: string; n: number }>(
      `SELECT ${reasonKindSql("reason")} AS kind, count(*) AS n FROM read_parquet(${lit(rejectsFile)}) GROUP BY 1 ORDER BY 2 DESC`,
    );
    Object.assign(rejectReasons, labelCounts(kinds));
  }
  await wh.exec(
    "DROP TABLE IF EXISTS _duph; DROP TABLE IF EXISTS _dups; DROP TABLE IF EXISTS _rag; DROP TABLE IF EXISTS _bp",
  );
  return {
    table: contract.name,
    rows: Number(counts.rows),
    rejects: Number(counts.rejects),
    rejectReasons,
    warnings,
    extraColumns: extra,
    bronzeFile,
    rejectsFile,
    pass,
  };
}

/**
 * Runs `fn` with DuckDB limited to one thread, then restores the previous setting. The checked
 * COPY numbers records `WITH ORDINALITY`, which makes DuckDB run the pipeline in file order
 * anyway: at 1M a second thread only added CPU (invoice_items.jsonl 36.0 CPU-s in 18.1 s with
 * two threads, 12.7 in 12.7 s with one; usage_monthly.csv 12.5–22.1 against 8.9–10.1).
 */
async function serial<T>(wh: Warehouse, fn: () => Promise<T>): Promise<T> {
  const [cur] = await wh.query<{ t: number }>("SELECT current_setting('threads')::BIGINT AS t");
  await wh.exec("SET threads = 1");
  try {
    return await fn();
  } finally {
    await wh.exec(`SET threads = ${Number(cur.t)}`);
  }
}

/** Keys of the JSON objects in the first ~1 MB of a JSONL file (header check for JSONL). */
function sampleJsonKeys(path: string): string[] {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(1024 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const keys = new Set<string>();
    const lines = buf.subarray(0, n).toString("utf8").split("\n");
    if (n === buf.length) lines.pop(); // last line may be cut
    for (const line of lines.slice(0, 2000)) {
      try {
        const v: unknown = JSON.parse(line);
        if (v && typeof v === "object" && !Array.isArray(v)) for (const k of Object.keys(v)) keys.add(k);
      } catch {
        // a bad line becomes a reject later; it just adds no keys here
      }
    }
    return [...keys];
  } finally {
    closeSync(fd);
  }
}

/** SQL for a record's line number: a constant offset, or an ASOF join over the scan's breakpoints. */
async function lineNumbers(wh: Warehouse, scan: FileScan, stagingDir: string): Promise<string> {
  if (scan.lineBreakpoints.length <= 1) return `s._rec + ${scan.lineBreakpoints[0]?.offset ?? 2}`;
  const file = join(stagingDir, "lines.csv");
  writeFileSync(
    file,
    `record,offset\n${scan.lineBreakpoints.map((b) => `${b.record},${b.offset}`).join("\n")}\n`,
  );
  await wh.exec(
    `CREATE OR REPLACE TEMP TABLE _bp AS SELECT * FROM read_csv(${lit(file)}, header=true, columns={'record': 'BIGINT', 'offset': 'BIGINT'})`,
  );
  return "s._rec + _bp.offset";
}

/**
 * Blank-to-NULL, the value the contract checks see: a string without its leading and trailing
 * spaces (`trim(x, ' ')`, the same on BigQuery: " SP" passes an enum, an all-space cell is empty),
 * other types trimmed. Bronze keeps a string as delivered (typedColumn). A typed cell is already
 * NULL when empty (DuckDB refuses a blank that is not empty, sending the file to the text pass).
 */
function blank(c: ContractColumn, i: number, typed: boolean): string {
  if (typed) return `r${i}`;
  return c.type === "string" ? `NULLIF(trim(r${i}, ' '), '')` : `NULLIF(trim(r${i}), '')`;
}

/** Typed value of column i, computed from its blank-to-NULL cell `b{i}` (NULL when absent). */
function typedColumn(c: ContractColumn, present: string | undefined, i: number, typed: boolean): string {
  if (present === undefined) return `NULL::${DUCKDB_TYPES[c.type]} AS t${i}`;
  if (typed) return c.type === "integer" ? `TRY_CAST(b${i} AS BIGINT) AS t${i}` : `b${i} AS t${i}`;
  // a string goes to bronze as delivered (only an empty cell is NULL); the checks see b{i}
  return c.type === "string"
    ? `NULLIF(r${i}, '') AS t${i}`
    : `TRY_CAST(b${i} AS ${DUCKDB_TYPES[c.type]}) AS t${i}`;
}

/**
 * The rules of a column as [violated, reason] SQL pairs over `b{i}` (blank-to-NULL cell) and
 * `t{i}` (typed value). The verdict only needs the cheap boolean; the reason text is built for
 * failing rows only, always by the text pass. A typed column (see readsTyped) was parsed by
 * DuckDB, so only emptiness, range and — for integers read as DOUBLE — integrality remain.
 */
function columnRules(c: ContractColumn, i: number, typed: boolean): [string, string][] {
  const b = `b${i}`;
  const t = `t${i}`;
  // the reason texts are the ones the gcp path renders too (reasons.ts)
  const why = (rule: RuleKind) => ruleReasonSql(c.name, c, rule, b, lit);
  const out: [string, string][] = [];
  if (!c.nullable) out.push([`${b} IS NULL`, why("empty")]);
  if (typed && c.type === "integer") {
    // Not whole, or too large to be exact in a DOUBLE: the text pass decides (and words it).
    out.push([
      `${b} IS NOT NULL AND (${b} <> trunc(${b}) OR abs(${b}) >= ${EXACT_DOUBLE_INT})`,
      `${lit(`${c.name}: `)} || ${b} || ' is not a whole number'`,
    ]);
  } else if (!typed && c.type === "integer") {
    out.push([`${b} IS NOT NULL AND (${t} IS NULL OR TRY_CAST(${b} AS DOUBLE) <> ${t})`, why("type")]);
  } else if (!typed && c.type !== "string") {
    out.push([`${b} IS NOT NULL AND ${t} IS NULL`, why("type")]);
  }
  // A range is checked on a value of the column's type only ("1.5" in an integer column is refused
  // as not an integer, not also as out of range), as the gcp path does.
  const whole = !typed && c.type === "integer" ? ` AND TRY_CAST(${b} AS DOUBLE) = ${t}` : "";
  if (c.min !== undefined && (c.type === "integer" || c.type === "number")) {
    out.push([`${t} < ${c.min}${whole}`, why("below")]);
  }
  if (c.max !== undefined && (c.type === "integer" || c.type === "number")) {
    out.push([`${t} > ${c.max}${whole}`, why("above")]);
  }
  if (c.enum) {
    out.push([`${b} IS NOT NULL AND ${b} NOT IN (${c.enum.map(lit).join(", ")})`, why("enum")]);
  }
  if (c.pattern) {
    const glob = patternAsGlob(c.pattern);
    const matches =
      glob === undefined ? `regexp_full_match(${b}, ${lit(c.pattern)})` : `${b} GLOB ${lit(glob)}`;
    out.push([`${b} IS NOT NULL AND NOT ${matches}`, why("pattern")]);
  }
  return out;
}

/**
 * The same test as an anchored regex made only of ASCII literals and character ranges with fixed
 * counts (`^AUR-[0-9]{8}$`, every pattern the shipped contracts use), as a GLOB pattern
 * (`AUR-[0-9][0-9]…`): DuckDB's GLOB is a plain byte matcher, about half the cost of RE2 per row.
 * Both match only ASCII at those positions, so they accept exactly the same strings (tested).
 * Undefined for anything else (alternation, `*`, `+`, `?`, groups…), which stays a regex.
 */
export function patternAsGlob(pattern: string): string | undefined {
  if (!pattern.startsWith("^") || !pattern.endsWith("$")) return undefined;
  const body = pattern.slice(1, -1);
  let out = "";
  let i = 0;
  while (i < body.length) {
    const ch = body[i];
    let atom: string;
    if (ch === "[") {
      const range = /^\[([0-9]-[0-9]|[a-z]-[a-z]|[A-Z]-[A-Z])\]/.exec(body.slice(i));
      if (!range || range[1][0] > range[1][2]) return undefined;
      atom = range[0];
      i += range[0].length;
    } else if (ch === "\\") {
      const next = body[i + 1] ?? "";
      if (!/^[.()\-/+:#, ]$/.test(next)) return undefined;
      atom = next;
      i += 2;
    } else if (/^[A-Za-z0-9 \-_,:/#@=%&]$/.test(ch)) {
      atom = ch;
      i += 1;
    } else return undefined;
    const count = /^\{([0-9]{1,3})\}/.exec(body.slice(i));
    if (count) i += count[0].length;
    out += atom.repeat(count ? Number(count[1]) : 1);
  }
  return out;
}
