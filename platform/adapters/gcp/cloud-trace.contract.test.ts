import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { traceStoreContract } from "../../ports/testing/trace-store.contract.ts";
import { SqliteTraceStore } from "../local/sqlite-trace-store.ts";
import { CloudTraceForwardingStore, CloudTraceWriter } from "./cloud-trace.ts";
import { recordedResponse, startFakeGoogleApi } from "./testing/fake-google-api.ts";

// The port's shared contract against the gcp profile's store: the local SQLite store with every span
// also sent to a fake Cloud Trace v2 API (traces:batchWrite), which accepts writes and keeps the span
// ids, until the case breaks it: then it answers the hand-written error body of ./testing/recorded.
traceStoreContract("CloudTraceForwardingStore (SQLite + fake Cloud Trace API)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "telco-cloud-trace-contract-"));
  const forwarded: string[] = [];
  const errors: string[] = [];
  let broken = false;
  const fake = await startFakeGoogleApi(({ method, path, body }) => {
    if (method !== "POST" || path !== "/v2/projects/aurora-prod/traces:batchWrite")
      return { status: 404, body: { error: { code: 404, message: "not found", status: "NOT_FOUND" } } };
    if (broken) return { status: 400, body: recordedResponse("cloudtrace-batchwrite-error.json") };
    for (const s of (body as { spans: { spanId: string }[] }).spans) forwarded.push(s.spanId);
    return { status: 200, body: {} };
  });
  const writer = new CloudTraceWriter({ project: "aurora-prod", endpoint: fake.url });
  const open = () =>
    new CloudTraceForwardingStore(SqliteTraceStore.open(dir), writer, {
      flushMs: 20,
      onError: (err) => errors.push(err.message),
    });
  return {
    store: open(),
    reopen: open,
    forwarded: () => forwarded,
    breakForwarding: () => {
      broken = true;
    },
    forwardingErrors: () => errors,
    async dispose() {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
