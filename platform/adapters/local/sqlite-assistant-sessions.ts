import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { TelcoError } from "../../errors.ts";
import {
  type AssistantSessionStore,
  SessionConflictError,
  type SessionStatus,
  type StoredLogin,
  type StoredSession,
  type StoredTurn,
} from "../../ports/assistant-sessions.ts";

interface SessionRow {
  session_id: string;
  customer_id: string | null;
  channel: string;
  status: string;
  created_at: string;
  updated_at: string;
  state: string;
  version: number;
}

/**
 * Assistant sessions in one SQLite file (`<paths.assistant>/sessions.sqlite`, WAL so the API server
 * and a `telco chat` in another shell share it). State and turn records are JSON text columns.
 */
export class SqliteAssistantSessionStore implements AssistantSessionStore {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly getStmt: StatementSync;
  private readonly versionStmt: StatementSync;
  private readonly upsertStmt: StatementSync;
  private readonly turnStmt: StatementSync;
  private readonly turnsStmt: StatementSync;
  private readonly lastTurnsStmt: StatementSync;
  private readonly idleStmt: StatementSync;
  private readonly loginInsert: StatementSync;
  private readonly loginGet: StatementSync;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.db = db;
    this.getStmt = db.prepare("select * from sessions where session_id = ?");
    this.versionStmt = db.prepare("select version from sessions where session_id = ?");
    this.upsertStmt = db.prepare(
      `insert into sessions (session_id, customer_id, channel, status, created_at, updated_at, state, version)
       values (?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (session_id) do update set customer_id = excluded.customer_id, channel = excluded.channel,
         status = excluded.status, updated_at = excluded.updated_at, state = excluded.state, version = excluded.version`,
    );
    this.turnStmt = db.prepare(
      "insert into turns (session_id, turn_no, trace_id, created_at, record) values (?, ?, ?, ?, ?)",
    );
    this.turnsStmt = db.prepare("select * from turns where session_id = ? order by turn_no");
    this.lastTurnsStmt = db.prepare(
      "select * from (select * from turns where session_id = ? order by turn_no desc limit ?) order by turn_no",
    );
    this.idleStmt = db.prepare(
      "select * from sessions where status = 'open' and updated_at < ? order by updated_at limit ?",
    );
    this.loginInsert = db.prepare(
      "insert or replace into logins (token_hash, customer_id, method, created_at, expires_at) values (?, ?, ?, ?, ?)",
    );
    this.loginGet = db.prepare("select * from logins where token_hash = ? and expires_at > ?");
  }

  /** Opens (creating) the store in the assistant folder of the workspace. */
  static open(assistantDir: string): SqliteAssistantSessionStore {
    mkdirSync(assistantDir, { recursive: true });
    const path = join(assistantDir, "sessions.sqlite");
    const db = new DatabaseSync(path, { timeout: 5000 });
    db.exec("pragma journal_mode = wal; pragma synchronous = normal;");
    db.exec(`
      create table if not exists sessions (
        session_id text primary key, customer_id text, channel text not null, status text not null,
        created_at text not null, updated_at text not null, state text not null, version integer not null
      );
      create index if not exists sessions_idle on sessions (status, updated_at);
      create table if not exists turns (
        session_id text not null, turn_no integer not null, trace_id text not null,
        created_at text not null, record text not null, primary key (session_id, turn_no)
      );
      create table if not exists logins (
        token_hash text primary key, customer_id text not null, method text not null,
        created_at text not null, expires_at text not null
      );
    `);
    return new SqliteAssistantSessionStore(path, db);
  }

  async get(sessionId: string): Promise<StoredSession | null> {
    const row = this.getStmt.get(sessionId) as SessionRow | undefined;
    return row ? this.toSession(row) : null;
  }

  async save(
    session: StoredSession,
    opts: { expectedVersion: number; turn?: StoredTurn },
  ): Promise<StoredSession> {
    const next = { ...session, version: opts.expectedVersion + 1 };
    this.db.exec("begin immediate");
    try {
      const found =
        (this.versionStmt.get(session.session_id) as { version: number } | undefined)?.version ?? 0;
      if (found !== opts.expectedVersion)
        throw new SessionConflictError(session.session_id, opts.expectedVersion, found);
      this.upsertStmt.run(
        next.session_id,
        next.customer_id,
        next.channel,
        next.status,
        next.created_at,
        next.updated_at,
        JSON.stringify(next.state),
        next.version,
      );
      if (opts.turn)
        this.turnStmt.run(
          opts.turn.session_id,
          opts.turn.turn_no,
          opts.turn.trace_id,
          opts.turn.created_at,
          JSON.stringify(opts.turn.record),
        );
      this.db.exec("commit");
    } catch (err) {
      this.db.exec("rollback");
      throw err;
    }
    return next;
  }

  async listTurns(sessionId: string, opts: { limit?: number } = {}): Promise<StoredTurn[]> {
    const rows = (
      opts.limit === undefined ? this.turnsStmt.all(sessionId) : this.lastTurnsStmt.all(sessionId, opts.limit)
    ) as { session_id: string; turn_no: number; trace_id: string; created_at: string; record: string }[];
    return rows.map((r) => ({
      session_id: r.session_id,
      turn_no: r.turn_no,
      trace_id: r.trace_id,
      created_at: r.created_at,
      record: parseJson(r.record, `turn ${r.session_id}#${r.turn_no}`),
    }));
  }

  async listIdle(before: string, opts: { limit?: number } = {}): Promise<StoredSession[]> {
    const rows = this.idleStmt.all(before, opts.limit ?? 1000) as unknown as SessionRow[];
    return rows.map((r) => this.toSession(r));
  }

  async saveLogin(login: StoredLogin): Promise<void> {
    this.loginInsert.run(
      login.token_hash,
      login.customer_id,
      login.method,
      login.created_at,
      login.expires_at,
    );
  }

  async getLogin(tokenHash: string, now: string): Promise<StoredLogin | null> {
    const row = this.loginGet.get(tokenHash, now) as StoredLogin | undefined;
    return row ? { ...row } : null;
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  private toSession(row: SessionRow): StoredSession {
    return {
      session_id: row.session_id,
      customer_id: row.customer_id,
      channel: row.channel,
      status: row.status as SessionStatus,
      created_at: row.created_at,
      updated_at: row.updated_at,
      state: parseJson(row.state, `session ${row.session_id}`),
      version: row.version,
    };
  }
}

function parseJson(text: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new TelcoError("corrupt_session", `${what}: stored JSON is not an object`, {
    hint: "Delete the session row or the assistant store under the workspace's assistant folder.",
  });
}
