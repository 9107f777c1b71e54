import { TelcoError } from "../errors.ts";

/**
 * Assistant session store port: the assistant's multi-turn memory (one JSON state per session, owned
 * and validated by the dialogue engine), the record of every turn (its trace), and the customer login
 * tokens of the simulated login. Local adapter: node:sqlite in the workspace (`paths.assistant`);
 * a cloud adapter would sit on Firestore or Cloud SQL. Sessions survive a process restart.
 */

export type SessionStatus = "open" | "closed";

export interface StoredSession {
  session_id: string;
  /** The authenticated customer, or null until the identity check succeeds. */
  customer_id: string | null;
  channel: string;
  status: SessionStatus;
  created_at: string;
  /** Time of the last turn (idle detection compares against it). */
  updated_at: string;
  /** Engine-owned JSON (flow stack, slots, language, tool session); opaque to the store. */
  state: Record<string, unknown>;
  /** Incremented by every save; `save` refuses a stale write (two processes on one session). */
  version: number;
}

/** One turn's record (what was understood, which tools ran, what was answered): the trace. */
export interface StoredTurn {
  session_id: string;
  /** 1-based position in the session. */
  turn_no: number;
  trace_id: string;
  created_at: string;
  record: Record<string, unknown>;
}

/** A customer session token from the simulated login; only its hash is stored. */
export interface StoredLogin {
  token_hash: string;
  customer_id: string;
  method: "cpf_birth_date" | "login_code";
  created_at: string;
  expires_at: string;
}

export interface AssistantSessionStore {
  get(sessionId: string): Promise<StoredSession | null>;
  /**
   * Writes the session and (optionally) the turn in one transaction. `expectedVersion` is the
   * version read (0 for a new session); a different stored version throws SessionConflictError.
   * Returns the session with its new version.
   */
  save(session: StoredSession, opts: { expectedVersion: number; turn?: StoredTurn }): Promise<StoredSession>;
  /** Oldest first; the last `limit` turns when given. */
  listTurns(sessionId: string, opts?: { limit?: number }): Promise<StoredTurn[]>;
  /** Open sessions whose last turn is older than `before` (ISO), oldest first. */
  listIdle(before: string, opts?: { limit?: number }): Promise<StoredSession[]>;
  saveLogin(login: StoredLogin): Promise<void>;
  /** null when unknown or expired at `now`. */
  getLogin(tokenHash: string, now: string): Promise<StoredLogin | null>;
  close(): Promise<void>;
}

/** Two writers raced on one session; the caller reloads and retries the turn. */
export class SessionConflictError extends TelcoError {
  readonly sessionId: string;
  constructor(sessionId: string, expected: number, found: number) {
    super(
      "session_conflict",
      `session ${sessionId} changed concurrently (expected version ${expected}, found ${found})`,
      { details: { session_id: sessionId } },
    );
    this.name = "SessionConflictError";
    this.sessionId = sessionId;
  }
}
