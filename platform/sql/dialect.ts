import { ValidationError } from "../errors.ts";

/**
 * SQL dialects of the warehouse adapters (DuckDB locally, BigQuery on GCP).
 *
 * Layout: domain SQL lives in `.sql` templates beside the code that runs it (mlops/features/sql,
 * mlops/ingestion/sql) and is written once, in SQL both engines accept (conditional aggregates as
 * `max(case when … end)`, `row_number()` subqueries instead of QUALIFY, `string`/`integer` types).
 * Only what truly differs is written as a dialect function call, `@name(arg, …)`, which
 * `renderDialect` expands through a `SqlDialect`. The expansions live here, one small function each,
 * so the whole difference between the engines reads on one screen.
 *
 * `bigqueryLogicOnDuckdb` composes BigQuery's renderings from DuckDB's function names: it is the
 * BigQuery statement's logic, runnable on DuckDB, which tests use as the BigQuery twin.
 */

export type DialectName = "duckdb" | "bigquery";

export interface SqlDialect {
  readonly name: DialectName;
  /** Whether a temp table outlives one call (DuckDB connection) or not (BigQuery: one job each). */
  readonly tempTables: boolean;
  /** CAST to a 64-bit float. */
  float(expr: string): string;
  /** CAST to text. */
  string(expr: string): string;
  /** A DATE as a TIMESTAMP at midnight, for comparing with TIMESTAMP columns. */
  ts(date: string): string;
  /** Aggregate: true when any row is true. */
  anyTrue(expr: string): string;
  /** The DATE `n` days before / after `date` (`n` a literal). */
  daysBefore(date: string, n: string): string;
  daysAfter(date: string, n: string): string;
  /** The DATE `n` months before / after `date` (`n` a literal or an integer expression). */
  monthsBefore(date: string, n: string): string;
  monthsAfter(date: string, n: string): string;
  /** Whole days from DATE `a` to DATE `b`. */
  daysBetween(a: string, b: string): string;
  /** Minutes from TIMESTAMP `a` to TIMESTAMP `b`, counted as minute boundaries crossed. */
  minutesBetween(a: string, b: string): string;
  /** Complete months / years from DATE `a` to DATE `b` (a <= b), as DuckDB's date_sub counts them. */
  monthsBetween(a: string, b: string): string;
  yearsBetween(a: string, b: string): string;
  /** A FROM item yielding one DATE column `column` per month from `first` to `last`. */
  monthSeries(first: string, last: string, column: string): string;
  /** CREATE OR REPLACE TABLE … AS, partitioned and clustered where the engine has it. */
  createTableAs(table: string, select: string, opts?: { partitionBy?: string; clusterBy?: string[] }): string;
  /** Text `expr` cast to `type`, NULL where it does not cast (ingestion's type inference and checks). */
  safeCast(expr: string, type: CastType): string;
  /** Aggregate: rows where `cond` is true. */
  countIf(cond: string): string;
  /** Whether the whole of text `expr` matches `pattern` (a regular expression without anchors). */
  fullMatch(expr: string, pattern: string): string;
}

/** Types ingestion casts text to. */
export type CastType = "integer" | "number" | "boolean" | "date" | "timestamp";

/** DuckDB, as the local warehouse has always run it. */
export const duckdbDialect: SqlDialect = {
  name: "duckdb",
  tempTables: true,
  float: (e) => `cast(${e} as double)`,
  string: (e) => `cast(${e} as varchar)`,
  // DuckDB compares TIMESTAMP with DATE directly.
  ts: (d) => d,
  anyTrue: (e) => `bool_or(${e})`,
  daysBefore: (d, n) => `(${d} - interval ${literal(n)} day)`,
  daysAfter: (d, n) => `(${d} + interval ${literal(n)} day)`,
  monthsBefore: (d, n) => `(${d} - to_months(${n}))`,
  monthsAfter: (d, n) => `(${d} + to_months(${n}))`,
  daysBetween: (a, b) => `date_diff('day', ${a}, ${b})`,
  minutesBetween: (a, b) => `date_diff('minute', ${a}, ${b})`,
  monthsBetween: (a, b) => `date_sub('month', ${a}, ${b})`,
  yearsBetween: (a, b) => `date_sub('year', ${a}, ${b})`,
  monthSeries: (first, last, column) =>
    `generate_series(${first}, ${last}, interval 1 month) as t(${identifier(column)})`,
  createTableAs: (table, select) => `create or replace table ${table} as ${select}`,
  safeCast: (e, t) => `try_cast(${e} as ${DUCKDB_CAST[t]})`,
  countIf: (c) => `count_if(${c})`,
  fullMatch: (e, p) => `regexp_full_match(${e}, ${quoteText(p)})`,
};

