import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPipeline } from "../../mlops/pipelines/catalog.ts";
import { runPipeline } from "../../mlops/pipelines/runner.ts";
import { runStepEntry } from "../../mlops/pipelines/step-entry.ts";
import {
  type FakeFirestoreDocuments,
  startFakeFirestoreDocuments,
} from "../../platform/adapters/gcp/testing/fake-firestore-documents.ts";
import { fakeVertex, pipelineJobBody } from "../../platform/adapters/gcp/testing/fake-vertex.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import { portalPipelineRuns } from "./pipeline-runs.ts";

// Under gcp the console's run list joins the Firestore metadata store (a fake Firestore REST API) with
// the Vertex AI pipeline jobs (a fake Vertex REST API); both fakes answer with bodies hand-written from
// the REST references, on the test's own thread (the store awaits its calls, so the portal's event loop
// keeps serving while it lists runs).
const PARENT = "projects/aurora-ml/locations/southamerica-east1";
const ENV_KEYS = ["FIRESTORE_EMULATOR_HOST", "VERTEX_API_ENDPOINT", "GOOGLE_OAUTH_ACCESS_TOKEN"] as const;
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
let firestore: FakeFirestoreDocuments;
let home: string;
beforeAll(async () => {
  firestore = await startFakeFirestoreDocuments();
  process.env.FIRESTORE_EMULATOR_HOST = firestore.url.replace(/^http:\/\//, "");
  process.env.GOOGLE_OAUTH_ACCESS_TOKEN = "test-token";
  home = mkdtempSync(join(tmpdir(), "telco-portal-runs-"));
});
afterAll(async () => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await firestore.close();
  rmSync(home, { recursive: true, force: true });
});

const gcpApp = () =>
  contextFromConfig(
    configSchema.parse({
      profile: "gcp",
      gcp: { project: "aurora-ml", region: "southamerica-east1", bucket: "b" },
    }),
    home,
  );

describe("the console's pipeline runs under gcp", () => {
  it("shows recorded runs with their Vertex job state, and Vertex jobs no step has recorded yet", async () => {
    const app = gcpApp();
    const recorded = "demo-20261207100000";
    await runStepEntry("demo/extract", {
      params: ["rows=20"],
      inputArtifacts: [],
      outputArtifacts: [`dataset=${join(home, "gcs", "dataset")}`],
      outputParams: [`row_count=${join(home, "gcs", "row_count")}`],
      runId: recorded,
      task: "extract",
      app,
    });
    const vertex = await fakeVertex([
      {
        method: "GET",
        path: `/v1/${PARENT}/pipelineJobs?pageSize=20&orderBy=create_time+desc`,
        body: {
          pipelineJobs: [
            pipelineJobBody({
              parent: PARENT,
              id: "demo-20261207110000",
              pipeline: "demo",
              state: "PIPELINE_STATE_FAILED",
              created: "2026-12-07T11:00:00Z",
              started: "2026-12-07T11:00:05Z",
              ended: "2026-12-07T11:01:00Z",
              error: "The DAG failed because some tasks failed.",
              tasks: [
                {
                  name: "extract",
                  state: "FAILED",
                  started: "2026-12-07T11:00:10Z",
                  ended: "2026-12-07T11:00:50Z",
                  error: "image pull",
                },
              ],
            }),
            pipelineJobBody({
              parent: PARENT,
              id: recorded,
              pipeline: "demo",
              state: "PIPELINE_STATE_RUNNING",
              created: "2026-12-07T10:00:00Z",
              started: "2026-12-07T10:00:05Z",
              tasks: [
                {
                  name: "extract",
                  state: "SUCCEEDED",
                  started: "2026-12-07T10:00:10Z",
                  ended: "2026-12-07T10:00:40Z",
                },
              ],
            }),
          ],
        },
      },
      {
        method: "GET",
        path: `/v1/${PARENT}/pipelineJobs?pageSize=20&orderBy=create_time+desc`,
        status: 403,
        body: { error: { code: 403, message: "Permission denied.", status: "PERMISSION_DENIED" } },
      },
    ]);
    process.env.VERTEX_API_ENDPOINT = vertex.url;
    try {
      const rows = await portalPipelineRuns(app, 20);
      expect(vertex.unexpected).toEqual([]);
      const mine = rows.find((r) => r.run_id === recorded);
      expect(mine).toMatchObject({
        source: "metadata",
        pipeline: "demo",
        status: "running",
        steps: [{ name: "extract", status: "succeeded", attempts: 1, cached: false, error: null }],
        vertex: {
          state: "running",
          service_state: "PIPELINE_STATE_RUNNING",
          created_at: "2026-12-07T10:00:00Z",
        },
      });
      expect(rows.find((r) => r.run_id === "demo-20261207110000")).toMatchObject({
        source: "vertex",
        status: "failed",
        started_at: "2026-12-07T11:00:05Z",
        error: "The DAG failed because some tasks failed.",
        steps: [
          { name: "extract", status: "failed", duration_ms: 40_000, cached: false, error: "image pull" },
        ],
        vertex: { state: "failed" },
      });
      expect(rows).toHaveLength(2);
      // Vertex refusing does not hide the recorded runs: each says why it has no Vertex state.
      const degraded = await portalPipelineRuns(app, 20);
      expect(degraded.map((r) => [r.run_id, r.vertex])).toEqual([
        [recorded, { error: expect.stringMatching(/403 PERMISSION_DENIED/) }],
      ]);
    } finally {
      await vertex.close();
      await app.close();
    }
  });

  it("reads no Vertex jobs under the local profile: the workspace's runs only", async () => {
    const local = contextFromConfig(
      configSchema.parse({}),
      mkdtempSync(join(tmpdir(), "telco-portal-runs-")),
    );
    try {
      const run = await runPipeline(local.paths.pipelines, getPipeline("demo"), {
        params: { rows: 20 },
        app: local,
      });
      const rows = await portalPipelineRuns(local, 5);
      expect(rows.map((r) => [r.run_id, r.source, r.steps.length])).toEqual([[run.run_id, "metadata", 4]]);
      expect(rows[0]).not.toHaveProperty("vertex");
    } finally {
      await local.close();
    }
  });
});
