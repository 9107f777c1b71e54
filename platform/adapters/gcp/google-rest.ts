import { TelcoError } from "../../errors.ts";

/**
 * The small JSON-over-HTTPS client the assistant's GCP adapters share (Firestore sessions, Vertex AI
 * Search, Cloud Trace): a bearer token from GOOGLE_OAUTH_ACCESS_TOKEN or Application Default
 * Credentials, a per-request timeout, and Google's `{error: {code, message, status}}` turned into a
 * GoogleApiError that keeps the HTTP and RPC status. Hand-written on fetch so tests point the base URL
 * at a local fake server and `--dry-run`-style printing shows the exact requests.
 */

export type TokenSource = () => Promise<string>;

export class GoogleApiError extends TelcoError {
  readonly httpStatus: number;
  /** The RPC status name (NOT_FOUND, FAILED_PRECONDITION, ALREADY_EXISTS …), "" when absent. */
  readonly rpcStatus: string;
  constructor(code: string, message: string, httpStatus: number, rpcStatus: string) {
    super(code, message);
    this.name = "GoogleApiError";
    this.httpStatus = httpStatus;
    this.rpcStatus = rpcStatus;
  }
}

let auth: Promise<{ getAccessToken(): Promise<string | null | undefined> }> | undefined;

/** The default token: GOOGLE_OAUTH_ACCESS_TOKEN, else Application Default Credentials (cloud-platform scope). */
export function googleAccessToken(env: NodeJS.ProcessEnv = process.env): TokenSource {
  return async () => {
    const fromEnv = env.GOOGLE_OAUTH_ACCESS_TOKEN;
    if (fromEnv) return fromEnv;
    auth ??= import("google-auth-library").then(
      (m) => new m.GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] }),
    );
    const token = await (await auth).getAccessToken();
    if (!token)
      throw new TelcoError("gcp_auth", "no Google access token from Application Default Credentials", {
        hint: "Run `gcloud auth application-default login` or set GOOGLE_OAUTH_ACCESS_TOKEN.",
      });
    return token;
  };
}

export interface GoogleJsonClientOptions {
  /** Base URL including the API version, e.g. https://firestore.googleapis.com/v1. */
  base: string;
  /** undefined: send no credentials (emulators, local fakes). */
  token: TokenSource | undefined;
  /** Error code of the TelcoErrors this client throws (e.g. "assistant_sessions"). */
  errorCode: string;
  /** Service name in messages (e.g. "Firestore"). */
  service: string;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export class GoogleJsonClient {
  readonly base: string;
  readonly #opts: GoogleJsonClientOptions;
  readonly #fetch: typeof globalThis.fetch;

  constructor(opts: GoogleJsonClientOptions) {
    this.#opts = opts;
    this.base = opts.base.replace(/\/+$/, "");
    this.#fetch = opts.fetch ?? globalThis.fetch;
  }

  /** POST/GET `{base}/{path}`; undefined for a 404 on GET (a missing resource). */
  async call<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T | undefined> {
    const o = this.#opts;
    const headers: Record<string, string> = { "content-type": "application/json", ...o.headers };
    if (o.token) headers.authorization = `Bearer ${await o.token()}`;
    const short = `${method} ${path.split("?")[0]}`;
    let res: Response;
    try {
      res = await this.#fetch(`${this.base}/${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new TelcoError(o.errorCode, `${o.service} ${short} failed: ${(err as Error).message}`, {
        hint: `Check the network and the ${o.service} endpoint (${this.base}).`,
        cause: err,
      });
    }
    const text = await res.text();
    if (res.status === 404 && method === "GET") return undefined;
    if (!res.ok) {
      let message = text.slice(0, 300);
      let status = "";
      try {
        const e = (JSON.parse(text) as { error?: { message?: string; status?: string } }).error;
        message = e?.message ?? message;
        status = e?.status ?? "";
      } catch {}
      throw new GoogleApiError(
        o.errorCode,
        `${o.service} ${short} failed: HTTP ${res.status}${status ? ` ${status}` : ""} ${message}`,
        res.status,
        status,
      );
    }
    try {
      return (text ? JSON.parse(text) : {}) as T;
    } catch {
      throw new TelcoError(o.errorCode, `${o.service} ${short} answered non-JSON: ${text.slice(0, 200)}`);
    }
  }
}
