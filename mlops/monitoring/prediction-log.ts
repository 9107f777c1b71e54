import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { constants, gunzipSync, gzip } from "node:zlib";
import type { Lake } from "../../platform/ports/lake.ts";

const gzipAsync = promisify(gzip);

/** One logged prediction, online or batch. Features are logged as served (after defaults). */
export interface PredictionRecord {
  prediction_id: string;
  ts: string;
  source: "online" | "batch";
  model_name: string;
  model_version: string;
  customer_id: string | null;
  features: Record<string, number | string | null>;
  probability: number;
  risk_band: string;
  latency_ms: number;
  /** True for challenger shadow scores (logged, never returned to the caller). */
  shadow?: boolean;
}

/** A record whose features come as a vector aligned with `featureNames` (the online fast path). */
export type PredictionVectorRecord = Omit<PredictionRecord, "features">;

/** `"name":` JSON prefixes per feature-name array (one per online-store load), built once. */
const keyPrefixes = new WeakMap<readonly string[], string[]>();

function prefixesFor(names: readonly string[]): string[] {
  let prefixes = keyPrefixes.get(names);
  if (!prefixes) {
    prefixes = names.map((n, i) => `${i === 0 ? "" : ","}${JSON.stringify(n)}:`);
    keyPrefixes.set(names, prefixes);
  }
  return prefixes;
}

/** JSON of one feature value, as JSON.stringify writes it (non-finite numbers → null). */
function jsonValue(v: unknown): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  return "null";
}

/** `{"name":value,…}` from the values. */
function featuresJson(prefixes: string[], values: readonly unknown[]): string {
  let out = "{";
  for (let i = 0; i < prefixes.length; i++) out += prefixes[i] + jsonValue(values[i]);
  return `${out}}`;
}

/**
 * `{"name":value,…}` by splicing the key prefixes into a JSON array text written by JSON.stringify
 * (its tokens are already what JSON.stringify writes for the parsed values, so nothing is re-formatted).
 * Undefined when the text does not hold exactly one token per name.
 */
function featuresFromArrayJson(prefixes: string[], json: string): string | undefined {
  const n = json.length;
  if (n < 2 || json.charCodeAt(0) !== 91 /* [ */ || json.charCodeAt(n - 1) !== 93 /* ] */) return undefined;
  let out = "{";
  let k = 0;
  let i = 1;
  while (i < n - 1) {
    const start = i;
    if (json.charCodeAt(i) === 34 /* " */) {
      i++;
      for (let c = json.charCodeAt(i); c !== 34; c = json.charCodeAt(i)) {
        if (i >= n) return undefined;
        i += c === 92 /* \ */ ? 2 : 1;
      }
      i++;
    } else {
      while (i < n - 1 && json.charCodeAt(i) !== 44 /* , */) i++;
    }
    if (k >= prefixes.length) return undefined;
    out += prefixes[k++] + json.slice(start, i);
    if (i < n - 1) {
      if (json.charCodeAt(i) !== 44) return undefined;
      i++;
    }
  }
  return k === prefixes.length ? `${out}}` : undefined;
}

/**
 * The JSONL line of `record` with `features` = {names[i]: values[i]}: the same text as
 * JSON.stringify of the equivalent PredictionRecord, without building the per-feature object. With
 * `valuesJson` (the values' JSON array text, e.g. as the online store keeps it) it is spliced as is.
 */
export function predictionLine(
  record: PredictionVectorRecord,
  names: readonly string[],
  values: readonly unknown[],
  valuesJson?: string,
): string {
  const prefixes = prefixesFor(names);
  const features =
    (valuesJson === undefined ? undefined : featuresFromArrayJson(prefixes, valuesJson)) ??
    featuresJson(prefixes, values);
  return (
    `{"prediction_id":${JSON.stringify(record.prediction_id)},"ts":${JSON.stringify(record.ts)}` +
    `,"source":${JSON.stringify(record.source)},"model_name":${JSON.stringify(record.model_name)}` +
    `,"model_version":${JSON.stringify(record.model_version)},"customer_id":${JSON.stringify(record.customer_id)}` +
    `,"features":${features},"probability":${jsonValue(record.probability)}` +
    `,"risk_band":${JSON.stringify(record.risk_band)},"latency_ms":${jsonValue(record.latency_ms)}` +
    (record.shadow === undefined ? "}" : `,"shadow":${record.shadow}}`)
  );
}

export const PREDICTION_LOG_PREFIX = "logs/predictions";

/**
 * JSONL bytes of one day partition, written into a growing off-heap Buffer: each line's string dies
 * young instead of being kept (and promoted to the old generation) until the flush, and the flush
 * hands the bytes to gzip without joining strings.
 */
class LineBuffer {
  bytes: Buffer;
  length = 0;
  lines = 0;

