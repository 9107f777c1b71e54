import { readFile } from "node:fs/promises";
import { TelcoError } from "../../errors.ts";
import { gcpPreflight, storageEndpoint } from "./preflight.ts";
import type { VertexLocation } from "./vertex-common.ts";

/**
 * Vertex AI (and Cloud Storage upload) over REST with fetch: the requests a plan holds are exactly
 * what is sent, so `--dry-run` prints the real thing and tests replay recorded responses from a local
 * server (VERTEX_API_ENDPOINT / STORAGE_EMULATOR_HOST, or the base URLs passed in).
 */

/** One request of a plan, printed verbatim by `--dry-run`. */
export interface PlannedRequest {
  /** Step id; later bodies refer to its result as `{{id.path.to.field}}`. */
  id: string;
  description: string;
  method: "GET" | "POST";
  url: string;
  body?: unknown;
  /** The body is this local file's bytes (a Cloud Storage media upload). */
  uploadFrom?: string;
  /** The answer is a long-running operation: poll it until done; the step's result is its `response`. */
  longRunning?: boolean;
}

export interface VertexRestOptions {
  /** Vertex API base (default VERTEX_API_ENDPOINT, else https://REGION-aiplatform.googleapis.com). */
  apiBase?: string;
  /** Cloud Storage base (default STORAGE_EMULATOR_HOST, else https://storage.googleapis.com). */
  storageBase?: string;
  /** OAuth token source (default GOOGLE_OAUTH_ACCESS_TOKEN, else Application Default Credentials). */
  accessToken?: () => Promise<string>;
  fetch?: typeof globalThis.fetch;
  /** Between polls of a long-running operation (default VERTEX_POLL_INTERVAL_MS, else 5 s). */
  pollIntervalMs?: number;
  /** Longest wait for one operation (default 45 min: deploying a model takes 10-20 min). */
  operationTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Retries of transient failures (see `retryPolicyFor` for which requests may be resent). */
  retry?: VertexRetryOptions;
}

export interface VertexRetryOptions {
  /** Attempts per request, the first included (default 5; 1 turns retries off). */
  attempts?: number;
  /** Backoff before the first retry (default 1 s); doubles per retry, with jitter. */
  baseDelayMs?: number;
  /** Longest wait between two attempts, a server's Retry-After included (default 32 s). */
  maxDelayMs?: number;
  /** How a wait is spent (default setTimeout; tests pass a recorder). */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1) (default Math.random). */
  random?: () => number;
}

/**
 * Which requests may be sent again after a transient failure, decided from the request itself:
 * - `read`: every GET (reads, operation polls) is retried on a dropped connection, 408, 429, 500,
 *   502, 503 and 504;
 * - `create-with-id`: a create whose id the client chose (pipelineJobs.create with `pipelineJobId`,
 *   endpoints.create with `endpointId`) is idempotent by construction and retried like a read; a
 *   409 ALREADY_EXISTS answering a *retry* means an earlier attempt landed, so the existing resource
 *   is read and returned (a 409 on the first attempt stays an error: someone else created it);
 * - `once`: any other POST (models.upload, schedules.create, batchPredictionJobs.create,
 *   deployModel, mergeVersionAliases, Cloud Storage uploads) has no client-chosen id, so a second
 *   send could do it twice. It is resent only when the connection was never made (refused, DNS
 *   not answering, connect timeout): nothing reached the server. Not on 503: google.rpc.Code says
 *   of UNAVAILABLE "it is not always safe to retry non-idempotent operations"; not on 429 either
 *   (AIP-194 lists RESOURCE_EXHAUSTED as not retryable by default and Google documents no
 *   guarantee that it had no effect); not on a connection cut after sending.
 */
export type RetryPolicy =
  | { kind: "read" }
  | { kind: "create-with-id"; resourceUrl: string; longRunning: boolean }
  | { kind: "once" };

export function retryPolicyFor(method: string, url: string): RetryPolicy {
  if (method === "GET") return { kind: "read" };
  const u = URL.parse(url);
  if (u && method === "POST") {
    const job = u.searchParams.get("pipelineJobId");
    if (job && /\/pipelineJobs$/.test(u.pathname))
      return {
        kind: "create-with-id",
        resourceUrl: `${u.origin}${u.pathname}/${encodeURIComponent(job)}`,
        longRunning: false,
      };
    const endpoint = u.searchParams.get("endpointId");
    if (endpoint && /\/endpoints$/.test(u.pathname))
      return {
        kind: "create-with-id",
        resourceUrl: `${u.origin}${u.pathname}/${encodeURIComponent(endpoint)}`,
        longRunning: true,
      };
  }
  return { kind: "once" };
}

