import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { ValidationError } from "../../errors.ts";
import {
  type SpanAttributeValue,
  type StoredSpan,
  SUMMARY_ATTRIBUTES,
  type TraceQuery,
  type TraceStore,
  type TraceSummary,
} from "../../ports/trace-store.ts";

interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: string;
  start_ms: number;
  duration_ms: number;
  status: string;
  status_message: string | null;
  attributes: string;
  events: string;
}

interface SummaryRow {
  trace_id: string;
  spans: number;
  first_ms: number;
  root_name: string | null;
  root_start: number | null;
  root_duration: number | null;
  root_status: string | null;
  root_attributes: string | null;
  turn_trace_id: string | null;
  session_id: string | null;
  first_name: string;
}

/** Spans wait at most this long before their batch is written (the turn never waits for it). */
const FLUSH_AFTER_MS = 20;
/** A batch this large is written at once. */
const MAX_BATCH = 512;

/**
 * Spans in one SQLite file (`<paths.assistant>/traces.sqlite`, WAL so the API server and a `telco
 * traces` in another shell share it). Attributes and events are JSON text; the session, the turn's
 * trace id and the root flag are columns so listing stays an index scan.
 *
 * Writes are batched: `append` queues the spans and resolves when the batch holding them is committed
 * (one transaction for every span that ended within FLUSH_AFTER_MS, instead of one per span, which cost
 * a commit and its WAL write per span on the turn's path). Reads and `close` write the queue first, so
 * this process always reads its own spans; a flush waits for nothing but the timer.
 */
