/**
 * Named crash points for the chaos tests: `crashPoint("ingest:before-commit")` kills this process
 * with SIGKILL when TELCO_CRASH_AT names that point, so a test can stop a real run exactly between
 * two writes and check the invariants afterwards. A no-op (one env read) otherwise.
 */
export function crashPoint(name: string): void {
  if (process.env.TELCO_CRASH_AT === name) process.kill(process.pid, "SIGKILL");
}
