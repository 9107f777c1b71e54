import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ContractColumn, DataContract } from "../ingestion/contract.ts";

/** One raw row as text cells keyed by column (null = empty cell / JSON null / missing key). */
export type RawRow = Record<string, string | null>;

/**
 * Reads a whole delivered file into memory as text cells (CSV with quotes, or JSONL).
 * For tests and small deliveries only; ingestion streams instead.
 */
export function readDeliveryTable(dir: string, contract: DataContract): { header: string[]; rows: RawRow[] } {
  const text = readFileSync(join(dir, contract.file), "utf8");
  if (contract.format === "jsonl") {
    const rows: RawRow[] = [];
    for (const line of text.split("\n")) {
      if (!line) continue;
      const obj = JSON.parse(line) as Record<string, unknown>;
      const row: RawRow = {};
      for (const [k, v] of Object.entries(obj)) row[k] = v === null || v === undefined ? null : String(v);
      rows.push(row);
    }
    return { header: contract.columns.map((c) => c.name), rows };
  }
  const records = parseCsv(text);
  const header = records.shift() ?? [];
  const rows = records.map((cells) => {
    const row: RawRow = {};
    header.forEach((h, i) => {
      const v = cells[i];
      row[h] = v === undefined || v === "" ? null : v;
    });
    return row;
  });
  return { header, rows };
}

/** Minimal RFC 4180 parser (quoted cells, doubled quotes); returns records of cells. */
export function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let record: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      record.push(cell);
      cell = "";
    } else if (ch === "\n") {
      record.push(cell);
      out.push(record);
      record = [];
      cell = "";
    } else if (ch !== "\r") cell += ch;
  }
  if (cell !== "" || record.length) {
    record.push(cell);
    out.push(record);
  }
  return out;
}

const DATE_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const TS_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;

function validCalendar(y: number, m: number, d: number): boolean {
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

const patterns = new Map<string, RegExp>();
function patternOf(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) {
    re = new RegExp(source);
    patterns.set(source, re);
  }
  return re;
}

/** Problems of one cell against its contract column ("" when fine). */
export function checkCell(col: ContractColumn, value: string | null): string {
  if (value === null) return col.nullable ? "" : "empty required cell";
  switch (col.type) {
    case "integer":
      if (!/^-?[0-9]+$/.test(value)) return `not an integer: ${value}`;
      break;
    case "number":
      if (!/^-?[0-9]+(\.[0-9]+)?$/.test(value)) return `not a number: ${value}`;
      break;
    case "boolean":
      if (value !== "true" && value !== "false") return `not a boolean: ${value}`;
      break;
    case "date": {
      const m = DATE_RE.exec(value);
      if (!m || !validCalendar(Number(m[1]), Number(m[2]), Number(m[3]))) return `not a date: ${value}`;
      break;
    }
    case "timestamp": {
      const m = TS_RE.exec(value);
      if (
        !m ||
        !validCalendar(Number(m[1]), Number(m[2]), Number(m[3])) ||
        Number(m[4]) > 23 ||
        Number(m[5]) > 59
      )
        return `not a timestamp: ${value}`;
      break;
    }
  }
  if (col.type === "integer" || col.type === "number") {
    const n = Number(value);
    if (col.min !== undefined && n < col.min) return `below min ${col.min}: ${value}`;
    if (col.max !== undefined && n > col.max) return `above max ${col.max}: ${value}`;
  }
  if (col.enum && !col.enum.includes(value)) return `not in enum: ${value}`;
  if (col.pattern && !patternOf(col.pattern).test(value)) return `does not match ${col.pattern}: ${value}`;
  return "";
}
