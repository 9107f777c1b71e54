import { createHash } from "node:crypto";
import { NotFoundError, TelcoError, ValidationError } from "../../errors.ts";
import {
  AliasConflictError,
  type AliasEvent,
  type AttachmentInfo,
  type ModelSummary,
  type ModelVersion,
  type RegisterModelInput,
  summarizeRegistry,
  validateAttachmentName,
  type WorkspaceModelRegistry,
} from "../../ports/registry.ts";
import {
  currentUser,
  resolveModelRef,
  validateAlias,
  validateModelName,
  validateRegistration,
} from "../local/file-model-registry.ts";
import { googleAccessToken, type TokenSource } from "./google-rest.ts";
import { gcpPreflight, storageEndpoint } from "./preflight.ts";

/** What one stored object looks like in the Cloud Storage JSON API (the fields this adapter reads). */
export interface GcsObjectMeta {
  name: string;
  /** Decimal string (an int64 in the API). */
  generation: string;
  size: string;
  updated: string;
}

/** A write's `ifGenerationMatch` precondition did not hold (HTTP 412). */
export class GcsPreconditionFailed extends TelcoError {
  constructor(object: string) {
    super("gcs_precondition", `gs object ${object} changed (ifGenerationMatch failed)`);
  }
}

export interface GcsObjectsOptions {
  bucket: string;
  /** JSON API base, e.g. https://storage.googleapis.com (default: STORAGE_EMULATOR_HOST, else that). */
  base?: string;
  /** undefined with `base` or an emulator: no credentials sent. Default: googleAccessToken(). */
  token?: TokenSource;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
  /** Tries per request on network errors, 429 and 5xx (default 4), first wait `backoffMs` (200), ×4 each. */
  attempts?: number;
  backoffMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * The few Cloud Storage JSON API calls the registry needs, on fetch: metadata and media reads,
 * media uploads with an `ifGenerationMatch` precondition (0 = only if absent), and prefix listing.
 * Hand-written because @google-cloud/storage's Bucket has no typed way to get a 412 as a value and
 * its retries would re-send a create-only write; here every request is exactly one HTTP call.
 */
export class GcsObjects {
  readonly bucket: string;
  readonly base: string;
  private readonly token: TokenSource | undefined;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly preflight: (() => Promise<unknown>) | undefined;
  private ready: Promise<unknown> | undefined;

