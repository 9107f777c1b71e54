import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { constants, gunzipSync, gzip, gzipSync } from "node:zlib";
import type { Lake } from "../../platform/ports/lake.ts";
import { logger } from "../../platform/telemetry/logger.ts";

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
  return lineWith(record, features);
}

/** `predictionLine` when only the values' JSON array text is at hand (the log thread's case). */
export function predictionLineFromJson(
  record: PredictionVectorRecord,
  names: readonly string[],
  valuesJson: string,
): string {
  const prefixes = prefixesFor(names);
  const features =
    featuresFromArrayJson(prefixes, valuesJson) ??
    featuresJson(prefixes, JSON.parse(valuesJson) as readonly unknown[]);
  return lineWith(record, features);
}

function lineWith(record: PredictionVectorRecord, features: string): string {
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
export class LineBuffer {
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

/** One gzip JSONL part, ready for the lake. */
export interface LogPart {
  day: string;
  body: Uint8Array;
  lines: number;
}

/** Fast level: the log is written continuously, and level 1 is ~3× faster than the default here. */
const GZIP = { level: constants.Z_BEST_SPEED };

/** Gzips each day's lines: one part per day, in first-appearance order. */
export function gzipParts(days: Map<string, LineBuffer>): LogPart[] {
  const parts: LogPart[] = [];
  for (const [day, lines] of days) {
    const body = gzipSync(lines.bytes.subarray(0, lines.length), GZIP);
    parts.push({ day, body, lines: lines.lines });
  }
  return parts;
}

/*
 * Binary record batch: what the serving thread writes per prediction when the log runs on its own
 * thread (`thread: true`). Building the JSON line (splicing 31 names into the feature text), buffering it
 * and gzipping it cost the request thread ~20–35 µs per prediction under load (more than the model) and
 * its garbage caused the server's longest GC pauses; the request thread now only copies the fields'
 * bytes (~1 µs) and the log thread makes the identical line.
 *
 * Layout per record (little-endian): u8 kind. RAW: str ts, str line. VECTOR: u8 shadow (0 absent,
 * 1 false, 2 true), u16 names id, f64 probability, f64 latency_ms, then str prediction_id, ts, source,
 * model_name, model_version, customer_id (length NULL_STR = null), risk_band, values JSON array.
 * A str is u32 byte length + UTF-8 bytes.
 */
export const REC_RAW = 1;
export const REC_VECTOR = 2;
export const NULL_STR = 0xffffffff;

/** Messages from the writer to its log thread. */
export type ToLogThread =
  | { kind: "names"; id: number; names: readonly string[] }
  | { kind: "batch"; buf: ArrayBuffer; length: number }
  | { kind: "flush"; id: number };

/** Messages from the log thread back to the writer. */
export type FromLogThread =
  | { kind: "parts"; id: number; parts: LogPart[] }
  | { kind: "free"; buf: ArrayBuffer }
  | { kind: "failed"; id: number; message: string };

/** Appends records to a growing batch buffer in the layout above. */
class RecordEncoder {
  buf: Buffer;
  length = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafeSlow(capacity);
  }

  /** Makes room for `bytes` more bytes. */
  reserve(bytes: number): void {
    const need = this.length + bytes;
    if (need <= this.buf.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  u8(v: number): void {
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }

  f64(v: number): void {
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }

  str(v: string | null): void {
    if (v === null) {
      this.reserve(4);
      this.buf.writeUInt32LE(NULL_STR, this.length);
      this.length += 4;
      return;
    }
    this.reserve(4 + v.length * 3); // UTF-8 worst case: no byteLength pass
    const n = this.buf.write(v, this.length + 4, v.length * 3, "utf8");
    this.buf.writeUInt32LE(n, this.length);
    this.length += 4 + n;
  }
}

/** Decodes a record batch (the log thread's side of RecordEncoder). */
export class RecordDecoder {
  private readonly buf: Buffer;
  private readonly end: number;
  private pos = 0;

  constructor(buf: ArrayBuffer, length: number) {
    this.buf = Buffer.from(buf, 0, length);
    this.end = length;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    return this.buf[this.pos++];
  }

  u16(): number {
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  f64(): number {
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  str(): string | null {
    const n = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    if (n === NULL_STR) return null;
    const v = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

const BATCH_BYTES = 256 * 1024;

/** The writer's connection to its log thread. */
interface LogThread {
  worker: Worker;
  /** Feature-name arrays already sent, by identity. */
  names: WeakMap<readonly string[], number>;
  nextNamesId: number;
  /** Flush ids awaiting their parts. */
  pending: Map<number, { resolve: (parts: LogPart[]) => void; reject: (err: Error) => void }>;
  /** Batch buffers the thread gave back, for reuse. */
  free: ArrayBuffer[];
}

/**
 * Append-only prediction log in the lake. Records are buffered in memory and flushed as one
 * immutable gzip JSONL part per flush (`logs/predictions/dt=YYYY-MM-DD/<writer>-<seq>.jsonl.gz`),
 * so a request never waits for I/O, a crash loses at most one unflushed buffer, and readers never
 * see a half-written part (the lake's write is atomic).
 *
 * Two modes, the same bytes on disk:
 * - in-thread (default; batch scoring): each record is serialised when appended (rather than all at
 *   flush time, where 1 000 JSON.stringify calls in a row stalled the serving event loop for ~10 ms),
 *   and gzip runs on libuv's pool.
 * - `thread: true` (the online server): the request thread only copies each record's fields into a
 *   binary batch (see RecordEncoder); a worker thread builds the lines and gzips them, and the parts
 *   come back to this thread for the lake write (so any Lake adapter works). If the thread fails, the
 *   writer logs it and continues in-thread; records the thread held are lost, like a crash's buffer.
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
  /** Off-thread mode: the batch being filled and the thread (started at the first append). */
  private useThread: boolean;
  private thread: LogThread | undefined;
  private encoder: RecordEncoder | undefined;
  private nextFlushId = 0;

  constructor(
    lake: Lake,
    opts: { maxBuffer?: number; flushIntervalMs?: number; writerId?: string; thread?: boolean } = {},
  ) {
    this.lake = lake;
    this.maxBuffer = opts.maxBuffer ?? 5000;
    this.writerId = opts.writerId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
    this.useThread = opts.thread ?? false;
    if (opts.flushIntervalMs) {
      this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Records a prediction; never blocks on I/O (a full buffer schedules a background flush). */
  append(record: PredictionRecord): void {
    const line = JSON.stringify(record);
    const enc = this.threadEncoder();
    if (enc) {
      enc.reserve(1);
      enc.u8(REC_RAW);
      enc.str(record.ts);
      enc.str(line);
      this.counted();
    } else this.push(record.ts, line);
  }

  /**
   * `append` with the features as a vector aligned with `featureNames` (the same line on disk);
   * `valuesJson`: the values' JSON array text when the caller has it (see `predictionLine`); it must be
   * the JSON of `values`.
   */
  appendVector(
    record: PredictionVectorRecord,
    featureNames: readonly string[],
    values: readonly unknown[],
    valuesJson?: string,
  ): void {
    const enc = this.threadEncoder();
    if (!enc) {
      this.push(record.ts, predictionLine(record, featureNames, values, valuesJson));
      return;
    }
    const namesId = this.namesId(featureNames);
    enc.reserve(20);
    enc.u8(REC_VECTOR);
    enc.u8(record.shadow === undefined ? 0 : record.shadow ? 2 : 1);
    enc.u16(namesId);
    enc.f64(record.probability);
    enc.f64(record.latency_ms);
    enc.str(record.prediction_id);
    enc.str(record.ts);
    enc.str(record.source);
    enc.str(record.model_name);
    enc.str(record.model_version);
    enc.str(record.customer_id);
    enc.str(record.risk_band);
    enc.str(valuesJson ?? JSON.stringify(values));
    this.counted();
  }

  private push(ts: string, line: string): void {
    const day = ts.slice(0, 10);
    let lines = this.buffer.get(day);
    if (!lines) {
      lines = new LineBuffer(Math.min(8 * 1024 * 1024, this.lastFlushBytes * 1.25));
      this.buffer.set(day, lines);
    }
    lines.push(line);
    this.counted();
  }

  private counted(): void {
    if (++this.buffered >= this.maxBuffer) void this.flush();
    else if (this.encoder && this.encoder.length >= BATCH_BYTES) this.sendBatch();
  }

  /** The batch encoder when records go to the log thread (starting it on first use). */
  private threadEncoder(): RecordEncoder | undefined {
    if (!this.useThread) return undefined;
    if (this.encoder) return this.encoder;
    if (this.thread === undefined && !this.startThread()) return undefined;
    this.encoder = new RecordEncoder(BATCH_BYTES + 64 * 1024);
    return this.encoder;
  }

  private startThread(): boolean {
    try {
      const worker = new Worker(new URL("./prediction-log-thread.ts", import.meta.url));
      worker.unref(); // ref'd only while a flush waits for its parts
      const t: LogThread = { worker, names: new WeakMap(), nextNamesId: 0, pending: new Map(), free: [] };
      worker.on("message", (m: FromLogThread) => {
        if (m.kind === "free") {
          if (t.free.length < 4) t.free.push(m.buf);
          return;
        }
        const p = t.pending.get(m.id);
        if (!p) return;
        t.pending.delete(m.id);
        if (t.pending.size === 0) worker.unref();
        if (m.kind === "parts") p.resolve(m.parts);
        else p.reject(new Error(m.message));
      });
      const fail = (err: Error) => {
        if (this.thread !== t) return;
        this.threadFailed(t, err);
      };
      worker.on("error", fail);
      worker.on("exit", (code) => fail(new Error(`prediction-log thread exited with code ${code}`)));
      this.thread = t;
      return true;
    } catch (err) {
      this.threadFailed(undefined, err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  /** The thread is gone: later records are written in-thread; waiting flushes fail with `err`. */
  private threadFailed(t: LogThread | undefined, err: Error): void {
    logger().error({ err: err.message }, "prediction-log thread failed; logging continues in-thread");
    this.thread = undefined;
    this.encoder = undefined;
    this.useThread = false;
    if (!t) return;
    for (const p of t.pending.values()) p.reject(err);
    t.pending.clear();
    void t.worker.terminate();
  }

  private namesId(names: readonly string[]): number {
    const t = this.thread as LogThread;
    let id = t.names.get(names);
    if (id === undefined) {
      id = t.nextNamesId++;
      t.names.set(names, id);
      t.worker.postMessage({ kind: "names", id, names: [...names] } satisfies ToLogThread);
    }
    return id;
  }

  /** Hands the filled batch to the log thread (transferred, not copied). */
  private sendBatch(): void {
    const enc = this.encoder;
    const t = this.thread;
    if (!enc || !t || enc.length === 0) return;
    const buf = enc.buf.buffer as ArrayBuffer;
    t.worker.postMessage({ kind: "batch", buf, length: enc.length } satisfies ToLogThread, [buf]);
    const reuse = t.free.pop();
    enc.buf = reuse ? Buffer.from(reuse) : Buffer.allocUnsafeSlow(BATCH_BYTES + 64 * 1024);
    enc.length = 0;
  }

  /** Whether records go to the log thread (false in-thread, after a thread failure and after close). */
  get threadInUse(): boolean {
    return this.useThread;
  }

  /** Number of records persisted so far. */
  get persisted(): number {
    return this.written;
  }

  /** Writes everything buffered so far; flushes are serialised so parts never interleave. */
  flush(): Promise<void> {
    if (this.buffered === 0) return this.flushing;
    this.buffered = 0;
    let parts: Promise<LogPart[]>;
    const t = this.thread;
    if (t && this.encoder) {
      this.sendBatch();
      const id = this.nextFlushId++;
      parts = new Promise((resolve, reject) => t.pending.set(id, { resolve, reject }));
      t.worker.ref();
      t.worker.postMessage({ kind: "flush", id } satisfies ToLogThread);
    } else parts = Promise.resolve([]);
    // Lines written in-thread (always, or after a thread failure) go out with the same flush.
    const batch = this.buffer;
    this.buffer = new Map();
    for (const lines of batch.values()) this.lastFlushBytes = Math.max(this.lastFlushBytes, lines.length);
    this.flushing = this.flushing.then(async () => {
      // A failed thread was reported when it failed; its records are gone, later flushes go on.
      const all = [...(await parts.catch(() => []))];
      for (const [day, lines] of batch) {
        // Compressed on libuv's thread pool: a synchronous gzip of a full buffer blocked the serving
        // event loop for ~100+ ms (the API's p99).
        const body = await gzipAsync(lines.bytes.subarray(0, lines.length), GZIP);
        all.push({ day, body, lines: lines.lines });
      }
      for (const part of all) {
        const seq = String(this.seq++).padStart(6, "0");
        await this.lake.write(
          `${PREDICTION_LOG_PREFIX}/dt=${part.day}/${this.writerId}-${seq}.jsonl.gz`,
          Buffer.from(part.body.buffer, part.body.byteOffset, part.body.byteLength),
        );
        this.written += part.lines;
      }
    });
    return this.flushing;
  }

  /** Flushes and stops the timer and the log thread: call on graceful shutdown so no record is lost. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    const t = this.thread;
    if (t) {
      this.thread = undefined;
      this.encoder = undefined;
      this.useThread = false;
      await t.worker.terminate();
    }
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
