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

  constructor(location: VertexLocation, opts: VertexRestOptions = {}) {
    this.env = opts.env ?? process.env;
    this.apiBase = (opts.apiBase ?? vertexApiBase(location, this.env)).replace(/\/$/, "");
    this.storageBase = (opts.storageBase ?? storageApiBase(this.env)).replace(/\/$/, "");
    this.fetchFn = opts.fetch ?? globalThis.fetch;
    this.pollMs = opts.pollIntervalMs ?? (Number(this.env.VERTEX_POLL_INTERVAL_MS) || 5000);
    this.opTimeoutMs = opts.operationTimeoutMs ?? 45 * 60_000;
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

  private async request(
    method: string,
    url: string,
    body?: string | Uint8Array,
    contentType?: string,
  ): Promise<Buffer> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.token()}` };
    if (body !== undefined) headers["content-type"] = contentType ?? "application/json";
    let res: Response;
    try {
      res = await this.fetchFn(url, { method, headers, body });
    } catch (err) {
      throw new TelcoError("gcp_unreachable", `${method} ${url} failed: ${(err as Error).message}`, {
        hint: "Check the network, or use --dry-run to print the requests.",
      });
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    if (!res.ok) {
      const text = bytes.toString("utf8");
      let e: GoogleError | undefined;
      try {
        e = (JSON.parse(text) as { error?: GoogleError }).error;
      } catch {
        e = undefined;
      }
      throw new TelcoError(
        "vertex_request_failed",
        `${method} ${url} → ${res.status} ${e?.status ?? ""}: ${e?.message ?? text.slice(0, 300)}${fieldViolations(e)}`.replace(
          / {2,}/g,
          " ",
        ),
        {
          hint:
            res.status === 401 || res.status === 403
              ? "Check the credentials and the account's roles (roles/aiplatform.user)."
              : res.status === 409
                ? "It already exists (an earlier send of this request may have succeeded): read it instead of creating it again."
                : undefined,
          details: { status: res.status, error: e },
        },
      );
    }
    return bytes;
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
