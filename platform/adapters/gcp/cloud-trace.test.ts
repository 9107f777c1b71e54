import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredSpan } from "../../ports/trace-store.ts";
import { SqliteTraceStore } from "../local/sqlite-trace-store.ts";
import { CloudTraceForwardingStore, CloudTraceWriter, toCloudTraceSpan } from "./cloud-trace.ts";
import { type FakeGoogleApi, recordedResponse, startFakeGoogleApi } from "./testing/fake-google-api.ts";

// The fake answers `{}` (a successful batchWrite) or an error body hand-written from the Cloud Trace
// v2 REST reference (not recorded from Google); spans whose id is "bad" get the error.
let fake: FakeGoogleApi;
beforeAll(async () => {
  fake = await startFakeGoogleApi(({ path, body }) => {
    if (path !== "/v2/projects/aurora-prod/traces:batchWrite")
      return { status: 404, body: { error: { code: 404, message: "not found", status: "NOT_FOUND" } } };
    const spans = (body as { spans: { spanId: string }[] }).spans;
    return spans.some((s) => s.spanId === "bad")
      ? { status: 400, body: recordedResponse("cloudtrace-batchwrite-error.json") }
      : { status: 200, body: {} };
  });
});
afterAll(() => fake.close());
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const TRACE = "0af7651916cd43dd8448eb211c80319c";
function span(id: string, parent: string | null, extra: Partial<StoredSpan> = {}): StoredSpan {
  return {
    trace_id: TRACE,
    span_id: id,
    parent_span_id: parent,
    name: parent ? "chat gemini-2.5-flash" : "assistant.turn",
    kind: parent ? "client" : "server",
    start_ms: Date.parse("2026-12-07T10:00:00.000Z"),
    duration_ms: 250.5,
    status: "ok",
    attributes: { "gen_ai.usage.input_tokens": 120, "telco.channel": "whatsapp", "telco.cost.total": 0.0012 },
    events: [],
    ...extra,
  };
}

describe("Cloud Trace v2 span mapping", () => {
  it("maps ids, times, kind, status and typed attributes, within the API's limits", () => {
    const attrs: Record<string, string> = {};
    for (let i = 0; i < 40; i++) attrs[`a${i}`] = "x";
    const s = toCloudTraceSpan(
      "aurora-prod",
      span("b7ad6b7169203331", "00f067aa0ba902b7", {
        status: "error",
        status_message: "tool failed",
        events: [
          {
            name: "guardrail.triggered",
            time_ms: Date.parse("2026-12-07T10:00:00.100Z"),
            attributes: { rule: "pii" },
          },
        ],
      }),
    );
    expect(s).toMatchObject({
      name: `projects/aurora-prod/traces/${TRACE}/spans/b7ad6b7169203331`,
      spanId: "b7ad6b7169203331",
      parentSpanId: "00f067aa0ba902b7",
      displayName: { value: "chat gemini-2.5-flash", truncatedByteCount: 0 },
      startTime: "2026-12-07T10:00:00.000Z",
      endTime: "2026-12-07T10:00:00.250Z",
      spanKind: "CLIENT",
      status: { code: 2, message: "tool failed" },
      attributes: {
        attributeMap: {
          "gen_ai.usage.input_tokens": { intValue: "120" },
          "telco.channel": { stringValue: { value: "whatsapp", truncatedByteCount: 0 } },
          "telco.cost.total": { stringValue: { value: "0.0012", truncatedByteCount: 0 } },
        },
        droppedAttributesCount: 0,
      },
      timeEvents: {
        timeEvent: [
          { time: "2026-12-07T10:00:00.100Z", annotation: { description: { value: "guardrail.triggered" } } },
        ],
      },
    });
    const many = toCloudTraceSpan(
      "p",
      span("1", null, { attributes: attrs, status: "unset", name: "é".repeat(100) }),
    );
    expect(Object.keys(many.attributes.attributeMap)).toHaveLength(32);
    expect(many.attributes.droppedAttributesCount).toBe(8);
    expect(many).not.toHaveProperty("status");
    expect(many).not.toHaveProperty("parentSpanId");
    // 100 two-byte characters cut to 128 bytes: 64 characters, 72 bytes dropped.
    expect(many.displayName).toEqual({ value: "é".repeat(64), truncatedByteCount: 72 });
  });
});

describe("CloudTraceForwardingStore (trace-store port) against a fake Cloud Trace API", () => {
  it("keeps spans locally and sends them in one batchWrite with the bearer token when flushed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-cloudtrace-"));
    dirs.push(dir);
    const writer = new CloudTraceWriter({
      project: "aurora-prod",
      endpoint: fake.url,
      accessToken: async () => "tok",
    });
    const store = new CloudTraceForwardingStore(SqliteTraceStore.open(dir), writer, { flushMs: 60_000 });
    const from = fake.requests.length;
    await store.append([span("b7ad6b7169203331", "00f067aa0ba902b7")]);
    await store.append([span("00f067aa0ba902b7", null)]);
    expect(fake.requests.length).toBe(from); // buffered: the turn did not wait on Cloud Trace
    expect((await store.get(TRACE))?.map((s) => s.span_id).sort()).toEqual([
      "00f067aa0ba902b7",
      "b7ad6b7169203331",
    ]);
    await store.close();
    const sent = fake.requests.slice(from);
    expect(sent).toHaveLength(1);
    expect(sent[0].headers.authorization).toBe("Bearer tok");
    expect((sent[0].body as { spans: { name: string }[] }).spans.map((s) => s.name)).toEqual([
      `projects/aurora-prod/traces/${TRACE}/spans/b7ad6b7169203331`,
      `projects/aurora-prod/traces/${TRACE}/spans/00f067aa0ba902b7`,
    ]);
  });

  it("a rejected write is reported, never thrown, and the local store still holds the spans", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-cloudtrace-"));
    dirs.push(dir);
    const errors: string[] = [];
    const store = new CloudTraceForwardingStore(
      SqliteTraceStore.open(dir),
      new CloudTraceWriter({ project: "aurora-prod", endpoint: fake.url }),
      { flushMs: 60_000, onError: (e) => errors.push(e.message) },
    );
    await store.append([span("bad", null)]);
    await store.flush();
    expect(errors).toEqual([
      expect.stringMatching(
        /Cloud Trace POST .*traces:batchWrite failed: HTTP 400 INVALID_ARGUMENT Request contains an invalid argument/,
      ),
    ]);
    expect((await store.get(TRACE))?.length).toBe(1);
    await store.close();
  });

  it("sends on its timer without a flush", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-cloudtrace-"));
    dirs.push(dir);
    const store = new CloudTraceForwardingStore(
      SqliteTraceStore.open(dir),
      new CloudTraceWriter({ project: "aurora-prod", endpoint: fake.url }),
      { flushMs: 20 },
    );
    const from = fake.requests.length;
    await store.append([span("1111111111111111", null)]);
    await expect.poll(() => fake.requests.length, { timeout: 2000 }).toBe(from + 1);
    await store.close();
    expect(fake.requests.length).toBe(from + 1); // nothing left to send at close
  });
});
