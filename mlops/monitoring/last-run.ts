import { join } from "node:path";

/** Where a monitor run leaves its drift summary for the server's /metrics gauges. */
export function lastMonitorRunPath(paths: { logs: string }): string {
  return join(paths.logs, "monitor", "last-run.json");
}
