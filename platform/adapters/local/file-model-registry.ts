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
import { join } from "node:path";
import { NotFoundError, TelcoError, ValidationError } from "../../errors.ts";
import {
  AliasConflictError,
  type AliasEvent,
  MODEL_FORMATS,
  type ModelCard,
  type ModelSummary,
  type ModelVersion,
  type RegisterModelInput,
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
 * `models/<name>/versions/<n>/{model.json, artifact.*}`, `aliases.json`, `audit.jsonl`.
 * A version is written into `.staging/` and published by one rename under the model lock, so a
 * crash never leaves a partial version visible; alias moves are serialised by the same lock.
 */
export class LocalModelRegistry implements WorkspaceModelRegistry {
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
    validateModelName(input.name);
    if (!MODEL_FORMATS.includes(input.format))
      throw new ValidationError("format", `"${input.format}" is not one of ${MODEL_FORMATS.join(", ")}`);
    if (!(input.artifact instanceof Uint8Array) || input.artifact.byteLength === 0)
      throw new ValidationError("artifact", "the model artifact is empty");
    validateCard(input.card);
    this.cleanStaging();

    // 1. Write the (possibly large) artifact outside the lock, into a private staging folder.
    const staging = join(this.root, ".staging", `${process.pid}-${randomUUID()}`);
    mkdirSync(staging, { recursive: true });
    const file = `artifact.${ARTIFACT_EXT[input.format]}`;
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
    const at = ref.indexOf("@");
    const name = at < 0 ? ref : ref.slice(0, at);
    const selector = at < 0 ? undefined : ref.slice(at + 1);
    const versions = this.versionNumbers(name);
    if (versions.length === 0)
      throw new NotFoundError(`model ${name}`, { hint: "Run `telco models list` to see registered models." });
    if (selector === undefined || selector === "" || selector === "latest")
      return this.readVersion(name, versions[versions.length - 1] as number);
    if (/^\d+$/.test(selector)) return this.readVersion(name, Number(selector));
    const aliases = await this.aliases(name);
    const v = aliases[selector];
    if (v === undefined)
      throw new NotFoundError(`alias ${name}@${selector}`, {
        hint: `Aliases of ${name}: ${Object.keys(aliases).join(", ") || "none"}.`,
      });
    return this.readVersion(name, v);
  }

  async readArtifact(version: ModelVersion): Promise<Uint8Array> {
    const path = join(
      this.modelDir(version.name),
      "versions",
      String(version.version),
      version.artifact.file,
    );
    const bytes = await readFile(path);
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
    if (!ALIAS_RE.test(alias))
      throw new ValidationError("alias", `"${alias}" is not a valid alias`, {
        hint: "Aliases start with a letter and use letters, digits, '-' or '_' (e.g. champion).",
      });
    if (/^\d+$/.test(alias) || alias === "latest")
      throw new ValidationError("alias", `"${alias}" is reserved`);
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

  /** One row per model: its latest version, aliases and headline metrics. */
  async summaries(): Promise<ModelSummary[]> {
    const out: ModelSummary[] = [];
    for (const name of await this.listModels()) {
      const aliases = await this.aliases(name);
      for (const v of await this.listVersions(name)) {
        out.push({
          name,
          version: v.version,
          aliases: Object.entries(aliases)
            .filter(([, n]) => n === v.version)
            .map(([a]) => a)
            .sort(),
          metrics: Object.fromEntries(Object.entries(v.card.metrics).map(([k, m]) => [k, m.value])),
        });
      }
    }
    return out;
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
