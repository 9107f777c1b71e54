import { createHash, type Hash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname, join } from "node:path";
import type { DataContract } from "../ingestion/contract.ts";
import { Rng } from "./prng.ts";

/** Kinds of deliberate defects `--dirty-rate` injects (what real source exports get wrong). */
export const DEFECT_KINDS = ["duplicate_key", "bad_date", "negative_amount", "blank_required"] as const;
export type DefectKind = (typeof DEFECT_KINDS)[number];

const BAD_DATES = ["2025-02-30", "31/12/2025", "2025-13-01", "0000-00-00"];
const BAD_TIMESTAMPS = ["2025-02-30T10:00:00Z", "2025/03/04 10:00", "ontem 14h"];
const CHUNK_BYTES = 1 << 18;
const NUMBER_RE = /^-?[0-9]+(\.[0-9]+)?$/;

/** Summary of one written file, for the delivery manifest. */
export interface WrittenFile {
  table: string;
  file: string;
  format: "csv" | "jsonl";
  rows: number;
  bytes: number;
  sha256: string;
  defects: Record<DefectKind, number>;
}

/**
 * Streams one raw file (CSV with header, or JSONL) following its data contract. Rows are
 * string cells in contract column order; "" means empty/null. Output is buffered in 64 KiB
 * chunks and `drain()` waits on the stream's backpressure, so memory stays bounded.
 */
export class TableWriter {
  readonly contract: DataContract;
  private readonly stream: WriteStream;
  private readonly hash: Hash = createHash("sha256");
  private readonly kinds: Uint8Array; // 0 string-like, 1 number/integer, 2 boolean
  private out: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private size = CHUNK_BYTES;
  private pos = 0;
  private readonly keyBytes: Buffer[];
  private readonly rowOverhead: number;
  private needsDrain = false;
  private rows = 0;
  private bytes = 0;
  // Dirty-data injection: independent stream so clean content is the same with or without it.
  private readonly dirtyRate: number;
  private readonly dirtyRng: Rng;
  private readonly dateCols: number[] = [];
  private readonly amountCols: number[] = [];
  private readonly requiredCols: number[] = [];
  private readonly defects: Record<DefectKind, number> = {
    duplicate_key: 0,
    bad_date: 0,
    negative_amount: 0,
    blank_required: 0,
  };

  constructor(
    contract: DataContract,
    outDir: string,
    opts: { dirtyRate: number; seed: number; stream: number },
  ) {
    this.contract = contract;
    const path = join(outDir, contract.file);
    mkdirSync(dirname(path), { recursive: true });
    this.stream = createWriteStream(path, { highWaterMark: 1 << 20 });
    this.kinds = Uint8Array.from(contract.columns, (c) =>
      c.type === "integer" || c.type === "number" ? 1 : c.type === "boolean" ? 2 : 0,
    );
    this.keyBytes = contract.columns.map((c, i) => Buffer.from(`${i ? "," : "{"}${JSON.stringify(c.name)}:`));
    this.rowOverhead = this.keyBytes.reduce((sum, k) => sum + k.length + 8, 8);
    this.dirtyRate = opts.dirtyRate;
    this.dirtyRng = new Rng(opts.seed, 0xd1e7, opts.stream);
    const money = contract.columns.some((c) => c.name.endsWith("_brl") && (c.min ?? -1) >= 0);
    contract.columns.forEach((c, i) => {
      if (c.type === "date" || c.type === "timestamp") this.dateCols.push(i);
      const numeric = c.type === "number" || c.type === "integer";
      if (numeric && (c.min ?? -1) >= 0 && (!money || c.name.endsWith("_brl"))) this.amountCols.push(i);
      if (!c.nullable) this.requiredCols.push(i);
    });
    if (contract.format === "csv") this.append(`${contract.columns.map((c) => csvCell(c.name)).join(",")}\n`);
  }

  /** Appends one row (cells in contract column order). */
  write(cells: string[]): void {
    if (this.dirtyRate > 0 && this.dirtyRng.float() < this.dirtyRate) {
      this.writeDefective(cells);
      return;
    }
    this.emit(cells);
  }

