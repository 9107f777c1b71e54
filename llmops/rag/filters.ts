import { ValidationError } from "../../platform/errors.ts";

/** Metadata fields a query may filter on. */
export const FILTER_FIELDS = ["type", "product", "language", "doc_id", "date"] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];
export type FilterOp = "=" | "!=" | ">=" | "<=" | ">" | "<";

/** One condition; several conditions on one field are OR-ed when `=`, otherwise AND-ed. */
export interface MetadataFilter {
  field: FilterField;
  op: FilterOp;
  value: string;
}

/** Parses "type=policy", "product!=fibra", "date>=2025-01-01" (date = the effective_date). */
export function parseFilter(expression: string): MetadataFilter {
  const m = /^\s*([a-z_]+)\s*(!=|>=|<=|=|>|<)\s*(.+?)\s*$/i.exec(expression);
  if (!m) throw new ValidationError("filter", `"${expression}" is not FIELD=VALUE (or !=, >=, <=, >, <)`);
  const field = m[1].toLowerCase().replace(/^effective_date$/, "date") as FilterField;
  if (!(FILTER_FIELDS as readonly string[]).includes(field))
    throw new ValidationError("filter", `unknown field "${m[1]}"; use one of ${FILTER_FIELDS.join(", ")}`);
  const op = m[2] as FilterOp;
  const value = m[3];
  if (field === "date") {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value))
      throw new ValidationError("filter", `date filter needs YYYY-MM-DD, got "${value}"`);
  } else if (op !== "=" && op !== "!=") {
    throw new ValidationError("filter", `field "${field}" supports only = and !=`);
  }
  return { field, op, value: field === "date" ? value : value.toLowerCase() };
}

/** Columns the filter is evaluated on: one entry per chunk. */
export interface FilterColumns {
  size: number;
  text(field: Exclude<FilterField, "date">, row: number): string;
  /** effective_date as yyyymmdd, 0 when unknown. */
  date: Int32Array;
}

/** A mask (1 = allowed) for the filters, or undefined when there are none. */
export function filterMask(filters: MetadataFilter[], columns: FilterColumns): Uint8Array | undefined {
  if (filters.length === 0) return undefined;
  const mask = new Uint8Array(columns.size).fill(1);
  const byField = new Map<FilterField, MetadataFilter[]>();
  for (const f of filters) byField.set(f.field, [...(byField.get(f.field) ?? []), f]);
  for (const [field, fs] of byField) {
    if (field === "date") {
      for (const f of fs) {
        const v = Number(f.value.replaceAll("-", ""));
        for (let i = 0; i < columns.size; i++) {
          const d = columns.date[i];
          if (mask[i] && (d === 0 || !compare(d, f.op, v))) mask[i] = 0;
        }
      }
      continue;
    }
    const equals = new Set(fs.filter((f) => f.op === "=").map((f) => f.value));
    const notEquals = new Set(fs.filter((f) => f.op === "!=").map((f) => f.value));
    for (let i = 0; i < columns.size; i++) {
      if (!mask[i]) continue;
      const value = columns.text(field, i).toLowerCase();
      if ((equals.size && !equals.has(value)) || notEquals.has(value)) mask[i] = 0;
    }
  }
  return mask;
}

function compare(a: number, op: FilterOp, b: number): boolean {
  switch (op) {
    case "=":
      return a === b;
    case "!=":
      return a !== b;
    case ">=":
      return a >= b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case "<":
      return a < b;
  }
}