/** HTTP statuses worth another attempt of a request that may be resent (AIP-194 and Google's backoff guidance). */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** Connection errors raised before any byte of the request was sent (undici's cause codes). */
const NOT_SENT = new Set(["ECONNREFUSED", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

/** Retry-After as milliseconds (delta-seconds or an HTTP date), undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The Vertex REST base URL for a location (VERTEX_API_ENDPOINT overrides it: tests, private endpoints). */
export function vertexApiBase(location: VertexLocation, env: NodeJS.ProcessEnv = process.env): string {
  const override = env.VERTEX_API_ENDPOINT;
  if (override) return (/^https?:\/\//.test(override) ? override : `https://${override}`).replace(/\/$/, "");
  return `https://${location.region}-aiplatform.googleapis.com`;
}

export function storageApiBase(env: NodeJS.ProcessEnv = process.env): string {
  return storageEndpoint(env).endpoint.replace(/\/$/, "");
}

/** A gs://BUCKET/OBJECT URI as the media-upload request of the JSON API. */
export function storageUploadUrl(base: string, gsUri: string): string {
  const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(gsUri);
  if (!m) throw new TelcoError("invalid_uri", `not a gs://BUCKET/OBJECT URI: ${gsUri}`);
  return `${base}/upload/storage/v1/b/${encodeURIComponent(m[1])}/o?uploadType=media&name=${encodeURIComponent(m[2])}`;
}

/** Replaces `{{step.path}}` placeholders in a body with values from earlier steps' results. */
export function resolvePlaceholders(value: unknown, results: ReadonlyMap<string, unknown>): unknown {
  if (typeof value === "string") {
    const whole = /^\{\{([\w-]+)((?:\.[\w@-]+)*)\}\}$/.exec(value);
    if (whole) return lookup(whole[1], whole[2], results);
    return value.replace(/\{\{([\w-]+)((?:\.[\w@-]+)*)\}\}/g, (_m, id: string, path: string) =>
      String(lookup(id, path, results)),
    );
  }
  if (Array.isArray(value)) return value.map((v) => resolvePlaceholders(v, results));
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        resolvePlaceholders(k, results) as string,
        resolvePlaceholders(v, results),
      ]),
    );
  return value;
}

function lookup(id: string, path: string, results: ReadonlyMap<string, unknown>): unknown {
  if (!results.has(id))
    throw new TelcoError("plan", `placeholder {{${id}${path}}} names a step that has not run`);
  let v = results.get(id);
  for (const key of path.split(".").filter(Boolean)) v = (v as Record<string, unknown> | undefined)?.[key];
  if (v === undefined || v === null)
    throw new TelcoError(
      "plan",
      `step ${id}'s result has no ${path.slice(1)} (placeholder {{${id}${path}}})`,
    );
  return v;
}

/** google.rpc.Status as a REST error body carries it (`error.details` may hold a BadRequest). */
interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details?: Array<{ "@type"?: string; fieldViolations?: Array<{ field?: string; description?: string }> }>;
}

/** The BadRequest field violations of an error answer, as " (field a.b: why; …)", or "". */
function fieldViolations(e: GoogleError | undefined): string {
  const v = (e?.details ?? []).flatMap((d) => d.fieldViolations ?? []).filter((f) => f.field);
  if (v.length === 0) return "";
  return ` (${v.map((f) => `field ${f.field}${f.description ? `: ${f.description}` : ""}`).join("; ")})`;
}

interface AttemptFailure {
  code: string;
  message: string;
  hint: string | undefined;
  /** HTTP status of an error answer (none when the connection failed). */
  status?: number;
  google?: GoogleError;
  /** No byte of the request reached the server. */
  notSent: boolean;
  /** The connection failed after the request may have been sent. */
  connection: boolean;
  retryAfterMs?: number;
}

interface Operation {
  name: string;
  done?: boolean;
  error?: { code?: number; message?: string };
  response?: unknown;
}

/** Sends plans: bearer-authenticated fetch, Google error bodies turned into one TelcoError line. */
export class VertexRest {
  readonly apiBase: string;
  readonly storageBase: string;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly token: () => Promise<string>;
  private readonly pollMs: number;
  private readonly opTimeoutMs: number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly retry: Required<VertexRetryOptions>;

