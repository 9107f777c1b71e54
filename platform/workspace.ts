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
