/**
 * The trace-store port's contract (platform/ports/trace-store.ts), run by every adapter's tests with
 * the same cases. `setup` gives a fresh, empty store and a way to open it again after `close` (a
 * restart, or `telco traces` in another shell). A store that forwards spans elsewhere also says
 * which span ids its destination received, and can make that destination fail.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { StoredSpan, TraceStore } from "../trace-store.ts";

export interface TraceStoreFixture {
  store: TraceStore;
  reopen(): TraceStore | Promise<TraceStore>;
  /** Forwarding stores: span ids the destination has accepted so far. */
  forwarded?: () => string[];
  /** Forwarding stores: the destination refuses every write from now on. */
  breakForwarding?: () => void;
  /** Forwarding stores: the failures reported so far (they must never be thrown at the caller). */
  forwardingErrors?: () => string[];
  dispose(): Promise<void>;
}

const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const T1 = "a".repeat(32);
const T2 = `${"b".repeat(31)}c`;

function span(
  trace: string,
  id: string,
  parent: string | null,
  start: number,
  extra: Partial<StoredSpan> = {},
): StoredSpan {
  return {
    trace_id: trace,
    span_id: id,
    parent_span_id: parent,
    name: parent ? `tool ${id}` : "invoke_agent telco-assistant",
    kind: parent ? "client" : "server",
    start_ms: start,
    duration_ms: 5,
    status: "ok",
    attributes: {},
    events: [],
    ...extra,
  };
}

const root1 = span(T1, "0000000000000001", null, T0, {
  duration_ms: 42.5,
  attributes: {
    "gen_ai.conversation.id": "ses_1",
    "telco.turn.trace_id": "3f1c2d4e-0000-4000-8000-000000000001",
    "telco.turn.intent": "invoice_copy",
    "telco.channel": "whatsapp",
    "gen_ai.usage.input_tokens": 120,
    "telco.turn.reply": "kept in get, not in the summary",
  },
});
const child1 = span(T1, "0000000000000002", "0000000000000001", T0 + 1, {
  status: "error",
  status_message: "tool failed",
  attributes: { flags: ["a", "b"], counts: [1, 2], ok: false, ratio: 0.25 },
  events: [{ name: "guardrail.triggered", time_ms: T0 + 2, attributes: { rule: "pii" } }],
});
const root2 = span(T2, "0000000000000003", null, T0 + 60_000, {
  attributes: { "gen_ai.conversation.id": "ses_2" },
});

export function traceStoreContract(label: string, setup: () => Promise<TraceStoreFixture>): void {
  describe(`TraceStore contract: ${label}`, () => {
    const open: TraceStoreFixture[] = [];
    const fixture = async () => {
      const f = await setup();
      open.push(f);
      return f;
    };
    afterEach(async () => {
      for (const f of open.splice(0)) await f.dispose();
    });

    it("keeps every span of a trace as it arrived (children first), found by trace id, turn id or prefix", async () => {
      const { store } = await fixture();
      await store.append([child1]);
      await store.append([root1, root2]);
      const got = await store.get(T1);
      expect(got?.map((s) => s.span_id).sort()).toEqual(["0000000000000001", "0000000000000002"]);
      expect(got?.find((s) => s.span_id === child1.span_id)).toEqual(child1);
      expect(got?.find((s) => s.span_id === root1.span_id)).toEqual(root1);
      expect((await store.get("3f1c2d4e-0000-4000-8000-000000000001"))?.length).toBe(2);
      expect((await store.get(T1.slice(0, 10)))?.length).toBe(2);
      expect(await store.get("deadbeefdeadbeef")).toBeNull();
      await store.close();
    });

    it("appending a span again replaces it (idempotent per trace and span id)", async () => {
      const { store } = await fixture();
      await store.append([root2]);
      await store.append([{ ...root2, duration_ms: 9 }]);
      expect((await store.get(T2))?.map((s) => s.duration_ms)).toEqual([9]);
      expect((await store.list()).map((t) => t.spans)).toEqual([1]);
      await store.close();
    });

    it("lists traces newest first with their root's summary, by session, since a time, up to a limit", async () => {
      const { store } = await fixture();
      await store.append([child1, root1, root2]);
      const all = await store.list();
      expect(all.map((t) => t.trace_id)).toEqual([T2, T1]);
      expect(all[1]).toMatchObject({
        turn_trace_id: "3f1c2d4e-0000-4000-8000-000000000001",
        session_id: "ses_1",
        name: "invoke_agent telco-assistant",
        duration_ms: 42.5,
        spans: 2,
        started_at: "2026-03-01T10:00:00.000Z",
      });
      expect(all[1].attributes).toEqual({
        "telco.turn.intent": "invoice_copy",
        "telco.channel": "whatsapp",
        "gen_ai.usage.input_tokens": 120,
      });
      expect((await store.list({ sessionId: "ses_2" })).map((t) => t.trace_id)).toEqual([T2]);
      expect((await store.list({ since: "2026-03-01T10:00:30.000Z" })).map((t) => t.trace_id)).toEqual([T2]);
      expect((await store.list({ limit: 1 })).map((t) => t.trace_id)).toEqual([T2]);
      await store.close();
    });

    it("prunes the traces that started before a time, whole, and says how many spans went", async () => {
      const { store } = await fixture();
      await store.append([child1, root1, root2]);
      expect(await store.prune("2026-03-01T10:00:30.000Z")).toBe(2);
      expect(await store.get(T1)).toBeNull();
      expect((await store.list()).map((t) => t.trace_id)).toEqual([T2]);
      await store.close();
    });

    it("keeps spans across a close and a reopen", async () => {
      const f = await fixture();
      await f.store.append([child1, root1]);
      await f.store.close();
      const again = await f.reopen();
      expect((await again.get(T1))?.length).toBe(2);
      await again.close();
    });

    it("forwards appended spans, and a failing destination neither fails the append nor loses the local record", async () => {
      const f = await fixture();
      if (!f.forwarded || !f.breakForwarding || !f.forwardingErrors) return; // a store that only keeps spans
      await f.store.append([child1, root1]);
      await f.store.close(); // close sends what is buffered
      expect(f.forwarded().sort()).toEqual(["0000000000000001", "0000000000000002"]);
      const again = await f.reopen();
      f.breakForwarding();
      await expect(again.append([root2])).resolves.toBeUndefined();
      await again.close();
      expect(f.forwarded()).not.toContain(root2.span_id);
      expect(f.forwardingErrors().length).toBeGreaterThan(0);
      const third = await f.reopen();
      expect(await third.get(T2)).toEqual([root2]);
      await third.close();
    });
  });
}
