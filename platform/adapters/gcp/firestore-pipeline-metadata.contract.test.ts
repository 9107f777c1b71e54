import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipelineMetadataContract } from "../../ports/testing/pipeline-metadata.contract.ts";
import { docId, FirestorePipelineMetadata } from "./firestore-pipeline-metadata.ts";
import { type FakeFirestoreThread, startFakeFirestoreThread } from "./testing/fake-firestore-thread.ts";

// The store blocks its thread on each call, so the fake Firestore REST API (hand-written from the REST
// reference, testing/fake-firestore-documents.ts) answers from a thread of its own.
let fake: FakeFirestoreThread;
beforeAll(async () => {
  fake = await startFakeFirestoreThread();
});
afterAll(async () => {
  await fake.close();
});

let n = 0;
pipelineMetadataContract("FirestorePipelineMetadata (fake Firestore REST API)", async () => {
  const root = mkdtempSync(join(tmpdir(), "telco-fspipe-"));
  // A fresh prefix per case gives each an empty store on the one fake server.
  const store = new FirestorePipelineMetadata({ project: "p1", endpoint: fake.url, root, prefix: `t${n++}` });
  return {
    store,
    async dispose() {
      store.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
});

describe("FirestorePipelineMetadata on the wire", () => {
  it("writes a run, its steps and logs as documents under the run, with any task name as a document id", async () => {
    const store = new FirestorePipelineMetadata({
      project: "p1",
      endpoint: fake.url,
      root: "/tmp/x",
      prefix: "wire",
    });
    try {
      store.createRun({
        id: "churn-training-20261207T100000-abc",
        pipeline: "churn-training",
        params: { k: 1 },
      });
      expect(() =>
        store.createRun({ id: "churn-training-20261207T100000-abc", pipeline: "churn-training", params: {} }),
      ).toThrowError(/ALREADY_EXISTS/);
      store.upsertStep("churn-training-20261207T100000-abc", {
        name: "train/model ✓",
        step: "train",
        status: "succeeded",
        duration_ms: 5,
        attempts: 1,
      });
      store.appendStepLog("churn-training-20261207T100000-abc", "train/model ✓", [
        { at: "2026-12-07T10:00:00.000Z", level: "info", attempt: 1, message: "fit" },
      ]);
      store.finishRun("churn-training-20261207T100000-abc", "succeeded");
    } finally {
      store.close();
    }
    const docs = await fake.docs();
    const run = docs.find((d) => d.name.endsWith("/wire_runs/churn-training-20261207T100000-abc"));
    expect(run?.name).toBe(
      "projects/p1/databases/(default)/documents/wire_runs/churn-training-20261207T100000-abc",
    );
    expect(run?.fields.status).toEqual({ stringValue: "succeeded" });
    expect(run?.fields.params).toEqual({ stringValue: '{"k":1}' });
    const step = docs.find((d) => d.name.includes("/wire_runs/") && d.name.includes("/steps/"));
    expect(step?.name.split("/steps/")[1]).toBe(docId("train/model ✓"));
    expect(docId("train/model ✓")).toMatch(/^~[A-Za-z0-9_-]+$/);
    expect(Buffer.from(docId("train/model ✓").slice(1), "base64url").toString("utf8")).toBe("train/model ✓");
    expect(docs.filter((d) => d.name.includes("/wire_runs/") && d.name.includes("/logs/"))).toHaveLength(1);
    // finishRun changes only the three fields it names (updateMask), so the run keeps its params.
    const commits = (await fake.requests()).filter((r) => r.path.endsWith(":commit"));
    expect(
      commits.some((c) => JSON.stringify(c.body).includes('"fieldPaths":["status","finished_at","error"]')),
    ).toBe(true);
  });

  it("reports a Firestore error with the service, the method and the status", () => {
    const store = new FirestorePipelineMetadata({
      project: "p1",
      endpoint: "http://127.0.0.1:9",
      root: "/tmp/x",
    });
    try {
      expect(() => store.getRun("r1")).toThrowError(/Firestore GET .*failed/);
    } finally {
      store.close();
    }
  });
});
