import type {
  SpanAttributeValue,
  StoredSpan,
  TraceQuery,
  TraceStore,
  TraceSummary,
} from "../../ports/trace-store.ts";
import { GoogleJsonClient, googleAccessToken, type TokenSource } from "./google-rest.ts";

/**
 * The assistant's traces to Cloud Trace (v2 REST `projects/*\/traces:batchWrite`), with the token
 * refreshed from Application Default Credentials (the OTLP route, `observability.otlp.target:
 * cloud-trace`, takes a static header instead). Limits of the v2 Span as the REST reference states
 * them are applied here: 32 attributes per span, keys of 128 bytes, string values and names cut to
 * 256/128 bytes, 32 time events; int64 values as decimal strings; arrays and doubles as strings.
 */

const MAX_ATTRIBUTES = 32;
const MAX_EVENTS = 32;

interface Truncatable {
  value: string;
  truncatedByteCount: number;
}
type AttributeValue = { stringValue: Truncatable } | { intValue: string } | { boolValue: boolean };
interface Attributes {
  attributeMap: Record<string, AttributeValue>;
  droppedAttributesCount: number;
}

export interface CloudTraceSpan {
  name: string;
  spanId: string;
  parentSpanId?: string;
  displayName: Truncatable;
  startTime: string;
  endTime: string;
  spanKind: "INTERNAL" | "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER";
  attributes: Attributes;
  timeEvents?: {
    timeEvent: { time: string; annotation: { description: Truncatable; attributes: Attributes } }[];
    droppedAnnotationsCount: number;
  };
  status?: { code: number; message?: string };
}

/** Cuts a string to at most `max` UTF-8 bytes (never inside a character) and says how many were cut. */
function truncatable(text: string, max: number): Truncatable {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= max) return { value: text, truncatedByteCount: 0 };
  let end = max;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return { value: bytes.subarray(0, end).toString("utf8"), truncatedByteCount: bytes.length - end };
}

function attributeValue(v: SpanAttributeValue): AttributeValue {
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "number" && Number.isSafeInteger(v)) return { intValue: String(v) };
  if (typeof v === "string") return { stringValue: truncatable(v, 256) };
  return { stringValue: truncatable(Array.isArray(v) ? JSON.stringify(v) : String(v), 256) };
}

function attributes(a: Record<string, SpanAttributeValue>): Attributes {
  const entries = Object.entries(a).filter(([k]) => Buffer.byteLength(k) <= 128);
  const kept = entries.slice(0, MAX_ATTRIBUTES);
  return {
    attributeMap: Object.fromEntries(kept.map(([k, v]) => [k, attributeValue(v)])),
    droppedAttributesCount: Object.keys(a).length - kept.length,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One stored span as a Cloud Trace v2 Span of `project`. */
export function toCloudTraceSpan(project: string, s: StoredSpan): CloudTraceSpan {
  const events = s.events.slice(0, MAX_EVENTS);
  return {
    name: `projects/${project}/traces/${s.trace_id}/spans/${s.span_id}`,
    spanId: s.span_id,
    ...(s.parent_span_id ? { parentSpanId: s.parent_span_id } : {}),
    displayName: truncatable(s.name, 128),
    startTime: iso(s.start_ms),
    endTime: iso(s.start_ms + s.duration_ms),
    spanKind: s.kind.toUpperCase() as CloudTraceSpan["spanKind"],
    attributes: attributes(s.attributes),
    ...(events.length
      ? {
          timeEvents: {
            timeEvent: events.map((e) => ({
              time: iso(e.time_ms),
              annotation: { description: truncatable(e.name, 256), attributes: attributes(e.attributes) },
            })),
            droppedAnnotationsCount: s.events.length - events.length,
          },
        }
      : {}),
    // google.rpc.Code: 0 OK, 2 UNKNOWN (an OpenTelemetry error carries no finer code).
    ...(s.status === "unset"
      ? {}
      : {
          status: {
            code: s.status === "ok" ? 0 : 2,
            ...(s.status_message ? { message: s.status_message } : {}),
          },
        }),
  };
}

export interface CloudTraceOptions {
  project: string;
  /** API base (tests point it at a local fake); default https://cloudtrace.googleapis.com. */
  endpoint?: string;
  accessToken?: TokenSource;
  fetch?: typeof globalThis.fetch;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Writes spans with `traces:batchWrite` (at most `maxBatch` per request). */
export class CloudTraceWriter {
  readonly project: string;
  readonly maxBatch = 500;
  private readonly client: GoogleJsonClient;

  constructor(opts: CloudTraceOptions) {
    this.project = opts.project;
    this.client = new GoogleJsonClient({
      base: `${(opts.endpoint ?? "https://cloudtrace.googleapis.com").replace(/\/$/, "")}/v2`,
      token: opts.accessToken ?? (opts.endpoint ? undefined : googleAccessToken(opts.env)),
      errorCode: "trace_export",
      service: "Cloud Trace",
      fetch: opts.fetch,
      timeoutMs: opts.timeoutMs,
    });
  }

  async write(spans: readonly StoredSpan[]): Promise<void> {
    for (let i = 0; i < spans.length; i += this.maxBatch)
      await this.client.call("POST", `projects/${this.project}/traces:batchWrite`, {
        spans: spans.slice(i, i + this.maxBatch).map((s) => toCloudTraceSpan(this.project, s)),
      });
  }
}

/**
 * The trace-store port under the gcp profile: the local store (so `telco traces` keeps working in the
 * container) with every appended span also sent to Cloud Trace. Spans are buffered and written in the
 * background (`flushMs`, or at `maxBatch`), so a turn never waits on Cloud Trace; a failed write is
 * reported through `onError` (default: one line on stderr) and never fails the turn. `close` flushes.
 */
export class CloudTraceForwardingStore implements TraceStore {
  private readonly inner: TraceStore;
  private readonly writer: CloudTraceWriter;
  private readonly onError: (err: Error) => void;
  private readonly flushMs: number;
  private buffer: StoredSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> = Promise.resolve();

  constructor(
    inner: TraceStore,
    writer: CloudTraceWriter,
    opts: { flushMs?: number; onError?: (err: Error) => void } = {},
  ) {
    this.inner = inner;
    this.writer = writer;
    this.flushMs = opts.flushMs ?? 1000;
    this.onError =
      opts.onError ??
      ((err) =>
        process.stderr.write(`warning: Cloud Trace export failed: ${err.message} (spans kept locally)\n`));
  }

  async append(spans: readonly StoredSpan[]): Promise<void> {
    await this.inner.append(spans);
    this.buffer.push(...spans);
    if (this.buffer.length >= this.writer.maxBatch) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Sends what is buffered; resolves when every send so far has finished (never rejects). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length)
      this.inflight = this.inflight.then(() =>
        this.writer.write(batch).catch((err: unknown) => this.onError(err as Error)),
      );
    return this.inflight;
  }

  list(query?: TraceQuery): Promise<TraceSummary[]> {
    return this.inner.list(query);
  }

  get(id: string): Promise<StoredSpan[] | null> {
    return this.inner.get(id);
  }

  prune(before: string): Promise<number> {
    return this.inner.prune(before);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.inner.close();
  }
}
