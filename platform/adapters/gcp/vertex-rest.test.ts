import { afterEach, describe, expect, it } from "vitest";
import { TelcoError } from "../../errors.ts";
import type { ModelVersion } from "../../ports/registry.ts";
import { type FakeVertex, fakeVertex, pipelineJobBody } from "./testing/fake-vertex.ts";
import { planBatchPrediction } from "./vertex-batch.ts";
import { planEndpointDeploy } from "./vertex-endpoint.ts";
import { restRequestFor as modelRequestFor, planModelMirror } from "./vertex-model-registry.ts";
import { restRequestFor as pipelineRequestFor, VertexPipelineService } from "./vertex-pipelines.ts";
import { retryAfterMs, retryPolicyFor, VertexRest, type VertexRestOptions } from "./vertex-rest.ts";

// Retries of the Vertex REST helper against the local fake Vertex API: which requests are sent again
// after a transient failure, and which are not because a second send could do the work twice. Waits
// go through a recording `sleep`, so nothing here depends on the clock.
const loc = { project: "aurora-ml", region: "southamerica-east1" };
const PARENT = "projects/aurora-ml/locations/southamerica-east1";
const JOB_ID = "churn-training-20261207100000";
const at = new Date("2026-12-07T10:00:00Z");
let fake: FakeVertex | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const unavailable = {
  error: { code: 503, status: "UNAVAILABLE", message: "The service is currently unavailable." },
};
const job = pipelineJobBody({
  parent: PARENT,
  id: JOB_ID,
  pipeline: "churn_training",
  state: "PIPELINE_STATE_PENDING",
  created: "2026-12-07T10:00:01Z",
  withDetail: false,
});

/** Options pointing at the fake, with tiny delays, a fixed jitter and every wait recorded. */
function options(f: FakeVertex, waits: number[], retry: VertexRestOptions["retry"] = {}): VertexRestOptions {
  return {
    apiBase: f.url,
    storageBase: f.url,
    accessToken: async () => "test-token",
    pollIntervalMs: 1,
    retry: {
      attempts: 4,
      baseDelayMs: 10,
      random: () => 0,
      sleep: async (ms) => {
        waits.push(ms);
      },
      ...retry,
    },
  };
}

const spec = {
  pipelineName: "churn_training",
  pipelineSpec: { pipelineInfo: { name: "churn-training" }, root: {} },
  parameterValues: { lookback_days: 90 },
  outputDirectory: "gs://aurora-lake/pipelines",
};

async function rejection(p: Promise<unknown>): Promise<TelcoError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TelcoError);
  return err as TelcoError;
}

