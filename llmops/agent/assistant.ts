import { createHash, randomBytes } from "node:crypto";
import type { AssistantConfig } from "../../platform/config/sections/assistant.ts";
import { NotFoundError, TelcoError, ValidationError } from "../../platform/errors.ts";
import type {
  AssistantSessionStore,
  StoredSession,
  StoredTurn,
} from "../../platform/ports/assistant-sessions.ts";
import type { Language } from "../conversation/commands.ts";
import { newToolSession } from "../tools/toolbox.ts";
import type { DialogueEngine, TurnOptions, TurnResult } from "./engine.ts";
import { type AssistantState, newAssistantState, parseAssistantState } from "./session.ts";
import type { ChatOutcome, ChatRequest, ChatResponse, TurnObserver } from "./turn-types.ts";

// The turn's request and answer types live in turn-types.ts (the observer types them too, without
// importing the assistant); re-exported for existing importers.
export type { Channel, ChatOutcome, ChatRequest, ChatResponse } from "./turn-types.ts";

/**
 * The assistant as every interface uses it (CLI, REPL, API): sessions loaded from and saved to the
 * session-store port around each engine turn, one turn at a time per session, idle conversations
 * closed (and registered) before a new message or by the server's sweep, and the customer a session
 * belongs to enforced: a session of one customer is never continued for another.
 */

/** A guardrail that fired in the turn, as the one-turn JSON shows it (never the personal data itself). */
export interface GuardrailView {
  name: string;
  /** What it did: mask, rewrite, block, escalate, log. */
  action: string;
  /** Where it fired: on the customer's message (input), on retrieved passages, or on the reply (output). */
  where: string;
  reason: string;
}

/** The documented one-turn JSON: the eight fields, and `guardrails` (empty when none fired). */
export type DocumentedResponse = ChatResponse & { guardrails: GuardrailView[] };

/**
 * Exactly the documented one-turn JSON: the eight fields of the assistant's answer plus the guardrails
 * that fired (the guarded assistant reports them as `{ guardrail, stage, action, reason, detail }`).
 */
export function documentedResponse(
  r: ChatResponse & {
    guardrails?: readonly { guardrail: string; stage: string; action: string; reason: string }[];
  },
): DocumentedResponse {
  return {
    session_id: r.session_id,
    reply: r.reply,
    intent: r.intent,
    citations: r.citations,
    tool_calls: r.tool_calls,
    offers: r.offers,
    interaction_id: r.interaction_id,
    trace_id: r.trace_id,
    guardrails: (r.guardrails ?? []).map((g) => ({
      name: g.guardrail,
      action: g.action,
      where: g.stage,
      reason: g.reason,
    })),
  };
}

/** What the reply sent became after the engine's turn (e.g. rewritten by the output guardrails). */
export interface FinalReply {
  reply: string;
  /** Fields added to the stored turn record (e.g. the guardrails that fired). */
  record?: Record<string, unknown>;
}

export interface ChatOptions extends TurnOptions {
  /**
   * Runs after the engine's turn and before anything is saved, with the session state the turn left:
   * returns the reply actually sent. The session history, the stored turn record and the response then
   * hold that reply, never the engine's draft.
   */
  finalize?: (turn: TurnResult, state: AssistantState) => FinalReply | Promise<FinalReply>;
  /**
   * The session as the caller just read it from this assistant's store, inside the same per-session
   * queue (the guarded assistant peeks at it first): the turn uses it instead of reading it again. A
   * writer in another process is still caught by the version check on save.
   */
  preloaded?: { session_id: string; stored: StoredSession | null };
}

export interface SessionView {
  session_id: string;
  customer_id: string | null;
  channel: string;
  status: "open" | "closed";
  language: Language;
  created_at: string;
  updated_at: string;
  /** Open flows, the active one last. */
  flows: { flow: string; step: string; awaiting: string | null }[];
  turns: {
    turn_no: number;
    trace_id: string;
    created_at: string;
    message: string;
    reply: string;
    intent: string | null;
  }[];
}