  constructor(location: VertexLocation, opts: VertexRestOptions = {}) {
    this.env = opts.env ?? process.env;
    this.apiBase = (opts.apiBase ?? vertexApiBase(location, this.env)).replace(/\/$/, "");
    this.storageBase = (opts.storageBase ?? storageApiBase(this.env)).replace(/\/$/, "");
    this.fetchFn = opts.fetch ?? globalThis.fetch;
    this.pollMs = opts.pollIntervalMs ?? (Number(this.env.VERTEX_POLL_INTERVAL_MS) || 5000);
    this.opTimeoutMs = opts.operationTimeoutMs ?? 45 * 60_000;
    this.retry = {
      attempts: Math.max(1, Math.floor(opts.retry?.attempts ?? 5)),
      baseDelayMs: Math.max(0, opts.retry?.baseDelayMs ?? 1000),
      maxDelayMs: Math.max(0, opts.retry?.maxDelayMs ?? 32_000),
      sleep: opts.retry?.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      random: opts.retry?.random ?? Math.random,
    };
    const staticToken = this.env.GOOGLE_OAUTH_ACCESS_TOKEN;
    this.token =
      opts.accessToken ?? (staticToken ? async () => staticToken : () => adcToken(this.apiBase, this.env));
  }

  /** Runs the steps in order; returns each step's result (an operation's response) by step id. */
  async execute(
    plan: readonly PlannedRequest[],
    onStep?: (step: PlannedRequest, result: unknown) => void,
  ): Promise<Map<string, unknown>> {
    const results = new Map<string, unknown>();
    for (const step of plan) {
      const url = resolvePlaceholders(step.url, results) as string;
      const body = step.uploadFrom
        ? await readFile(step.uploadFrom)
        : step.body === undefined
          ? undefined
          : JSON.stringify(resolvePlaceholders(step.body, results));
      let result = await this.send(
        step.method,
        url,
        body,
        step.uploadFrom ? "application/octet-stream" : undefined,
      );
      // Operations are polled on the host that started them (the plan's base, not necessarily this.apiBase).
      if (step.longRunning)
        result = await this.wait(result as Operation, step, url.slice(0, url.indexOf("/v1/")));
      results.set(step.id, result);
      onStep?.(step, result);
    }
    return results;
  }

