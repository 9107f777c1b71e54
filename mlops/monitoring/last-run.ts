import { join } from "node:path";

/** Where a monitor run leaves its drift summary for the server's /metrics gauges. */
export function lastMonitorRunPath(paths: { logs: string }): string {
  return join(paths.logs, "monitor", "last-run.json");
}

/** Every monitor run's snapshot, one JSON line each (the console's drift and performance over time). */
export function monitorRunsPath(paths: { logs: string }): string {
  return join(paths.logs, "monitor", "runs.jsonl");
}
