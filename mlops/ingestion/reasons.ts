/**
 * The wording of a rejected row, one source for both profiles: the local bronze stage (DuckDB,
 * bronze.ts) and the BigQuery publish script (bigquery-loader.ts, which takes `ruleReasonSql` through
 * `LoadBatch.reason`) render every reason from here, so the same bad file gives the same reasons
 * and the same counts by label under `local` and `gcp`.
 */

/** A contract rule a cell can break. */
export type RuleKind = "empty" | "type" | "below" | "above" | "enum" | "pattern";

/** What a rule needs to know of its column. */
export interface RuleColumn {
  type: string;
  min?: number;
  max?: number;
  pattern?: string;
}

/**
 * The reason a cell breaks `rule`, as a SQL string expression both DuckDB and BigQuery evaluate
 * (`||` and `left`): `name` is the contract's column name, `cell` the cell's text (blank = NULL),
 * `lit` the engine's string literal. Several broken rules of a row are joined with "; ".
 */
export function ruleReasonSql(
  name: string,
  column: RuleColumn,
  rule: RuleKind,
  cell: string,
  lit: (text: string) => string,
): string {
  const shown = `left(${cell}, 60)`;
  switch (rule) {
    case "empty":
      return lit(`${name}: empty value in a non-nullable column`);
    case "type":
      return `${lit(`${name}: "`)} || ${shown} || ${lit(`" is not a valid ${column.type}`)}`;
    case "below":
      return `${lit(`${name}: `)} || ${cell} || ${lit(` is below minimum ${column.min}`)}`;
    case "above":
      return `${lit(`${name}: `)} || ${cell} || ${lit(` is above maximum ${column.max}`)}`;
    case "enum":
      return `${lit(`${name}: "`)} || ${shown} || ${lit('" is not an allowed value')}`;
    case "pattern":
      return `${lit(`${name}: "`)} || ${shown} || ${lit(`" does not match pattern ${column.pattern}`)}`;
  }
}

/** Short labels for reject counts, keyed by the phrase the reason text contains. */
export const REASON_LABELS: Record<string, string> = {
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

/**
 * The kind of a reason (its first phrase of REASON_LABELS; duplicates under one "duplicate key";
 * a line BigQuery could not read, `unreadable: <BigQuery's message>`, under "unreadable"), as SQL
 * both DuckDB and BigQuery run (REGEXP_EXTRACT with one group gives the group in BigQuery, the
 * whole match in DuckDB: the same text).
 */
export function reasonKindSql(reason: string): string {
  const phrases = Object.keys(REASON_LABELS).filter((p) => p !== "duplicate key");
  return `CASE WHEN ${reason} LIKE 'duplicate key%' THEN 'duplicate key' WHEN ${reason} LIKE 'unreadable: %' THEN 'unreadable' ELSE regexp_extract(${reason}, '(${phrases.join("|")})') END`;
}

/** The label a kind is counted under (`other` when the reason has none of the phrases). */
export function reasonLabel(kind: string | null | undefined): string {
  if (kind === "unreadable") return "unreadable";
  return (kind && REASON_LABELS[kind]) || "other";
}

/** Reject counts by label, from rows of (kind, count) as `reasonKindSql` groups them. */
export function labelCounts(
  rows: readonly { kind: string | null; n: number | string }[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) {
    const label = reasonLabel(r.kind);
    out[label] = (out[label] ?? 0) + Number(r.n);
  }
  return out;
}
