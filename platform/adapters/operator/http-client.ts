import {
  type SystemName,
  SystemRejectedError,
  SystemUnavailableError,
  type UnavailableReason,
} from "../../ports/operator-systems.ts";

/** Connector behaviour (config operator.client). */
export interface ClientOptions {
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  breakerFailures: number;
  breakerResetMs: number;
}

export interface SystemClientOptions extends ClientOptions {
  system: SystemName;
  /** Base URL of the system, e.g. http://127.0.0.1:8090/crm (no trailing slash needed). */
  baseUrl: string;
  /** Bearer token (from the env variable the config names), or undefined. */
  token?: string;
  /** Wall clock and sleep, injectable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

type Query = Record<string, string | number | undefined | null>;

/**
 * Circuit breaker of one system: after `failures` consecutive calls that got no answer it opens
 * and fails fast for `resetMs`; then one trial call (half-open) closes it again or reopens it.
 * Written by hand: a few lines, and the usual libraries wrap promises in ways that hide our typed errors.
 */
export class CircuitBreaker {
  private state: "closed" | "open" | "half_open" = "closed";
  private consecutive = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private readonly failures: number;
  private readonly resetMs: number;
  private readonly now: () => number;

  constructor(failures: number, resetMs: number, now: () => number = Date.now) {
    this.failures = failures;
    this.resetMs = resetMs;
    this.now = now;
  }

  /** May a call go out now? In half-open state only one trial at a time. */
  allow(): boolean {
    if (this.state === "closed") return true;
    if (this.state === "open") {
      if (this.now() - this.openedAt < this.resetMs) return false;
      this.state = "half_open";
      this.trialInFlight = false;
    }
    if (this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.state = "closed";
    this.consecutive = 0;
    this.trialInFlight = false;
  }

  failure(): void {
    this.trialInFlight = false;
    if (this.state === "half_open") {
      this.open();
      return;
    }
    this.consecutive++;
    if (this.consecutive >= this.failures) this.open();
  }

  private open(): void {
    this.state = "open";
    this.openedAt = this.now();
    this.consecutive = 0;
  }

  get status(): "closed" | "open" | "half_open" {
    if (this.state === "open" && this.now() - this.openedAt >= this.resetMs) return "half_open";
    return this.state;
  }
}

/** One attempt's outcome: an answer (any status) or no answer (with the reason). */
type Attempt =
  | { kind: "answer"; status: number; body: unknown }
  | { kind: "none"; reason: UnavailableReason; message: string; cause?: unknown };

/**
 * Typed HTTP client of one operator system: per-call timeout, retries with exponential backoff
 * for idempotent calls only, a circuit breaker, idempotency keys on writes and an optional
 * bearer token. Down/timeout/5xx/open circuit → SystemUnavailableError; 4xx → SystemRejectedError.
 */
export class SystemHttpClient {
  readonly system: SystemName;
  readonly baseUrl: string;
  readonly breaker: CircuitBreaker;
  private readonly opts: SystemClientOptions;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(opts: SystemClientOptions) {
    this.opts = opts;
    this.system = opts.system;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    this.breaker = new CircuitBreaker(opts.breakerFailures, opts.breakerResetMs, opts.now);
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** A read: retried on no answer and on 5xx. `nullOn404` maps that 404 code to null. */
  async get<T>(path: string, query?: Query, nullOn404?: string): Promise<T | null> {
    return this.call<T>("GET", path, { query, retry: "read", nullOn404 });
  }

  async getOrThrow<T>(path: string, query?: Query): Promise<T> {
    return (await this.call<T>("GET", path, { query, retry: "read" })) as T;
  }

  /** A write with an idempotency key: retried only when no answer came back (timeout, connection). */
  async write<T>(method: "POST" | "PATCH", path: string, body: unknown, idempotencyKey: string): Promise<T> {
    if (typeof idempotencyKey !== "string" || !idempotencyKey) {
      throw new SystemRejectedError(
        this.system,
        400,
        "idempotency_key_required",
        "every write needs an idempotency key",
      );
    }
    return (await this.call<T>(method, path, { body, idempotencyKey, retry: "write" })) as T;
  }

  /** A POST that reads (no side effect): retried like a GET. */
  async postRead<T>(path: string, body: unknown): Promise<T> {
    return (await this.call<T>("POST", path, { body, retry: "read" })) as T;
  }

  /** A POST with a side effect and no idempotency key: never retried. */
  async postOnce<T>(path: string, body: unknown): Promise<T> {
    return (await this.call<T>("POST", path, { body, retry: "never" })) as T;
  }

  private async call<T>(
    method: string,
    path: string,
    o: {
      query?: Query;
      body?: unknown;
      idempotencyKey?: string;
      retry: "read" | "write" | "never";
      nullOn404?: string;
    },
  ): Promise<T | null> {
    if (!this.breaker.allow()) {
      throw new SystemUnavailableError(
        this.system,
        "circuit_open",
        "too many recent failures; not calling it for a while",
      );
    }
    const url = this.url(path, o.query);
    const maxAttempts = o.retry === "never" ? 1 : 1 + this.opts.retries;
    let last: Attempt | undefined;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) await this.sleep(this.opts.backoffMs * 2 ** (attempt - 1) * (1 + Math.random() * 0.2));
      last = await this.attempt(method, url, o.body, o.idempotencyKey);
      if (last.kind === "answer" && last.status < 500) break;
      // A write that got an answer (even a 5xx) is never sent again; without an answer it is safe to
      // resend: the idempotency key makes the system apply it once.
      if (last.kind === "answer" && o.retry !== "read") break;
    }
    const res = last as Attempt;
    if (res.kind === "none") {
      this.breaker.failure();
      throw new SystemUnavailableError(this.system, res.reason, res.message, { cause: res.cause });
    }
    if (res.status >= 500) {
      this.breaker.failure();
      throw new SystemUnavailableError(
        this.system,
        "server_error",
        `HTTP ${res.status}: ${errorText(res.body)}`,
      );
    }
    this.breaker.success();
    if (res.status >= 400) {
      const err = (res.body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      const code = typeof err?.code === "string" ? err.code : `http_${res.status}`;
      if (res.status === 404 && o.nullOn404 && code === o.nullOn404) return null;
      throw new SystemRejectedError(
        this.system,
        res.status,
        code,
        typeof err?.message === "string" ? err.message : `HTTP ${res.status}`,
      );
    }
    return res.body as T;
  }

