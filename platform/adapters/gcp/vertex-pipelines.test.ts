import { afterEach, describe, expect, it } from "vitest";
import { TelcoError } from "../../errors.ts";
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

// Sends of Vertex AI pipeline jobs and schedules against the same fake. Its answers are written by hand
// from the Vertex AI REST reference: projects.locations.pipelineJobs.create (parent in the path,
// pipelineJobId in the query, the PipelineJob as the body, the created PipelineJob as the answer),
// projects.locations.schedules.create (the Schedule as body and answer), and Google's error body
// (google.rpc.Status: code, message, status, details with a google.rpc.BadRequest's fieldViolations).
describe("VertexPipelineService sends (fake Vertex REST API)", () => {
  const spec = {
    pipelineName: "churn_training",
    pipelineSpec: { pipelineInfo: { name: "churn-training" }, schemaVersion: "2.1.0", root: { dag: {} } },
    parameterValues: { seed: 7, months: 3, region: "SP" },
    outputDirectory: "gs://aurora-lake/pipelines",
    serviceAccount: "pipelines@aurora-ml.iam.gserviceaccount.com",
  };
  const at = new Date("2026-12-07T10:00:00.000Z");
  const sender = (f: FakeVertex) =>
    new VertexPipelineService(loc, { apiBase: f.url, accessToken: async () => "test-token", now: () => at });
  const googleError = (code: number, status: string, message: string, details: unknown[] = []) => ({
    error: { code, message, status, details },
  });

  it("submits a run: POST …/pipelineJobs?pipelineJobId=…, the body is the planned pipelineJob byte for byte", async () => {
    const f = await fakeVertex([
      {
        method: "POST",
        path: `/v1/${PARENT}/pipelineJobs?pipelineJobId=churn-training-20261207100000`,
        body: {
          ...pipelineJobBody({
            parent: PARENT,
            id: "churn-training-20261207100000",
            pipeline: "churn_training",
            state: "PIPELINE_STATE_PENDING",
            created: "2026-12-07T10:00:01Z",
            withDetail: false,
          }),
        },
      },
    ]);
    fake = f;
    const svc = sender(f);
    const call = svc.planRun(spec);
    expect(call.request).toMatchObject({ pipelineJobId: "churn-training-20261207100000" });
    const job = await svc.execute(call);
    expect(f.unexpected).toEqual([]);
    expect(f.received).toHaveLength(1);
    const sent = f.received[0];
    expect(sent.authorization).toBe("Bearer test-token");
    expect(sent.contentType).toBe("application/json");
    const printed = JSON.parse(JSON.stringify(call.request)) as { pipelineJob: unknown };
    expect(sent.body).toBe(JSON.stringify(printed.pipelineJob));
    expect(JSON.parse(sent.body)).toEqual({
      displayName: "churn_training",
      pipelineSpec: spec.pipelineSpec,
      runtimeConfig: {
        gcsOutputDirectory: "gs://aurora-lake/pipelines",
        parameterValues: spec.parameterValues,
      },
      serviceAccount: spec.serviceAccount,
      labels: { "telco-pipeline": "churn_training" },
    });
    expect(job).toEqual({
      name: `${PARENT}/pipelineJobs/churn-training-20261207100000`,
      state: "PIPELINE_STATE_PENDING",
      displayName: "churn_training",
      createTime: "2026-12-07T10:00:01Z",
    });
  });

  it("creates a schedule: POST …/schedules with the planned Schedule as the body", async () => {
    const svc = new VertexPipelineService(loc, { accessToken: async () => "test-token", now: () => at });
    const call = svc.planSchedule(spec, "0 3 * * 1", { timeZone: "America/Sao_Paulo" });
    const schedule = (call.request as { schedule: Record<string, unknown> }).schedule;
    const f = await fakeVertex([
      {
        method: "POST",
        path: `/v1/${PARENT}/schedules`,
        body: {
          ...schedule,
          name: `${PARENT}/schedules/4242`,
          state: "ACTIVE",
          createTime: "2026-12-07T10:00:01Z",
          startTime: "2026-12-07T10:00:01Z",
          nextRunTime: "2026-12-14T06:00:00Z",
        },
      },
    ]);
    fake = f;
    const out = await sender(f).execute(call);
    expect(f.unexpected).toEqual([]);
    expect(f.received[0].body).toBe(JSON.stringify(schedule));
    // Each scheduled run gets its own id from Vertex: the job request inside carries none.
    expect(JSON.parse(f.received[0].body).createPipelineJobRequest).not.toHaveProperty("pipelineJobId");
    expect(out).toEqual({
      name: `${PARENT}/schedules/4242`,
      state: "ACTIVE",
      displayName: "churn_training-schedule",
      cron: "TZ=America/Sao_Paulo 0 3 * * 1",
      nextRunTime: "2026-12-14T06:00:00Z",
    });
  });

  it("turns Google's 400 / 403 / 409 / 503 answers into one-line errors naming the field, the permission, the conflict", async () => {
    const path = `/v1/${PARENT}/pipelineJobs?pipelineJobId=churn-training-20261207100000`;
    const f = await fakeVertex([
      {
        method: "POST",
        path,
        status: 400,
        body: googleError(
          400,
          "INVALID_ARGUMENT",
          "List of found errors:\t1.Field: pipeline_job.runtime_config.gcs_output_directory; Message: Required field is not set.\t",
          [
            {
              "@type": "type.googleapis.com/google.rpc.BadRequest",
              fieldViolations: [
                {
                  field: "pipeline_job.runtime_config.gcs_output_directory",
                  description: "Required field is not set.",
                },
              ],
            },
          ],
        ),
      },
      {
        method: "POST",
        path,
        status: 403,
        body: googleError(
          403,
          "PERMISSION_DENIED",
          "Permission 'aiplatform.pipelineJobs.create' denied on resource '//aiplatform.googleapis.com/projects/aurora-ml/locations/southamerica-east1' (or it may not exist).",
        ),
      },
      {
        method: "POST",
        path,
        status: 409,
        body: googleError(
          409,
          "ALREADY_EXISTS",
          `PipelineJob ${PARENT}/pipelineJobs/churn-training-20261207100000 already exists.`,
        ),
      },
      // pipelineJobs.create with a fixed pipelineJobId may be resent: two attempts, both 503.
      ...[1, 2].map(() => ({
        method: "POST",
        path,
        status: 503,
        body: googleError(503, "UNAVAILABLE", "The service is currently unavailable."),
      })),
    ]);
    fake = f;
    const svc = new VertexPipelineService(loc, {
      apiBase: f.url,
      accessToken: async () => "test-token",
      now: () => at,
      retry: { attempts: 2, baseDelayMs: 1 },
    });
    const call = svc.planRun(spec);
    const failure = async () => {
      const err = await svc.execute(call).then(
        () => undefined,
        (e: unknown) => e as TelcoError,
      );
      expect(err).toBeInstanceOf(TelcoError);
      return err as TelcoError;
    };
    const bad = await failure();
    expect(bad.code).toBe("vertex_request_failed");
    expect(bad.message).toMatch(
      /→ 400 INVALID_ARGUMENT: .*\(field pipeline_job\.runtime_config\.gcs_output_directory: Required field is not set\.\)$/,
    );
    expect(bad.details?.status).toBe(400);
    const denied = await failure();
    expect(denied.message).toMatch(
      /→ 403 PERMISSION_DENIED: Permission 'aiplatform\.pipelineJobs\.create' denied/,
    );
    expect(denied.hint).toMatch(/roles\/aiplatform\.user/);
    const exists = await failure();
    expect(exists.message).toMatch(
      /→ 409 ALREADY_EXISTS: PipelineJob .*churn-training-20261207100000 already exists/,
    );
    expect(exists.hint).toMatch(/already exists/);
    // 400 / 403 / 409 are not retried (one request each); a 503 is, up to the attempt limit (a resend
    // of the same pipelineJobId answers 409 if an earlier one landed), then surfaces.
    const down = await failure();
    expect(down.message).toMatch(
      /→ 503 UNAVAILABLE: The service is currently unavailable\. \(after 2 attempts\)$/,
    );
    expect(down.details?.status).toBe(503);
    expect(f.received).toHaveLength(5);
    expect(f.unexpected).toEqual([]);
  });
});
