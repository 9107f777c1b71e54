import { hash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../platform/errors.ts";

/** Where the local profile keeps its generated API key. */
export function localApiKeyPath(secretsDir: string): string {
  return join(secretsDir, "api-key");
}

/**
 * The API keys the server accepts: TELCO_API_KEYS (comma-separated) plus config serving.apiKeys.
 * In the local profile with none configured, reads (or on first start generates, mode 0600)
 * `$TELCO_HOME/secrets/api-key`; `generatedAt` says where, so the caller can print it.
 */
export function resolveApiKeys(opts: {
  env: NodeJS.ProcessEnv;
  configured: readonly string[];
  profile: "local" | "gcp";
  secretsDir: string;
}): { keys: string[]; keyFile?: string; generated: boolean } {
  const fromEnv = (opts.env.TELCO_API_KEYS ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  const keys = [...new Set([...fromEnv, ...opts.configured])];
  for (const k of keys)
    if (k.length < 16)
      throw new ConfigError("an API key is shorter than 16 characters", {
        hint: "Use long random keys, e.g. `openssl rand -base64 32`.",
      });
  if (keys.length > 0) return { keys, generated: false };
  if (opts.profile !== "local")
    throw new ConfigError("no API key configured for the serving endpoints", {
      hint: "Set TELCO_API_KEYS (comma-separated) from Secret Manager, or serving.apiKeys.",
    });
  const keyFile = localApiKeyPath(opts.secretsDir);
  if (existsSync(keyFile)) {
    const key = readFileSync(keyFile, "utf8").trim();
    if (key.length >= 16) return { keys: [key], keyFile, generated: false };
  }
  mkdirSync(opts.secretsDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString("base64url");
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  chmodSync(keyFile, 0o600); // mode is ignored when the file already existed
  return { keys: [key], keyFile, generated: true };
}

/** SHA-256 in one native call (createHash().update().digest() allocated a Hash object per request). */
function digest(text: string): Buffer {
  return hash("sha256", text, "buffer");
}

/**
 * Checks bearer tokens in constant time: both sides are hashed to 32 bytes first (so lengths never
 * leak) and every key is compared, without stopping at the first match.
 */
export class ApiKeyVerifier {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  /** The matching key's id (first 8 hex chars of its sha256, safe to log), or undefined. */
  verify(authorization: string | undefined): string | undefined {
    if (!authorization) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return undefined;
    const candidate = digest(m[1]);
    let match: Buffer | undefined;
    for (const d of this.digests) if (timingSafeEqual(d, candidate)) match = d;
    return match ? match.toString("hex").slice(0, 8) : undefined;
  }
}