  private emit(cells: string[]): void {
    this.rows++;
    // Upper bound of the encoded row (UTF-8 ≤ 3 bytes per UTF-16 unit, plus quotes/escapes).
    let bound = this.rowOverhead;
    for (let i = 0; i < cells.length; i++) bound += (cells[i] as string).length * 6;
    if (this.size - this.pos < bound) this.flush(bound);
    const out = this.out;
    let pos = this.pos;
    if (this.contract.format === "csv") {
      for (let i = 0; i < cells.length; i++) {
        if (i) out[pos++] = 44; // ,
        const v = cells[i] as string;
        pos += out.write(needsCsvQuote(v) ? `"${v.replace(/"/g, '""')}"` : v, pos);
      }
    } else {
      for (let i = 0; i < cells.length; i++) {
        const key = this.keyBytes[i] as Buffer; // `{"name":` or `,"name":`
        key.copy(out, pos);
        pos += key.length;
        const v = cells[i] as string;
        if (v === "") pos += out.write("null", pos);
        else if (this.kinds[i] === 0 || (this.kinds[i] === 1 && !NUMBER_RE.test(v)))
          pos += out.write(jsonString(v), pos);
        else pos += out.write(v, pos);
      }
      out[pos++] = 125; // }
    }
    out[pos++] = 10; // \n
    this.pos = pos;
  }

  private writeDefective(cells: string[]): void {
    const rng = this.dirtyRng;
    const options: DefectKind[] = ["duplicate_key", "blank_required"];
    const filledDates = this.dateCols.filter((i) => cells[i] !== "");
    if (filledDates.length) options.push("bad_date");
    if (this.amountCols.length) options.push("negative_amount");
    const kind = options[rng.int(options.length)] as DefectKind;
    this.defects[kind]++;
    const out = cells.slice();
    if (kind === "duplicate_key") {
      this.emit(out);
    } else if (kind === "bad_date") {
      const col = filledDates[rng.int(filledDates.length)] as number;
      const isTs = this.contract.columns[col]?.type === "timestamp";
      out[col] = rng.pick(isTs ? BAD_TIMESTAMPS : BAD_DATES);
    } else if (kind === "negative_amount") {
      const col = this.amountCols[rng.int(this.amountCols.length)] as number;
      const v = out[col] as string;
      out[col] = v === "" || v === "0" || v === "0.00" ? "-1.00" : `-${v}`;
    } else {
      out[this.requiredCols[rng.int(this.requiredCols.length)] as number] = "";
    }
    this.emit(out);
  }

  private append(s: string): void {
    const bound = s.length * 3;
    if (this.size - this.pos < bound) this.flush(bound);
    this.pos += this.out.write(s, this.pos);
  }

  /** Hands the filled buffer to the stream and starts a new one with room for `need` bytes. */
  private flush(need = 0): void {
    if (this.pos === 0 && need <= this.size) return;
    const chunk = this.out.subarray(0, this.pos);
    this.size = Math.max(CHUNK_BYTES, need);
    this.out = Buffer.allocUnsafe(this.size);
    this.pos = 0;
    if (chunk.length === 0) return;
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (!this.stream.write(chunk)) this.needsDrain = true;
  }

  /** Waits until the file stream has room again (backpressure). */
  async drain(): Promise<void> {
    if (!this.needsDrain) return;
    this.needsDrain = false;
    if (this.stream.writableNeedDrain) await once(this.stream, "drain");
  }

  /** Flushes, closes the file and returns its summary. */
  async close(): Promise<WrittenFile> {
    this.flush();
    this.stream.end();
    await once(this.stream, "finish");
    return {
      table: this.contract.name,
      file: this.contract.file,
      format: this.contract.format,
      rows: this.rows,
      bytes: this.bytes,
      sha256: this.hash.digest("hex"),
      defects: { ...this.defects },
    };
  }

  /** Closes the stream without a summary (on failure). */
  destroy(): void {
    this.stream.destroy();
  }
}

function needsCsvQuote(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 44 || c === 34 || c === 10 || c === 13) return true;
  }
  return false;
}

function csvCell(v: string): string {
  return needsCsvQuote(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function jsonString(v: string): string {
  // Fast path: most values need no escaping (no quote, backslash or control character).
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92) return JSON.stringify(v);
  }
  return `"${v}"`;
}
