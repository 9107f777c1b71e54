import { closeSync, openSync, readSync, renameSync, rmSync, writeFileSync } from "node:fs";
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
    reader = `(SELECT ordinality - 1 AS _rec, * EXCLUDE (ordinality) FROM ${reader} WITH ORDINALITY)`;
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
    reader = `read_json(${lit(scan.path)}, format='newline_delimited', records=true, columns={${all.map((n) => `${lit(n)}: 'VARCHAR'`).join(", ")}}, maximum_object_size=${maxLine}) WITH ORDINALITY`;
    reader = `(SELECT ordinality - 1 AS _rec, * EXCLUDE (ordinality) FROM ${reader})`;
    raw = new Map(all.map((n) => [n, ident(n)]));
  }
  if (extra.length > 0) {
    warnings.push(
      `${deliveredAs}: unexpected column(s) ${extra.join(", ")} not in contract ${contract.name} v${contract.version}; kept in bronze as text`,
    );
  }

  const typed = contract.columns.map((c, i) => typedColumn(c, raw.get(c.name), i));
  const rules = contract.columns.flatMap((c, i) => columnRules(c, i));
  // Reasons (NULL when the rule holds) for the rejects pass; the verdict ORs the bare conditions.
  const errors = ["_pre", ...rules.map(([cond, msg]) => `CASE WHEN ${cond} THEN ${msg} END`)];
  const violated = ["_pre IS NOT NULL", ...rules.map(([cond]) => `(${cond})`)].join(" OR ");
  const blanks = contract.columns.map((c, i) => `${blank(c, i)} AS b${i}`);
  const rawCols = () => contract.columns.map((c, i) => `${raw.get(c.name) ?? "NULL::VARCHAR"} AS r${i}`);
  const extraCols = () => extra.map((e, i) => `${raw.get(e)} AS x${i}`);
  // Every row, typed and checked, streamed straight from the reader (no temp table: materialising
  // the file in DuckDB cost as much as parsing it). `_rec` is the record index from WITH ORDINALITY,
  // which DuckDB numbers correctly under its parallel CSV/JSON readers.
  const checkedSql = () => {
    const inner = `SELECT _rec, ${[...rawCols(), ...extraCols()].join(", ")}, ${preInline} AS _pre, ${blankInline} AS _blank FROM ${reader}`;
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
    `${lit(deliveredAs)} AS _source_file`,
    "c._line AS _line",
    `${lit(input.batchId)} AS _batch_id`,
    `${ingestedAt}::TIMESTAMP AS _ingested_at`,
  ];
  // Pass 1: rows passing every per-row rule go to Parquet in one parallel pass. COPY reports how
  // many rows it wrote, so a clean file (every scanned record written) needs no second pass.
  const copyGood = () =>
    wh.query<{ Count: number }>(
      `COPY (SELECT ${outCols.join(", ")} FROM ${checkedSql()} c WHERE c._ok${order}) TO ${lit(candidateFile)} (FORMAT parquet, COMPRESSION zstd)`,
    );
  let written: number;
  if (scan.format === "jsonl" && jsonFast) {
    const r = await copyGood().catch(() => undefined);
    jsonFast = r !== undefined;
    written = r ? Number(r[0].Count) : 0;
  } else written = 0;
  if (scan.format === "jsonl" && !jsonFast) {
    const all = [...contract.columns.map((c) => c.name).filter((n) => keys.includes(n)), ...extra];
    const struct = `{${all.map((n) => `${JSON.stringify(n)}: "VARCHAR"`).join(", ")}}`;
    reader = `(SELECT ordinality - 1 AS _rec, j, CASE WHEN json_valid(j) AND json_type(j) = 'OBJECT' THEN from_json(j, ${lit(struct)}) END AS _obj FROM read_csv(${lit(scan.path)}, header=false, auto_detect=false, delim='\\x01', quote='', escape='', columns={'j': 'VARCHAR'}, strict_mode=false, max_line_size=${maxLine}, buffer_size=${bufferSize}) WITH ORDINALITY)`;
    raw = new Map(all.map((n) => [n, `_obj[${lit(n)}]`]));
    preInline = "CASE WHEN _obj IS NULL THEN 'not a JSON object: ' || left(j, 80) END";
    blankInline = "(j IS NULL OR trim(j) = '')";
    typed.splice(0, typed.length, ...contract.columns.map((c, i) => typedColumn(c, raw.get(c.name), i)));
  }
  if (scan.format === "csv" || !jsonFast) written = Number((await copyGood())[0].Count);

  // Pass 2 (only when some record was not written): the failing rows with every reason.
  const badFile = join(stagingDir, "rejects-rules.parquet");
  let bad = 0;
  if (written !== scan.records) {
    const recordJson = `to_json(struct_pack(${contract.columns.map((c, i) => `${ident(c.name)} := r${i}`).join(", ")}))`;
    const reasonList = `array_to_string(list_filter([${errors.join(", ")}], x -> x IS NOT NULL), '; ')`;
    const [r] = await wh.query<{ Count: number }>(
      `COPY (SELECT ${lit(contract.dataset)} AS dataset, ${lit(contract.name)} AS table_name, ${lit(deliveredAs)} AS source_file, c._line::BIGINT AS line, ${reasonList} AS reason, ${recordJson} AS record, ${lit(input.batchId)} AS batch_id, ${ingestedAt}::TIMESTAMP AS ingested_at FROM ${checkedSql()} c WHERE NOT c._ok ORDER BY c._rec) TO ${lit(badFile)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    bad = Number(r.Count);
  }

  // Duplicate keys among valid rows: the first occurrence (lowest line) is kept. Grouping on a
  // 64-bit hash of the key is much cheaper than on the key strings; exact keys are compared only
  // for the (usually zero) hashes seen twice.
  const pkCols = contract.primaryKey.map(ident);
  const cand = `read_parquet(${lit(candidateFile)})`;
  const dupFile = join(stagingDir, "rejects-dups.parquet");
  let dups = 0;
  const [hashDups] = await wh.query<{ Count: number }>(
    `CREATE OR REPLACE TEMP TABLE _duph AS SELECT hash(${pkCols.join(", ")}) AS h FROM ${cand} GROUP BY 1 HAVING count(*) > 1`,
  );
  if (Number(hashDups.Count) > 0) {
    await wh.exec(
      `CREATE OR REPLACE TEMP TABLE _dups AS SELECT ${pkCols.join(", ")}, min(_line) AS _first_line FROM ${cand} WHERE hash(${pkCols.join(", ")}) IN (SELECT h FROM _duph) GROUP BY ${pkCols.join(", ")} HAVING count(*) > 1`,
    );
    const on = pkCols.map((k) => `c.${k} = d.${k}`).join(" AND ");
    const keyDesc = contract.primaryKey
      .map((k) => `${lit(`${k}=`)} || coalesce(CAST(c.${ident(k)} AS VARCHAR), 'NULL')`)
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
      `SELECT CASE WHEN reason LIKE 'duplicate key%' THEN 'duplicate key' ELSE regexp_extract(reason, '(ragged row|not a JSON object|empty value|is not a valid|below minimum|above maximum|not an allowed value|does not match pattern)') END AS kind, count(*) AS n FROM read_parquet(${lit(rejectsFile)}) GROUP BY 1 ORDER BY 2 DESC`,
    );
    for (const k of kinds) {
      const label = REASON_LABELS[k.kind] ?? "other";
      rejectReasons[label] = (rejectReasons[label] ?? 0) + Number(k.n);
    }
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

/** Typed value of column i, computed from its blank-to-NULL cell `b{i}` (NULL when absent). */
function typedColumn(c: ContractColumn, present: string | undefined, i: number): string {
  if (present === undefined) return `NULL::${DUCKDB_TYPES[c.type]} AS t${i}`;
  return c.type === "string" ? `b${i} AS t${i}` : `TRY_CAST(b${i} AS ${DUCKDB_TYPES[c.type]}) AS t${i}`;
}

/**
 * The rules of a column as [violated, reason] SQL pairs over `b{i}` (blank-to-NULL cell) and
 * `t{i}` (typed value). The verdict only needs the cheap boolean; the reason text is built for
 * failing rows only.
 */
function columnRules(c: ContractColumn, i: number): [string, string][] {
  const b = `b${i}`;
  const t = `t${i}`;
  const name = c.name.replaceAll("'", "''");
  const shown = `left(${b}, 60)`;
  const out: [string, string][] = [];
  if (!c.nullable) out.push([`${b} IS NULL`, `'${name}: empty value in a non-nullable column'`]);
  if (c.type === "integer") {
    out.push([
      `${b} IS NOT NULL AND (${t} IS NULL OR TRY_CAST(${b} AS DOUBLE) <> ${t})`,
      `'${name}: "' || ${shown} || '" is not a valid integer'`,
    ]);
  } else if (c.type !== "string") {
    out.push([
      `${b} IS NOT NULL AND ${t} IS NULL`,
      `'${name}: "' || ${shown} || '" is not a valid ${c.type}'`,
    ]);
  }
  if (c.min !== undefined && (c.type === "integer" || c.type === "number")) {
    out.push([`${t} < ${c.min}`, `'${name}: ' || ${b} || ' is below minimum ${c.min}'`]);
  }
  if (c.max !== undefined && (c.type === "integer" || c.type === "number")) {
    out.push([`${t} > ${c.max}`, `'${name}: ' || ${b} || ' is above maximum ${c.max}'`]);
  }
  if (c.enum) {
    out.push([
      `${b} IS NOT NULL AND ${b} NOT IN (${c.enum.map(lit).join(", ")})`,
      `'${name}: "' || ${shown} || '" is not an allowed value'`,
    ]);
  }
  if (c.pattern) {
    out.push([
      `${b} IS NOT NULL AND NOT regexp_full_match(${b}, ${lit(c.pattern)})`,
      `'${name}: "' || ${shown} || '" does not match pattern ${c.pattern.replaceAll("'", "''")}'`,
    ]);
  }
  return out;
}
