import { TelcoError } from "../../errors.ts";
import {
  type AssistantSessionStore,
  SessionConflictError,
  type SessionStatus,
  type StoredLogin,
  type StoredSession,
  type StoredTurn,
} from "../../ports/assistant-sessions.ts";
import { GoogleApiError, GoogleJsonClient, googleAccessToken, type TokenSource } from "./google-rest.ts";

/**
 * Assistant sessions on Firestore (native mode), over its v1 REST API.
 *
 * Layout, in the database Terraform creates for the assistant (`telco-assistant-ENV`,
 * `gcp.assistantDatabase`; a `prefix` makes the collections `<prefix>_sessions` …, for sharing one):
 *   `sessions/<id>`              one document per session (state as a JSON string field)
 *   `sessions/<id>/turns/<n>`    one per turn, the id zero-padded so name order is turn order
 *   `logins/<token hash>`        login tokens
 * `save` reads the session, checks the version, then commits the session and its turn in one
 * `documents:commit` whose preconditions (the read `updateTime`, or `exists: false`) make a racing
 * writer fail as a whole: nothing half-written, and the loser gets SessionConflictError.
 * `listIdle` queries status == "open" and updated_at < before ordered by updated_at: that needs the
 * composite index (status ASC, updated_at ASC) on `sessions` (Firestore names it in its error).
 *
 * Retention: with `retentionDays`, the session and each turn carry `expires_at` (a Firestore timestamp:
 * the session's last update plus that many days), which the TTL policy Terraform sets on `sessions`
 * (and one on the `turns` collection group) uses to delete them; without it nothing expires.
 *
 * Endpoint: the `endpoint` option (tests), else `FIRESTORE_EMULATOR_HOST` (no credentials, as
 * Google's clients do), else https://firestore.googleapis.com with Application Default Credentials.
 */
export interface FirestoreSessionsOptions {
  project: string;
  /** Database id (default "(default)"). */
  database?: string;
  /** Collection-name prefix (tests, a shared database); none by default. */
  prefix?: string;
  /** Days after its last update a session (and its turns) may be deleted by a TTL policy. */
  retentionDays?: number;
  endpoint?: string;
  accessToken?: TokenSource;
  fetch?: typeof globalThis.fetch;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

type FsValue =
  | { stringValue: string }
  | { integerValue: string }
  | { doubleValue: number }
  | { nullValue: null }
  | { booleanValue: boolean }
  | { timestampValue: string };

interface FsDocument {
  name: string;
  fields?: Record<string, FsValue>;
  updateTime?: string;
}

const s = (v: string): FsValue => ({ stringValue: v });
const str = (v: FsValue | undefined): string =>
  v && "stringValue" in v ? v.stringValue : v && "integerValue" in v ? v.integerValue : "";
const strOrNull = (v: FsValue | undefined): string | null => (!v || "nullValue" in v ? null : str(v));
const int = (v: FsValue | undefined): number =>
  v && "integerValue" in v ? Number(v.integerValue) : v && "doubleValue" in v ? v.doubleValue : 0;

/** Firestore ids may not contain "/" nor be "."/".."/__x__; anything unusual is base64url-encoded. */
function docId(id: string): string {
  return /^[A-Za-z0-9_.:@+-]{1,700}$/.test(id) && !/^\.\.?$/.test(id) && !/^__.*__$/.test(id)
    ? id
    : `~${Buffer.from(id, "utf8").toString("base64url")}`;
}

const turnId = (n: number) => String(n).padStart(10, "0");

export class FirestoreAssistantSessionStore implements AssistantSessionStore {
  readonly kind = "firestore" as const;
  private readonly client: GoogleJsonClient;
  private readonly root: string;
  private readonly sessions: string;
  private readonly logins: string;
  private readonly retentionDays: number | undefined;

  constructor(opts: FirestoreSessionsOptions) {
    const env = opts.env ?? process.env;
    const emulator = env.FIRESTORE_EMULATOR_HOST;
    const endpoint = opts.endpoint ?? (emulator ? `http://${emulator}` : "https://firestore.googleapis.com");
    this.root = `projects/${opts.project}/databases/${opts.database ?? "(default)"}/documents`;
    const prefix = opts.prefix ? `${opts.prefix}_` : "";
    this.sessions = `${prefix}sessions`;
    this.logins = `${prefix}logins`;
    this.retentionDays = opts.retentionDays;
    this.client = new GoogleJsonClient({
      base: `${endpoint.replace(/\/$/, "")}/v1`,
      // The emulator (and a test endpoint) takes no credentials.
      token: opts.accessToken ?? (opts.endpoint || emulator ? undefined : googleAccessToken(env)),
      errorCode: "assistant_sessions",
      service: "Firestore",
      fetch: opts.fetch,
      timeoutMs: opts.timeoutMs,
    });
  }

  private sessionName(id: string): string {
    return `${this.root}/${this.sessions}/${docId(id)}`;
  }

  private async getDoc(name: string): Promise<FsDocument | undefined> {
    return this.client.call<FsDocument>("GET", name);
  }

  async get(sessionId: string): Promise<StoredSession | null> {
    const doc = await this.getDoc(this.sessionName(sessionId));
    return doc?.fields ? toSession(doc) : null;
  }

