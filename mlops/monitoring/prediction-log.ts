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

export const PREDICTION_LOG_PREFIX = "logs/predictions";

/**
 * Append-only prediction log in the lake. Records are buffered in memory and flushed as one
 * immutable gzip JSONL part per flush (`logs/predictions/dt=YYYY-MM-DD/<writer>-<seq>.jsonl.gz`),
 * so a request never waits for I/O, a crash loses at most one unflushed buffer, and readers never
 * see a half-written part (the lake's write is atomic).
 */
export class PredictionLogWriter {
  private readonly lake: Lake;
  private readonly writerId: string;
  private readonly maxBuffer: number;
  private buffer: PredictionRecord[] = [];
  private seq = 0;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private written = 0;

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
    this.buffer.push(record);
    if (this.buffer.length >= this.maxBuffer) void this.flush();
  }

  /** Number of records persisted so far. */
  get persisted(): number {
    return this.written;
  }

  /** Writes everything buffered so far; flushes are serialised so parts never interleave. */
  flush(): Promise<void> {
    const batch = this.buffer;
    if (batch.length === 0) return this.flushing;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      const byDay = new Map<string, PredictionRecord[]>();
      for (const r of batch) {
        const day = r.ts.slice(0, 10);
        const list = byDay.get(day) ?? [];
        list.push(r);
        byDay.set(day, list);
      }
      for (const [day, records] of byDay) {
        const seq = String(this.seq++).padStart(6, "0");
        // Compressed on libuv's thread pool at a fast level: a synchronous gzip of a full buffer
        // blocked the serving event loop for ~100+ ms (the API's p99).
        const body = await gzipAsync(records.map((r) => JSON.stringify(r)).join("\n") + "\n", {
          level: constants.Z_BEST_SPEED,
        });
        await this.lake.write(`${PREDICTION_LOG_PREFIX}/dt=${day}/${this.writerId}-${seq}.jsonl.gz`, body);
        this.written += records.length;
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