  constructor(opts: GcsObjectsOptions) {
    this.bucket = opts.bucket.replace(/^gs:\/\//, "").replace(/\/.*$/, "");
    const env = opts.env ?? process.env;
    const endpoint = storageEndpoint(env);
    this.base = (opts.base ?? endpoint.endpoint).replace(/\/+$/, "");
    const local = opts.base !== undefined || endpoint.emulator;
    this.token = opts.token ?? (local ? undefined : googleAccessToken(env));
    this.fetchFn = opts.fetch ?? globalThis.fetch;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.attempts = opts.attempts ?? 4;
    this.backoffMs = opts.backoffMs ?? 200;
    // The profile's one up-front check (credentials, endpoint), on the first request (building the
    // adapter sends nothing); skipped for an explicit base (tests, fakes).
    this.preflight =
      opts.base !== undefined
        ? undefined
        : () => gcpPreflight({ endpoint: this.base, emulator: endpoint.emulator, env });
  }

  uri(name: string): string {
    return `gs://${this.bucket}/${name}`;
  }

  private objectUrl(name: string): string {
    return `${this.base}/storage/v1/b/${encodeURIComponent(this.bucket)}/o/${encodeURIComponent(name)}`;
  }

  private async send(
    method: string,
    url: string,
    body?: Uint8Array,
    contentType?: string,
  ): Promise<Response> {
    if (this.preflight) {
      this.ready ??= this.preflight();
      await this.ready;
    }
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${await this.token()}`;
    if (body) headers["content-type"] = contentType ?? "application/octet-stream";
    // Transient failures (network, 429, 5xx) are retried, as Google's retry guidance says. A retried
    // precondition write may then meet its own first attempt (412): callers check for that.
    for (let attempt = 1; ; attempt++) {
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await this.fetchFn(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (err) {
        failure = err;
      }
      const transient = res === undefined || res.status === 429 || res.status >= 500;
      if (!transient && res) return res;
      if (attempt >= this.attempts) {
        if (res) return res;
        throw new TelcoError(
          "gcs",
          `Cloud Storage ${method} ${url.split("?")[0]} failed: ${(failure as Error).message}`,
          { hint: `Check the network and the Cloud Storage endpoint (${this.base}).`, cause: failure },
        );
      }
      await res?.arrayBuffer().catch(() => undefined);
      await new Promise((r) => setTimeout(r, this.backoffMs * 4 ** (attempt - 1)));
    }
  }

  private async fail(res: Response, method: string, name: string): Promise<never> {
    const text = await res.text();
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
    } catch {}
    throw new TelcoError("gcs", `Cloud Storage ${method} ${this.uri(name)}: HTTP ${res.status} ${message}`, {
      hint:
        res.status === 401 || res.status === 403
          ? "Check the credentials' access to the bucket (roles/storage.objectAdmin)."
          : `Check that the bucket ${this.bucket} exists.`,
    });
  }

  /** The object's metadata, or null when it does not exist. */
  async stat(name: string): Promise<GcsObjectMeta | null> {
    const res = await this.send("GET", this.objectUrl(name));
    if (res.status === 404) {
      await res.arrayBuffer();
      return null;
    }
    if (!res.ok) return this.fail(res, "GET", name);
    return (await res.json()) as GcsObjectMeta;
  }

  /** The object's bytes (of `generation` when given), or null when it does not exist. */
  async read(name: string, generation?: string): Promise<Buffer | null> {
    const url = `${this.objectUrl(name)}?alt=media${generation ? `&generation=${generation}` : ""}`;
    const res = await this.send("GET", url);
    if (res.status === 404) {
      await res.arrayBuffer();
      return null;
    }
    if (!res.ok) return this.fail(res, "GET", name);
    return Buffer.from(await res.arrayBuffer());
  }

  /** Metadata and bytes of one generation (null when absent): a compare-and-set reads with this. */
  async readWithGeneration(name: string): Promise<{ bytes: Buffer; generation: string } | null> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const meta = await this.stat(name);
      if (!meta) return null;
      const bytes = await this.read(name, meta.generation);
      if (bytes) return { bytes, generation: meta.generation };
      // replaced between the two calls: read the newer generation
    }
    throw new TelcoError("gcs", `Cloud Storage ${this.uri(name)} keeps changing; retry`);
  }

  /**
   * Uploads an object in one request. `ifGenerationMatch`: "0" creates only if absent, a generation
   * replaces only that generation; GcsPreconditionFailed when it does not hold.
   */
  async write(
    name: string,
    bytes: Uint8Array,
    opts: { ifGenerationMatch?: string; contentType?: string } = {},
  ): Promise<GcsObjectMeta> {
    let url = `${this.base}/upload/storage/v1/b/${encodeURIComponent(this.bucket)}/o?uploadType=media&name=${encodeURIComponent(name)}`;
    if (opts.ifGenerationMatch !== undefined) url += `&ifGenerationMatch=${opts.ifGenerationMatch}`;
    const res = await this.send("POST", url, bytes, opts.contentType);
    if (res.status === 412) {
      await res.arrayBuffer();
      throw new GcsPreconditionFailed(this.uri(name));
    }
    if (!res.ok) return this.fail(res, "POST", name);
    return (await res.json()) as GcsObjectMeta;
  }

  /** Objects under `prefix` (all pages); with `delimiter`, also the "folders" one level down. */
  async list(prefix: string, delimiter?: string): Promise<{ items: GcsObjectMeta[]; prefixes: string[] }> {
    const items: GcsObjectMeta[] = [];
    const prefixes: string[] = [];
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({ prefix });
      if (delimiter) q.set("delimiter", delimiter);
      if (pageToken) q.set("pageToken", pageToken);
      const res = await this.send(
        "GET",
        `${this.base}/storage/v1/b/${encodeURIComponent(this.bucket)}/o?${q}`,
      );
      if (!res.ok) return this.fail(res, "GET", `${prefix}*`);
      const page = (await res.json()) as {
        items?: GcsObjectMeta[];
        prefixes?: string[];
        nextPageToken?: string;
      };
      items.push(...(page.items ?? []));
      prefixes.push(...(page.prefixes ?? []));
      pageToken = page.nextPageToken;
    } while (pageToken);
    return { items, prefixes };
  }
}

/** The alias document: the aliases, the move counter and the last move (carried until its audit object exists). */
interface AliasDoc {
  aliases: Record<string, number>;
  seq: number;
  last?: AliasEvent;
}

const ATTEMPTS = 50;
const seqName = (seq: number) => String(seq).padStart(10, "0");

/**
 * The model registry on Cloud Storage (profile gcp), under gs://BUCKET/PREFIX/ (default `registry`):
 *
 * - `models/<name>/versions/<n>/model.json`: the version record, created with `ifGenerationMatch=0`,
 *   so two writers never publish one number (the loser retries with the next). It is written last:
 *   a version is visible only once its artifact is stored.
 * - `models/<name>/artifacts/<sha256>.<ext>`: the artifact, content-addressed (uploaded first; a
 *   crash leaves an unreferenced object, never a version without its artifact); its sha256 is checked
 *   on every read.
 * - `models/<name>/aliases.json`: `{aliases, seq, last}`, replaced only with `ifGenerationMatch` on the
 *   generation read (compare-and-set), so concurrent moves serialise and a stale `expected` fails
 *   with AliasConflictError.
 * - `models/<name>/audit/<seq>.json`: one create-only object per alias move, numbered by the alias
 *   document's counter. The move and its event are one atomic write (`last` in the document); the
 *   audit object is written right after, and the next move (or any audit read) writes it first if a
 *   crash left it missing, so no move is ever without its event.
 * - `models/<name>/versions/<n>/<attachment>`: side files (reference profile, `evaluations/…`).
 */
export class GcsModelRegistry implements WorkspaceModelRegistry {
  readonly kind = "gcs" as const;
  readonly objects: GcsObjects;
  readonly prefix: string;

  constructor(opts: GcsObjectsOptions & { prefix?: string; objects?: GcsObjects }) {
    this.objects = opts.objects ?? new GcsObjects(opts);
    this.prefix = (opts.prefix ?? "registry").replace(/^\/+|\/+$/g, "");
  }

  private modelKey(name: string): string {
    return `${this.prefix}/models/${validateModelName(name)}`;
  }

  private versionKey(name: string, version: number): string {
    return `${this.modelKey(name)}/versions/${version}`;
  }

  private artifactKey(name: string, artifact: ModelVersion["artifact"]): string {
    const ext = artifact.file.slice(artifact.file.lastIndexOf(".") + 1);
    return `${this.modelKey(name)}/artifacts/${artifact.sha256}.${ext}`;
  }

  async register(input: RegisterModelInput): Promise<ModelVersion> {
    const file = validateRegistration(input);
    const sha256 = createHash("sha256").update(input.artifact).digest("hex");
    const artifact = { file, bytes: input.artifact.byteLength, sha256 };
    // 1. The artifact, content-addressed: an existing object with this name already holds these bytes.
    try {
      await this.objects.write(this.artifactKey(input.name, artifact), input.artifact, {
        ifGenerationMatch: "0",
      });
    } catch (err) {
      if (!(err instanceof GcsPreconditionFailed)) throw err;
    }
    // 2. The record, create-only at the next free number; a lost race moves to the next one.
    let version = Math.max(0, ...(await this.versionNumbers(input.name))) + 1;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const record: ModelVersion = {
        name: input.name,
        version,
        format: input.format,
        createdAt: new Date().toISOString(),
        createdBy: currentUser(),
        artifact,
        card: input.card,
        lineage: input.lineage ?? {},
        ...(input.description ? { description: input.description } : {}),
      };
      const key = `${this.versionKey(input.name, version)}/model.json`;
      const bytes = Buffer.from(JSON.stringify(record, null, 2));
      try {
        await this.objects.write(key, bytes, { ifGenerationMatch: "0", contentType: "application/json" });
        return record;
      } catch (err) {
        if (!(err instanceof GcsPreconditionFailed)) throw err;
        // A retried request whose first attempt landed (its answer was lost) meets itself: that is ours.
        if ((await this.objects.read(key))?.equals(bytes)) return record;
        version = Math.max(version, ...(await this.versionNumbers(input.name))) + 1;
      }
    }
    throw new TelcoError(
      "registry_busy",
      `could not allocate a version of ${input.name} after ${ATTEMPTS} tries`,
      {
        hint: "Many registrations are racing; retry.",
      },
    );
  }

  private async versionNumbers(name: string): Promise<number[]> {
    const base = `${this.modelKey(name)}/versions/`;
    const { items } = await this.objects.list(base);
    const out: number[] = [];
    for (const o of items) {
      const m = /^(\d+)\/model\.json$/.exec(o.name.slice(base.length));
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  async listModels(): Promise<string[]> {
    const base = `${this.prefix}/models/`;
    const { prefixes } = await this.objects.list(base, "/");
    const names = prefixes.map((p) => p.slice(base.length).replace(/\/$/, ""));
    const out: string[] = [];
    for (const n of names) {
      try {
        validateModelName(n);
      } catch {
        continue;
      }
      if ((await this.versionNumbers(n)).length > 0) out.push(n);
    }
    return out.sort();
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    const out: ModelVersion[] = [];
    for (const v of await this.versionNumbers(name)) out.push(await this.getVersion(name, v));
    return out;
  }

  async getVersion(name: string, version: number): Promise<ModelVersion> {
    const bytes = await this.objects.read(`${this.versionKey(name, version)}/model.json`);
    if (!bytes)
      throw new NotFoundError(`model ${name} version ${version}`, {
        hint: `Run \`telco models show ${name}\` to see its versions.`,
      });
    return JSON.parse(bytes.toString("utf8")) as ModelVersion;
  }

