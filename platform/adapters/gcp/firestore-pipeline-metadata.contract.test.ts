import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipelineMetadataContract } from "../../ports/testing/pipeline-metadata.contract.ts";
import { docId, FirestorePipelineMetadata } from "./firestore-pipeline-metadata.ts";
import { GcsLake } from "./gcs-lake.ts";
import {
  type FakeFirestoreDocuments,
  startFakeFirestoreDocuments,
} from "./testing/fake-firestore-documents.ts";
import { memoryBucket } from "./testing/memory-bucket.ts";

// The fake Firestore REST API, hand-written from the REST reference, answers on this thread: the
// store awaits each call, so nothing waits on the event loop the fake needs.
let fake: FakeFirestoreDocuments;
beforeAll(async () => {
  fake = await startFakeFirestoreDocuments();
});
afterAll(async () => {
  await fake.close();
});

let n = 0;
pipelineMetadataContract("FirestorePipelineMetadata (fake Firestore REST API)", async () => {
  const root = mkdtempSync(join(tmpdir(), "telco-fspipe-"));
  // A fresh prefix per case gives each an empty store on the one fake server.
  const bucket = memoryBucket();
  const store = new FirestorePipelineMetadata({
    project: "p1",
    endpoint: fake.url,
    root,
    prefix: `t${n++}`,
    artifacts: () => new GcsLake({ bucket: "b", prefix: "pipelines", client: bucket }),
  });
  return {
    store,
    async dispose() {
      await store.close();
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
      await store.createRun({
        id: "churn-training-20261207T100000-abc",
        pipeline: "churn-training",
        params: { k: 1 },
      });
      await expect(
        store.createRun({ id: "churn-training-20261207T100000-abc", pipeline: "churn-training", params: {} }),
      ).rejects.toThrowError(/ALREADY_EXISTS/);
      await store.upsertStep("churn-training-20261207T100000-abc", {
        name: "train/model ✓",
        step: "train",
        status: "succeeded",
        duration_ms: 5,
        attempts: 1,
      });
      await store.appendStepLog("churn-training-20261207T100000-abc", "train/model ✓", [
        { at: "2026-12-07T10:00:00.000Z", level: "info", attempt: 1, message: "fit" },
      ]);
      await store.finishRun("churn-training-20261207T100000-abc", "succeeded");
    } finally {
      await store.close();
    }
    const docs = [...fake.docs.values()];
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
    const commits = fake.requests.filter((r) => r.path.endsWith(":commit"));
    expect(
      commits.some((c) => JSON.stringify(c.body).includes('"fieldPaths":["status","finished_at","error"]')),
    ).toBe(true);
  });

  it("reports a Firestore error with the service, the method and the status", async () => {
    const store = new FirestorePipelineMetadata({
      project: "p1",
      endpoint: "http://127.0.0.1:9",
      root: "/tmp/x",
    });
    try {
      await expect(store.getRun("r1")).rejects.toThrowError(/Firestore GET .*failed/);
    } finally {
      await store.close();
    }
  });

  it("lists one pipeline's runs with the query the composite index in Terraform serves", async () => {
    const store = new FirestorePipelineMetadata({ project: "p1", endpoint: fake.url, root: "/tmp/x" });
    try {
      await store.createRun({ id: "a", pipeline: "demo", params: {} });
      expect((await store.listRuns(5, "demo")).map((r) => r.id)).toEqual(["a"]);
    } finally {
      await store.close();
    }
    const q = fake.requests.filter((r) => r.path.endsWith(":runQuery")).at(-1)?.body as {
      structuredQuery: unknown;
    };
    expect(q.structuredQuery).toEqual({
      from: [{ collectionId: "telco_pipelines_runs" }],
      where: {
        fieldFilter: { field: { fieldPath: "pipeline" }, op: "EQUAL", value: { stringValue: "demo" } },
      },
      orderBy: [{ field: { fieldPath: "started_at" }, direction: "DESCENDING" }],
      limit: 5,
    });
    // The index Terraform declares for it: same collection, the equality field, then the order field.
    const tf = readFileSync(
      join(import.meta.dirname, "../../../infra/terraform/modules/ml-platform/main.tf"),
      "utf8",
    );
    const block = /resource "google_firestore_index" "pipeline_runs_by_pipeline" \{([\s\S]*?)\n\}/.exec(
      tf,
    )?.[1];
    expect(block).toBeDefined();
    expect(block).toMatch(/database\s*=\s*"\(default\)"/);
    expect(block).toMatch(/collection\s*=\s*"telco_pipelines_runs"/);
    const fields = [...(block ?? "").matchAll(/field_path\s*=\s*"(\w+)"\s*order\s*=\s*"(\w+)"/g)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(fields).toEqual(["pipeline ASCENDING", "started_at DESCENDING"]);
  });

  it("without an artifact lake, using it names the missing setting", async () => {
    const store = new FirestorePipelineMetadata({ project: "p1", endpoint: fake.url, root: "/tmp/x" });
    expect(() => store.artifacts).toThrowError(/artifact lake/);
    await store.close();
  });

  it("keeps the event loop free while a call is in flight", async () => {
    const store = new FirestorePipelineMetadata({
      project: "p1",
      endpoint: fake.url,
      root: "/tmp/x",
      prefix: "loop",
    });
    try {
      // A store that blocked its thread for the round trip would settle before the next loop turn; this
      // one lets the loop turn (setImmediate runs) while the request is out, and the answer comes after.
      const order: string[] = [];
      setImmediate(() => order.push("loop turned"));
      await store.listRuns(10).then(() => order.push("answer"));
      expect(order).toEqual(["loop turned", "answer"]);
    } finally {
      await store.close();
    }
  });
});
