/**
 * The pipeline-metadata port's contract (platform/ports/pipeline-metadata.ts), run by every
 * adapter's tests with the same cases. `setup` gives a fresh, empty store.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { PipelineMetadataStore } from "../pipeline-metadata.ts";
import type { ArtifactRecord } from "../pipelines.ts";

export interface PipelineMetadataFixture {
  store: PipelineMetadataStore;
  dispose(): Promise<void>;
}

function artifact(runId: string, task: string, name: string, hash: string): ArtifactRecord {
  return {
    id: `${runId}/${task}/${name}`,
    runId,
    task,
    name,
    type: "Dataset",
    uri: `/tmp/${runId}/${task}/${name}`,
    hash,
    bytes: 42,
    metadata: { rows: 7 },
    createdAt: "2026-12-07T10:00:00.000Z",
  };
}

export function pipelineMetadataContract(label: string, setup: () => Promise<PipelineMetadataFixture>): void {
  describe(`PipelineMetadataStore contract: ${label}`, () => {
    const open: PipelineMetadataFixture[] = [];
    const fixture = async () => {
      const f = await setup();
      open.push(f);
      return f.store;
    };
    afterEach(async () => {
      for (const f of open.splice(0)) await f.dispose();
    });

    it("records a run from start to finish, with its parameters and trigger", async () => {
      const m = await fixture();
      expect(await m.getRun("r1")).toBeUndefined();
      const trigger = { kind: "drift" as const, reason: "psi 0.4", at: "2026-12-07T10:00:00.000Z" };
      await m.createRun({ id: "r1", pipeline: "demo", params: { rows: 5, name: "x" }, trigger });
      expect(await m.getRun("r1")).toMatchObject({
        id: "r1",
        pipeline: "demo",
        status: "running",
        params: { rows: 5, name: "x" },
        trigger,
        resumedFrom: null,
        finishedAt: null,
        error: null,
      });
      await m.finishRun("r1", "failed", "step train failed");
      const done = await m.getRun("r1");
      expect(done).toMatchObject({ status: "failed", error: "step train failed" });
      expect(Number.isNaN(Date.parse(done?.finishedAt ?? ""))).toBe(false);
    });

    it("keeps one row per task: the first start time stays, terminal statuses set the finish time", async () => {
      const m = await fixture();
      await m.createRun({ id: "r1", pipeline: "demo", params: {} });
      await m.upsertStep("r1", {
        name: "a",
        step: "load",
        status: "running",
        duration_ms: 0,
        attempts: 1,
        startedAt: "2026-12-07T10:00:00.000Z",
      });
      await m.upsertStep("r1", { name: "b", step: "train", status: "pending", duration_ms: 0, attempts: 0 });
      expect(await m.stepTimes("r1")).toEqual([
        { task: "a", startedAt: "2026-12-07T10:00:00.000Z", finishedAt: null },
        { task: "b", startedAt: null, finishedAt: null },
      ]);
      await m.upsertStep("r1", {
        name: "a",
        step: "load",
        status: "succeeded",
        duration_ms: 12,
        attempts: 2,
        startedAt: "2026-12-07T10:05:00.000Z",
        cache_key: "k1",
        outputs: { rows: 3 },
        artifacts: { data: "r1/a/data" },
      });
      expect(await m.steps("r1")).toEqual([
        {
          name: "a",
          step: "load",
          status: "succeeded",
          duration_ms: 12,
          attempts: 2,
          cache_key: "k1",
          outputs: { rows: 3 },
          artifacts: { data: "r1/a/data" },
        },
        { name: "b", step: "train", status: "pending", duration_ms: 0, attempts: 0 },
      ]);
      const [a] = await m.stepTimes("r1");
      expect(a.startedAt).toBe("2026-12-07T10:00:00.000Z");
      expect(a.finishedAt).not.toBeNull();
      expect(await m.steps("other")).toEqual([]);
    });

    it("stores artifacts and the lineage events that link them to tasks", async () => {
      const m = await fixture();
      await m.createRun({ id: "r1", pipeline: "demo", params: {} });
      const data = artifact("r1", "a", "data", "h1");
      await m.addArtifact(data);
      await m.addEvent("r1", "a", data.id, "output", "data");
      await m.addEvent("r1", "b", data.id, "input", "train_data");
      expect(await m.artifact(data.id)).toEqual(data);
      expect(await m.artifact("nope")).toBeUndefined();
      expect(await m.lineage("r1")).toEqual([
        { task: "a", direction: "output", name: "data", artifact: data },
        { task: "b", direction: "input", name: "train_data", artifact: data },
      ]);
    });

    it("caches task results by key: put, overwrite, get, delete", async () => {
      const m = await fixture();
      expect(await m.getCache("k")).toBeUndefined();
      await m.putCache({
        key: "k",
        step: "load",
        runId: "r1",
        task: "a",
        outputs: { n: 1 },
        artifacts: { d: "r1/a/d" },
      });
      await m.putCache({
        key: "k",
        step: "load",
        runId: "r2",
        task: "a",
        outputs: { n: 2 },
        artifacts: { d: "r2/a/d" },
      });
      expect(await m.getCache("k")).toEqual({
        key: "k",
        runId: "r2",
        task: "a",
        outputs: { n: 2 },
        artifacts: { d: "r2/a/d" },
      });
      await m.deleteCache("k");
      expect(await m.getCache("k")).toBeUndefined();
    });

    it("keeps each task's log lines in the order appended, per run and task", async () => {
      const m = await fixture();
      await m.createRun({ id: "r1", pipeline: "demo", params: {} });
      await m.createRun({ id: "r2", pipeline: "demo", params: {} });
      expect(await m.stepLogs("r1")).toEqual({});
      const line = (n: number, level: "info" | "warn" | "error" | null = null, attempt = 1) => ({
        at: `2026-12-07T10:00:0${n}.000Z`,
        level,
        attempt,
        message: `line ${n} — ção ✓`,
      });
      await m.appendStepLog("r1", "a", [line(1), line(2, "warn")]);
      await m.appendStepLog("r1", "b", [line(3, "info")]);
      await m.appendStepLog("r1", "a", [line(4, "error", 2)]);
      await m.appendStepLog("r1", "a", []);
      await m.appendStepLog("r2", "a", [line(5)]);
      expect(await m.stepLogs("r1")).toEqual({
        a: [line(1), line(2, "warn"), line(4, "error", 2)],
        b: [line(3, "info")],
      });
      expect(await m.stepLogs("r1", "b")).toEqual({ b: [line(3, "info")] });
      expect(await m.stepLogs("r1", "c")).toEqual({});
      expect(await m.stepLogs("r2")).toEqual({ a: [line(5)] });
      expect(await m.stepLogs("nope")).toEqual({});
    });

    it("answers calls made at once (writes in flight together all land)", async () => {
      const m = await fixture();
      await m.createRun({ id: "r1", pipeline: "demo", params: {} });
      const line = (task: string) => ({
        at: "2026-12-07T10:00:00.000Z",
        level: null,
        attempt: 1,
        message: task,
      });
      await Promise.all(
        ["a", "b", "c"].flatMap((t) => [
          m.appendStepLog("r1", t, [line(t)]),
          m.addEvent("r1", t, "r1/x/data", "input", "data"),
          m.putCache({ key: `k-${t}`, step: t, runId: "r1", task: t, outputs: {}, artifacts: {} }),
        ]),
      );
      expect(Object.keys(await m.stepLogs("r1")).sort()).toEqual(["a", "b", "c"]);
      expect(
        (await Promise.all(["a", "b", "c"].map((t) => m.getCache(`k-${t}`)))).map((c) => c?.task),
      ).toEqual(["a", "b", "c"]);
    });

    it("keeps artifact files in its lake under artifacts/<run>/<task>/<name>", async () => {
      const m = await fixture();
      expect(await m.artifacts.exists("artifacts/r1/a/data")).toBe(false);
      await m.artifacts.write("artifacts/r1/a/data", "rows");
      await m.artifacts.write("artifacts/r1/a/model/weights.json", "{}");
      expect((await m.artifacts.read("artifacts/r1/a/data")).toString("utf8")).toBe("rows");
      expect(await m.artifacts.list("artifacts/r1/a")).toEqual([
        "artifacts/r1/a/data",
        "artifacts/r1/a/model/weights.json",
      ]);
    });

    it("lists runs newest first, by pipeline and up to a limit, and prints a run's result", async () => {
      const m = await fixture();
      await m.createRun({ id: "r1", pipeline: "demo", params: {} });
      await new Promise((r) => setTimeout(r, 5));
      await m.createRun({ id: "r2", pipeline: "churn-training", params: {} });
      await new Promise((r) => setTimeout(r, 5));
      await m.createRun({ id: "r3", pipeline: "demo", params: { rows: 1 }, resumedFrom: "r1" });
      expect((await m.listRuns()).map((r) => r.id)).toEqual(["r3", "r2", "r1"]);
      expect((await m.listRuns(50, "demo")).map((r) => r.id)).toEqual(["r3", "r1"]);
      expect((await m.listRuns(1)).map((r) => r.id)).toEqual(["r3"]);
      await m.upsertStep("r3", {
        name: "a",
        step: "load",
        status: "cached",
        duration_ms: 0,
        attempts: 0,
        cache_source: "r1",
      });
      await m.finishRun("r3", "succeeded");
      const result = await m.runResult("r3");
      expect(result).toMatchObject({
        run_id: "r3",
        pipeline: "demo",
        status: "succeeded",
        params: { rows: 1 },
        resumed_from: "r1",
        steps: [{ name: "a", status: "cached", cache_source: "r1" }],
      });
      expect(result?.duration_ms).toBeGreaterThanOrEqual(0);
      expect(await m.runResult("nope")).toBeUndefined();
    });
  });
}