/** The session belongs to another customer (or to none, for a customer token): answered as 403. */
export class SessionForbiddenError extends TelcoError {
  constructor(sessionId: string) {
    super("forbidden", `session ${sessionId} belongs to another customer`);
    this.name = "SessionForbiddenError";
  }
}

/** Identity not verified at login: answered as 401, without saying which part was wrong. */
export class LoginFailedError extends TelcoError {
  constructor(reason: string) {
    super("login_failed", "identity not verified", { details: { reason } });
    this.name = "LoginFailedError";
  }
}

/** A customer session token from the simulated login. */
export interface LoginResult {
  token: string;
  customer_id: string;
  first_name: string;
  method: "cpf_birth_date" | "login_code";
  expires_at: string;
}

export type LoginInput = { cpf: string; birth_date: string } | { customer_id: string; code: string };

export const MAX_MESSAGE_CHARS = 2000;
/** Customer tokens start with this, so a bearer value is told from an operator API key at a glance. */
export const CUSTOMER_TOKEN_PREFIX = "cst_";

function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function newSessionId(): string {
  return `ses_${randomBytes(9).toString("base64url")}`;
}

export interface AssistantDeps<O extends TurnObserver = TurnObserver> {
  engine: DialogueEngine;
  store: AssistantSessionStore;
  config: AssistantConfig;
  now?: () => Date;
  /** Resources the composition opened for this assistant (closed by `close()`). */
  closers?: (() => Promise<void>)[];
  /** Wraps each turn (tracing, tokens, cost, metrics: llmops/observability, handed in by llmops/assistant). */
  observer?: O;
}

export class Assistant<O extends TurnObserver = TurnObserver> {
  readonly engine: DialogueEngine;
  readonly observer: O | undefined;
  readonly store: AssistantSessionStore;
  readonly config: AssistantConfig;
  private readonly now: () => Date;
  private readonly closers: (() => Promise<void>)[];
  /** One turn at a time per session in this process (the store's version check covers other processes). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(deps: AssistantDeps<O>) {
    this.engine = deps.engine;
    this.store = deps.store;
    this.config = deps.config;
    this.now = deps.now ?? (() => new Date());
    this.closers = deps.closers ?? [];
    this.observer = deps.observer;
  }

  /** Closes what the composition opened for this assistant (the churn model's store); idempotent. */
  async close(): Promise<void> {
    for (const c of this.closers.splice(0)) await c().catch(() => {});
  }

  /** One turn: load (or create) the session, close an idle conversation, run the engine, save. */
  async chat(req: ChatRequest, opts: ChatOptions = {}): Promise<ChatOutcome> {
    const message = typeof req.message === "string" ? req.message.trim() : "";
    if (!message) throw new ValidationError("message", "must be a non-empty text");
    if (message.length > MAX_MESSAGE_CHARS)
      throw new ValidationError("message", `must be at most ${MAX_MESSAGE_CHARS} characters`);
    if (req.session_id !== undefined && !SESSION_ID.test(req.session_id))
      throw new ValidationError("session_id", "must be 1-64 letters, digits, '_', '.', ':' or '-'");
    const sessionId = req.session_id ?? newSessionId();
    const run = () => this.locked(sessionId, () => this.turn(sessionId, { ...req, message }, opts));
    return this.observer ? this.observer.chat({ ...req, session_id: sessionId, message }, run) : run();
  }