const DUCKDB_CAST: Record<CastType, string> = {
  integer: "bigint",
  number: "double",
  boolean: "boolean",
  date: "date",
  timestamp: "timestamp",
};

const BIGQUERY_CAST: Record<CastType, string> = {
  integer: "int64",
  number: "float64",
  boolean: "bool",
  date: "date",
  timestamp: "timestamp",
};

/** A string literal both engines read the same way (no backslashes or quotes inside). */
function quoteText(v: string): string {
  if (/['\\]/.test(v)) throw new ValidationError("sql", `pattern may not hold quotes or backslashes: ${v}`);
  return `'${v}'`;
}

/** The engine functions BigQuery's renderings are composed from. */
interface Functions {
  name: DialectName;
  float(e: string): string;
  string(e: string): string;
  ts(d: string): string;
  anyTrue(e: string): string;
  /** DATE ± interval, returning a DATE. */
  dateAdd(d: string, n: string, unit: "day" | "month"): string;
  dateSub(d: string, n: string, unit: "day" | "month"): string;
  /** Unit boundaries crossed from DATE a to DATE b. */
  dateDiff(a: string, b: string, unit: "day" | "month"): string;
  /** Minute boundaries crossed from TIMESTAMP a to TIMESTAMP b (DuckDB's date_diff('minute')). */
  minuteBoundaries(a: string, b: string): string;
  day(d: string): string;
  /** Integer division, rounding toward zero. */
  intDiv(a: string, b: string): string;
  lastDay(d: string): string;
  monthArray(first: string, last: string, column: string): string;
  partitionClause(partitionBy?: string, clusterBy?: string[]): string;
  /** BigQuery's SAFE_CAST in this engine's names (DuckDB's TRY_CAST rounds "1.5" to an integer). */
  safeCast(e: string, t: CastType): string;
  countIf(c: string): string;
  fullMatch(e: string, p: string): string;
}

const bigqueryFunctions: Functions = {
  name: "bigquery",
  float: (e) => `cast(${e} as float64)`,
  string: (e) => `cast(${e} as string)`,
  ts: (d) => `timestamp(${d})`,
  anyTrue: (e) => `logical_or(${e})`,
  dateAdd: (d, n, unit) => `date_add(${d}, interval ${n} ${unit})`,
  dateSub: (d, n, unit) => `date_sub(${d}, interval ${n} ${unit})`,
  dateDiff: (a, b, unit) => `date_diff(${b}, ${a}, ${unit})`,
  // timestamp_diff alone counts elapsed whole minutes; truncating both ends counts boundaries
  minuteBoundaries: (a, b) =>
    `timestamp_diff(timestamp_trunc(${b}, minute), timestamp_trunc(${a}, minute), minute)`,
  day: (d) => `extract(day from ${d})`,
  intDiv: (a, b) => `div(${a}, ${b})`,
  lastDay: (d) => `last_day(${d})`,
  monthArray: (first, last, column) =>
    `unnest(generate_date_array(${first}, ${last}, interval 1 month)) as ${identifier(column)}`,
  safeCast: (e, t) => `safe_cast(${e} as ${BIGQUERY_CAST[t]})`,
  countIf: (c) => `countif(${c})`,
  fullMatch: (e, p) => `regexp_contains(${e}, ${quoteText(`^(?:${p})$`)})`,
  partitionClause: (partitionBy, clusterBy) =>
    [
      partitionBy ? `partition by ${partitionBy}` : "",
      clusterBy && clusterBy.length > 0 ? `cluster by ${clusterBy.join(", ")}` : "",
    ]
      .filter(Boolean)
      .join(" "),
};

/** DuckDB's spelling of each function above, with BigQuery's semantics (DATE results, minute arithmetic). */
const duckdbFunctions: Functions = {
  name: "duckdb",
  float: (e) => `cast(${e} as double)`,
  string: (e) => `cast(${e} as varchar)`,
  ts: (d) => `cast(${d} as timestamp)`,
  anyTrue: (e) => `bool_or(${e})`,
  dateAdd: (d, n, unit) => `cast(${d} + to_${unit}s(${n}) as date)`,
  dateSub: (d, n, unit) => `cast(${d} - to_${unit}s(${n}) as date)`,
  dateDiff: (a, b, unit) => `date_diff('${unit}', ${a}, ${b})`,
  minuteBoundaries: (a, b) =>
    `cast((epoch(date_trunc('minute', ${b})) - epoch(date_trunc('minute', ${a}))) / 60 as bigint)`,
  day: (d) => `extract(day from ${d})`,
  intDiv: (a, b) => `(${a} // ${b})`,
  lastDay: (d) => `last_day(${d})`,
  monthArray: (first, last, column) =>
    `(select cast(d as date) as ${identifier(column)} from generate_series(${first}, ${last}, interval 1 month) as g(d))`,
  // BigQuery's SAFE_CAST to INT64 refuses "1.5" and " 1"; DuckDB's TRY_CAST would round or trim
  safeCast: (e, t) =>
    t === "integer"
      ? `case when regexp_full_match(${e}, '[+-]?[0-9]+') then try_cast(${e} as bigint) end`
      : t === "boolean"
        ? `case when lower(${e}) in ('true', 'false') then lower(${e}) = 'true' end`
        : `try_cast(${e} as ${DUCKDB_CAST[t]})`,
  countIf: (c) => `count_if(${c})`,
  fullMatch: (e, p) => `regexp_full_match(${e}, ${quoteText(p)})`,
  partitionClause: () => "",
};

/** BigQuery (GoogleSQL) renderings, spelt with `f`'s function names. */
function googleSql(f: Functions): SqlDialect {
  const monthsBetween = (a: string, b: string) =>
    // BigQuery's date_diff counts month boundaries; a month is complete once b's day reaches a's day,
    // or b is the last day of its month (DuckDB's date_sub rule, checked day by day in the tests).
    `(${f.dateDiff(a, b, "month")} - case when ${f.day(b)} < ${f.day(a)} and ${b} <> ${f.lastDay(b)} then 1 else 0 end)`;
  return {
    name: f.name,
    tempTables: false,
    float: f.float,
    string: f.string,
    ts: f.ts,
    anyTrue: f.anyTrue,
    daysBefore: (d, n) => f.dateSub(d, literal(n), "day"),
    daysAfter: (d, n) => f.dateAdd(d, literal(n), "day"),
    monthsBefore: (d, n) => f.dateSub(d, n, "month"),
    monthsAfter: (d, n) => f.dateAdd(d, n, "month"),
    daysBetween: (a, b) => f.dateDiff(a, b, "day"),
    minutesBetween: f.minuteBoundaries,
    monthsBetween,
    yearsBetween: (a, b) => f.intDiv(monthsBetween(a, b), "12"),
    monthSeries: f.monthArray,
    safeCast: f.safeCast,
    countIf: f.countIf,
    fullMatch: f.fullMatch,
    createTableAs: (table, select, opts) => {
      const clause = f.partitionClause(opts?.partitionBy, opts?.clusterBy);
      return `create or replace table ${table}${clause ? ` ${clause}` : ""} as ${select}`;
    },
  };
}

export const bigqueryDialect: SqlDialect = googleSql(bigqueryFunctions);

/** BigQuery's statement logic spelt in DuckDB's function names: the runnable twin used by tests. */
export const bigqueryLogicOnDuckdb: SqlDialect = googleSql(duckdbFunctions);

export function sqlDialect(name: DialectName): SqlDialect {
  return name === "bigquery" ? bigqueryDialect : duckdbDialect;
}

function literal(n: string): string {
  if (!/^\d+$/.test(n.trim()))
    throw new ValidationError("sql", `expected a whole number of days, got "${n}"`);
  return n.trim();
}

function identifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name.trim()))
    throw new ValidationError("sql", `bad column name "${name}"`);
  return name.trim();
}