  private url(path: string, query?: Query): string {
    let url = `${this.baseUrl}${path}`;
    if (query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) qs.set(k, String(v));
      const s = qs.toString();
      if (s) url += `?${s}`;
    }
    return url;
  }

  private async attempt(
    method: string,
    url: string,
    body: unknown,
    key: string | undefined,
  ): Promise<Attempt> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (key) headers["idempotency-key"] = key;
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    try {
      const res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      const text = await res.text();
      let parsed: unknown = null;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          if (res.status < 400)
            return { kind: "answer", status: 502, body: { error: { message: "answer is not JSON" } } };
          parsed = { error: { message: text.slice(0, 200) } };
        }
      }
      return { kind: "answer", status: res.status, body: parsed };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (signal.aborted || e.name === "TimeoutError" || e.name === "AbortError") {
        return {
          kind: "none",
          reason: "timeout",
          message: `no answer within ${this.opts.timeoutMs} ms`,
          cause: err,
        };
      }
      const detail = e.cause?.code ?? e.cause?.message ?? e.message;
      return {
        kind: "none",
        reason: "down",
        message: `cannot reach ${url.split("?")[0]} (${detail})`,
        cause: err,
      };
    }
  }
}

function errorText(body: unknown): string {
  const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof err?.message === "string" ? err.message : "server error";
}

export function enc(s: string): string {
  return encodeURIComponent(String(s));
}
