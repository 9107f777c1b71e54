import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onlineStoreContract } from "../../ports/testing/online-store.contract.ts";
import { SqliteOnlineStore } from "./sqlite-online-store.ts";

onlineStoreContract("SqliteOnlineStore (node:sqlite)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "telco-online-contract-"));
  const path = join(dir, "online.sqlite");
  const handles = [SqliteOnlineStore.open(path)];
  return {
    store: handles[0],
    reader: () => {
      const r = SqliteOnlineStore.open(path, { readOnly: true });
      handles.push(r);
      return r;
    },
    async dispose() {
      for (const h of handles) await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
