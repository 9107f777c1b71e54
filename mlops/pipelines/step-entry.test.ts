import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FakeFirestoreThread,
  startFakeFirestoreThread,
} from "../../platform/adapters/gcp/testing/fake-firestore-thread.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import { getPipeline } from "./catalog.ts";
import { runPipeline } from "./runner.ts";
import { runStepEntry } from "./step-entry.ts";

// `telco pipeline step` as each Vertex AI task runs it, under the gcp profile: the steps land in the
// Firestore pipeline-metadata store (a fake Firestore REST API hand-written from the REST reference,
// on its own thread because the store's calls block).
let fake: FakeFirestoreThread;
let home: string;
const saved = process.env.FIRESTORE_EMULATOR_HOST;
beforeAll(async () => {
  fake = await startFakeFirestoreThread();
  process.env.FIRESTORE_EMULATOR_HOST = fake.url.replace(/^http:\/\//, "");
  home = mkdtempSync(join(tmpdir(), "telco-step-gcp-"));
});
afterAll(async () => {
  if (saved === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
  else process.env.FIRESTORE_EMULATOR_HOST = saved;
  await fake.close();
  rmSync(home, { recursive: true, force: true });
});

const gcpApp = () =>
  contextFromConfig(configSchema.parse({ profile: "gcp", gcp: { project: "p1", bucket: "b" } }), home);

describe("pipelines under the gcp profile (metadata in a fake Firestore)", () => {
  it("records each task of a Vertex run in Firestore: status, attempts, outputs, logs, lineage, and the run's end", async () => {
    const app = gcpApp();
    const gcs = join(home, "gcs"); // stands for the GCS FUSE paths Vertex passes
    const p = (x: string) => join(gcs, x);
    const runId = "demo-20261207100000";
    const step = (ref: string, a: Partial<Parameters<typeof runStepEntry>[1]>) =>
      runStepEntry(ref, {
        params: [],
        inputArtifacts: [],
        outputArtifacts: [],
        outputParams: [],
        runId,
        app,
        ...a,
      });

    const first = await step("demo/extract", {
      task: "extract",
      params: ["rows=40", "seed=3", "work_ms=0"],
      outputArtifacts: [`dataset=${p("extract/dataset")}`],
      outputParams: [`row_count=${p("extract/row_count")}`],
    });
    expect(first).toMatchObject({ run_id: runId, task: "extract", outputs: { row_count: 40 } });
    await step("demo/profile", {
      task: "profile",
      inputArtifacts: [`dataset=${p("extract/dataset")}`],
      outputArtifacts: [`stats=${p("profile/stats")}`],
    });
    await step("demo/train", {
      task: "train",
      inputArtifacts: [`dataset=${p("extract/dataset")}`],
      outputArtifacts: [`model=${p("train/model")}`],
      outputParams: [`threshold=${p("train/threshold")}`],
    });
    // evaluate fails once (a broken model file), then Vertex retries it.
    writeFileSync(p("broken-model"), "not json");
    await expect(
      step("demo/evaluate", {
        task: "evaluate",
        inputArtifacts: [`dataset=${p("extract/dataset")}`, `model=${p("broken-model")}`],
        outputArtifacts: [`metrics=${p("evaluate/metrics")}`],
        outputParams: [`accuracy=${p("evaluate/accuracy")}`],
      }),
    ).rejects.toThrow();

    const meta = app.pipelineMetadata();
    try {
      expect(meta.kind).toBe("firestore");
      expect(meta.getRun(runId)).toMatchObject({ pipeline: "demo", status: "running" });
      expect(meta.steps(runId).find((s) => s.name === "evaluate")).toMatchObject({
        status: "failed",
        attempts: 1,
      });
    } finally {
      meta.close();
    }

    await step("demo/evaluate", {
      task: "evaluate",
      inputArtifacts: [`dataset=${p("extract/dataset")}`, `model=${p("train/model")}`],
      outputArtifacts: [`metrics=${p("evaluate/metrics")}`],
      outputParams: [`accuracy=${p("evaluate/accuracy")}`],
    });

    // A fresh handle (another process would do the same) reads the whole run back.
    const again = app.pipelineMetadata();
    try {
      const run = again.runResult(runId);
      expect(run?.status).toBe("succeeded");
      expect(run?.trigger).toMatchObject({ kind: "api", reason: `Vertex AI pipeline job ${runId}` });
      expect(run?.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
        ["extract", "succeeded", 1],
        ["profile", "succeeded", 1],
        ["train", "succeeded", 1],
        ["evaluate", "succeeded", 2],
      ]);
      const train = run?.steps.find((s) => s.name === "train");
      expect(train?.outputs?.threshold).toEqual(expect.any(Number));
      expect(train?.artifacts).toEqual({ model: p("train/model") });
      const times = again.stepTimes(runId);
      expect(times.every((t) => t.startedAt !== null && t.finishedAt !== null)).toBe(true);
      // The producer's output and the consumer's input are the same artifact (the path Vertex passed).
      const lineage = again.lineage(runId);
      const dataset = lineage.filter((e) => e.artifact.id === p("extract/dataset"));
      expect(dataset.map((e) => `${e.task} ${e.direction} ${e.name}`)).toEqual([
        "extract output dataset",
        "profile input dataset",
        "train input dataset",
        "evaluate input dataset",
        "evaluate input dataset",
      ]);
      expect(dataset[0]?.artifact).toMatchObject({
        type: "Dataset",
        runId,
        task: "extract",
        bytes: expect.any(Number),
      });
      expect(again.stepLogs(runId, "extract").extract?.[0]).toMatchObject({
        level: "info",
        message: "inputs: rows=40, seed=3, work_ms=0",
      });
    } finally {
      again.close();
      await app.close();
    }
  });

  it("runs a pipeline in process with its metadata in Firestore: recorded, listed, and cached on the second run", async () => {
    const app = gcpApp();
    try {
      const first = await runPipeline(app.paths.pipelines, getPipeline("demo"), {
        params: { rows: 30 },
        app,
      });
      const second = await runPipeline(app.paths.pipelines, getPipeline("demo"), {
        params: { rows: 30 },
        app,
      });
      expect(first.status).toBe("succeeded");
      expect(second.steps.map((s) => s.status)).toEqual(["cached", "cached", "cached", "cached"]);
      const meta = app.pipelineMetadata();
      try {
        expect(meta.kind).toBe("firestore");
        expect(
          meta
            .listRuns(10, "demo")
            .slice(0, 2)
            .map((r) => r.id),
        ).toEqual([second.run_id, first.run_id]);
        expect(meta.runResult(first.run_id)?.steps.map((s) => s.status)).toEqual([
          "succeeded",
          "succeeded",
          "succeeded",
          "succeeded",
        ]);
        expect(
          meta
            .lineage(second.run_id)
            .some((e) => e.direction === "output" && e.artifact.runId === first.run_id),
        ).toBe(true);
      } finally {
        meta.close();
      }
    } finally {
      await app.close();
    }
  });

  it("refuses an unresolved placeholder as the run id and an unknown task, naming the flag", async () => {
    const args = { params: [], inputArtifacts: [], outputArtifacts: [], outputParams: [] };
    await expect(runStepEntry("demo/extract", { ...args, runId: "{{$.pipeline_job_name}}" })).rejects.toThrow(
      /--run-id/,
    );
    await expect(runStepEntry("demo/extract", { ...args, runId: "r1", task: "nope" })).rejects.toThrow(
      /--task.*no task "nope"/,
    );
  });
});
