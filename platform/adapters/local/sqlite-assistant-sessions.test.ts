import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SessionConflictError, type StoredSession } from "../../ports/assistant-sessions.ts";
import { SqliteAssistantSessionStore } from "./sqlite-assistant-sessions.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "telco-sessions-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function session(id: string, updated = "2026-03-01T10:00:00.000Z"): StoredSession {
  return {
    session_id: id,
    customer_id: "AUR-00000001",
    channel: "cli",
    status: "open",
    created_at: "2026-03-01T09:00:00.000Z",
    updated_at: updated,
    state: { stack: [{ flow: "invoice_copy", step: "confirm" }], language: "pt-BR" },
    version: 0,
  };
}

describe("SqliteAssistantSessionStore", () => {
  it("keeps sessions and turns across a reopen (a restart)", async () => {
    const dir = tempDir();
    const a = SqliteAssistantSessionStore.open(dir);
    const saved = await a.save(session("s1"), {
      expectedVersion: 0,
      turn: {
        session_id: "s1",
        turn_no: 1,
        trace_id: "t1",
        created_at: "2026-03-01T10:00:00.000Z",
        record: { reply: "oi" },
      },
    });
    expect(saved.version).toBe(1);
    await a.close();
    const b = SqliteAssistantSessionStore.open(dir);
    const got = await b.get("s1");
    expect(got?.state).toEqual({ stack: [{ flow: "invoice_copy", step: "confirm" }], language: "pt-BR" });
    expect(got?.version).toBe(1);
    expect((await b.listTurns("s1")).map((t) => t.record)).toEqual([{ reply: "oi" }]);
    expect(await b.get("nope")).toBeNull();
    await b.close();
  });

  it("refuses a stale write and leaves the stored session and turns untouched", async () => {
    const store = SqliteAssistantSessionStore.open(tempDir());
    await store.save(session("s1"), { expectedVersion: 0 });
    await store.save({ ...session("s1"), state: { n: 2 } }, { expectedVersion: 1 });
    await expect(
      store.save(
        { ...session("s1"), state: { n: 3 } },
        {
          expectedVersion: 1,
          turn: { session_id: "s1", turn_no: 1, trace_id: "x", created_at: "", record: {} },
        },
      ),
    ).rejects.toBeInstanceOf(SessionConflictError);
    expect((await store.get("s1"))?.state).toEqual({ n: 2 });
    expect(await store.listTurns("s1")).toEqual([]);
    await store.close();
  });

  it("lists open sessions idle since a time, and the last turns only when asked", async () => {
    const store = SqliteAssistantSessionStore.open(tempDir());
    await store.save(session("old", "2026-03-01T08:00:00.000Z"), { expectedVersion: 0 });
    await store.save(session("new", "2026-03-01T11:00:00.000Z"), { expectedVersion: 0 });
    await store.save(
      { ...session("closed", "2026-03-01T07:00:00.000Z"), status: "closed" },
      { expectedVersion: 0 },
    );
    expect((await store.listIdle("2026-03-01T10:00:00.000Z")).map((s) => s.session_id)).toEqual(["old"]);
    let v = 1;
    for (let i = 1; i <= 5; i++)
      await store.save(session("new"), {
        expectedVersion: v++,
        turn: { session_id: "new", turn_no: i, trace_id: `t${i}`, created_at: "", record: { i } },
      });
    expect((await store.listTurns("new", { limit: 2 })).map((t) => t.turn_no)).toEqual([4, 5]);
    await store.close();
  });

  it("finds a login token until it expires", async () => {
    const store = SqliteAssistantSessionStore.open(tempDir());
    await store.saveLogin({
      token_hash: "h",
      customer_id: "AUR-00000007",
      method: "login_code",
      created_at: "2026-03-01T10:00:00.000Z",
      expires_at: "2026-03-01T11:00:00.000Z",
    });
    expect((await store.getLogin("h", "2026-03-01T10:30:00.000Z"))?.customer_id).toBe("AUR-00000007");
    expect(await store.getLogin("h", "2026-03-01T11:00:00.000Z")).toBeNull();
    expect(await store.getLogin("other", "2026-03-01T10:30:00.000Z")).toBeNull();
    await store.close();
  });
});
