import type { Attributes, HrTime } from "@opentelemetry/api";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-node";
import type { SpanAttributeValue, StoredSpan, StoredSpanEvent, TraceStore } from "../ports/trace-store.ts";

/** The export result the SDK expects (ExportResultCode.SUCCESS = 0, FAILED = 1). */
type ResultCallback = Parameters<SpanExporter["export"]>[1];

const KINDS: StoredSpan["kind"][] = ["internal", "server", "client", "producer", "consumer"];
const STATUS: StoredSpan["status"][] = ["unset", "ok", "error"];

function hrToMs(t: HrTime): number {
  return t[0] * 1000 + t[1] / 1e6;
}

function attributes(a: Attributes | undefined): Record<string, SpanAttributeValue> {
  const out: Record<string, SpanAttributeValue> = {};
  if (!a) return out;
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined || v === null) continue;
    out[k] = Array.isArray(v) ? (v.filter((x) => x !== null && x !== undefined) as SpanAttributeValue) : v;
  }
  return out;
}

/** An SDK span as the trace store keeps it. */
export function toStoredSpan(s: ReadableSpan): StoredSpan {
  const ctx = s.spanContext();
  const events: StoredSpanEvent[] = s.events.map((e) => ({
    name: e.name,
    time_ms: hrToMs(e.time),
    attributes: attributes(e.attributes),
  }));
  return {
    trace_id: ctx.traceId,
    span_id: ctx.spanId,
    parent_span_id: s.parentSpanContext?.spanId ?? null,
    name: s.name,
    kind: KINDS[s.kind] ?? "internal",
    start_ms: hrToMs(s.startTime),
    duration_ms: Math.round(hrToMs(s.duration) * 1000) / 1000,
    status: STATUS[s.status.code] ?? "unset",
    ...(s.status.message ? { status_message: s.status.message } : {}),
    attributes: attributes(s.attributes),
    events,
  };
}

/**
 * An OpenTelemetry SpanExporter writing into a TraceStore (the local trace store). Used with a
 * SimpleSpanProcessor: each span is stored as it ends, so `telco traces show` sees a turn at once.
 */
export class TraceStoreSpanExporter implements SpanExporter {
  private readonly store: TraceStore;
  private pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(store: TraceStore) {
    this.store = store;
  }

  export(spans: ReadableSpan[], done: ResultCallback): void {
    if (this.stopped) {
      done({ code: 1, error: new Error("trace store exporter is shut down") });
      return;
    }
    const p = this.store.append(spans.map(toStoredSpan)).then(
      () => done({ code: 0 }),
      (err: unknown) => done({ code: 1, error: err instanceof Error ? err : new Error(String(err)) }),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async forceFlush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    this.stopped = true;
  }
}
