import { randomUUID } from "node:crypto";
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { constants, gunzipSync, gzip, gzipSync } from "node:zlib";
import { TelcoError } from "../../platform/errors.ts";
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
/** Journal only: u16 names id, u16 count, count × str (the names a VECTOR record's id refers to). */
export const REC_NAMES = 3;
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

  /** Appends `src[start, end)` as is (a record already encoded elsewhere). */
  bytes(src: Buffer, start: number, end: number): void {
    this.reserve(end - start);
    src.copy(this.buf, this.length, start, end);
    this.length += end - start;
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

/**
 * Decodes a record batch into JSON lines, calling `line(day, text)` per record in order. `names` maps
 * names ids to feature names: filled by NAMES records (journal) or by the caller (the log thread).
 * Throws on a malformed batch.
 */
export function decodeRecords(
  buf: ArrayBuffer,
  length: number,
  names: Map<number, readonly string[]>,
  line: (day: string, text: string) => void,
): void {
  const d = new RecordDecoder(buf, length);
  while (!d.done) {
    const kind = d.u8();
    if (kind === REC_RAW) {
      const ts = d.str() as string;
      line(ts.slice(0, 10), d.str() as string);
    } else if (kind === REC_VECTOR) {
      const shadow = d.u8();
      const featureNames = names.get(d.u16());
      if (!featureNames) throw new Error("prediction log: a record before its feature names");
      const probability = d.f64();
      const latency_ms = d.f64();
      const prediction_id = d.str() as string;
      const ts = d.str() as string;
      const source = d.str() as "online" | "batch";
      const model_name = d.str() as string;
      const model_version = d.str() as string;
      const customer_id = d.str();
      const risk_band = d.str() as string;
      const valuesJson = d.str() as string;
      const record = {
        prediction_id,
        ts,
        source,
        model_name,
        model_version,
        customer_id,
        probability,
        risk_band,
        latency_ms,
        ...(shadow === 0 ? {} : { shadow: shadow === 2 }),
      };
      line(ts.slice(0, 10), predictionLineFromJson(record, featureNames, valuesJson));
    } else if (kind === REC_NAMES) {
      const id = d.u16();
      const count = d.u16();
      const list: string[] = [];
      for (let k = 0; k < count; k++) list.push(d.str() as string);
      names.set(id, list);
    } else throw new Error(`prediction log: unknown record kind ${kind}`);
  }
}

/**
 * Largest logged value of one string field (a feature value, a customer id). The API already refuses
 * longer ones; this bounds what any other caller (batch scoring, a future route) can put in the log.
 */
export const MAX_LOGGED_CHARS = 256;
/** A line longer than this is checked field by field (shorter lines cannot hold an oversized field… */
const CAP_CHECK_CHARS = 4 * 1024;

function capString(v: string): string {
  return v.length <= MAX_LOGGED_CHARS
    ? v
    : `${v.slice(0, MAX_LOGGED_CHARS)}…[${v.length - MAX_LOGGED_CHARS} chars cut]`;
}

/** `record` with every string field cut to MAX_LOGGED_CHARS (a copy only when one is longer). */
export function capRecord(record: PredictionRecord): PredictionRecord {
  let features: PredictionRecord["features"] | undefined;
  for (const [k, v] of Object.entries(record.features)) {
    if (typeof v === "string" && v.length > MAX_LOGGED_CHARS) {
      features ??= { ...record.features };
      features[k] = capString(v);
    }
  }
  const id = record.customer_id;
  const idCut = id !== null && id.length > MAX_LOGGED_CHARS;
  if (!features && !idCut) return record;
  return { ...record, customer_id: idCut ? capString(id) : id, features: features ?? record.features };
}

/** The values' JSON array text with every string cut to MAX_LOGGED_CHARS. */
function capValuesJson(valuesJson: string): string {
  const values = JSON.parse(valuesJson) as unknown[];
  return JSON.stringify(values.map((v) => (typeof v === "string" ? capString(v) : v)));
}

const BATCH_BYTES = 256 * 1024;
/** Batch buffers of exactly this size are reused; a batch grown past it (a huge record) is dropped. */
const BATCH_ALLOC = BATCH_BYTES + 64 * 1024;

/** How the journal survives: "journal" survives a killed process, "journal-fsync" a power cut too. */
export type JournalDurability = "journal" | "journal-fsync";

const JOURNAL_SUFFIX = ".journal";

/** Writer ids with an open journal in this process (their segments are live, never replayed). */
const liveJournals = new Set<string>();

/**
 * Append-only local journal of the prediction log (`serving.predictionLog.durability: journal`): each
 * request's records are written to it with one write(2) (plus fdatasync with "journal-fsync") before the
 * response leaves, as a frame `u32 length, record batch` (the log thread's binary layout, plus NAMES
 * records). One segment per flush: `<writerId>-<gen>.journal` holds exactly the records of flush `gen`,
 * and is deleted once that flush's parts are in the lake. A segment left by a killed process is
 * replayed by `replayPredictionJournals` into the very part names the flush would have written
 * (`<writerId>-<gen>.jsonl.gz`), so a crash after the lake write and before the delete double-counts
 * nothing.
 */
class PredictionJournal {
  readonly dir: string;
  private readonly writerId: string;
  private readonly fsync: boolean;
  private fd: number | undefined;
  gen = 0;
  /** Bytes of this request not yet written; the first 4 bytes are the frame's length. */
  private pending: RecordEncoder;
  private readonly namesWritten = new Set<number>();

  constructor(dir: string, writerId: string, durability: JournalDurability) {
    this.dir = dir;
    this.writerId = writerId;
    this.fsync = durability === "journal-fsync";
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.pending = PredictionJournal.frame();
    liveJournals.add(writerId);
  }

  private static frame(): RecordEncoder {
    const e = new RecordEncoder(16 * 1024);
    e.length = 4;
    return e;
  }

  segmentPath(gen: number): string {
    return join(this.dir, `${this.writerId}-${String(gen).padStart(6, "0")}${JOURNAL_SUFFIX}`);
  }

  /** The encoder of the current request's records. */
  get out(): RecordEncoder {
    return this.pending;
  }

  /** Writes a NAMES record for `id` unless this segment has it already. */
  names(id: number, names: readonly string[]): void {
    if (this.namesWritten.has(id)) return;
    this.namesWritten.add(id);
    const e = this.pending;
    e.reserve(5);
    e.u8(REC_NAMES);
    e.u16(id);
    e.u16(names.length);
    for (const n of names) e.str(n);
  }

  /** Writes the pending records as one frame (before the response leaves). */
  commit(): void {
    const e = this.pending;
    if (e.length <= 4) return;
    e.buf.writeUInt32LE(e.length - 4, 0);
    try {
      if (this.fd === undefined) {
        this.fd = openSync(this.segmentPath(this.gen), "a", 0o600);
        if (this.fsync) syncDir(this.dir);
      }
      for (let off = 0; off < e.length; ) off += writeSync(this.fd, e.buf, off, e.length - off);
      if (this.fsync) fdatasyncSync(this.fd);
    } catch (err) {
      throw new TelcoError(
        "prediction_log_unavailable",
        `cannot write the prediction journal in ${this.dir}: ${(err as Error).message}`,
        { hint: "Free disk space or fix the folder's permissions; predictions are refused meanwhile." },
      );
    } finally {
      // A request whose bytes could not be written fails; the next one starts a clean frame.
      if (e.buf.length > 1024 * 1024) this.pending = PredictionJournal.frame();
      else e.length = 4;
    }
  }

  /** Closes the current segment (after committing) and starts the next; returns the closed one's path. */
  rotate(): { path: string; gen: number } {
    this.commit();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const closed = { path: this.segmentPath(this.gen), gen: this.gen };
    this.gen++;
    this.namesWritten.clear();
    return closed;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    liveJournals.delete(this.writerId);
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Day → lines of one journal segment (frames in order; a torn last frame is dropped). */
function readSegment(path: string): { days: Map<string, LineBuffer>; records: number; torn: boolean } {
  const bytes = readFileSync(path);
  const days = new Map<string, LineBuffer>();
  const names = new Map<number, readonly string[]>();
  let records = 0;
  let torn = false;
  for (let off = 0; off < bytes.length; ) {
    if (off + 4 > bytes.length) {
      torn = true;
      break;
    }
    const n = bytes.readUInt32LE(off);
    if (off + 4 + n > bytes.length) {
      torn = true;
      break;
    }
    const frame = bytes.buffer.slice(bytes.byteOffset + off + 4, bytes.byteOffset + off + 4 + n);
    try {
      decodeRecords(frame as ArrayBuffer, n, names, (day, text) => {
        let lines = days.get(day);
        if (!lines) {
          lines = new LineBuffer(64 * 1024);
          days.set(day, lines);
        }
        lines.push(text);
        records++;
      });
    } catch {
      torn = true; // a frame the decoder cannot read: keep what came before it
      break;
    }
    off += 4 + n;
  }
  return { days, records, torn };
}

/** What a journal replay did. */
export interface JournalReplay {
  segments: number;
  records: number;
  /** Segments whose last frame was cut by the crash (that frame's request never got its response). */
  torn: number;
}

/** Whether process `pid` runs on this machine. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Writes the journal segments that dead writers left in `dir` into the lake, then deletes them. A
 * segment of a live writer (another server process on this workspace, or a writer of this process)
 * is left to its owner. Run on server start; idempotent (a replay interrupted by another crash is
 * redone on the next start).
 */
export async function replayPredictionJournals(
  lake: Lake,
  dir: string,
  opts: { selfWriterId?: string } = {},
): Promise<JournalReplay> {
  const out: JournalReplay = { segments: 0, records: 0, torn: 0 };
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(JOURNAL_SUFFIX));
  } catch {
    return out; // no journal folder: nothing to replay
  }
  for (const f of files.sort()) {
    const m = /^((\d+)-[^/]*)-(\d{6})\.journal$/.exec(f);
    if (!m) continue;
    const [, writerId, pid, gen] = m;
    if (writerId === opts.selfWriterId || liveJournals.has(writerId)) continue;
    if (Number(pid) !== process.pid && alive(Number(pid))) continue;
    const path = join(dir, f);
    const seg = readSegment(path);
    for (const [day, lines] of seg.days) {
      const body = await gzipAsync(lines.bytes.subarray(0, lines.length), GZIP);
      await lake.write(`${PREDICTION_LOG_PREFIX}/dt=${day}/${writerId}-${gen}.jsonl.gz`, body);
    }
    rmSync(path, { force: true });
    out.segments++;
    out.records += seg.records;
    if (seg.torn) out.torn++;
  }
  return out;
}

/** The writer's connection to its log thread. */
interface LogThread {
  worker: Worker;
  /** Feature-name arrays already sent, by identity. */
  names: WeakMap<readonly string[], number>;
  nextNamesId: number;
  /** Flush ids awaiting their parts. */
  pending: Map<number, { resolve: (parts: LogPart[]) => void; reject: (err: Error) => void }>;
  /** Batch buffers the thread gave back, for reuse (only standard-size ones). */
  free: ArrayBuffer[];
}

/** Options of a PredictionLogWriter. */
export interface PredictionLogOptions {
  maxBuffer?: number;
  flushIntervalMs?: number;
  writerId?: string;
  thread?: boolean;
  /**
   * Journal each request's records in this folder before the response (see PredictionJournal and
   * `commit`); without it the writer is "buffered": a killed process loses what was not flushed yet.
   */
  journal?: { dir: string; durability: JournalDurability };
}

/**
 * Append-only prediction log in the lake. Records are buffered in memory and flushed as one
 * immutable gzip JSONL part per day and flush (`logs/predictions/dt=YYYY-MM-DD/<writer>-<gen>.jsonl.gz`),
 * so a request never waits for the lake, and readers never see a half-written part (the lake's write
 * is atomic). Every string field is cut to MAX_LOGGED_CHARS.
 *
 * What a kill -9 loses (docs/operations/reliability.md):
 * - buffered (no `journal`): the records not yet in the lake: the buffer (< `maxBuffer` records, at
 *   most `flushIntervalMs` of traffic) plus flushes still queued for the lake.
 * - with `journal`: nothing that was answered: `commit()` (the server calls it before each response)
 *   writes the request's records to the local journal, replayed into the lake on the next start.
 *
 * Two modes, the same bytes on disk:
 * - in-thread (default; batch scoring): each record is serialised when appended (rather than all at
 *   flush time, where 1 000 JSON.stringify calls in a row stalled the serving event loop for ~10 ms),
 *   and gzip runs on libuv's pool.
 * - `thread: true` (the online server): the request thread only copies each record's fields into a
 *   binary batch (see RecordEncoder); a worker thread builds the lines and gzips them, and the parts
 *   come back to this thread for the lake write (so any Lake adapter works). If the thread fails, the
 *   writer logs it and continues in-thread; records the thread held are lost, like a crash's buffer
 *   (with a journal they are rebuilt from the journal segment instead).
 */
export class PredictionLogWriter {
  private readonly lake: Lake;
  readonly writerId: string;
  private readonly maxBuffer: number;
  /** Serialised JSON lines by day partition (insertion order = first appearance). */
  private buffer = new Map<string, LineBuffer>();
  private buffered = 0;
  /** Generation of the next flush (part names and journal segments). */
  private gen = 0;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private written = 0;
  private lastFlushBytes = 0;
  /** Off-thread mode: the batch being filled and the thread (started at the first append). */
  private useThread: boolean;
  private thread: LogThread | undefined;
  private encoder: RecordEncoder | undefined;
  private nextFlushId = 0;
  private readonly journal: PredictionJournal | undefined;
  /** "buffered", or the journal's durability. */
  readonly durability: "buffered" | JournalDurability;

  constructor(lake: Lake, opts: PredictionLogOptions = {}) {
    this.lake = lake;
    this.maxBuffer = opts.maxBuffer ?? 5000;
    this.writerId = opts.writerId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
    this.useThread = opts.thread ?? false;
    if (opts.journal)
      this.journal = new PredictionJournal(opts.journal.dir, this.writerId, opts.journal.durability);
    this.durability = opts.journal?.durability ?? "buffered";
    if (opts.flushIntervalMs) {
      this.timer = setInterval(() => this.backgroundFlush(), opts.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Records a prediction; never blocks on I/O (a full buffer schedules a background flush). */
  append(record: PredictionRecord): void {
    let line = JSON.stringify(record);
    if (line.length > CAP_CHECK_CHARS) line = JSON.stringify(capRecord(record));
    const enc = this.threadEncoder();
    if (enc) {
      const start = enc.length;
      enc.reserve(1);
      enc.u8(REC_RAW);
      enc.str(record.ts);
      enc.str(line);
      this.journal?.out.bytes(enc.buf, start, enc.length);
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
    let json = valuesJson;
    if (json !== undefined && json.length > CAP_CHECK_CHARS) json = capValuesJson(json);
    else if (json === undefined && values.some((v) => typeof v === "string" && v.length > MAX_LOGGED_CHARS))
      json = capValuesJson(JSON.stringify(values));
    if (record.customer_id !== null && record.customer_id.length > MAX_LOGGED_CHARS)
      record = { ...record, customer_id: capString(record.customer_id) };
    const enc = this.threadEncoder();
    if (!enc) {
      this.push(record.ts, predictionLine(record, featureNames, values, json));
      return;
    }
    const namesId = this.namesId(featureNames);
    this.journal?.names(namesId, featureNames);
    const start = enc.length;
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
    enc.str(json ?? JSON.stringify(values));
    this.journal?.out.bytes(enc.buf, start, enc.length);
    this.counted();
  }

  /**
   * Makes the records appended since the last call durable as configured: with a journal, writes them
   * (one write(2), and an fdatasync with "journal-fsync"); buffered, does nothing. The server calls it
   * before each response; throws TelcoError("prediction_log_unavailable") when the journal cannot be
   * written, so the request fails instead of being answered without its log.
   */
  commit(): void {
    this.journal?.commit();
  }

  private push(ts: string, line: string): void {
    const day = ts.slice(0, 10);
    let lines = this.buffer.get(day);
    if (!lines) {
      lines = new LineBuffer(Math.min(8 * 1024 * 1024, this.lastFlushBytes * 1.25));
      this.buffer.set(day, lines);
    }
    lines.push(line);
    const j = this.journal;
    if (j) {
      j.out.reserve(1);
      j.out.u8(REC_RAW);
      j.out.str(ts);
      j.out.str(line);
    }
    this.counted();
  }

  /** A flush nobody awaits: a failure is logged (an unhandled rejection would end the process). */
  private backgroundFlush(): void {
    this.flush().catch((err: unknown) =>
      logger().error(
        { err: err instanceof Error ? err.message : String(err), journal: this.journal?.dir },
        this.journal
          ? "prediction log flush failed; its records stay in the journal and are replayed on the next start"
          : "prediction log flush failed; its records are lost",
      ),
    );
  }

  private counted(): void {
    if (++this.buffered >= this.maxBuffer) this.backgroundFlush();
    else if (this.encoder && this.encoder.length >= BATCH_BYTES) this.sendBatch();
  }

  /** The batch encoder when records go to the log thread (starting it on first use). */
  private threadEncoder(): RecordEncoder | undefined {
    if (!this.useThread) return undefined;
    if (this.encoder) return this.encoder;
    if (this.thread === undefined && !this.startThread()) return undefined;
    this.encoder = new RecordEncoder(BATCH_ALLOC);
    return this.encoder;
  }

  private startThread(): boolean {
    try {
      const worker = new Worker(new URL("./prediction-log-thread.ts", import.meta.url));
      worker.unref(); // ref'd only while a flush waits for its parts
      const t: LogThread = { worker, names: new WeakMap(), nextNamesId: 0, pending: new Map(), free: [] };
      worker.on("message", (m: FromLogThread) => {
        if (m.kind === "free") {
          if (t.free.length < 4 && m.buf.byteLength === BATCH_ALLOC) t.free.push(m.buf);
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
    enc.buf = reuse ? Buffer.from(reuse) : Buffer.allocUnsafeSlow(BATCH_ALLOC);
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
    const gen = this.gen++;
    // The journal segment of exactly this flush's records (commits what the current request appended).
    const segment = this.journal?.rotate();
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
    this.lastFlushBytes = Math.min(this.lastFlushBytes, 8 * 1024 * 1024);
    // After a failed flush (reported to its caller) the next ones still run.
    this.flushing = this.flushing
      .catch(() => undefined)
      .then(async () => {
        let fromThread: LogPart[];
        try {
          fromThread = await parts;
        } catch {
          // A failed thread was reported when it failed. Its records are gone unless the journal has
          // them: then this flush is rebuilt from the segment (it holds every record of the flush).
          if (segment) {
            const seg = readSegment(segment.path);
            batch.clear();
            for (const [day, lines] of seg.days) batch.set(day, lines);
          }
          fromThread = [];
        }
        const all = [...fromThread];
        for (const [day, lines] of batch) {
          // Compressed on libuv's thread pool: a synchronous gzip of a full buffer blocked the serving
          // event loop for ~100+ ms (the API's p99).
          const body = await gzipAsync(lines.bytes.subarray(0, lines.length), GZIP);
          all.push({ day, body, lines: lines.lines });
        }
        // One part per day: the thread's and in-thread lines of the same day (only after a thread
        // failure) are merged under one name, the name a journal replay of this flush writes too.
        for (const [day, group] of groupByDay(all)) {
          const body =
            group.length === 1
              ? toBuffer(group[0].body)
              : gzipSync(Buffer.concat(group.map((g) => gunzipSync(g.body))), GZIP);
          await this.lake.write(
            `${PREDICTION_LOG_PREFIX}/dt=${day}/${this.writerId}-${String(gen).padStart(6, "0")}.jsonl.gz`,
            body,
          );
          this.written += group.reduce((n, g) => n + g.lines, 0);
        }
        if (segment) rmSync(segment.path, { force: true });
      });
    return this.flushing;
  }

  /** Flushes and stops the timer and the log thread: call on graceful shutdown so no record is lost. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    this.journal?.close();
    const t = this.thread;
    if (t) {
      this.thread = undefined;
      this.encoder = undefined;
      this.useThread = false;
      await t.worker.terminate();
    }
  }
}

function toBuffer(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Parts grouped by day, in first-appearance order (gzip members concatenate into one valid file). */
function groupByDay(parts: LogPart[]): Map<string, LogPart[]> {
  const out = new Map<string, LogPart[]>();
  for (const p of parts) {
    const g = out.get(p.day);
    if (g) g.push(p);
    else out.set(p.day, [p]);
  }
  return out;
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
