import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assistantSessionsContract } from "../../ports/testing/assistant-sessions.contract.ts";
import { SqliteAssistantSessionStore } from "./sqlite-assistant-sessions.ts";

assistantSessionsContract("SqliteAssistantSessionStore (node:sqlite)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "telco-sessions-contract-"));
  const handles: SqliteAssistantSessionStore[] = [];
  const open = () => {
    const s = SqliteAssistantSessionStore.open(dir);
    handles.push(s);
    return s;
  };
  return {
    store: open(),
    reopen: open,
    dispose: async () => {
      for (const h of handles) await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
