/**
 * The assistant-sessions port's contract (platform/ports/assistant-sessions.ts), run by every
 * adapter's tests with the same cases. `setup` gives a fresh, empty store and a way to open another
 * handle on the same data (a restart, or a second process).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  type AssistantSessionStore,
  SessionConflictError,
  type StoredSession,
  type StoredTurn,
} from "../assistant-sessions.ts";

export interface AssistantSessionsFixture {
  store: AssistantSessionStore;
  /** Another handle on the same data (after `store.close()`: a restart). */
  reopen(): AssistantSessionStore | Promise<AssistantSessionStore>;
  dispose(): Promise<void>;
}

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

const turn = (id: string, n: number, record: Record<string, unknown> = { i: n }): StoredTurn => ({
  session_id: id,
  turn_no: n,
  trace_id: `t${n}`,
  created_at: "2026-03-01T10:00:00.000Z",
  record,
});

export function assistantSessionsContract(
  label: string,
  setup: () => Promise<AssistantSessionsFixture>,
): void {
  describe(`AssistantSessionStore contract: ${label}`, () => {
    const open: AssistantSessionsFixture[] = [];
    const fixture = async () => {
      const f = await setup();
      open.push(f);
      return f;
    };
    afterEach(async () => {
      for (const f of open.splice(0)) await f.dispose();
    });

    it("keeps sessions and turns across a reopen (a restart)", async () => {
      const { store, reopen } = await fixture();
      const saved = await store.save(session("s1"), {
        expectedVersion: 0,
        turn: turn("s1", 1, { reply: "oi" }),
      });
      expect(saved.version).toBe(1);
      await store.close();
      const b = await reopen();
      const got = await b.get("s1");
      expect(got?.state).toEqual({ stack: [{ flow: "invoice_copy", step: "confirm" }], language: "pt-BR" });
      expect(got?.version).toBe(1);
      expect(got?.customer_id).toBe("AUR-00000001");
      expect((await b.listTurns("s1")).map((t) => [t.turn_no, t.trace_id, t.record])).toEqual([
        [1, "t1", { reply: "oi" }],
      ]);
      expect(await b.get("nope")).toBeNull();
      await b.close();
    });

    it("keeps an unauthenticated session's null customer and odd session ids", async () => {
      const { store } = await fixture();
      const id = "whatsapp:+55 11/9999";
      await store.save({ ...session(id), customer_id: null, channel: "whatsapp" }, { expectedVersion: 0 });
      const got = await store.get(id);
      expect(got).toMatchObject({ session_id: id, customer_id: null, channel: "whatsapp", version: 1 });
      await store.close();
    });

    it("refuses a stale write and leaves the stored session and turns untouched", async () => {
      const { store } = await fixture();
      await store.save(session("s1"), { expectedVersion: 0 });
      await store.save({ ...session("s1"), state: { n: 2 } }, { expectedVersion: 1 });
      await expect(
        store.save({ ...session("s1"), state: { n: 3 } }, { expectedVersion: 1, turn: turn("s1", 1) }),
      ).rejects.toBeInstanceOf(SessionConflictError);
      // A second "new" session with an id already taken is stale too.
      await expect(store.save(session("s1"), { expectedVersion: 0 })).rejects.toBeInstanceOf(
        SessionConflictError,
      );
      expect((await store.get("s1"))?.state).toEqual({ n: 2 });
      expect((await store.get("s1"))?.version).toBe(2);
      expect(await store.listTurns("s1")).toEqual([]);
      await store.close();
    });

    it("lists open sessions idle since a time, oldest first, and the last turns only when asked", async () => {
      const { store } = await fixture();
      await store.save(session("old", "2026-03-01T08:00:00.000Z"), { expectedVersion: 0 });
      await store.save(session("older", "2026-03-01T07:30:00.000Z"), { expectedVersion: 0 });
      await store.save(session("new", "2026-03-01T11:00:00.000Z"), { expectedVersion: 0 });
      await store.save(
        { ...session("closed", "2026-03-01T07:00:00.000Z"), status: "closed" },
        { expectedVersion: 0 },
      );
      expect((await store.listIdle("2026-03-01T10:00:00.000Z")).map((s) => s.session_id)).toEqual([
        "older",
        "old",
      ]);
      expect(
        (await store.listIdle("2026-03-01T10:00:00.000Z", { limit: 1 })).map((s) => s.session_id),
      ).toEqual(["older"]);
      let v = 1;
      for (let i = 1; i <= 12; i++)
        await store.save(session("new"), { expectedVersion: v++, turn: turn("new", i) });
      expect((await store.listTurns("new", { limit: 2 })).map((t) => t.turn_no)).toEqual([11, 12]);
      expect((await store.listTurns("new")).map((t) => t.turn_no)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
      ]);
      expect(await store.listTurns("old")).toEqual([]);
      await store.close();
    });

    it("finds a login token until it expires", async () => {
      const { store } = await fixture();
      await store.saveLogin({
        token_hash: "h",
        customer_id: "AUR-00000007",
        method: "login_code",
        created_at: "2026-03-01T10:00:00.000Z",
        expires_at: "2026-03-01T11:00:00.000Z",
      });
      expect(await store.getLogin("h", "2026-03-01T10:30:00.000Z")).toEqual({
        token_hash: "h",
        customer_id: "AUR-00000007",
        method: "login_code",
        created_at: "2026-03-01T10:00:00.000Z",
        expires_at: "2026-03-01T11:00:00.000Z",
      });
      expect(await store.getLogin("h", "2026-03-01T11:00:00.000Z")).toBeNull();
      expect(await store.getLogin("other", "2026-03-01T10:30:00.000Z")).toBeNull();
      await store.close();
    });
  });
}
