import { createHash, randomUUID } from "node:crypto";
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { dirname, join } from "node:path";
import { NotFoundError, TelcoError, ValidationError } from "../../errors.ts";
import {
  AliasConflictError,
  type AliasEvent,
  type AttachmentInfo,
  type LocalArtifactFiles,
  MODEL_FORMATS,
  type ModelCard,
  type ModelSummary,
  type ModelVersion,
  type RegisterModelInput,
  summarizeRegistry,
  validateAttachmentName,
  type WorkspaceModelRegistry,
} from "../../ports/registry.ts";
import { processAlive } from "../../process.ts";
import { crashPoint } from "../../testing/crash-points.ts";
import { withFileLock } from "./file-lock.ts";

export { AliasConflictError };

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ALIAS_RE = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const ARTIFACT_EXT: Record<string, string> = { "telco-gbdt": "json", "telco-logreg": "json", onnx: "onnx" };

/** The user recorded in the audit log: $USER / $USERNAME from the environment, else the OS account. */
export function currentUser(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.USER ?? env.USERNAME ?? env.LOGNAME;
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/** Validates a model name (it becomes a folder name). */
export function validateModelName(name: string): string {
  if (!NAME_RE.test(name))
    throw new ValidationError("name", `"${name}" is not a valid model name`, {
      hint: "Use letters, digits, '-', '_' or '.', starting with a letter or digit (max 63).",
    });
  return name;
}

/** Validates an alias name (shared by every registry adapter). */
export function validateAlias(alias: string): string {
  if (!ALIAS_RE.test(alias))
    throw new ValidationError("alias", `"${alias}" is not a valid alias`, {
      hint: "Aliases start with a letter and use letters, digits, '-' or '_' (e.g. champion).",
    });
  if (/^\d+$/.test(alias) || alias === "latest") throw new ValidationError("alias", `"${alias}" is reserved`);
  return alias;
}

/** Validates what `register` receives (shared by every registry adapter); returns the artifact file name. */
export function validateRegistration(input: RegisterModelInput): string {
  validateModelName(input.name);
  if (!MODEL_FORMATS.includes(input.format))
    throw new ValidationError("format", `"${input.format}" is not one of ${MODEL_FORMATS.join(", ")}`);
  if (!(input.artifact instanceof Uint8Array) || input.artifact.byteLength === 0)
    throw new ValidationError("artifact", "the model artifact is empty");
  validateCard(input.card);
  return `artifact.${ARTIFACT_EXT[input.format]}`;
}

/** `NAME`, `NAME@N`, `NAME@alias` (or `@latest`) split into name and selector. */
export function parseModelRef(ref: string): { name: string; selector: string | undefined } {
  const at = ref.indexOf("@");
  return { name: at < 0 ? ref : ref.slice(0, at), selector: at < 0 ? undefined : ref.slice(at + 1) };
}

/**
 * `resolve` of every registry adapter: the latest version, a version number, or an alias of the name.
 * `versions` lists the model's version numbers in ascending order.
 */
export async function resolveModelRef(
  ref: string,
  reg: {
    versions(name: string): number[] | Promise<number[]>;
    aliases(name: string): Promise<Record<string, number>>;
    get(name: string, version: number): Promise<ModelVersion>;
  },
): Promise<ModelVersion> {
  const { name, selector } = parseModelRef(ref);
  const versions = await reg.versions(name);
  if (versions.length === 0)
    throw new NotFoundError(`model ${name}`, { hint: "Run `telco models list` to see registered models." });
  if (selector === undefined || selector === "" || selector === "latest")
    return reg.get(name, versions[versions.length - 1] as number);
  if (/^\d+$/.test(selector)) return reg.get(name, Number(selector));
  const aliases = await reg.aliases(name);
  const v = aliases[selector];
  if (v === undefined)
    throw new NotFoundError(`alias ${name}@${selector}`, {
      hint: `Aliases of ${name}: ${Object.keys(aliases).join(", ") || "none"}.`,
    });
  return reg.get(name, v);
}

function validateCard(card: ModelCard): void {
  if (!card || typeof card !== "object" || !card.metrics || typeof card.metrics !== "object")
    throw new ValidationError("card.metrics", "a model card needs a metrics object");
  for (const [metric, mv] of Object.entries(card.metrics)) {
    if (!mv || typeof mv.value !== "number" || !Number.isFinite(mv.value))
      throw new ValidationError(`card.metrics.${metric}`, "value must be a finite number");
    if (mv.ci && !(mv.ci.lower <= mv.ci.upper))
      throw new ValidationError(`card.metrics.${metric}.ci`, "lower must be ≤ upper");
  }
}

/**
 * Local model registry on the filesystem (`<workspace>/registry`):
 * `models/<name>/versions/<n>/{model.json, artifact.*, <attachments>}`, `aliases.json`, `audit.jsonl`;
 * attachments named `evaluations/FILE` live in `models/<name>/evaluations/v<n>-FILE` (the layout
 * stored re-evaluations had before the port knew attachments, so existing workspaces still read).
 * A version is written into `.staging/` and published by one rename under the model lock, so a
 * crash never leaves a partial version visible; alias moves are serialised by the same lock.
 */
export class LocalModelRegistry implements WorkspaceModelRegistry, LocalArtifactFiles {
  readonly root: string;
  readonly lockTimeoutMs: number;

  constructor(root: string, opts: { lockTimeoutMs?: number } = {}) {
    this.root = root;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
  }

  private modelDir(name: string): string {
    return join(this.root, "models", validateModelName(name));
  }

  private lockPath(name: string): string {
    return join(this.modelDir(name), ".lock");
  }

  /** Runs `fn` holding the model's exclusive lock (cross-process). */
  withModelLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    mkdirSync(this.modelDir(name), { recursive: true });
    return withFileLock(this.lockPath(name), fn, { timeoutMs: this.lockTimeoutMs });
  }

  async register(input: RegisterModelInput): Promise<ModelVersion> {
    const file = validateRegistration(input);
    this.cleanStaging();

    // 1. Write the (possibly large) artifact outside the lock, into a private staging folder.
    const staging = join(this.root, ".staging", `${process.pid}-${randomUUID()}`);
    mkdirSync(staging, { recursive: true });
    writeDurably(join(staging, file), input.artifact);
    const sha256 = createHash("sha256").update(input.artifact).digest("hex");

    // 2. Under the lock: pick the next number, write the metadata, publish with one rename.
    try {
      return await this.withModelLock(input.name, async () => {
        const versionsDir = join(this.modelDir(input.name), "versions");
        mkdirSync(versionsDir, { recursive: true });
        const version = Math.max(0, ...this.versionNumbers(input.name)) + 1;
        const record: ModelVersion = {
          name: input.name,
          version,
          format: input.format,
          createdAt: new Date().toISOString(),
          createdBy: currentUser(),
          artifact: { file, bytes: input.artifact.byteLength, sha256 },
          card: input.card,
          lineage: input.lineage ?? {},
          ...(input.description ? { description: input.description } : {}),
        };
        writeDurably(join(staging, "model.json"), Buffer.from(JSON.stringify(record, null, 2)));
        crashPoint("registry:before-version-publish");
        renameSync(staging, join(versionsDir, String(version)));
        return record;
      });
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
  }

  /** Removes staging folders left by processes that died mid-registration. */
  private cleanStaging(): void {
    const dir = join(this.root, ".staging");
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      const pid = Number(entry.split("-")[0]);
      if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid))
        rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }

  private versionNumbers(name: string): number[] {
    const dir = join(this.modelDir(name), "versions");
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((d) => /^\d+$/.test(d) && existsSync(join(dir, d, "model.json")))
      .map(Number)
      .sort((a, b) => a - b);
  }

  async listModels(): Promise<string[]> {
    const dir = join(this.root, "models");
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((n) => NAME_RE.test(n) && this.versionNumbers(n).length > 0)
      .sort();
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    return this.versionNumbers(name).map((v) => this.readVersion(name, v));
  }

  private readVersion(name: string, version: number): ModelVersion {
    const path = join(this.modelDir(name), "versions", String(version), "model.json");
    if (!existsSync(path))
      throw new NotFoundError(`model ${name} version ${version}`, {
        hint: `Run \`telco models show ${name}\` to see its versions.`,
      });
    return JSON.parse(readFileSync(path, "utf8")) as ModelVersion;
  }

  async getVersion(name: string, version: number): Promise<ModelVersion> {
    return this.readVersion(name, version);
  }

  async resolve(ref: string): Promise<ModelVersion> {
    return resolveModelRef(ref, {
      versions: (name) => this.versionNumbers(name),
      aliases: (name) => this.aliases(name),
      get: async (name, version) => this.readVersion(name, version),
    });
  }

  /** The artifact's file in the workspace (LocalArtifactFiles: for code that hands it to another program). */
  artifactPath(version: ModelVersion): string {
    return join(this.modelDir(version.name), "versions", String(version.version), version.artifact.file);
  }

  async readArtifact(version: ModelVersion): Promise<Uint8Array> {
    const bytes = await readFile(this.artifactPath(version));
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (sha !== version.artifact.sha256)
      throw new TelcoError(
        "integrity",
        `artifact of ${version.name}@${version.version} does not match its sha256`,
        {
          hint: "The registry folder was modified by hand; register the model again.",
        },
      );
    return bytes;
  }

  async aliases(name: string): Promise<Record<string, number>> {
    // An audit line newer than the alias file is the signature of a crash between the two writes of
    // setAlias: finish that move before answering (two stats; the full check runs only then).
    if (this.auditNewerThanAliases(name)) await this.withModelLock(name, async () => this.reconcile(name));
    return this.readAliases(name);
  }

  private readAliases(name: string): Record<string, number> {
    const path = join(this.modelDir(name), "aliases.json");
    if (!existsSync(path)) return {};
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, number>;
  }

  private auditNewerThanAliases(name: string): boolean {
    const dir = this.modelDir(name);
    try {
      const audit = statSync(join(dir, "audit.jsonl")).mtimeMs;
      const aliases = existsSync(join(dir, "aliases.json")) ? statSync(join(dir, "aliases.json")).mtimeMs : 0;
      // ">=": file times tick coarsely (a few ms), so a crash right after the audit append can leave both
      // files with one mtime. An equal pair costs one reconcile, which rewrites aliases.json (newer).
      return audit >= aliases;
    } catch {
      return false; // no audit log yet
    }
  }

  /**
   * Makes aliases.json agree with the audit log, under the model lock. setAlias logs a move before
   * making it, so a crash between the two leaves the last logged move of an alias undone: it is
   * rolled forward (the log is the intent). Also removes `.aliases.*.tmp` files left by a crash
   * (under the lock no writer can own one). Returns the aliases it moved.
   */
  reconcile(name: string): { alias: string; from: number | null; to: number | null }[] {
    const dir = this.modelDir(name);
    if (!existsSync(dir)) return [];
    for (const f of readdirSync(dir)) {
      if (/^\.aliases\..*\.tmp$/.test(f)) rmSync(join(dir, f), { force: true });
    }
    const aliases = this.readAliases(name);
    const lastMove = new Map<string, number | null>();
    for (const e of this.readAudit(name)) lastMove.set(e.alias, e.to);
    const fixed: { alias: string; from: number | null; to: number | null }[] = [];
    for (const [alias, to] of lastMove) {
      const from = aliases[alias] ?? null;
      if (from === to) continue;
      if (to === null)
        delete aliases[alias]; // a logged removal
      else if (!existsSync(join(this.modelDir(name), "versions", String(to), "model.json"))) continue;
      else aliases[alias] = to;
      fixed.push({ alias, from, to });
    }
    this.writeAliases(name, aliases); // also stamps the file newer than the audit log
    return fixed;
  }

  private writeAliases(name: string, aliases: Record<string, number>): void {
    const dir = this.modelDir(name);
    const tmp = join(dir, `.aliases.${process.pid}.tmp`);
    writeDurably(tmp, Buffer.from(JSON.stringify(aliases, null, 2)));
    renameSync(tmp, join(dir, "aliases.json"));
  }

  /**
   * Points `alias` at `version` and appends the move to the audit log, under the model lock.
   * With `expected`, fails with AliasConflictError when the alias moved meanwhile (compare-and-set).
   */
  async setAlias(
    name: string,
    alias: string,
    version: number,
    opts: { action: AliasEvent["action"]; reason: string; decision?: unknown; expected?: number | null },
  ): Promise<AliasEvent> {
    validateAlias(alias);
    return this.withModelLock(name, async () => {
      this.readVersion(name, version); // must exist
      this.reconcile(name);
      const aliases = this.readAliases(name);
      const current = aliases[alias] ?? null;
      if (opts.expected !== undefined && opts.expected !== current)
        throw new AliasConflictError(name, alias, opts.expected, current);
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
      // Audit first (the intent): a crash between the two writes leaves a logged move that
      // reconcile() rolls forward on the next read or write, never a move without its log line.
      appendFileSync(join(this.modelDir(name), "audit.jsonl"), `${JSON.stringify(event)}\n`);
      crashPoint("registry:after-audit");
      aliases[alias] = version;
      this.writeAliases(name, aliases);
      return event;
    });
  }

  async audit(name: string): Promise<AliasEvent[]> {
    return this.readAudit(name);
  }

  private readAudit(name: string): AliasEvent[] {
    const path = join(this.modelDir(name), "audit.jsonl");
    if (!existsSync(path)) return [];
    return readFileSync(path, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as AliasEvent];
        } catch {
          return []; // a torn last line from a crash is ignored
        }
      });
  }

  /** Where an attachment lives: the version folder, or the model's evaluations folder (see the class). */
  private attachmentPath(name: string, version: number, file: string): string {
    validateAttachmentName(file);
    if (file.startsWith("evaluations/"))
      return join(this.modelDir(name), "evaluations", `v${version}-${file.slice("evaluations/".length)}`);
    if (file.includes("/"))
      throw new ValidationError("attachment", `"${file}": the only attachment folder is evaluations/`);
    return join(this.modelDir(name), "versions", String(version), file);
  }

  async putAttachment(name: string, version: number, file: string, bytes: Uint8Array): Promise<string> {
    const path = this.attachmentPath(name, version, file);
    this.readVersion(name, version); // must exist
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
    try {
      writeDurably(tmp, bytes);
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    return path;
  }

  async getAttachment(name: string, version: number, file: string): Promise<Uint8Array | null> {
    const path = this.attachmentPath(name, version, file);
    try {
      return await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  async listAttachments(name: string, version: number): Promise<AttachmentInfo[]> {
    const out: (AttachmentInfo & { ms: number })[] = [];
    const add = (file: string, path: string) => {
      const st = statSync(path);
      if (st.isFile()) out.push({ file, bytes: st.size, updatedAt: st.mtime.toISOString(), ms: st.mtimeMs });
    };
    const versionDir = join(this.modelDir(name), "versions", String(version));
    if (existsSync(versionDir))
      for (const f of readdirSync(versionDir))
        if (f !== "model.json" && !f.startsWith("artifact.") && !f.endsWith(".tmp"))
          add(f, join(versionDir, f));
    const evalDir = join(this.modelDir(name), "evaluations");
    const prefix = `v${version}-`;
    if (existsSync(evalDir))
      for (const f of readdirSync(evalDir))
        if (f.startsWith(prefix) && !f.endsWith(".tmp"))
          add(`evaluations/${f.slice(prefix.length)}`, join(evalDir, f));
    return out
      .sort((a, b) => b.ms - a.ms || a.file.localeCompare(b.file))
      .map(({ ms: _ms, ...info }) => info);
  }

  /** One row per model: its latest version, aliases and headline metrics. */
  async summaries(): Promise<ModelSummary[]> {
    return summarizeRegistry(this);
  }
}

/** Writes a file and fsyncs it, so a rename that publishes it never exposes unflushed bytes. */
function writeDurably(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, "w");
  try {
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
