import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { StoredSpan } from "../../ports/trace-store.ts";
import { SqliteTraceStore } from "./sqlite-trace-store.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "telco-traces-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

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
    name: parent ? `child ${id}` : "invoke_agent telco-assistant",
    kind: "internal",
    start_ms: start,
    duration_ms: 5,
    status: "ok",
    attributes: {},
    events: [],
    ...extra,
  };
}

const T1 = "a".repeat(32);
const T2 = "b".repeat(31) + "c";

describe("SqliteTraceStore", () => {
  it("keeps spans by trace, finds a trace by its id, the turn's id or a unique prefix, lists newest first", async () => {
    const store = SqliteTraceStore.open(tempDir());
    const t0 = Date.parse("2026-03-01T10:00:00.000Z");
    // Children end (and arrive) before their root.
    await store.append([span(T1, "0000000000000002", "0000000000000001", t0 + 1)]);
    await store.append([
      span(T1, "0000000000000001", null, t0, {
        duration_ms: 42,
        attributes: {
          "gen_ai.conversation.id": "ses_1",
          "telco.turn.trace_id": "3f1c2d4e-0000-4000-8000-000000000001",
          "telco.turn.intent": "invoice_copy",
          "telco.turn.reply": "not in the summary",
        },
      }),
      span(T2, "0000000000000003", null, t0 + 60_000, { attributes: { "gen_ai.conversation.id": "ses_2" } }),
    ]);
    const all = await store.list();
    expect(all.map((t) => t.trace_id)).toEqual([T2, T1]);
    expect(all[1]).toMatchObject({
      turn_trace_id: "3f1c2d4e-0000-4000-8000-000000000001",
      session_id: "ses_1",
      name: "invoke_agent telco-assistant",
      duration_ms: 42,
      spans: 2,
      attributes: { "telco.turn.intent": "invoice_copy" },
    });
    expect(all[1].attributes["telco.turn.reply"]).toBeUndefined();
    expect((await store.list({ sessionId: "ses_2" })).map((t) => t.trace_id)).toEqual([T2]);
    expect((await store.list({ since: "2026-03-01T10:00:30.000Z" })).map((t) => t.trace_id)).toEqual([T2]);

    const byTurn = await store.get("3f1c2d4e-0000-4000-8000-000000000001");
    expect(byTurn?.map((s) => s.span_id)).toEqual(["0000000000000001", "0000000000000002"]);
    expect((await store.get(T1.slice(0, 10)))?.length).toBe(2);
    expect(await store.get("deadbeefdeadbeef")).toBeNull();
    await expect(store.get("not a trace id")).rejects.toThrow(/not a trace id/);
    // Appending the same span again replaces it.
    await store.append([span(T2, "0000000000000003", null, t0 + 60_000, { duration_ms: 9 })]);
    expect((await store.get(T2))?.map((s) => s.duration_ms)).toEqual([9]);
    await store.close();
  });

  it("says a short prefix matching two traces is ambiguous, and prunes old traces whole", async () => {
    const store = SqliteTraceStore.open(tempDir());
    const t0 = Date.parse("2026-03-01T10:00:00.000Z");
    const A = `abcdef01${"1".repeat(24)}`;
    const B = `abcdef01${"2".repeat(24)}`;
    await store.append([
      span(A, "0000000000000001", null, t0),
      span(A, "0000000000000002", "0000000000000001", t0 + 86_400_000),
    ]);
    await store.append([span(B, "0000000000000003", null, t0 + 2 * 86_400_000)]);
    await expect(store.get("abcdef01")).rejects.toThrow(/more than one trace/);
    // A started before the cut, so both of its spans go, even the one that started after.
    expect(await store.prune("2026-03-02T00:00:00.000Z")).toBe(2);
    expect((await store.list()).map((t) => t.trace_id)).toEqual([B]);
    await store.close();
  });

  it("writes the spans that end together in one batch, readable at once here and in another process once appended", async () => {
    const dir = tempDir();
    const store = SqliteTraceStore.open(dir);
    const other = SqliteTraceStore.open(dir); // what `telco traces` in another shell opens
    const t0 = Date.parse("2026-03-01T10:00:00.000Z");
    const ids = Array.from({ length: 30 }, (_, i) => (i + 1).toString(16).padStart(16, "0"));
    // A turn's spans end one by one; each append is queued, not committed on its own.
    const appended = ids.map((id, i) => store.append([span(T1, id, i === 0 ? null : ids[0], t0 + i)]));
    // This store reads its own queue first …
    expect((await store.get(T1))?.length).toBe(30);
    await Promise.all(appended);
    // … and once the appends resolved, another connection sees them all.
    expect((await other.get(T1))?.length).toBe(30);
    // Spans queued when the store closes are written, not lost.
    const late = store.append([span(T2, "00000000000000ff", null, t0 + 100)]);
    await store.close();
    await late;
    expect((await other.get(T2))?.length).toBe(1);
    await expect(store.append([span(T2, "00000000000000fe", null, t0)])).rejects.toThrow(/closed/);
    await other.close();
  });
});