/** The dialect functions a template may call, by their template name. */
const MACROS: Record<string, (d: SqlDialect, args: string[]) => string> = {
  float: (d, [e]) => d.float(e),
  string: (d, [e]) => d.string(e),
  ts: (d, [e]) => d.ts(e),
  any_true: (d, [e]) => d.anyTrue(e),
  days_before: (d, [e, n]) => d.daysBefore(e, n),
  days_after: (d, [e, n]) => d.daysAfter(e, n),
  months_before: (d, [e, n]) => d.monthsBefore(e, n),
  months_after: (d, [e, n]) => d.monthsAfter(e, n),
  days_between: (d, [a, b]) => d.daysBetween(a, b),
  minutes_between: (d, [a, b]) => d.minutesBetween(a, b),
  months_between: (d, [a, b]) => d.monthsBetween(a, b),
  years_between: (d, [a, b]) => d.yearsBetween(a, b),
  month_series: (d, [first, last, column]) => d.monthSeries(first, last, column),
};

const ARITY: Record<string, number> = {
  float: 1,
  string: 1,
  ts: 1,
  any_true: 1,
  month_series: 3,
};

/**
 * Expands every `@name(arg, …)` in `sql` through `dialect` (arguments may hold nested calls,
 * parentheses and quoted strings). Hand-written because it is a dozen lines of paren matching.
 */