  async resolve(ref: string): Promise<ModelVersion> {
    return resolveModelRef(ref, {
      versions: (name) => this.versionNumbers(name),
      aliases: (name) => this.aliases(name),
      get: (name, version) => this.getVersion(name, version),
    });
  }

  async readArtifact(version: ModelVersion): Promise<Uint8Array> {
    const bytes = await this.objects.read(this.artifactKey(version.name, version.artifact));
    if (!bytes)
      throw new NotFoundError(`artifact of ${version.name}@${version.version}`, {
        hint: `Expected ${this.objects.uri(this.artifactKey(version.name, version.artifact))}.`,
      });
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (sha !== version.artifact.sha256)
      throw new TelcoError(
        "integrity",
        `artifact of ${version.name}@${version.version} does not match its sha256`,
        {
          hint: "The registry bucket was modified by hand; register the model again.",
        },
      );
    return bytes;
  }

  private async readAliasDoc(name: string): Promise<{ doc: AliasDoc; generation: string }> {
    const got = await this.objects.readWithGeneration(`${this.modelKey(name)}/aliases.json`);
    if (!got) return { doc: { aliases: {}, seq: 0 }, generation: "0" };
    return { doc: JSON.parse(got.bytes.toString("utf8")) as AliasDoc, generation: got.generation };
  }

