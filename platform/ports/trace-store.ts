/**
 * Trace-store port, version 1: the assistant's finished spans, kept so `telco traces list|show` can
 * print a turn as a tree and walk its lineage. Local adapter: node:sqlite under `paths.assistant`
 * (platform/adapters/local/sqlite-trace-store.ts); spans also leave by OTLP when configured.
 *
 * Spans arrive as they end (children before their parent); a trace is whatever spans share a
 * `trace_id`. Attribute values are already PII-masked by the instrumentation.
 */

export type SpanAttributeValue = string | number | boolean | string[] | number[] | boolean[];

export interface StoredSpanEvent {
  name: string;
  /** Epoch milliseconds. */
  time_ms: number;
  attributes: Record<string, SpanAttributeValue>;
}

export interface StoredSpan {
  /** 32 lower-case hex digits (OpenTelemetry trace id). */
  trace_id: string;
  /** 16 lower-case hex digits. */
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: "internal" | "server" | "client" | "producer" | "consumer";
  /** Epoch milliseconds (fractional). */
  start_ms: number;
  duration_ms: number;
  status: "unset" | "ok" | "error";
  status_message?: string;
  attributes: Record<string, SpanAttributeValue>;
  events: StoredSpanEvent[];
}

/** One trace as `traces list` shows it: its root span and a few facts about the rest. */
export interface TraceSummary {
  trace_id: string;
  /** The assistant turn's own trace id (`telco.turn.trace_id`, what the chat answer returns), if any. */
  turn_trace_id: string | null;
  /** gen_ai.conversation.id: the assistant session. */
  session_id: string | null;
  /** Name of the root span (or of the earliest span while the root has not ended). */
  name: string;
  started_at: string;
  duration_ms: number;
  spans: number;
  status: StoredSpan["status"];
  /** A few attributes of the root worth a column (intent, channel, tokens, cost). */
  attributes: Record<string, SpanAttributeValue>;
}

export interface TraceQuery {
  sessionId?: string;
  /** Newest first; default 20. */
  limit?: number;
  /** Only traces started at or after this ISO time. */
  since?: string;
}

export interface TraceStore {
  /** Stores finished spans (idempotent per trace_id + span_id). */
  append(spans: readonly StoredSpan[]): Promise<void>;
  list(query?: TraceQuery): Promise<TraceSummary[]>;
  /**
   * Every span of a trace, by OpenTelemetry trace id or by the turn trace id the chat answer returned
   * (a unique prefix of either, at least 8 characters, also works); null when unknown.
   */
  get(id: string): Promise<StoredSpan[] | null>;
  /** Deletes the traces that started before `before` (ISO time); returns how many spans went. */
  prune(before: string): Promise<number>;
  close(): Promise<void>;
}

/** Root attributes a trace summary carries (the rest stay in `get`). */
export const SUMMARY_ATTRIBUTES = [
  "telco.turn.intent",
  "telco.channel",
  "telco.turn.outcome",
  "gen_ai.usage.input_tokens",
  "gen_ai.usage.output_tokens",
  "telco.cost.total",
  "telco.cost.currency",
] as const;