export function renderDialect(sql: string, dialect: SqlDialect): string {
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const skipped = skipLiteral(sql, i);
    if (skipped > i) {
      out += sql.slice(i, skipped);
      i = skipped;
      continue;
    }
    const call = sql[i] === "@" ? /^@([a-z_]+)\(/.exec(sql.slice(i, i + 40)) : null;
    if (!call) {
      out += sql[i++];
      continue;
    }
    const name = call[1];
    const macro = MACROS[name];
    if (!macro) throw new ValidationError("sql", `unknown dialect function @${name}`);
    const { args, end } = splitArgs(sql, i + call[0].length);
    const want = ARITY[name] ?? 2;
    if (args.length !== want) {
      throw new ValidationError("sql", `@${name} takes ${want} argument(s), got ${args.length}`);
    }
    out += macro(
      dialect,
      args.map((a) => renderDialect(a, dialect).trim()),
    );
    i = end;
  }
  return out;
}

/** The index after a quoted string or line comment starting at `i` (`i` itself when none does). */
function skipLiteral(sql: string, i: number): number {
  const c = sql[i];
  if (c === "-" && sql[i + 1] === "-") {
    const eol = sql.indexOf("\n", i);
    return eol < 0 ? sql.length : eol;
  }
  if (c === "'" || c === '"' || c === "`") {
    const close = sql.indexOf(c, i + 1);
    if (close < 0) throw new ValidationError("sql", `unclosed ${c} at offset ${i}`);
    return close + 1;
  }
  return i;
}

/** Splits the arguments of a call whose "(" ends just before `from`; returns the index after ")". */
function splitArgs(sql: string, from: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let begin = from;
  let i = from;
  while (i < sql.length) {
    const skipped = skipLiteral(sql, i);
    if (skipped > i) {
      i = skipped;
      continue;
    }
    const c = sql[i];
    if (c === "(") depth++;
    else if (c === ")") {
      if (depth === 0) {
        args.push(sql.slice(begin, i));
        return { args, end: i + 1 };
      }
      depth--;
    } else if (c === "," && depth === 0) {
      args.push(sql.slice(begin, i));
      begin = i + 1;
    }
    i++;
  }
  throw new ValidationError("sql", `unclosed dialect function call at offset ${from}`);
}