export class SqliteTraceStore implements TraceStore {
  readonly path: string;
  private readonly db: DatabaseSync;
  private queue: StoredSpan[] = [];
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly insert: StatementSync;
  private readonly byTrace: StatementSync;
  private readonly resolveExact: StatementSync;
  private readonly resolvePrefix: StatementSync;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.db = db;
    this.insert = db.prepare(
      `insert or replace into spans (trace_id, span_id, parent_span_id, name, kind, start_ms, duration_ms,
         status, status_message, attributes, events, session_id, turn_trace_id)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.byTrace = db.prepare(
      "select * from spans where trace_id = ? order by parent_span_id is not null, start_ms, rowid",
    );
    this.resolveExact = db.prepare(
      "select trace_id from spans where trace_id = ? or turn_trace_id = ? limit 1",
    );
    this.resolvePrefix = db.prepare(
      `select distinct trace_id from spans
       where trace_id like ? escape '\\' or turn_trace_id like ? escape '\\' limit 2`,
    );
  }

  /** Opens (creating) the store in the assistant folder of the workspace. */
  static open(assistantDir: string): SqliteTraceStore {
    mkdirSync(assistantDir, { recursive: true });
    const path = join(assistantDir, "traces.sqlite");
    const db = new DatabaseSync(path, { timeout: 5000 });
    db.exec("pragma journal_mode = wal; pragma synchronous = normal;");
    db.exec(`
      create table if not exists spans (
        trace_id text not null, span_id text not null, parent_span_id text, name text not null,
        kind text not null, start_ms real not null, duration_ms real not null, status text not null,
        status_message text, attributes text not null, events text not null,
        session_id text, turn_trace_id text,
        primary key (trace_id, span_id)
      );
      create index if not exists spans_start on spans (start_ms);
      create index if not exists spans_session on spans (session_id, start_ms);
      create index if not exists spans_turn on spans (turn_trace_id);
    `);
    return new SqliteTraceStore(path, db);
  }

  append(spans: readonly StoredSpan[]): Promise<void> {
    if (spans.length === 0) return Promise.resolve();
    if (!this.db.isOpen) return Promise.reject(new Error("trace store is closed"));
    for (const s of spans) this.queue.push(s);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.queue.length >= MAX_BATCH) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_AFTER_MS);
    return done;
  }

  /** Writes the queued spans in one transaction and settles their `append` promises. */
  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0) return;
    const spans = this.queue;
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    try {
      this.write(spans);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      return;
    }
    for (const w of waiters) w.resolve();
  }

  private write(spans: readonly StoredSpan[]): void {
    this.db.exec("begin");
    try {
      for (const s of spans) {
        const session = s.attributes["gen_ai.conversation.id"];
        const turn = s.attributes["telco.turn.trace_id"];
        this.insert.run(
          s.trace_id,
          s.span_id,
          s.parent_span_id,
          s.name,
          s.kind,
          s.start_ms,
          s.duration_ms,
          s.status,
          s.status_message ?? null,
          JSON.stringify(s.attributes),
          JSON.stringify(s.events),
          typeof session === "string" ? session : null,
          typeof turn === "string" ? turn : null,
        );
      }
      this.db.exec("commit");
    } catch (err) {
      this.db.exec("rollback");
      throw err;
    }
  }

  async list(query: TraceQuery = {}): Promise<TraceSummary[]> {
    this.flush();
    const limit = Math.max(1, Math.min(query.limit ?? 20, 10_000));
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.sessionId) {
      where.push("trace_id in (select trace_id from spans where session_id = ?)");
      params.push(query.sessionId);
    }
    if (query.since) {
      const t = Date.parse(query.since);
      if (Number.isNaN(t)) throw new ValidationError("since", `"${query.since}" is not an ISO date-time`);
      where.push("start_ms >= ?");
      params.push(t);
    }
    const rows = this.db
      .prepare(
        `select trace_id, count(*) as spans, min(start_ms) as first_ms,
           max(case when parent_span_id is null then name end) as root_name,
           max(case when parent_span_id is null then start_ms end) as root_start,
           max(case when parent_span_id is null then duration_ms end) as root_duration,
           max(case when parent_span_id is null then status end) as root_status,
           max(case when parent_span_id is null then attributes end) as root_attributes,
           max(turn_trace_id) as turn_trace_id, max(session_id) as session_id,
           (select s2.name from spans s2 where s2.trace_id = spans.trace_id order by s2.start_ms limit 1) as first_name
         from spans ${where.length ? `where ${where.join(" and ")}` : ""}
         group by trace_id order by first_ms desc limit ?`,
      )
      .all(...params, limit) as unknown as SummaryRow[];
    return rows.map((r) => {
      const attrs = r.root_attributes
        ? (JSON.parse(r.root_attributes) as Record<string, SpanAttributeValue>)
        : {};
      const picked: Record<string, SpanAttributeValue> = {};
      for (const k of SUMMARY_ATTRIBUTES) if (attrs[k] !== undefined) picked[k] = attrs[k];
      const start = r.root_start ?? r.first_ms;
      return {
        trace_id: r.trace_id,
        turn_trace_id: r.turn_trace_id,
        session_id: r.session_id,
        name: r.root_name ?? r.first_name,
        started_at: new Date(start).toISOString(),
        duration_ms: r.root_duration ?? 0,
        spans: r.spans,
        status: (r.root_status ?? "unset") as StoredSpan["status"],
        attributes: picked,
      };
    });
  }

  async get(id: string): Promise<StoredSpan[] | null> {
    this.flush();
    const key = id.trim().toLowerCase();
    if (!/^[0-9a-f-]{8,36}$/.test(key))
      throw new ValidationError("id", `"${id}" is not a trace id (8 to 36 hex digits and dashes)`);
    let traceId = (this.resolveExact.get(key, key) as { trace_id: string } | undefined)?.trace_id;
    if (!traceId) {
      const like = `${key.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const hits = this.resolvePrefix.all(like, like) as { trace_id: string }[];
      if (hits.length > 1)
        throw new ValidationError("id", `"${id}" matches more than one trace: give more digits`);
      traceId = hits[0]?.trace_id;
    }
    if (!traceId) return null;
    const rows = this.byTrace.all(traceId) as unknown as SpanRow[];
    return rows.map((r) => ({
      trace_id: r.trace_id,
      span_id: r.span_id,
      parent_span_id: r.parent_span_id,
      name: r.name,
      kind: r.kind as StoredSpan["kind"],
      start_ms: r.start_ms,
      duration_ms: r.duration_ms,
      status: r.status as StoredSpan["status"],
      ...(r.status_message ? { status_message: r.status_message } : {}),
      attributes: JSON.parse(r.attributes) as StoredSpan["attributes"],
      events: JSON.parse(r.events) as StoredSpan["events"],
    }));
  }

  async prune(before: string): Promise<number> {
    const t = Date.parse(before);
    if (Number.isNaN(t)) throw new ValidationError("before", `"${before}" is not an ISO date-time`);
    this.flush();
    // A trace started before t iff one of its spans did: the start index finds them without grouping
    // every span (this runs at every start of an assistant, the CLI's one-turn chat included).
    const r = this.db
      .prepare("delete from spans where trace_id in (select distinct trace_id from spans where start_ms < ?)")
      .run(t);
    return Number(r.changes);
  }

  async close(): Promise<void> {
    if (!this.db.isOpen) return;
    this.flush();
    this.db.close();
  }
}