  private async turn(sessionId: string, req: ChatRequest, opts: ChatOptions): Promise<ChatOutcome> {
    const tp = performance.now();
    const now = this.now().toISOString();
    const stored =
      opts.preloaded?.session_id === sessionId ? opts.preloaded.stored : await this.store.get(sessionId);
    const asserted = req.customer_id ?? null;
    let state: AssistantState;
    let created: string;
    let expected = 0;
    if (stored) {
      if (asserted && stored.customer_id && stored.customer_id !== asserted)
        throw new SessionForbiddenError(sessionId);
      state = parseAssistantState(stored.state, sessionId);
      created = stored.created_at;
      expected = stored.version;
      // An anonymous session the trusted channel now vouches for (e.g. after a login) is that customer's.
      if (asserted && !state.tool_session.customer_id) state.tool_session.customer_id = asserted;
    } else {
      state = newAssistantState({
        session_id: sessionId,
        channel: req.channel,
        language: req.language ?? this.config.defaultLanguage,
        customer_id: asserted,
        now,
      });
      created = now;
    }
    let persistence = performance.now() - tp;

    let closedIdle: string | null = null;
    if (stored && stored.status === "open" && this.isIdle(stored.updated_at)) {
      const closed = await this.engine.close(state, "idle");
      closedIdle = closed.interaction_id;
    }

    const { finalize, preloaded: _, ...turnOpts } = opts;
    let turn = await this.engine.turn(state, req.message, turnOpts);
    if (turn.ended) state.stack = [];
    let extra: Record<string, unknown> = {};
    if (finalize) {
      const final = await finalize(turn, state);
      extra = final.record ?? {};
      if (final.reply !== turn.reply) {
        // The history the engine appended ends with its draft: keep what was sent instead.
        const last = state.history.at(-1);
        if (last?.role === "assistant" && last.text === turn.reply) last.text = final.reply;
        turn = { ...turn, reply: final.reply, trace: { ...turn.trace, reply: final.reply } };
      }
    }

    const ts = performance.now();
    const session: StoredSession = {
      session_id: sessionId,
      customer_id: state.tool_session.customer_id,
      channel: stored?.channel ?? req.channel,
      status: turn.ended ? "closed" : "open",
      created_at: created,
      updated_at: this.now().toISOString(),
      state: state as unknown as Record<string, unknown>,
      version: expected,
    };
    const record: StoredTurn = {
      session_id: sessionId,
      turn_no: turn.trace.turn_no,
      trace_id: turn.trace_id,
      created_at: turn.trace.at,
      record: {
        ...turn.trace,
        ...extra,
        intent: turn.intent,
        citations: turn.citations,
        offers: turn.offers.map((o) => o.offer_id),
        interaction_id: turn.interaction_id,
      } as unknown as Record<string, unknown>,
    };
    await this.store.save(session, { expectedVersion: expected, turn: record });
    persistence += performance.now() - ts;
    return {
      response: {
        session_id: sessionId,
        reply: turn.reply,
        intent: turn.intent,
        citations: turn.citations,
        tool_calls: turn.tool_calls,
        offers: turn.offers,
        interaction_id: turn.interaction_id,
        trace_id: turn.trace_id,
      },
      turn,
      closed_idle: closedIdle,
      persistence_ms: Math.round(persistence * 100) / 100,
    };
  }

