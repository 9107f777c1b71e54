/**
 * The prediction log's worker thread (PredictionLogWriter with `thread: true`): decodes the record
 * batches the serving thread transfers, builds each JSON line (`predictionLine`, the same bytes as the
 * in-thread writer), keeps them per day and, on each flush, gzips every day into one part and transfers
 * the parts back for the lake write.
 */
import { parentPort } from "node:worker_threads";
import {
  type FromLogThread,
  gzipParts,
  LineBuffer,
  predictionLineFromJson,
  REC_RAW,
  REC_VECTOR,
  RecordDecoder,
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
  const d = new RecordDecoder(buf, length);
  while (!d.done) {
    const kind = d.u8();
    if (kind === REC_RAW) {
      const ts = d.str() as string;
      lineBuffer(ts.slice(0, 10)).push(d.str() as string);
    } else if (kind === REC_VECTOR) {
      const shadow = d.u8();
      const featureNames = names.get(d.u16());
      if (!featureNames) throw new Error("prediction-log thread: record before its feature names");
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
      lineBuffer(ts.slice(0, 10)).push(predictionLineFromJson(record, featureNames, valuesJson));
    } else throw new Error(`prediction-log thread: unknown record kind ${kind}`);
  }
}

port.on("message", (m: ToLogThread) => {
  if (m.kind === "names") names.set(m.id, m.names);
  else if (m.kind === "batch") {
    decodeBatch(m.buf, m.length);
    port.postMessage({ kind: "free", buf: m.buf } satisfies FromLogThread, [m.buf]);
  } else if (m.kind === "flush") {
    for (const lines of days.values()) capacity = Math.max(capacity, lines.length);
    // Exact-size copies: zlib's output may sit in a larger or untransferable ArrayBuffer.
    const parts = gzipParts(days).map((p) => ({ ...p, body: new Uint8Array(p.body) }));
    days = new Map();
    port.postMessage(
      { kind: "parts", id: m.id, parts } satisfies FromLogThread,
      parts.map((p) => p.body.buffer as ArrayBuffer),
    );
  }
});
