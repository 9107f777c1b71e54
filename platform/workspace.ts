import { chmodSync, existsSync, lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Every folder and file of local state, derived from the workspace root ($TELCO_HOME). */
export interface WorkspacePaths {
  home: string;
  lake: string;
  warehouse: string;
  features: string;
  onlineStore: string;
  runs: string;
  registry: string;
  pipelines: string;
  rag: string;
  secrets: string;
  logs: string;
  /** The operator sandbox's store (CRM, billing, network, offers), node:sqlite in WAL mode. */
  systems: string;
  /** Assistant sessions, traces and eval runs. */
  assistant: string;
}

export function workspacePaths(home: string): WorkspacePaths {
  return {
    home,
    lake: join(home, "lake"),
    warehouse: join(home, "warehouse.duckdb"),
    features: join(home, "features"),
    onlineStore: join(home, "features", "online.sqlite"),
    runs: join(home, "runs"),
    registry: join(home, "registry"),
    pipelines: join(home, "pipelines"),
    rag: join(home, "rag"),
    secrets: join(home, "secrets"),
    logs: join(home, "logs"),
    systems: join(home, "systems", "operator.sqlite"),
    assistant: join(home, "assistant"),
  };
}

/**
 * The workspace holds customer data (raw exports, the warehouse, prediction logs, the operator
 * sandbox): only its owner may read it (LGPD). The CLI sets umask 077, so new files are 0600 and
 * folders 0700; a workspace made before that (or by another tool) is tightened here once: when the
 * top folder is already private, nothing is walked. Returns how many entries changed mode.
 */
export function secureWorkspace(home: string): number {
  if (!existsSync(home)) return 0;
  if ((statSync(home).mode & 0o077) === 0) return 0;
  let changed = 0;
  const tighten = (path: string) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return; // never follow links out of the workspace
    if ((st.mode & 0o077) !== 0) {
      chmodSync(path, st.mode & 0o700);
      changed++;
    }
    if (st.isDirectory()) for (const name of readdirSync(path)) tighten(join(path, name));
  };
  tighten(home);
  return changed;
}