  /**
   * The simulated login (CPF + birth date, or customer id + the one-time code the sandbox CRM issued),
   * verified by the tool layer's authenticate(); returns a customer session token (only its hash is kept).
   */
  async login(input: LoginInput): Promise<LoginResult> {
    const session = newToolSession({
      session_id: `login_${randomBytes(6).toString("hex")}`,
      channel: "api",
      language: this.config.defaultLanguage,
    });
    const toolbox = this.engine.deps.toolbox(session);
    const r = await toolbox.authenticate(
      "cpf" in input
        ? { cpf: input.cpf, birth_date: input.birth_date }
        : { customer_id: input.customer_id, code: input.code },
    );
    if (!r.ok) {
      if (r.error.code === "system_unavailable") throw new TelcoError("system_unavailable", r.error.message);
      if (r.error.code === "invalid_input")
        throw new ValidationError(r.error.field ?? "body", r.error.message);
      throw new LoginFailedError(r.error.code);
    }
    const token = `${CUSTOMER_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
    const now = this.now();
    const expires = new Date(now.getTime() + this.config.loginTokenTtlMs).toISOString();
    await this.store.saveLogin({
      token_hash: tokenHash(token),
      customer_id: r.result.customer_id,
      method: r.result.method,
      created_at: now.toISOString(),
      expires_at: expires,
    });
    return {
      token,
      customer_id: r.result.customer_id,
      first_name: r.result.first_name,
      method: r.result.method,
      expires_at: expires,
    };
  }

  /** The customer a session token belongs to, or null (unknown, expired, or not a customer token). */
  async customerForToken(token: string): Promise<string | null> {
    if (!token.startsWith(CUSTOMER_TOKEN_PREFIX)) return null;
    const login = await this.store.getLogin(tokenHash(token), this.now().toISOString());
    return login?.customer_id ?? null;
  }

  /** The session with its flows and turns; `customerId` (a customer's token) must own it. */
  async session(sessionId: string, opts: { customerId?: string; turns?: number } = {}): Promise<SessionView> {
    const stored = await this.store.get(sessionId);
    if (!stored) throw new NotFoundError(`session ${sessionId}`, { details: { code: "unknown_session" } });
    if (opts.customerId !== undefined && stored.customer_id !== opts.customerId)
      throw new SessionForbiddenError(sessionId);
    const state = parseAssistantState(stored.state, sessionId);
    const turns = await this.store.listTurns(sessionId, { limit: opts.turns ?? 50 });
    return {
      session_id: stored.session_id,
      customer_id: stored.customer_id,
      channel: stored.channel,
      status: stored.status,
      language: state.language,
      created_at: stored.created_at,
      updated_at: stored.updated_at,
      flows: state.stack.map((f) => ({ flow: f.flow, step: f.step, awaiting: f.awaiting })),
      turns: turns.map((t) => ({
        turn_no: t.turn_no,
        trace_id: t.trace_id,
        created_at: t.created_at,
        message: String(t.record.message ?? ""),
        reply: String(t.record.reply ?? ""),
        intent: (t.record.intent as string | null | undefined) ?? null,
      })),
    };
  }

  /** The stored turn records (traces) of a session. */
  async traces(sessionId: string, opts: { limit?: number } = {}): Promise<StoredTurn[]> {
    return this.store.listTurns(sessionId, opts);
  }

  /**
   * Ends a conversation now (REPL /new or /quit, tests): open flows count as abandoned and what was
   * not registered is registered. Returns the interaction id, if one was registered.
   */
  async end(sessionId: string, reason: "goodbye" | "idle" | "new" = "goodbye"): Promise<string | null> {
    return this.locked(sessionId, async () => {
      const stored = await this.store.get(sessionId);
      if (!stored || stored.status === "closed") return null;
      const state = parseAssistantState(stored.state, sessionId);
      const closed = await this.engine.close(state, reason);
      await this.store.save(
        { ...stored, status: "closed", state: state as unknown as Record<string, unknown> },
        { expectedVersion: stored.version },
      );
      return closed.interaction_id;
    });
  }

  /** Closes every open session idle for longer than `assistant.idleTimeoutMs`; returns how many. */
  async sweepIdle(): Promise<{ closed: number; interactions: string[] }> {
    const before = new Date(this.now().getTime() - this.config.idleTimeoutMs).toISOString();
    const idle = await this.store.listIdle(before, { limit: 200 });
    const interactions: string[] = [];
    for (const s of idle) {
      try {
        const id = await this.end(s.session_id, "idle");
        if (id) interactions.push(id);
      } catch {
        // A session another process is writing right now is swept next time.
      }
    }
    return { closed: idle.length, interactions };
  }

  private isIdle(updatedAt: string): boolean {
    return this.now().getTime() - Date.parse(updatedAt) > this.config.idleTimeoutMs;
  }

  private async locked<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(sessionId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(sessionId, tail);
    try {
      return await next;
    } finally {
      if (this.locks.get(sessionId) === tail) this.locks.delete(sessionId);
    }
  }
}
