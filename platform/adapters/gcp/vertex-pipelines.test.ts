import { afterEach, describe, expect, it } from "vitest";
import { type FakeVertex, fakeVertex, pipelineJobBody } from "./testing/fake-vertex.ts";
import { VertexPipelineService } from "./vertex-pipelines.ts";

// Reads of Vertex AI pipeline jobs against a local fake of the REST API whose answers are written by
// hand from the Vertex AI REST reference (projects.locations.pipelineJobs list / get); nothing here was
// recorded from a live service.
const loc = { project: "aurora-ml", region: "southamerica-east1" };
const PARENT = "projects/aurora-ml/locations/southamerica-east1";
let fake: FakeVertex | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});
const service = (f: FakeVertex) =>
  new VertexPipelineService(loc, { apiBase: f.url, accessToken: async () => "test-token" });

const succeeded = pipelineJobBody({
  parent: PARENT,
  id: "churn-training-20261207100000",
  pipeline: "churn-training",
  state: "PIPELINE_STATE_SUCCEEDED",
  created: "2026-12-07T10:00:00Z",
  started: "2026-12-07T10:00:05Z",
  ended: "2026-12-07T10:12:00Z",
  tasks: [
    { name: "validate", state: "SKIPPED", started: "2026-12-07T10:00:10Z", ended: "2026-12-07T10:00:11Z" },
    { name: "train", state: "SUCCEEDED", started: "2026-12-07T10:00:12Z", ended: "2026-12-07T10:11:00Z" },
  ],
});
const failedNoDetail = pipelineJobBody({
  parent: PARENT,
  id: "churn-training-20261206100000",
  pipeline: "churn-training",
  state: "PIPELINE_STATE_FAILED",
  created: "2026-12-06T10:00:00Z",
  started: "2026-12-06T10:00:05Z",
  ended: "2026-12-06T10:03:00Z",
  error: "The DAG failed because some tasks failed.",
  withDetail: false,
});
const failedFull = pipelineJobBody({
  parent: PARENT,
  id: "churn-training-20261206100000",
  pipeline: "churn-training",
  state: "PIPELINE_STATE_FAILED",
  created: "2026-12-06T10:00:00Z",
  started: "2026-12-06T10:00:05Z",
  ended: "2026-12-06T10:03:00Z",
  error: "The DAG failed because some tasks failed.",
  tasks: [
    {
      name: "validate",
      state: "FAILED",
      started: "2026-12-06T10:00:10Z",
      ended: "2026-12-06T10:02:50Z",
      error: "rows missing",
    },
    { name: "train", state: "NOT_TRIGGERED" },
  ],
});

describe("VertexPipelineService reads (fake Vertex REST API)", () => {
  it("lists jobs newest first with state, times and task states, reading a job's details when the list leaves them out", async () => {
    fake = await fakeVertex([
      {
        method: "GET",
        path: `/v1/${PARENT}/pipelineJobs?pageSize=5&orderBy=create_time+desc&filter=display_name%3D%22churn-training%22`,
        body: { pipelineJobs: [succeeded, failedNoDetail] },
      },
      { method: "GET", path: `/v1/${PARENT}/pipelineJobs/churn-training-20261206100000`, body: failedFull },
    ]);
    const runs = await service(fake).listRuns({ limit: 5, pipeline: "churn-training" });
    expect(fake.unexpected).toEqual([]);
    expect(fake.received.every((r) => r.authorization === "Bearer test-token")).toBe(true);
    expect(runs.map((r) => [r.id, r.state, r.serviceState])).toEqual([
      ["churn-training-20261207100000", "succeeded", "PIPELINE_STATE_SUCCEEDED"],
      ["churn-training-20261206100000", "failed", "PIPELINE_STATE_FAILED"],
    ]);
    expect(runs[0]).toMatchObject({
      name: `${PARENT}/pipelineJobs/churn-training-20261207100000`,
      pipeline: "churn-training",
      createdAt: "2026-12-07T10:00:00Z",
      startedAt: "2026-12-07T10:00:05Z",
      finishedAt: "2026-12-07T10:12:00Z",
    });
    // The root DAG task is not one of the pipeline's tasks.
    expect(runs[0]?.tasks).toEqual([
      {
        task: "validate",
        state: "skipped",
        startedAt: "2026-12-07T10:00:10Z",
        finishedAt: "2026-12-07T10:00:11Z",
      },
      {
        task: "train",
        state: "succeeded",
        startedAt: "2026-12-07T10:00:12Z",
        finishedAt: "2026-12-07T10:11:00Z",
      },
    ]);
    expect(runs[1]?.error).toBe("The DAG failed because some tasks failed.");
    expect(runs[1]?.tasks).toEqual([
      {
        task: "validate",
        state: "failed",
        startedAt: "2026-12-06T10:00:10Z",
        finishedAt: "2026-12-06T10:02:50Z",
        error: "rows missing",
      },
      { task: "train", state: "not_triggered", startedAt: null, finishedAt: null },
    ]);
  });

  it("follows nextPageToken up to the limit", async () => {
    fake = await fakeVertex([
      {
        method: "GET",
        path: `/v1/${PARENT}/pipelineJobs?pageSize=2&orderBy=create_time+desc`,
        body: { pipelineJobs: [succeeded], nextPageToken: "p2" },
      },
      {
        method: "GET",
        path: `/v1/${PARENT}/pipelineJobs?pageSize=1&orderBy=create_time+desc&pageToken=p2`,
        body: { pipelineJobs: [failedFull] },
      },
    ]);
    const runs = await service(fake).listRuns({ limit: 2 });
    expect(fake.unexpected).toEqual([]);
    expect(runs.map((r) => r.id)).toEqual(["churn-training-20261207100000", "churn-training-20261206100000"]);
  });

  it("gets one job by id or resource name; a missing one is undefined, other errors are reported", async () => {
    fake = await fakeVertex([
      { method: "GET", path: `/v1/${PARENT}/pipelineJobs/churn-training-20261207100000`, body: succeeded },
      { method: "GET", path: `/v1/${PARENT}/pipelineJobs/churn-training-20261207100000`, body: succeeded },
      {
        method: "GET",
        path: `/v1/${PARENT}/pipelineJobs/nope`,
        status: 404,
        body: { error: { code: 404, message: "PipelineJob does not exist.", status: "NOT_FOUND" } },
      },
      {
        method: "GET",
        path: `/v1/${PARENT}/pipelineJobs/denied`,
        status: 403,
        body: { error: { code: 403, message: "Permission denied.", status: "PERMISSION_DENIED" } },
      },
    ]);
    const s = service(fake);
    expect((await s.getRun("churn-training-20261207100000"))?.state).toBe("succeeded");
    expect((await s.getRun(`${PARENT}/pipelineJobs/churn-training-20261207100000`))?.tasks).toHaveLength(2);
    expect(await s.getRun("nope")).toBeUndefined();
    await expect(s.getRun("denied")).rejects.toThrow(/403 PERMISSION_DENIED: Permission denied/);
    expect(fake.unexpected).toEqual([]);
  });
});