  async send(
    method: string,
    url: string,
    body?: string | Uint8Array,
    contentType?: string,
  ): Promise<unknown> {
    const text = (await this.request(method, url, body, contentType)).toString("utf8");
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      return { raw: text.slice(0, 500) };
    }
  }

  /** The bytes of a gs://BUCKET/OBJECT (Cloud Storage JSON API, alt=media). */
  async download(gsUri: string): Promise<Buffer> {
    const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(gsUri);
    if (!m) throw new TelcoError("invalid_uri", `not a gs://BUCKET/OBJECT URI: ${gsUri}`);
    return this.request(
      "GET",
      `${this.storageBase}/storage/v1/b/${encodeURIComponent(m[1])}/o/${encodeURIComponent(m[2])}?alt=media`,
    );
  }

  /**
   * One request with bounded retries (exponential backoff, jitter, Retry-After honoured up to
   * maxDelayMs) as far as `retryPolicyFor` allows; a create with a client-chosen id that answers 409
   * on a retry resolves to the resource the earlier attempt created (as a done operation when the
   * create is long-running).
   */
  private async request(
    method: string,
    url: string,
    body?: string | Uint8Array,
    contentType?: string,
  ): Promise<Buffer> {
    const policy = retryPolicyFor(method, url);
    // Whether an earlier attempt may have reached the server (then a 409 is that attempt's doing).
    let sentBefore = false;
    for (let attempt = 1; ; attempt++) {
      const failure = await this.attempt(method, url, body, contentType);
      if (Buffer.isBuffer(failure)) return failure;
      if (policy.kind === "create-with-id" && sentBefore && failure.status === 409)
        return this.existing(policy);
      sentBefore ||= !failure.notSent;
      const transient = failure.connection || RETRYABLE_STATUS.has(failure.status ?? 0);
      const resendable = failure.notSent || (policy.kind !== "once" && transient);
      if (!resendable || attempt >= this.retry.attempts) {
        let { message, hint } = failure;
        if (attempt > 1) message += ` (after ${attempt} attempts)`;
        if (policy.kind === "once" && transient && !failure.notSent) {
          message += " (not resent: the request has no client-chosen id and may have been applied)";
          hint = `Check whether it took effect before sending it again (${method} ${url.split("?")[0]}).`;
        }
        throw new TelcoError(failure.code, message, {
          hint,
          ...(failure.status ? { details: { status: failure.status, error: failure.google } } : {}),
        });
      }
      const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
      // Equal jitter: half the backoff plus a random share of the other half.
      const jittered = backoff / 2 + (this.retry.random() * backoff) / 2;
      await this.retry.sleep(Math.min(this.retry.maxDelayMs, Math.max(jittered, failure.retryAfterMs ?? 0)));
    }
  }

  /** The resource an earlier attempt of a create-with-id made (read after its retry answered 409). */
  private async existing(policy: Extract<RetryPolicy, { kind: "create-with-id" }>): Promise<Buffer> {
    const bytes = await this.request("GET", policy.resourceUrl);
    if (!policy.longRunning) return bytes;
    const resource = JSON.parse(bytes.toString("utf8")) as { name?: string };
    return Buffer.from(
      JSON.stringify({ name: resource.name ?? policy.resourceUrl, done: true, response: resource }),
    );
  }

  /** Sends once: the answer's bytes, or what failed and whether it may have reached the server. */
  private async attempt(
    method: string,
    url: string,
    body?: string | Uint8Array,
    contentType?: string,
  ): Promise<Buffer | AttemptFailure> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.token()}` };
    if (body !== undefined) headers["content-type"] = contentType ?? "application/json";
    let res: Response;
    let bytes: Buffer;
    try {
      res = await this.fetchFn(url, { method, headers, body });
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      const cause = (err as { cause?: { code?: unknown } }).cause;
      const code = String(cause?.code ?? (err as { code?: unknown }).code ?? "");
      const notSent = NOT_SENT.has(code);
      // Node's own ERR_* (an invalid URL, a bad argument) are not network failures: never retried.
      const local = code.startsWith("ERR_");
      return {
        code: "gcp_unreachable",
        message: `${method} ${url} failed: ${(err as Error).message}${code ? ` (${code})` : ""}`,
        hint: "Check the network, or use --dry-run to print the requests.",
        notSent: notSent && !local,
        connection: !notSent && !local,
      };
    }
    if (res.ok) return bytes;
    const text = bytes.toString("utf8");
    let e: GoogleError | undefined;
    try {
      e = (JSON.parse(text) as { error?: GoogleError }).error;
    } catch {
      e = undefined;
    }
    return {
      code: "vertex_request_failed",
      message:
        `${method} ${url} → ${res.status} ${e?.status ?? ""}: ${e?.message ?? text.slice(0, 300)}${fieldViolations(e)}`.replace(
          / {2,}/g,
          " ",
        ),
      hint:
        res.status === 401 || res.status === 403
          ? "Check the credentials and the account's roles (roles/aiplatform.user)."
          : res.status === 409
            ? "It already exists (an earlier send of this request may have succeeded): read it instead of creating it again."
            : undefined,
      status: res.status,
      google: e,
      notSent: false,
      connection: false,
      retryAfterMs: retryAfterMs(res.headers.get("retry-after")),
    };
  }

  /** Polls a long-running operation until done; its error becomes a TelcoError naming the step. */
  async wait(op: Operation, step: PlannedRequest, base = this.apiBase): Promise<unknown> {
    const started = Date.now();
    let current = op;
    while (!current.done) {
      if (Date.now() - started > this.opTimeoutMs)
        throw new TelcoError(
          "vertex_timeout",
          `${step.description}: operation ${current.name} still running after ${Math.round(this.opTimeoutMs / 60_000)} min`,
          {
            hint: `It may still finish: GET ${base}/v1/${current.name}`,
          },
        );
      await new Promise((r) => setTimeout(r, this.pollMs));
      current = (await this.send("GET", `${base}/v1/${current.name}`)) as Operation;
    }
    if (current.error)
      throw new TelcoError(
        "vertex_operation_failed",
        `${step.description}: ${current.error.message ?? "operation failed"} (code ${current.error.code ?? "?"})`,
        {
          details: { operation: current.name },
        },
      );
    return current.response ?? {};
  }
}

/**
 * An access token from Application Default Credentials (after the profile's preflight). The Storage
 * client's GoogleAuth is used (its scopes include cloud-platform): google-auth-library is not a
 * direct dependency. Imported lazily.
 */
async function adcToken(apiBase: string, env: NodeJS.ProcessEnv): Promise<string> {
  await gcpPreflight({ endpoint: apiBase, env });
  const { Storage } = await import("@google-cloud/storage");
  const token = await new Storage().authClient.getAccessToken();
  if (!token)
    throw new TelcoError("gcp_credentials", "Application Default Credentials returned no access token");
  return token;
}