  /** Writes the audit object of the document's last move if it is missing (create-only: a no-op when present). */
  private async settleLast(name: string, doc: AliasDoc): Promise<void> {
    if (!doc.last || doc.seq === 0) return;
    try {
      await this.objects.write(
        `${this.modelKey(name)}/audit/${seqName(doc.seq)}.json`,
        Buffer.from(JSON.stringify(doc.last)),
        { ifGenerationMatch: "0", contentType: "application/json" },
      );
    } catch (err) {
      if (!(err instanceof GcsPreconditionFailed)) throw err;
    }
  }

  async aliases(name: string): Promise<Record<string, number>> {
    validateModelName(name);
    return (await this.readAliasDoc(name)).doc.aliases;
  }

  async setAlias(
    name: string,
    alias: string,
    version: number,
    opts: { action: AliasEvent["action"]; reason: string; decision?: unknown; expected?: number | null },
  ): Promise<AliasEvent> {
    validateAlias(alias);
    await this.getVersion(name, version); // must exist
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const { doc, generation } = await this.readAliasDoc(name);
      const current = doc.aliases[alias] ?? null;
      if (opts.expected !== undefined && opts.expected !== current)
        throw new AliasConflictError(name, alias, opts.expected, current);
      // The previous move's event must be stored before its `last` is overwritten.
      await this.settleLast(name, doc);
      const event: AliasEvent = {
        at: new Date().toISOString(),
        by: currentUser(),
        model: name,
        alias,
        from: current,
        to: version,
        action: opts.action,
        reason: opts.reason,
        ...(opts.decision === undefined ? {} : { decision: opts.decision }),
      };
      const next: AliasDoc = { aliases: { ...doc.aliases, [alias]: version }, seq: doc.seq + 1, last: event };
      try {
        await this.objects.write(
          `${this.modelKey(name)}/aliases.json`,
          Buffer.from(JSON.stringify(next, null, 2)),
          {
            ifGenerationMatch: generation,
            contentType: "application/json",
          },
        );
      } catch (err) {
        if (!(err instanceof GcsPreconditionFailed)) throw err;
        // Our own earlier attempt may have landed (lost answer, retried): then the move is done.
        const now = await this.readAliasDoc(name);
        if (now.doc.seq === next.seq && JSON.stringify(now.doc.last) === JSON.stringify(event)) {
          await this.settleLast(name, now.doc);
          return event;
        }
        continue; // another move landed first: re-read (and re-check `expected`)
      }
      await this.settleLast(name, next);
      return event;
    }
    throw new TelcoError("registry_busy", `${name}@${alias} kept moving for ${ATTEMPTS} tries`, {
      hint: "Many alias moves are racing; retry.",
    });
  }

  async audit(name: string): Promise<AliasEvent[]> {
    const { doc } = await this.readAliasDoc(name);
    await this.settleLast(name, doc); // a crash after a move but before its audit object: finish it
    const base = `${this.modelKey(name)}/audit/`;
    const { items } = await this.objects.list(base);
    const names = items.map((o) => o.name).filter((n) => /^\d+\.json$/.test(n.slice(base.length)));
    names.sort();
    const out: AliasEvent[] = [];
    for (const n of names) {
      const bytes = await this.objects.read(n);
      if (bytes) out.push(JSON.parse(bytes.toString("utf8")) as AliasEvent);
    }
    return out;
  }

  private attachmentKey(name: string, version: number, file: string): string {
    validateAttachmentName(file);
    if (file.includes("/") && !file.startsWith("evaluations/"))
      throw new ValidationError("attachment", `"${file}": the only attachment folder is evaluations/`);
    return `${this.versionKey(name, version)}/${file}`;
  }

  async putAttachment(name: string, version: number, file: string, bytes: Uint8Array): Promise<string> {
    const key = this.attachmentKey(name, version, file);
    await this.getVersion(name, version); // must exist
    await this.objects.write(key, bytes); // an upload is atomic: readers see the old or the new bytes
    return this.objects.uri(key);
  }

  async getAttachment(name: string, version: number, file: string): Promise<Uint8Array | null> {
    return this.objects.read(this.attachmentKey(name, version, file));
  }

  async listAttachments(name: string, version: number): Promise<AttachmentInfo[]> {
    const base = `${this.versionKey(name, version)}/`;
    const { items } = await this.objects.list(base);
    return items
      .map((o) => ({ file: o.name.slice(base.length), bytes: Number(o.size), updatedAt: o.updated }))
      .filter((a) => a.file !== "model.json" && !a.file.startsWith("artifact."))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || a.file.localeCompare(b.file));
  }

  async summaries(): Promise<ModelSummary[]> {
    return summarizeRegistry(this);
  }
}
