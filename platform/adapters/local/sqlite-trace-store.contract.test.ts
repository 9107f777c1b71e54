import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { traceStoreContract } from "../../ports/testing/trace-store.contract.ts";
import { SqliteTraceStore } from "./sqlite-trace-store.ts";

traceStoreContract("SqliteTraceStore (node:sqlite)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "telco-trace-contract-"));
  return {
    store: SqliteTraceStore.open(dir),
    reopen: () => SqliteTraceStore.open(dir),
    async dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