  async save(
    session: StoredSession,
    opts: { expectedVersion: number; turn?: StoredTurn },
  ): Promise<StoredSession> {
    const next = { ...session, version: opts.expectedVersion + 1 };
    const name = this.sessionName(session.session_id);
    const ttl = this.expiry(next.updated_at);
    const current = await this.getDoc(name);
    const found = current?.fields ? int(current.fields.version) : 0;
    if (found !== opts.expectedVersion)
      throw new SessionConflictError(session.session_id, opts.expectedVersion, found);
    const writes: unknown[] = [
      {
        update: {
          name,
          fields: {
            session_id: s(next.session_id),
            customer_id: next.customer_id === null ? { nullValue: null } : s(next.customer_id),
            channel: s(next.channel),
            status: s(next.status),
            created_at: s(next.created_at),
            updated_at: s(next.updated_at),
            state: s(JSON.stringify(next.state)),
            version: { integerValue: String(next.version) },
            ...ttl,
          },
        },
        currentDocument: current?.updateTime ? { updateTime: current.updateTime } : { exists: false },
      },
    ];
    if (opts.turn)
      writes.push({
        update: {
          name: `${name}/turns/${turnId(opts.turn.turn_no)}`,
          fields: {
            session_id: s(opts.turn.session_id),
            turn_no: { integerValue: String(opts.turn.turn_no) },
            trace_id: s(opts.turn.trace_id),
            created_at: s(opts.turn.created_at),
            record: s(JSON.stringify(opts.turn.record)),
            ...ttl,
          },
        },
        currentDocument: { exists: false },
      });
    try {
      await this.client.call("POST", `${this.root}:commit`, { writes });
    } catch (err) {
      // A precondition failed: another writer got there first (session moved on, or the turn exists).
      if (
        err instanceof GoogleApiError &&
        ["FAILED_PRECONDITION", "ALREADY_EXISTS", "ABORTED"].includes(err.rpcStatus)
      ) {
        const now = await this.getDoc(name);
        throw new SessionConflictError(
          session.session_id,
          opts.expectedVersion,
          now?.fields ? int(now.fields.version) : 0,
        );
      }
      throw err;
    }
    return next;
  }

  /** The TTL field for a write made at `updatedAt` (now when it is not a valid time), if retention is set. */
  private expiry(updatedAt: string): { expires_at?: FsValue } {
    if (this.retentionDays === undefined) return {};
    const base = Date.parse(updatedAt);
    const at = (Number.isNaN(base) ? Date.now() : base) + this.retentionDays * 86_400_000;
    return { expires_at: { timestampValue: new Date(at).toISOString() } };
  }

  private async runQuery(parent: string, structuredQuery: unknown): Promise<FsDocument[]> {
    const rows = await this.client.call<Array<{ document?: FsDocument }>>("POST", `${parent}:runQuery`, {
      structuredQuery,
    });
    return (rows ?? []).flatMap((r) => (r.document ? [r.document] : []));
  }

  async listTurns(sessionId: string, opts: { limit?: number } = {}): Promise<StoredTurn[]> {
    const last = opts.limit !== undefined;
    const docs = await this.runQuery(this.sessionName(sessionId), {
      from: [{ collectionId: "turns" }],
      orderBy: [{ field: { fieldPath: "turn_no" }, direction: last ? "DESCENDING" : "ASCENDING" }],
      ...(last ? { limit: opts.limit } : {}),
    });
    if (last) docs.reverse();
    return docs.map((d) => {
      const f = d.fields ?? {};
      return {
        session_id: str(f.session_id),
        turn_no: int(f.turn_no),
        trace_id: str(f.trace_id),
        created_at: str(f.created_at),
        record: parseJson(str(f.record), `turn ${str(f.session_id)}#${int(f.turn_no)}`),
      };
    });
  }

  async listIdle(before: string, opts: { limit?: number } = {}): Promise<StoredSession[]> {
    const docs = await this.runQuery(this.root, {
      from: [{ collectionId: this.sessions }],
      where: {
        compositeFilter: {
          op: "AND",
          filters: [
            { fieldFilter: { field: { fieldPath: "status" }, op: "EQUAL", value: s("open") } },
            { fieldFilter: { field: { fieldPath: "updated_at" }, op: "LESS_THAN", value: s(before) } },
          ],
        },
      },
      orderBy: [{ field: { fieldPath: "updated_at" }, direction: "ASCENDING" }],
      limit: opts.limit ?? 1000,
    });
    return docs.map(toSession);
  }

  async saveLogin(login: StoredLogin): Promise<void> {
    await this.client.call("POST", `${this.root}:commit`, {
      writes: [
        {
          update: {
            name: `${this.root}/${this.logins}/${docId(login.token_hash)}`,
            fields: {
              token_hash: s(login.token_hash),
              customer_id: s(login.customer_id),
              method: s(login.method),
              created_at: s(login.created_at),
              expires_at: s(login.expires_at),
            },
          },
        },
      ],
    });
  }

  async getLogin(tokenHash: string, now: string): Promise<StoredLogin | null> {
    const doc = await this.getDoc(`${this.root}/${this.logins}/${docId(tokenHash)}`);
    const f = doc?.fields;
    if (!f || !(str(f.expires_at) > now)) return null;
    return {
      token_hash: str(f.token_hash),
      customer_id: str(f.customer_id),
      method: str(f.method) as StoredLogin["method"],
      created_at: str(f.created_at),
      expires_at: str(f.expires_at),
    };
  }

  async close(): Promise<void> {}
}

function toSession(doc: FsDocument): StoredSession {
  const f = doc.fields ?? {};
  const id = str(f.session_id);
  return {
    session_id: id,
    customer_id: strOrNull(f.customer_id),
    channel: str(f.channel),
    status: str(f.status) as SessionStatus,
    created_at: str(f.created_at),
    updated_at: str(f.updated_at),
    state: parseJson(str(f.state), `session ${id}`),
    version: int(f.version),
  };
}

function parseJson(text: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new TelcoError("corrupt_session", `${what}: stored JSON is not an object`, {
    hint: "Delete the session document in Firestore (collection sessions).",
  });
}