  /** `capacity`: expected bytes (the previous flush's size), so a steady stream never regrows. */
  constructor(capacity: number) {
    this.bytes = Buffer.allocUnsafe(Math.max(64 * 1024, capacity));
  }

  push(line: string): void {
    const need = this.length + line.length * 3 + 1; // UTF-8 worst case: no byteLength pass
    if (need > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    // An explicit length: without it Buffer#write costs O(remaining capacity) (measured ~5 µs at 8 MB).
    this.length += this.bytes.write(line, this.length, need - 1 - this.length, "utf8");
    this.bytes[this.length++] = 10; // \n
    this.lines++;
  }
}

/**
 * Append-only prediction log in the lake. Records are buffered in memory and flushed as one
 * immutable gzip JSONL part per flush (`logs/predictions/dt=YYYY-MM-DD/<writer>-<seq>.jsonl.gz`),
 * so a request never waits for I/O, a crash loses at most one unflushed buffer, and readers never
 * see a half-written part (the lake's write is atomic). Each record is serialised when appended
 * (a few µs per request) rather than all at flush time, where 1 000 JSON.stringify calls in a row
 * stalled the serving event loop for ~10 ms (the API's tail latency); gzip runs on libuv's pool.
 */
export class PredictionLogWriter {
  private readonly lake: Lake;
  private readonly writerId: string;
  private readonly maxBuffer: number;
  /** Serialised JSON lines by day partition (insertion order = first appearance). */
  private buffer = new Map<string, LineBuffer>();
  private buffered = 0;
  private seq = 0;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private written = 0;
  private lastFlushBytes = 0;

  constructor(lake: Lake, opts: { maxBuffer?: number; flushIntervalMs?: number; writerId?: string } = {}) {
    this.lake = lake;
    this.maxBuffer = opts.maxBuffer ?? 5000;
    this.writerId = opts.writerId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
    if (opts.flushIntervalMs) {
      this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Records a prediction; never blocks on I/O (a full buffer schedules a background flush). */
  append(record: PredictionRecord): void {
    this.push(record.ts, JSON.stringify(record));
  }

  /**
   * `append` with the features as a vector aligned with `featureNames` (the same line on disk);
   * `valuesJson`: the values' JSON array text when the caller has it (see `predictionLine`).
   */
  appendVector(
    record: PredictionVectorRecord,
    featureNames: readonly string[],
    values: readonly unknown[],
    valuesJson?: string,
  ): void {
    this.push(record.ts, predictionLine(record, featureNames, values, valuesJson));
  }

  private push(ts: string, line: string): void {
    const day = ts.slice(0, 10);
    let lines = this.buffer.get(day);
    if (!lines) {
      lines = new LineBuffer(Math.min(8 * 1024 * 1024, this.lastFlushBytes * 1.25));
      this.buffer.set(day, lines);
    }
    lines.push(line);
    if (++this.buffered >= this.maxBuffer) void this.flush();
  }

  /** Number of records persisted so far. */
  get persisted(): number {
    return this.written;
  }

  /** Writes everything buffered so far; flushes are serialised so parts never interleave. */
  flush(): Promise<void> {
    if (this.buffered === 0) return this.flushing;
    const batch = this.buffer;
    this.buffer = new Map();
    this.buffered = 0;
    for (const lines of batch.values()) this.lastFlushBytes = Math.max(this.lastFlushBytes, lines.length);
    this.flushing = this.flushing.then(async () => {
      for (const [day, lines] of batch) {
        const seq = String(this.seq++).padStart(6, "0");
        // Compressed on libuv's thread pool at a fast level: a synchronous gzip of a full buffer
        // blocked the serving event loop for ~100+ ms (the API's p99).
        const body = await gzipAsync(lines.bytes.subarray(0, lines.length), {
          level: constants.Z_BEST_SPEED,
        });
        await this.lake.write(`${PREDICTION_LOG_PREFIX}/dt=${day}/${this.writerId}-${seq}.jsonl.gz`, body);
        this.written += lines.lines;
      }
    });
    return this.flushing;
  }

  /** Flushes and stops the timer: call on graceful shutdown so no record is lost. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}

/** Reads logged predictions whose day partition is within [from, to] (ISO dates, inclusive). */
export async function readPredictionLog(
  lake: Lake,
  range: { from: string; to: string },
): Promise<PredictionRecord[]> {
  const out: PredictionRecord[] = [];
  for (const key of await lake.list(PREDICTION_LOG_PREFIX)) {
    const m = /dt=(\d{4}-\d{2}-\d{2})\//.exec(key);
    if (!m || m[1] < range.from || m[1] > range.to || !key.endsWith(".jsonl.gz")) continue;
    const text = gunzipSync(await lake.read(key)).toString("utf8");
    for (const line of text.split("\n")) if (line) out.push(JSON.parse(line) as PredictionRecord);
  }
  return out;
}