describe("Vertex REST retries", () => {
  it("retries a GET after two 503s with exponential backoff, and returns the third answer", async () => {
    const path = `/v1/${PARENT}/pipelineJobs/${JOB_ID}`;
    const f = await fakeVertex([
      { method: "GET", path, status: 503, body: unavailable },
      { method: "GET", path, status: 503, body: unavailable },
      { method: "GET", path, body: job },
    ]);
    fake = f;
    const waits: number[] = [];
    const run = await new VertexPipelineService(loc, options(f, waits)).getRun(JOB_ID);
    expect(run).toMatchObject({ id: JOB_ID, state: "pending" });
    expect(f.received.map((r) => r.method)).toEqual(["GET", "GET", "GET"]);
    expect(f.unexpected).toEqual([]);
    // Equal jitter with random() = 0: half of 10 ms, then half of 20 ms.
    expect(waits).toEqual([5, 10]);
  });

  it("gives up on a GET after the configured attempts, naming how many were made", async () => {
    const path = `/v1/${PARENT}/pipelineJobs/${JOB_ID}`;
    const f = await fakeVertex(
      [1, 2, 3].map(() => ({ method: "GET", path, status: 503, body: unavailable })),
    );
    fake = f;
    const waits: number[] = [];
    const err = await rejection(
      new VertexPipelineService(loc, options(f, waits, { attempts: 3 })).getRun(JOB_ID),
    );
    expect(err.message).toMatch(/→ 503 UNAVAILABLE: .* \(after 3 attempts\)$/);
    expect(f.received).toHaveLength(3);
    expect(waits).toHaveLength(2);
  });

  it("does not retry a 404 or a 403 on a GET", async () => {
    const path = `/v1/${PARENT}/pipelineJobs/${JOB_ID}`;
    const f = await fakeVertex([
      {
        method: "GET",
        path,
        status: 404,
        body: { error: { code: 404, status: "NOT_FOUND", message: "no" } },
      },
      {
        method: "GET",
        path,
        status: 403,
        body: { error: { code: 403, status: "PERMISSION_DENIED", message: "no" } },
      },
    ]);
    fake = f;
    const waits: number[] = [];
    const svc = new VertexPipelineService(loc, options(f, waits));
    expect(await svc.getRun(JOB_ID)).toBeUndefined();
    expect((await rejection(svc.getRun(JOB_ID))).message).toMatch(/403 PERMISSION_DENIED/);
    expect(f.received).toHaveLength(2);
    expect(waits).toEqual([]);
  });

  it("pipelineJobs.create with a fixed id whose answer is lost: the retry's 409 resolves to the job the first attempt created", async () => {
    const name = `${PARENT}/pipelineJobs/${JOB_ID}`;
    const path = `/v1/${PARENT}/pipelineJobs?pipelineJobId=${JOB_ID}`;
    const f = await fakeVertex([
      // The server applies the create, then the connection is cut before the answer.
      { method: "POST", path, create: { name, resource: job }, dropConnection: true },
      // The resend finds the job: 409 ALREADY_EXISTS (the fake decides from what it holds).
      { method: "POST", path, create: { name, resource: job } },
      { method: "GET", path: `/v1/${name}`, read: name },
    ]);
    fake = f;
    const waits: number[] = [];
    const svc = new VertexPipelineService(loc, { ...options(f, waits), now: () => at });
    const out = await svc.execute(svc.planRun(spec));
    expect(out).toEqual({
      name,
      state: "PIPELINE_STATE_PENDING",
      displayName: "churn_training",
      createTime: "2026-12-07T10:00:01Z",
    });
    expect([...f.resources.keys()]).toEqual([name]);
    expect(f.received.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${path}`,
      `POST ${path}`,
      `GET /v1/${name}`,
    ]);
    expect(f.received[1].body).toBe(f.received[0].body);
    expect(f.unexpected).toEqual([]);
  });

  it("endpoints.create with an endpointId whose answer is lost resolves to the existing endpoint as a done operation", async () => {
    const name = `${PARENT}/endpoints/churn-endpoint`;
    const path = `/v1/${PARENT}/endpoints?endpointId=churn-endpoint`;
    const endpoint = { name, displayName: "churn-endpoint", labels: { telco_model: "churn" } };
    const f = await fakeVertex([
      { method: "POST", path, create: { name, resource: endpoint }, dropConnection: true },
      { method: "POST", path, create: { name, resource: endpoint } },
      { method: "GET", path: `/v1/${name}`, read: name },
    ]);
    fake = f;
    const waits: number[] = [];
    const rest = new VertexRest(loc, options(f, waits));
    const results = await rest.execute([
      {
        id: "create-endpoint",
        description: "create endpoint churn-endpoint (endpoints.create)",
        method: "POST",
        url: `${f.url}${path}`,
        body: { displayName: "churn-endpoint", labels: { telco_model: "churn" } },
        longRunning: true,
      },
    ]);
    expect(results.get("create-endpoint")).toEqual(endpoint);
    expect(f.resources.size).toBe(1);
    expect(f.received).toHaveLength(3);
    expect(f.unexpected).toEqual([]);
  });

  it("a 409 on the first attempt of a create with a fixed id stays an error (someone else created it)", async () => {
    const name = `${PARENT}/pipelineJobs/${JOB_ID}`;
    const path = `/v1/${PARENT}/pipelineJobs?pipelineJobId=${JOB_ID}`;
    const f = await fakeVertex([
      { method: "POST", path, create: { name, resource: job } },
      { method: "POST", path, create: { name, resource: job } },
    ]);
    fake = f;
    const svc = new VertexPipelineService(loc, { ...options(f, []), now: () => at });
    await svc.execute(svc.planRun(spec));
    const err = await rejection(svc.execute(svc.planRun(spec)));
    expect(err.message).toMatch(/→ 409 ALREADY_EXISTS/);
    expect(err.hint).toMatch(/already exists/);
    expect(f.received).toHaveLength(2);
  });

  it("models:upload (no client-chosen id) is not resent after a 503 and says why", async () => {
    const path = `/v1/${PARENT}/models:upload`;
    const f = await fakeVertex([
      { method: "POST", path, status: 503, body: unavailable },
      { method: "POST", path, body: { name: `${PARENT}/operations/2`, done: true, response: {} } },
    ]);
    fake = f;
    const waits: number[] = [];
    const rest = new VertexRest(loc, options(f, waits));
    const err = await rejection(rest.send("POST", `${f.url}${path}`, JSON.stringify({ model: {} })));
    expect(err.code).toBe("vertex_request_failed");
    expect(err.message).toMatch(
      /→ 503 UNAVAILABLE: The service is currently unavailable\. \(not resent: the request has no client-chosen id and may have been applied\)$/,
    );
    expect(err.hint).toMatch(/Check whether it took effect/);
    expect(err.details?.status).toBe(503);
    expect(f.received).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("batchPredictionJobs.create whose connection is cut after sending is not resent", async () => {
    const path = `/v1/${PARENT}/batchPredictionJobs`;
    const f = await fakeVertex([
      { method: "POST", path, dropConnection: true },
      { method: "POST", path, body: { name: `${PARENT}/batchPredictionJobs/1` } },
    ]);
    fake = f;
    const rest = new VertexRest(loc, options(f, []));
    const err = await rejection(rest.send("POST", `${f.url}${path}`, JSON.stringify({ displayName: "b" })));
    expect(err.code).toBe("gcp_unreachable");
    expect(err.message).toMatch(/not resent/);
    expect(f.received).toHaveLength(1);
  });

  it("a non-idempotent create is resent when the connection was refused (nothing reached the server)", async () => {
    const path = `/v1/${PARENT}/schedules`;
    const f = await fakeVertex([
      { method: "POST", path, body: { name: `${PARENT}/schedules/7`, state: "ACTIVE" } },
    ]);
    fake = f;
    let calls = 0;
    const refusingOnce: typeof fetch = (input, init) => {
      calls++;
      // undici's shape for a refused connection: TypeError("fetch failed") with the socket error as cause.
      if (calls === 1)
        return Promise.reject(
          new TypeError("fetch failed", {
            cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
          }),
        );
      return fetch(input, init);
    };
    const waits: number[] = [];
    const rest = new VertexRest(loc, { ...options(f, waits), fetch: refusingOnce });
    const out = await rest.send("POST", `${f.url}${path}`, JSON.stringify({ displayName: "s" }));
    expect(out).toEqual({ name: `${PARENT}/schedules/7`, state: "ACTIVE" });
    expect(calls).toBe(2);
    expect(f.received).toHaveLength(1);
    expect(waits).toEqual([5]);
  });

  it("honours Retry-After, bounded by maxDelayMs", async () => {
    const path = `/v1/${PARENT}/pipelineJobs/${JOB_ID}`;
    const exhausted = { error: { code: 429, status: "RESOURCE_EXHAUSTED", message: "Quota exceeded." } };
    const f = await fakeVertex([
      { method: "GET", path, status: 429, body: exhausted, headers: { "retry-after": "2" } },
      { method: "GET", path, body: job },
      { method: "GET", path, status: 503, body: unavailable, headers: { "retry-after": "3600" } },
      { method: "GET", path, body: job },
    ]);
    fake = f;
    const waits: number[] = [];
    const rest = new VertexRest(loc, options(f, waits, { maxDelayMs: 60_000 }));
    await rest.send("GET", `${f.url}${path}`);
    // The server's 2 s win over the 5 ms backoff.
    expect(waits).toEqual([2000]);
    const bounded: number[] = [];
    await new VertexRest(loc, options(f, bounded, { maxDelayMs: 50 })).send("GET", `${f.url}${path}`);
    // An hour asked for, 50 ms waited: the wait is bounded, the request retried.
    expect(bounded).toEqual([50]);
    expect(f.received).toHaveLength(4);
    expect(f.unexpected).toEqual([]);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-12-07T10:00:00Z");
    expect(retryAfterMs("7", now)).toBe(7000);
    expect(retryAfterMs("Mon, 07 Dec 2026 10:00:30 GMT", now)).toBe(30_000);
    expect(retryAfterMs("Mon, 07 Dec 2026 09:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it("classifies the requests the planners produce: only fixed-id creates and reads are resent", () => {
    const api = "https://southamerica-east1-aiplatform.googleapis.com";
    const svc = new VertexPipelineService(loc, { now: () => at });
    const run = pipelineRequestFor(api, svc.planRun(spec));
    expect(retryPolicyFor(run.method, run.url)).toEqual({
      kind: "create-with-id",
      resourceUrl: `${api}/v1/${PARENT}/pipelineJobs/${JOB_ID}`,
      longRunning: false,
    });
    const schedule = pipelineRequestFor(api, svc.planSchedule(spec, "0 3 * * 1"));
    expect(retryPolicyFor(schedule.method, schedule.url).kind).toBe("once");

    const version: ModelVersion = {
      name: "churn",
      version: 2,
      format: "telco-gbdt",
      createdAt: "2026-12-07T10:00:00.000Z",
      createdBy: "ana",
      artifact: { file: "model.json", bytes: 10, sha256: "ab" },
      card: { metrics: {} },
      lineage: {},
    };
    const deploy = planEndpointDeploy({
      location: loc,
      apiBase: api,
      storageBase: "https://storage.googleapis.com",
      artifactPrefix: "gs://aurora-lake/models",
      servingImage: "img",
      champion: { alias: "champion", version, artifactPath: "/x" },
      challengers: [],
      modelExists: false,
      machineType: "n1-standard-2",
      minReplicas: 1,
      maxReplicas: 1,
    });
    expect(Object.fromEntries(deploy.map((s) => [s.id, retryPolicyFor(s.method, s.url).kind]))).toEqual({
      "artifact-v2": "once",
      "metadata-v2": "once",
      "upload-v2": "once",
      "create-endpoint": "create-with-id",
      "deploy-champion": "once",
    });
    const mirror = planModelMirror({
      location: loc,
      artifactPrefix: "gs://aurora-lake/models",
      servingImage: "img",
      version,
      artifactPath: "/x",
      aliases: ["champion"],
      modelExists: false,
    }).map((s) => modelRequestFor({ apiBase: api, storageBase: "https://storage.googleapis.com" }, s));
    expect(mirror.map((s) => retryPolicyFor(s.method, s.url).kind)).toEqual(["once", "once"]);
    const batch = planBatchPrediction({
      location: loc,
      apiBase: api,
      modelName: "churn",
      versionAlias: "v2",
      sourceTable: "bq://aurora-ml.telco_gold.features",
      outputDataset: "bq://aurora-ml.telco_predictions",
      includedFields: ["customer_id", "tenure"],
      machineType: "n1-standard-2",
      startingReplicas: 1,
      maxReplicas: 1,
      batchSize: 64,
      displayName: "b",
    });
    expect(retryPolicyFor(batch.method, batch.url).kind).toBe("once");
    expect(retryPolicyFor("GET", `${api}/v1/${PARENT}/operations/1`).kind).toBe("read");
  });
});
