import { closeSync, openSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "../../platform/errors.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import type { ColumnType, ContractColumn, DataContract } from "./contract.ts";
import type { FileScan } from "./scan.ts";
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
}

/** Short labels for reject counts, keyed by the phrase the reason text contains. */
const REASON_LABELS: Record<string, string> = {
  "duplicate key": "duplicate key",
  "ragged row": "ragged row",
  "not a JSON object": "invalid JSON",
  "empty value": "null in non-nullable",
  "is not a valid": "wrong type",
  "below minimum": "out of range",
  "above maximum": "out of range",
  "not an allowed value": "not in enum",
  "does not match pattern": "pattern mismatch",
};

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
 * DuckDB: read every cell as VARCHAR, TRY_CAST to the contract types and build a list of
 * reasons per row in SQL. Rows with no reason (and first of their key) are bronze; the rest
 * are rejects with their real file line number. Writes only inside `stagingDir`.
 */
export async function stageBronze(wh: Warehouse, input: BronzeInput): Promise<BronzeResult> {
  const { contract, scan, deliveredAs, stagingDir } = input;
  const warnings: string[] = [];
  const maxLine = Math.max(2 * 1024 * 1024, scan.maxRecordBytes + 1024);
  const bufferSize = Math.max(16 * 1024 * 1024, 2 * maxLine);
  // src(columns): name in file → SQL expression yielding the raw VARCHAR cell.
  let raw: Map<string, string>;
  let extra: string[];
  let reader: string;
  let lineExpr: string;
  let joins = "";
  // Structural problems: non-object JSON lines are known while reading; ragged CSV rows only
  // after, from the scan (joined on row id).
  let preInline = "NULL::VARCHAR";
  let blankInline = "FALSE";
  let raggedError = "NULL::VARCHAR";
  let jsonFast = false;
  let keys: string[] = [];

  if (scan.format === "csv") {
    const header = scan.header ?? [];
    ({ extra } = checkHeader(contract, header, deliveredAs));
    const colSpec = header.map((_, i) => `${lit(`c${i}`)}: 'VARCHAR'`).join(", ");
    const delim = contract.delimiter ?? ",";
    // Short rows need null_padding, which DuckDB only supports with the serial reader; clean
    // files keep the parallel one. Long rows are cut to the header by strict_mode=false.
    const padding = scan.ragged.some((r) => r.fields < header.length);
    reader = `read_csv(${lit(scan.path)}, header=true, auto_detect=false, delim=${lit(delim)}, quote='"', escape='"', columns={${colSpec}}, null_padding=${padding}, parallel=${!padding}, strict_mode=false, max_line_size=${maxLine}, buffer_size=${bufferSize})`;
    raw = new Map(header.map((h, i) => [h, ident(`c${i}`)]));
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
    keys = sampleJsonKeys(scan.path);
    if (keys.length === 0) {
      throw new ValidationError(deliveredAs, "no line at the start of the file is a JSON object", {
        details: { path: scan.path },
      });
    }
    ({ extra } = checkHeader(contract, keys, deliveredAs));
    lineExpr = "s._rec + 1";
    // Fast path: DuckDB's vectorised read_json, valid when every line is a JSON object and
    // there are no blank lines (then row order = line order). Otherwise read lines as text and
    // parse each one, so a bad line becomes a reject with its line number.
    jsonFast = scan.blankLines === 0;
    const all = [...contract.columns.map((c) => c.name).filter((n) => keys.includes(n)), ...extra];
    reader = `read_json(${lit(scan.path)}, format='newline_delimited', records=true, columns={${all.map((n) => `${lit(n)}: 'VARCHAR'`).join(", ")}}, maximum_object_size=${maxLine})`;
    raw = new Map(all.map((n) => [n, ident(n)]));
  }
  if (extra.length > 0) {
    warnings.push(
      `${deliveredAs}: unexpected column(s) ${extra.join(", ")} not in contract ${contract.name} v${contract.version}; kept in bronze as text`,
    );
  }

  const typed = contract.columns.map((c, i) => typedColumn(c, raw.get(c.name), i));
  const errors = ["_pre", ...contract.columns.flatMap((c, i) => columnErrors(c, i))];
  const pk = contract.primaryKey.map((k) => `t${contract.columns.findIndex((c) => c.name === k)}`);
  const rawCols = () => contract.columns.map((c, i) => `${raw.get(c.name) ?? "NULL::VARCHAR"} AS r${i}`);
  const extraCols = () => extra.map((e, i) => `${raw.get(e)} AS x${i}`);
  // One parallel pass reads, types and checks every row: _stage keeps typed values, the verdict
  // and (for failing rows only) the raw cells needed to explain the reject.
  const stageSql = () => {
    const inner = `SELECT ${[...rawCols(), ...extraCols()].join(", ")}, ${preInline} AS _pre, ${blankInline} AS _blank FROM ${reader}`;
    const withTyped = `SELECT *, ${typed.join(", ")} FROM (${inner})`;
    const checked = `SELECT *, coalesce(${errors.join(", ")}) IS NULL AS _ok0 FROM (${withTyped})`;
    const cols = [
      ...contract.columns.map((_, i) => `t${i}`),
      ...extra.map((_, i) => `x${i}`),
      "_pre",
      "_blank",
      "_ok0",
      ...contract.columns.map((_, i) => `CASE WHEN NOT _ok0 THEN r${i} END AS r${i}`),
    ];
    return `CREATE OR REPLACE TEMP TABLE _stage AS SELECT ${cols.join(", ")} FROM (${checked})`;
  };
  if (scan.format === "jsonl" && jsonFast) {
    jsonFast = await wh.exec(stageSql()).then(
      () => true,
      () => false,
    );
  }
  if (scan.format === "jsonl" && !jsonFast) {
    const all = [...contract.columns.map((c) => c.name).filter((n) => keys.includes(n)), ...extra];
    const struct = `{${all.map((n) => `${JSON.stringify(n)}: "VARCHAR"`).join(", ")}}`;
    reader = `(SELECT j, CASE WHEN json_valid(j) AND json_type(j) = 'OBJECT' THEN from_json(j, ${lit(struct)}) END AS _obj FROM read_csv(${lit(scan.path)}, header=false, auto_detect=false, delim='\\x01', quote='', escape='', columns={'j': 'VARCHAR'}, strict_mode=false, max_line_size=${maxLine}, buffer_size=${bufferSize}))`;
    raw = new Map(all.map((n) => [n, `_obj[${lit(n)}]`]));
    preInline = "CASE WHEN _obj IS NULL THEN 'not a JSON object: ' || left(j, 80) END";
    blankInline = "(j IS NULL OR trim(j) = '')";
    typed.splice(0, typed.length, ...contract.columns.map((c, i) => typedColumn(c, raw.get(c.name), i)));
  }
  if (scan.format === "csv" || !jsonFast) await wh.exec(stageSql());
  const source = `(SELECT rowid AS _rec, * FROM _stage) s${joins}`;
  const classified = `(SELECT s._rec, ${lineExpr} AS _line, ${[...contract.columns.map((_, i) => `s.t${i}`), ...extra.map((_, i) => `s.x${i}`), ...contract.columns.map((_, i) => `s.r${i}`)].join(", ")}, s._ok0 AND ${raggedError} IS NULL AS _ok, coalesce(${raggedError}, s._pre) AS _pre FROM ${source} WHERE NOT s._blank)`;
  const keepRow = "NOT s._blank";
  // Duplicate keys among otherwise valid rows: the first occurrence (lowest line) is kept.
  await wh.exec(
    `CREATE OR REPLACE TEMP TABLE _dups AS SELECT ${pk.join(", ")}, min(_rec) AS _first_rec, min(_line) AS _first_line FROM ${classified} WHERE _ok GROUP BY ${pk.join(", ")} HAVING count(*) > 1`,
  );
  const joined = `${classified} c LEFT JOIN _dups d ON ${pk.map((k) => `c.${k} = d.${k}`).join(" AND ")}`;
  const good = "c._ok AND (d._first_rec IS NULL OR c._rec = d._first_rec)";
  const recordJson = `to_json(struct_pack(${contract.columns.map((c, i) => `${ident(c.name)} := r${i}`).join(", ")}))`;
  const reasonList = `array_to_string(list_filter([${errors.join(", ")}], x -> x IS NOT NULL), '; ')`;
  // Rows that only failed the ragged check have no stored raw cells: their typed values are valid, so
  // their text form stands in (it passes every per-column rule again).
  const restored = `(SELECT * REPLACE (${contract.columns.map((_, i) => `coalesce(r${i}, CAST(t${i} AS VARCHAR)) AS r${i}`).join(", ")}) FROM ${classified})`;
  const withReasons = `(SELECT *, CASE WHEN NOT _ok THEN ${reasonList} END AS _reason, CASE WHEN NOT _ok THEN ${recordJson} END AS _record FROM ${restored})`;
  const joinedReasons = `${withReasons} c LEFT JOIN _dups d ON ${pk.map((k) => `c.${k} = d.${k}`).join(" AND ")}`;

  const ingestedAt = lit(input.ingestedAt.toISOString().replace("T", " ").replace("Z", ""));
  const bronzeFile = join(stagingDir, "bronze.parquet");
  const outCols = [
    ...contract.columns.map((c, i) => `c.t${i} AS ${ident(c.name)}`),
    ...extra.map((e, i) => `c.x${i} AS ${ident(e)}`),
    `${lit(deliveredAs)} AS _source_file`,
    "c._line AS _line",
    `${lit(input.batchId)} AS _batch_id`,
    `${ingestedAt}::TIMESTAMP AS _ingested_at`,
  ];
  // COPY reports how many rows it wrote: no extra pass to count them.
  const [written] = await wh.query<{ Count: number }>(
    `COPY (SELECT ${outCols.join(", ")} FROM ${joined} WHERE ${good}) TO ${lit(bronzeFile)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  const keyDesc = contract.primaryKey
    .map((k, j) => `${lit(`${k}=`)} || coalesce(CAST(c.${pk[j]} AS VARCHAR), 'NULL')`)
    .join(" || ', ' || ");
  const reason = `CASE WHEN c._ok THEN 'duplicate key (' || ${keyDesc} || '), first seen on line ' || d._first_line ELSE c._reason END`;
  const [total] = await wh.query<{ n: number }>(`SELECT count(*) AS n FROM ${source} WHERE ${keepRow}`);
  const counts = { rows: Number(written.Count), rejects: Number(total.n) - Number(written.Count) };
  let rejectsFile: string | undefined;
  const rejectReasons: Record<string, number> = {};
  if (Number(counts.rejects) > 0) {
    rejectsFile = join(stagingDir, "rejects.parquet");
    const dupRecord = `to_json(struct_pack(${contract.columns.map((col, i) => `${ident(col.name)} := c.t${i}`).join(", ")}))`;
    await wh.exec(
      `COPY (SELECT ${lit(contract.dataset)} AS dataset, ${lit(contract.name)} AS table_name, ${lit(deliveredAs)} AS source_file, c._line::BIGINT AS line, ${reason} AS reason, CASE WHEN c._ok THEN ${dupRecord} ELSE c._record END AS record, ${lit(input.batchId)} AS batch_id, ${ingestedAt}::TIMESTAMP AS ingested_at FROM ${joinedReasons} WHERE NOT (${good}) ORDER BY c._rec) TO ${lit(rejectsFile)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const kinds = await wh.query<{ kind: string; n: number }>(
      `SELECT CASE WHEN reason LIKE 'duplicate key%' THEN 'duplicate key' ELSE regexp_extract(reason, '(ragged row|not a JSON object|empty value|is not a valid|below minimum|above maximum|not an allowed value|does not match pattern)') END AS kind, count(*) AS n FROM read_parquet(${lit(rejectsFile)}) GROUP BY 1 ORDER BY 2 DESC`,
    );
    for (const k of kinds) {
      const label = REASON_LABELS[k.kind] ?? "other";
      rejectReasons[label] = (rejectReasons[label] ?? 0) + Number(k.n);
    }
  }
  await wh.exec(
    "DROP TABLE IF EXISTS _stage; DROP TABLE IF EXISTS _dups; DROP TABLE IF EXISTS _rag; DROP TABLE IF EXISTS _bp",
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
  };
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

/** Blank-to-NULL: strings keep their spaces, other types are trimmed first. */
function blank(c: ContractColumn, i: number): string {
  return c.type === "string" ? `NULLIF(r${i}, '')` : `NULLIF(trim(r${i}), '')`;
}

function typedColumn(c: ContractColumn, present: string | undefined, i: number): string {
  if (present === undefined) return `NULL::${DUCKDB_TYPES[c.type]} AS t${i}`;
  const b = blank(c, i);
  return c.type === "string" ? `${b} AS t${i}` : `TRY_CAST(${b} AS ${DUCKDB_TYPES[c.type]}) AS t${i}`;
}

/** One nullable reason string per rule of the column; NULL when the rule holds. */
function columnErrors(c: ContractColumn, i: number): string[] {
  const b = blank(c, i);
  const t = `t${i}`;
  const name = c.name.replaceAll("'", "''");
  const shown = `left(${b}, 60)`;
  const out: string[] = [];
  if (!c.nullable)
    out.push(`CASE WHEN ${b} IS NULL THEN '${name}: empty value in a non-nullable column' END`);
  if (c.type === "integer") {
    out.push(
      `CASE WHEN ${b} IS NOT NULL AND (${t} IS NULL OR TRY_CAST(${b} AS DOUBLE) <> ${t}) THEN '${name}: "' || ${shown} || '" is not a valid integer' END`,
    );
  } else if (c.type !== "string") {
    out.push(
      `CASE WHEN ${b} IS NOT NULL AND ${t} IS NULL THEN '${name}: "' || ${shown} || '" is not a valid ${c.type}' END`,
    );
  }
  if (c.min !== undefined && (c.type === "integer" || c.type === "number")) {
    out.push(`CASE WHEN ${t} < ${c.min} THEN '${name}: ' || ${b} || ' is below minimum ${c.min}' END`);
  }
  if (c.max !== undefined && (c.type === "integer" || c.type === "number")) {
    out.push(`CASE WHEN ${t} > ${c.max} THEN '${name}: ' || ${b} || ' is above maximum ${c.max}' END`);
  }
  if (c.enum) {
    out.push(
      `CASE WHEN ${b} IS NOT NULL AND ${b} NOT IN (${c.enum.map(lit).join(", ")}) THEN '${name}: "' || ${shown} || '" is not an allowed value' END`,
    );
  }
  if (c.pattern) {
    out.push(
      `CASE WHEN ${b} IS NOT NULL AND NOT regexp_full_match(${b}, ${lit(c.pattern)}) THEN '${name}: "' || ${shown} || '" does not match pattern ${c.pattern.replaceAll("'", "''")}' END`,
    );
  }
  return out;
}
