/**
 * The prediction log's worker thread (PredictionLogWriter with `thread: true`): decodes the record
 * batches the serving thread transfers, builds each JSON line (`predictionLine`, the same bytes as the
 * in-thread writer), keeps them per day and, on each flush, gzips every day into one part and transfers
 * the parts back for the lake write.
 */
import { parentPort } from "node:worker_threads";
import {
  decodeRecords,
  type FromLogThread,
  gzipParts,
  LineBuffer,
  type ToLogThread,
} from "./prediction-log.ts";

const port = parentPort;
if (!port) throw new Error("prediction-log-thread.ts runs as a worker thread");

const names = new Map<number, readonly string[]>();
let days = new Map<string, LineBuffer>();
let capacity = 0;

function lineBuffer(day: string): LineBuffer {
  let lines = days.get(day);
  if (!lines) {
    lines = new LineBuffer(Math.min(8 * 1024 * 1024, capacity * 1.25));
    days.set(day, lines);
  }
  return lines;
}

function decodeBatch(buf: ArrayBuffer, length: number): void {
  decodeRecords(buf, length, names, (day, line) => lineBuffer(day).push(line));
}

port.on("message", (m: ToLogThread) => {
  if (m.kind === "names") names.set(m.id, m.names);
  else if (m.kind === "batch") {
    decodeBatch(m.buf, m.length);
    port.postMessage({ kind: "free", buf: m.buf } satisfies FromLogThread, [m.buf]);
  } else if (m.kind === "flush") {
    // The next buffers start at the size this flush needed, up to 8 MB (one burst must not pin more).
    for (const lines of days.values()) capacity = Math.min(8 * 1024 * 1024, Math.max(capacity, lines.length));
    // Exact-size copies: zlib's output may sit in a larger or untransferable ArrayBuffer.
    const parts = gzipParts(days).map((p) => ({ ...p, body: new Uint8Array(p.body) }));
    days = new Map();
    port.postMessage(
      { kind: "parts", id: m.id, parts } satisfies FromLogThread,
      parts.map((p) => p.body.buffer as ArrayBuffer),
    );
  }
});
