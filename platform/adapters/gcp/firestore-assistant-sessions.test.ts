import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionConflictError, type StoredSession } from "../../ports/assistant-sessions.ts";
import { assistantSessionsContract } from "../../ports/testing/assistant-sessions.contract.ts";
import { FirestoreAssistantSessionStore } from "./firestore-assistant-sessions.ts";
import {
  type FakeFirestoreDocuments,
  startFakeFirestoreDocuments,
} from "./testing/fake-firestore-documents.ts";

// The fake answers with responses hand-written from the Firestore v1 REST reference (not recorded).
let fake: FakeFirestoreDocuments;
beforeAll(async () => {
  fake = await startFakeFirestoreDocuments();
});
afterAll(() => fake.close());

let n = 0;
assistantSessionsContract("FirestoreAssistantSessionStore (fake Firestore REST API)", async () => {
  const prefix = `c${++n}`; // one store per case, in the same fake database
  const open = () =>
    new FirestoreAssistantSessionStore({ project: "aurora-prod", endpoint: fake.url, prefix });
  return { store: open(), reopen: open, dispose: async () => {} };
});

const base: StoredSession = {
  session_id: "s1",
  customer_id: null,
  channel: "whatsapp",
  status: "open",
  created_at: "2026-03-01T09:00:00.000Z",
  updated_at: "2026-03-01T10:00:00.000Z",
  state: { stack: [] },
  version: 0,
};

describe("FirestoreAssistantSessionStore on the wire", () => {
  it("commits the session and its turn in one request guarded by preconditions, with the bearer token", async () => {
    const store = new FirestoreAssistantSessionStore({
      project: "aurora-prod",
      endpoint: fake.url,
      prefix: "wire",
      accessToken: async () => "tok",
    });
    const from = fake.requests.length;
    await store.save(base, {
      expectedVersion: 0,
      turn: { session_id: "s1", turn_no: 1, trace_id: "t1", created_at: "x", record: { a: 1 } },
    });
    await store.save(base, { expectedVersion: 1 });
    const commits = fake.requests.slice(from).filter((r) => r.path.endsWith(":commit"));
    const root = "projects/aurora-prod/databases/(default)/documents";
    const first = (commits[0].body as { writes: { update: { name: string }; currentDocument: unknown }[] })
      .writes;
    expect(first.map((w) => [w.update.name, w.currentDocument])).toEqual([
      [`${root}/wire_sessions/s1`, { exists: false }],
      [`${root}/wire_sessions/s1/turns/0000000001`, { exists: false }],
    ]);
    const second = (commits[1].body as { writes: { currentDocument: { updateTime?: string } }[] }).writes;
    expect(second[0].currentDocument.updateTime).toBe(fake.docs.get(`${root}/wire_sessions/s1`)?.createTime);
  });

  it("a writer that slips in between the read and the commit makes the save a conflict, nothing written", async () => {
    const store = new FirestoreAssistantSessionStore({
      project: "aurora-prod",
      endpoint: fake.url,
      prefix: "race",
    });
    await store.save(base, { expectedVersion: 0 });
    const name = "projects/aurora-prod/databases/(default)/documents/race_sessions/s1";
    fake.beforeCommit(() => {
      const doc = fake.docs.get(name);
      if (doc)
        fake.put(name, {
          ...doc.fields,
          version: { integerValue: "2" },
          state: { stringValue: '{"other":true}' },
        });
    });
    const err = await store
      .save(
        { ...base, state: { mine: true } },
        {
          expectedVersion: 1,
          turn: { session_id: "s1", turn_no: 1, trace_id: "t1", created_at: "x", record: {} },
        },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionConflictError);
    expect((err as Error).message).toMatch(/expected version 1, found 2/);
    expect((await store.get("s1"))?.state).toEqual({ other: true });
    expect(await store.listTurns("s1")).toEqual([]);
  });

  it("with a retention, the session and its turn carry the TTL timestamp; without one, no expires_at", async () => {
    const root = "projects/aurora-prod/databases/(default)/documents";
    const kept = new FirestoreAssistantSessionStore({
      project: "aurora-prod",
      endpoint: fake.url,
      prefix: "ttl",
      retentionDays: 30,
    });
    await kept.save(base, {
      expectedVersion: 0,
      turn: { session_id: "s1", turn_no: 1, trace_id: "t1", created_at: "", record: {} },
    });
    const at = { timestampValue: "2026-03-31T10:00:00.000Z" };
    expect(fake.docs.get(`${root}/ttl_sessions/s1`)?.fields.expires_at).toEqual(at);
    expect(fake.docs.get(`${root}/ttl_sessions/s1/turns/0000000001`)?.fields.expires_at).toEqual(at);
    expect((await kept.get("s1"))?.version).toBe(1);
    const plain = new FirestoreAssistantSessionStore({
      project: "aurora-prod",
      endpoint: fake.url,
      prefix: "nottl",
    });
    await plain.save(base, { expectedVersion: 0 });
    expect(fake.docs.get(`${root}/nottl_sessions/s1`)?.fields).not.toHaveProperty("expires_at");
  });

  it("names the HTTP failure of an unreachable or refusing Firestore", async () => {
    const store = new FirestoreAssistantSessionStore({
      project: "aurora-prod",
      endpoint: fake.url,
      prefix: "err",
      fetch: async () =>
        new Response(
          JSON.stringify({ error: { code: 403, message: "denied", status: "PERMISSION_DENIED" } }),
          { status: 403 },
        ),
    });
    await expect(store.get("s1")).rejects.toThrow(
      /Firestore GET .* failed: HTTP 403 PERMISSION_DENIED denied/,
    );
  });

  it("uses FIRESTORE_EMULATOR_HOST without credentials", async () => {
    const host = fake.url.replace("http://", "");
    const store = new FirestoreAssistantSessionStore({
      project: "emu",
      env: { FIRESTORE_EMULATOR_HOST: host },
      prefix: "emu",
    });
    await store.save(base, { expectedVersion: 0 });
    expect((await store.get("s1"))?.version).toBe(1);
  });
});
