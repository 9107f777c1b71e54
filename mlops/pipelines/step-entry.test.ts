import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Storage } from "@google-cloud/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FirestorePipelineMetadata } from "../../platform/adapters/gcp/firestore-pipeline-metadata.ts";
import { type GcsBucketLike, GcsLake } from "../../platform/adapters/gcp/gcs-lake.ts";
import {
  type FakeFirestoreDocuments,
  startFakeFirestoreDocuments,
} from "../../platform/adapters/gcp/testing/fake-firestore-documents.ts";
import { type FakeGcs, startFakeGcs } from "../../platform/adapters/gcp/testing/fake-gcs.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import { getPipeline } from "./catalog.ts";
import { artifact, definePipeline, defineStep, fromParam, fromTask, param, task } from "./dsl.ts";
import { runPipeline } from "./runner.ts";
import { runStepEntry } from "./step-entry.ts";

// Pipelines under the gcp profile: run metadata in Firestore (a fake Firestore REST API hand-written
// from the REST reference) and run artifacts in Cloud Storage (the @google-cloud/storage client against
// a fake Cloud Storage JSON API, testing/fake-gcs.ts). The apps built by the composition root reach
// both through their emulator variables (the SDK sends uploads under /upload/storage/v1/, which the
// fake serves; its emulator-host reads go to /b/..., which the fake does not, so the fresh-container
// test gives the SDK the fake as its apiEndpoint instead). Also `telco pipeline step` as each Vertex
// AI task runs it.
let fake: FakeFirestoreDocuments;
let gcs: FakeGcs;
let home: string;
const saved = { firestore: process.env.FIRESTORE_EMULATOR_HOST, storage: process.env.STORAGE_EMULATOR_HOST };
beforeAll(async () => {
  fake = await startFakeFirestoreDocuments();
  gcs = await startFakeGcs({ bucket: "b" });
  process.env.FIRESTORE_EMULATOR_HOST = fake.url.replace(/^http:\/\//, "");
  process.env.STORAGE_EMULATOR_HOST = gcs.url;
  home = mkdtempSync(join(tmpdir(), "telco-step-gcp-"));
});
afterAll(async () => {
  for (const [name, value] of [
    ["FIRESTORE_EMULATOR_HOST", saved.firestore],
    ["STORAGE_EMULATOR_HOST", saved.storage],
  ] as const)
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  await fake.close();
  await gcs.close();
  rmSync(home, { recursive: true, force: true });
});

const gcpApp = (workspace = home) =>
  contextFromConfig(configSchema.parse({ profile: "gcp", gcp: { project: "p1", bucket: "b" } }), workspace);

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
      expect(await meta.getRun(runId)).toMatchObject({ pipeline: "demo", status: "running" });
      expect((await meta.steps(runId)).find((s) => s.name === "evaluate")).toMatchObject({
        status: "failed",
        attempts: 1,
      });
    } finally {
      await meta.close();
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
      const run = await again.runResult(runId);
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
      const times = await again.stepTimes(runId);
      expect(times.every((t) => t.startedAt !== null && t.finishedAt !== null)).toBe(true);
      // The producer's output and the consumer's input are the same artifact (the path Vertex passed).
      const lineage = await again.lineage(runId);
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
      expect((await again.stepLogs(runId, "extract")).extract?.[0]).toMatchObject({
        level: "info",
        message: "inputs: rows=40, seed=3, work_ms=0",
      });
    } finally {
      await again.close();
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
      // The composition root's store keeps the run's artifacts in the bucket, under pipelines/.
      expect(gcs.objects.has(`pipelines/artifacts/${first.run_id}/extract/dataset`)).toBe(true);
      expect(gcs.objects.has(`pipelines/artifacts/${first.run_id}/train/model`)).toBe(true);
      const meta = app.pipelineMetadata();
      try {
        expect(meta.kind).toBe("firestore");
        expect((await meta.listRuns(10, "demo")).slice(0, 2).map((r) => r.id)).toEqual([
          second.run_id,
          first.run_id,
        ]);
        expect((await meta.runResult(first.run_id))?.steps.map((s) => s.status)).toEqual([
          "succeeded",
          "succeeded",
          "succeeded",
          "succeeded",
        ]);
        expect(
          (await meta.lineage(second.run_id)).some(
            (e) => e.direction === "output" && e.artifact.runId === first.run_id,
          ),
        ).toBe(true);
      } finally {
        await meta.close();
      }
    } finally {
      await app.close();
    }
  });

  it("keeps run artifacts in gs://BUCKET/pipelines/: a fresh container's run finds cached outputs and downloads their files", async () => {
    let sourceCalls = 0;
    let useCalls = 0;
    const source = defineStep({
      name: "gcs-source",
      version: "1",
      inputs: {},
      outputs: { data: artifact.dataset(), bundle: artifact.model() },
      run(_in, ctx) {
        sourceCalls++;
        writeFileSync(ctx.outputs.data.path, "HELLO");
        // A folder artifact, one file a level down.
        const dir = ctx.outputs.bundle.path;
        mkdirSync(join(dir, "sub"), { recursive: true });
        writeFileSync(join(dir, "weights.json"), '{"w":[1,2]}');
        writeFileSync(join(dir, "sub", "vocab.txt"), "a\nb");
        return {};
      },
    });
    const use = defineStep({
      name: "gcs-use",
      version: "1",
      inputs: { data: artifact.dataset(), bundle: artifact.model(), suffix: param.string() },
      outputs: { out: artifact.dataset() },
      run({ data, bundle, suffix }, ctx) {
        useCalls++;
        const parts = [
          readFileSync(data.path, "utf8"),
          readFileSync(join(bundle.path, "weights.json"), "utf8"),
          readFileSync(join(bundle.path, "sub", "vocab.txt"), "utf8"),
          suffix,
        ];
        writeFileSync(ctx.outputs.out.path, parts.join("|"));
        return {};
      },
    });
    const p = definePipeline({
      name: "gcs-artifacts",
      params: { suffix: param.string({ default: "!" }) },
      tasks: {
        source: task(source, {}),
        use: task(use, {
          data: fromTask("source", "data"),
          bundle: fromTask("source", "bundle"),
          suffix: fromParam("suffix"),
        }),
      },
    });
    // Each "container" is a fresh workspace with the store platform/context.ts builds under gcp
    // (Firestore + a Cloud Storage lake under pipelines/, here the SDK pointed at the fake GCS);
    // only the bucket and Firestore outlive it.
    const container = async (params: Record<string, string>) => {
      // The SDK would prefer the emulator variable to its apiEndpoint.
      const emulator = process.env.STORAGE_EMULATOR_HOST;
      delete process.env.STORAGE_EMULATOR_HOST;
      const workspace = mkdtempSync(join(tmpdir(), "telco-container-"));
      const root = join(workspace, "pipelines");
      const bucket = new Storage({
        apiEndpoint: gcs.url,
        projectId: "p1",
        retryOptions: { autoRetry: false },
      }).bucket("b") as unknown as GcsBucketLike;
      const meta = new FirestorePipelineMetadata({
        project: "p1",
        endpoint: fake.url,
        root,
        artifacts: () => new GcsLake({ bucket: "b", prefix: "pipelines", client: bucket }),
      });
      try {
        const r = await runPipeline(root, p, { params, metadata: meta });
        const lineage = await meta.lineage(r.run_id);
        const out = lineage.find((e) => e.task === "use" && e.direction === "output")?.artifact;
        const local = join(root, "artifacts", out?.runId ?? "", "use", "out");
        return { r, out, content: existsSync(local) ? readFileSync(local, "utf8") : undefined };
      } finally {
        await meta.close();
        rmSync(workspace, { recursive: true, force: true });
        process.env.STORAGE_EMULATOR_HOST = emulator;
      }
    };

    const first = await container({});
    expect(first.r.steps.map((s) => s.status)).toEqual(["succeeded", "succeeded"]);
    const run1 = first.r.run_id;
    expect(first.content).toBe('HELLO|{"w":[1,2]}|a\nb|!');
    // The files are in the bucket under pipelines/, and the records name them there.
    expect(
      [...gcs.objects.keys()].filter((k) => k.startsWith(`pipelines/artifacts/${run1}/`)).sort(),
    ).toEqual([
      `pipelines/artifacts/${run1}/source/bundle/sub/vocab.txt`,
      `pipelines/artifacts/${run1}/source/bundle/weights.json`,
      `pipelines/artifacts/${run1}/source/data`,
      `pipelines/artifacts/${run1}/use/out`,
    ]);
    expect(first.out?.uri).toBe(`gs://b/pipelines/artifacts/${run1}/use/out`);

    // Same inputs on a fresh container: both steps cached; the output's file is downloaded from GCS.
    const second = await container({});
    expect(second.r.steps.map((s) => [s.status, s.cache_source])).toEqual([
      ["cached", run1],
      ["cached", run1],
    ]);
    expect(second.content).toBe('HELLO|{"w":[1,2]}|a\nb|!');
    expect([sourceCalls, useCalls]).toEqual([1, 1]);

    // A changed downstream parameter: source is cached, and use runs on the files downloaded for it.
    const third = await container({ suffix: "?" });
    expect(third.r.steps.map((s) => s.status)).toEqual(["cached", "succeeded"]);
    expect(third.content).toBe('HELLO|{"w":[1,2]}|a\nb|?');
    expect([sourceCalls, useCalls]).toEqual([1, 2]);

    // Objects gone from the bucket: the cache entry is useless, the step runs again.
    for (const k of [...gcs.objects.keys()])
      if (k.startsWith(`pipelines/artifacts/${run1}/source/`)) gcs.objects.delete(k);
    const fourth = await container({ suffix: "#" });
    expect(fourth.r.steps.map((s) => s.status)).toEqual(["succeeded", "succeeded"]);
    expect(fourth.content).toBe('HELLO|{"w":[1,2]}|a\nb|#');
    expect(sourceCalls).toBe(2);
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
