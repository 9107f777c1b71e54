import type { OperatorConfig } from "../../config/sections/operator.ts";
import type { OperatorSystems } from "../../ports/operator-systems.ts";
import { httpOperatorSystems } from "./systems.ts";

/** How `AppContext.operator()` reaches the systems: auto (HTTP, in-process fallback), or forced. */
export type OperatorMode = "auto" | "http" | "in-process";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1", "0.0.0.0"]);

/** Whether every configured system URL points at this machine. */
export function allLoopback(config: Pick<OperatorConfig, "systems">): boolean {
  return Object.values(config.systems).every((s) => {
    try {
      return LOOPBACK.has(new URL(s.url).hostname);
    } catch {
      return false;
    }
  });
}

/** Does anything answer HTTP at the URL's origin (any status counts)? */
export async function answers(url: string, timeoutMs = 500): Promise<boolean> {
  try {
    const origin = new URL(url).origin;
    const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/**
 * Composition of the operator systems: the HTTP connectors at the configured URLs; when they are all
 * loopback URLs, nothing answers there and `sandbox.inProcessFallback` is on, the workspace sandbox
 * opened in this process (it must have been seeded: `telco up` or `telco systems reset`).
 */
export async function openOperatorSystems(
  config: OperatorConfig,
  systemsPath: string,
  opts: { mode?: OperatorMode; env?: NodeJS.ProcessEnv } = {},
): Promise<OperatorSystems> {
  const mode = opts.mode ?? "auto";
  const inProcess = async () => (await import("../../sandbox/index.ts")).openSandbox(systemsPath);
  if (mode === "in-process") return inProcess();
  if (mode === "http") return httpOperatorSystems(config, { env: opts.env });
  if (config.sandbox.inProcessFallback && allLoopback(config)) {
    const origins = [...new Set(Object.values(config.systems).map((s) => new URL(s.url).origin))];
    const up = await Promise.all(origins.map((o) => answers(o)));
    if (!up.every(Boolean)) return inProcess();
  }
  return httpOperatorSystems(config, { env: opts.env });
}
