import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { ConfigError, errorMessage } from "../errors.ts";
import { configSchema, type TelcoConfig } from "./schema.ts";

export const DEFAULT_CONFIG_FILE = "telco.config.yaml";

export interface LoadedConfig {
  config: TelcoConfig;
  /** The file read, or undefined when defaults (plus environment) were used. */
  file: string | undefined;
  /** Absolute path of the workspace folder (TELCO_HOME or config.workspace). */
  home: string;
}

/**
 * The project folder for `cwd`, found the way git finds its repository: the nearest folder, from
 * `cwd` up, holding telco.config.yaml or a .telco workspace. Undefined when there is none (a new
 * project starts in `cwd`). Running a command from a subfolder therefore uses the project's
 * workspace instead of silently starting an empty one.
 */
export function findProjectRoot(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, DEFAULT_CONFIG_FILE))) return dir;
    const ws = join(dir, ".telco");
    if (existsSync(ws) && statSync(ws).isDirectory()) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Loads configuration: the YAML file (explicit path, TELCO_CONFIG, or telco.config.yaml of the
 * project folder — see findProjectRoot),
 * then TELCO_* environment overrides, validated with zod. Any problem is a ConfigError naming
 * the key and where the bad value came from.
 *
 * Environment mapping: TELCO_PROFILE → profile, TELCO_SERVING__PORT → serving.port
 * (double underscore nests; single underscores become camelCase). Values are parsed as JSON
 * when they look like JSON (numbers, booleans, arrays), otherwise kept as strings.
 */
export function loadConfig(
  opts: { file?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explicit = opts.file ?? env.TELCO_CONFIG;
  let file: string | undefined;
  let raw: Record<string, unknown> = {};
  if (explicit) {
    file = resolve(cwd, explicit);
    if (!existsSync(file)) {
      throw new ConfigError(`config file ${file} does not exist`, {
        hint: "Pass an existing file with --config, or unset TELCO_CONFIG to use defaults.",
      });
    }
  }
  const root = findProjectRoot(cwd) ?? cwd;
  if (!explicit && existsSync(join(root, DEFAULT_CONFIG_FILE))) file = join(root, DEFAULT_CONFIG_FILE);
  if (file) raw = readYamlObject(file);

  const sources = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("TELCO_") || value === undefined) continue;
    const path = envNameToPath(name);
    if (!path) continue;
    setPath(raw, path, parseEnvValue(value));
    sources.set(path.join("."), name);
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw configIssues(parsed.error, file, sources);
  // TELCO_HOME is taken as given (relative to cwd); a relative `workspace` belongs to the project folder.
  const home = env.TELCO_HOME
    ? resolve(cwd, env.TELCO_HOME)
    : isAbsolute(parsed.data.workspace)
      ? parsed.data.workspace
      : resolve(root, parsed.data.workspace);
  return { config: parsed.data, file, home };
}

// Variables that are not config keys (they select files/folders or tune logging).
const NON_CONFIG_ENV = new Set(["TELCO_CONFIG", "TELCO_HOME", "TELCO_LOG_LEVEL", "TELCO_API_KEYS"]);

function envNameToPath(name: string): string[] | undefined {
  if (NON_CONFIG_ENV.has(name)) return undefined;
  const rest = name.slice("TELCO_".length);
  if (!rest) return undefined;
  return rest
    .split("__")
    .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
}

function parseEnvValue(value: string): unknown {
  const trimmed = value.trim();
  if (/^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null|\[.*\]|\{.*\})$/s.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return value;
    }
  }
  return value;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

function readYamlObject(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${errorMessage(err)}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new ConfigError(`config file ${file} must hold a mapping of keys at the top level`);
  }
  return doc as Record<string, unknown>;
}

function configIssues(
  error: z.ZodError,
  file: string | undefined,
  sources: Map<string, string>,
): ConfigError {
  const lines = error.issues.map((issue) => {
    const key = issue.path.map(String).join(".") || "(root)";
    const envName = sources.get(key);
    const origin = envName ? ` (from ${envName})` : file ? ` (in ${file})` : "";
    if (issue.code === "unrecognized_keys") {
      // Name each unknown key with where it came from: a stray TELCO_FOO=1 must be findable.
      const named = issue.keys.map((k) => {
        const from = sources.get([...issue.path.map(String), k].join("."));
        return from ? `${k} (from ${from})` : file ? `${k} (in ${file})` : k;
      });
      return `${key}: unknown key(s) ${named.join(", ")}`;
    }
    return `${key}: ${issue.message}${origin}`;
  });
  return new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`, {
    hint: "Fix the key(s) above; `telco config show` prints the effective configuration with defaults.",
    details: { issues: lines },
  });
}
