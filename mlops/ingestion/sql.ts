import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "../../platform/errors.ts";
import { renderDialect, type SqlDialect, sqlDialect } from "../../platform/sql/dialect.ts";

/** SQL helpers shared by the ingestion stages (DuckDB by default; BigQuery where a dialect is given). */

/** Quotes an identifier for DuckDB ("a""b"). */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes an identifier for BigQuery (`a\`b`), where "…" is a string. */
export function bigqueryIdent(name: string): string {
  return `\`${name.replaceAll("\\", "\\\\").replaceAll("`", "\\`")}\``;
}

/** Quotes a string literal ('it''s'). */
export function lit(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** lower_snake_case for table and column names: "TotalCharges" → total_charges, "my-churn" → my_churn. */
export function snake(name: string): string {
  const s = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase();
  if (!s) return "col";
  return /^[0-9]/.test(s) ? `c_${s}` : s;
}

/** snake_case column names, suffixed _2, _3 … where two originals collide. */
export function conformedNames(names: string[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const n of names) {
    const base = snake(n);
    let name = base;
    for (let k = 2; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    out.set(n, name);
  }
  return out;
}

const SQL_DIR = join(import.meta.dirname, "sql");

/**
 * Loads a stage's SQL file (sql/<stage>/<name>.sql), fills `{{key}}` placeholders and expands the
 * `@function(…)` calls for `dialect` (platform/sql/dialect.ts). Values are SQL fragments built by
 * the caller from quoted identifiers; an unfilled placeholder is a bug.
 */
export function renderSql(
  stage: "silver" | "gold",
  name: string,
  vars: Record<string, string>,
  dialect: SqlDialect = sqlDialect("duckdb"),
): string {
  const text = readFileSync(join(SQL_DIR, stage, `${name}.sql`), "utf8");
  const out = text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = vars[key];
    if (v === undefined) throw new ValidationError(`sql/${stage}/${name}.sql`, `no value for {{${key}}}`);
    return v;
  });
  // Comments and the trailing semicolon would break embedding the query in COPY (…) / a subquery.
  const bare = out
    .split("\n")
    .filter((l) => !l.trim().startsWith("--"))
    .join("\n")
    .trim()
    .replace(/;$/, "");
  return renderDialect(bare, dialect);
}

/** The text of a stage SQL file (for hashing transformation code into dataset versions). */
export function sqlText(stage: "silver" | "gold", name: string): string {
  return readFileSync(join(SQL_DIR, stage, `${name}.sql`), "utf8");
}

/**
 * A contract column as silver holds it (`quoted` = the column, quoted for the engine): a string
 * without its leading and trailing spaces, all-space = NULL — the value the contract checks saw
 * (bronze keeps it as delivered); other types as bronze typed them. `trim(x, ' ')` reads the same
 * on DuckDB and BigQuery.
 */
export function conformedCell(type: string, quoted: string): string {
  return type === "string" ? `NULLIF(trim(${quoted}, ' '), '')` : quoted;
}
