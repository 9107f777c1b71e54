import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { pipelineMetadataContract } from "../../ports/testing/pipeline-metadata.contract.ts";
import { SqlitePipelineMetadata } from "./sqlite-pipeline-metadata.ts";

pipelineMetadataContract("SqlitePipelineMetadata (node:sqlite)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "telco-pipe-contract-"));
  const store = new SqlitePipelineMetadata(dir);
  return {
    store,
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe("SqlitePipelineMetadata artifact lake", () => {
  it("is the workspace folder itself: a key is the file the runner writes under <root>/artifacts/", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-pipe-lake-"));
    const store = new SqlitePipelineMetadata(dir);
    try {
      expect(store.artifacts.kind).toBe("local");
      expect(store.artifacts.uri("artifacts/r1/a/data")).toBe(join(dir, "artifacts", "r1", "a", "data"));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("SqlitePipelineMetadata on a workspace made before step logs", () => {
  it("adds the step_logs table on open and keeps the runs already recorded", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-pipe-old-"));
    try {
      // The schema as it was before step_logs (runs and steps are enough to show the data survives).
      const old = new DatabaseSync(join(dir, "metadata.sqlite"));
      old.exec(`CREATE TABLE runs (
        id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL,
        trigger TEXT, resumed_from TEXT, started_at TEXT NOT NULL, finished_at TEXT, error TEXT,
        pid INTEGER, host TEXT);
        INSERT INTO runs (id, pipeline, status, params, started_at, finished_at)
        VALUES ('old', 'demo', 'succeeded', '{}', '2026-12-01T10:00:00.000Z', '2026-12-01T10:01:00.000Z');`);
      old.close();
      const store = new SqlitePipelineMetadata(dir);
      try {
        expect(await store.getRun("old")).toMatchObject({ status: "succeeded", pipeline: "demo" });
        expect(await store.stepLogs("old")).toEqual({});
        const line = { at: "2026-12-07T10:00:00.000Z", level: null, attempt: 1, message: "hello" };
        await store.appendStepLog("old", "a", [line]);
        expect(await store.stepLogs("old")).toEqual({ a: [line] });
      } finally {
        await store.close();
      }
      const again = new SqlitePipelineMetadata(dir); // a second open finds the table and keeps the lines
      try {
        expect((await again.stepLogs("old", "a")).a).toHaveLength(1);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
