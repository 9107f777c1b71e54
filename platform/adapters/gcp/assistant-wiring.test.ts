import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../config/schema.ts";
import { contextFromConfig } from "../../context.ts";
import { SqliteAssistantSessionStore } from "../local/sqlite-assistant-sessions.ts";
import { SqliteTraceStore } from "../local/sqlite-trace-store.ts";
import { CloudTraceForwardingStore } from "./cloud-trace.ts";
import { FirestoreAssistantSessionStore } from "./firestore-assistant-sessions.ts";
import {
  type FakeFirestoreDocuments,
  startFakeFirestoreDocuments,
} from "./testing/fake-firestore-documents.ts";
import { VertexAiSearchRetriever } from "./vertex-ai-search-retriever.ts";

// What AppContext builds for the assistant under each profile; the fakes answer with responses
// hand-written from Google's REST references (not recorded).
const homes: string[] = [];
const home = () => {
  const d = mkdtempSync(join(tmpdir(), "telco-gcp-wiring-"));
  homes.push(d);
  return d;
};
let firestore: FakeFirestoreDocuments;
beforeAll(async () => {
  firestore = await startFakeFirestoreDocuments();
});
afterAll(async () => {
  await firestore.close();
  for (const d of homes) rmSync(d, { recursive: true, force: true });
});

const gcp = (extra: Record<string, unknown> = {}) =>
  configSchema.parse({ profile: "gcp", gcp: { project: "aurora-prod", bucket: "b", ...extra } });

describe("AppContext: the assistant's ports under each profile", () => {
  it("local: sessions and traces in the workspace, no managed retriever", async () => {
    const app = contextFromConfig(configSchema.parse({}), home());
    expect(await app.assistantSessions()).toBeInstanceOf(SqliteAssistantSessionStore);
    expect(await app.traceStore()).toBeInstanceOf(SqliteTraceStore);
    expect(app.retriever()).toBeNull();
    await app.close();
  });

  it("gcp: sessions in the assistant's Firestore database (the emulator variable honoured), end to end through the context", async () => {
    const before = process.env.FIRESTORE_EMULATOR_HOST;
    process.env.FIRESTORE_EMULATOR_HOST = firestore.url.replace("http://", "");
    try {
      const app = contextFromConfig(
        gcp({ assistantDatabase: "telco-assistant-prod", sessionRetentionDays: 7 }),
        home(),
      );
      const store = await app.assistantSessions();
      expect(store).toBeInstanceOf(FirestoreAssistantSessionStore);
      await store.save(
        {
          session_id: "s-wiring",
          customer_id: null,
          channel: "api",
          status: "open",
          created_at: "2026-12-07T10:00:00.000Z",
          updated_at: "2026-12-07T10:00:00.000Z",
          state: { stack: [] },
          version: 0,
        },
        { expectedVersion: 0 },
      );
      expect([...firestore.docs.keys()]).toContain(
        "projects/aurora-prod/databases/telco-assistant-prod/documents/sessions/s-wiring",
      );
      expect(
        firestore.docs.get("projects/aurora-prod/databases/telco-assistant-prod/documents/sessions/s-wiring")
          ?.fields.expires_at,
      ).toEqual({ timestampValue: "2026-12-14T10:00:00.000Z" });
      await app.close();
    } finally {
      if (before === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
      else process.env.FIRESTORE_EMULATOR_HOST = before;
    }
  });

  it("gcp: traces forwarded to Cloud Trace unless OTLP already targets it; no project is a named config error", async () => {
    const app = contextFromConfig(gcp(), home());
    expect(await app.traceStore()).toBeInstanceOf(CloudTraceForwardingStore);
    await app.close(); // nothing buffered: no request leaves
    const otlp = contextFromConfig(
      configSchema.parse({
        profile: "gcp",
        gcp: { project: "p" },
        observability: { otlp: { target: "cloud-trace" } },
      }),
      home(),
    );
    expect(await otlp.traceStore()).toBeInstanceOf(SqliteTraceStore);
    await otlp.close();
    const none = contextFromConfig(configSchema.parse({ profile: "gcp" }), home());
    expect(() => none.assistantSessions()).toThrowError(/gcp\.project/);
    expect(() => none.traceStore()).toThrowError(/gcp\.project/);
  });

  it("gcp: Vertex AI Search only when gcp.searchDataStore is set, with the data store's default serving config", async () => {
    expect(contextFromConfig(gcp(), home()).retriever()).toBeNull();
    const r = contextFromConfig(gcp({ searchDataStore: "telco-kb-prod" }), home()).retriever();
    expect(r).toBeInstanceOf(VertexAiSearchRetriever);
    expect((r as VertexAiSearchRetriever).servingConfig).toBe(
      "projects/aurora-prod/locations/global/collections/default_collection/dataStores/telco-kb-prod/servingConfigs/default_config",
    );
  });
});
