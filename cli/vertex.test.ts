import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { fixtureModelBytes, type ServingFixture, servingFixture } from "../mlops/serving/testing/fixture.ts";
import { fakeVertex } from "../platform/adapters/gcp/testing/fake-vertex.ts";
import { LocalModelRegistry } from "../platform/adapters/local/file-model-registry.ts";
import { runProgram } from "../platform/cli/runtime.ts";
import { buildProgram } from "./main.ts";
import { setVertexRestOptions } from "./vertex.ts";

const PARENT = "projects/aurora-ml/locations/southamerica-east1";
const NPARENT = "projects/123456789012/locations/southamerica-east1";
const ENV = {
  TELCO_GCP__PROJECT: "aurora-ml",
  TELCO_GCP__BUCKET: "aurora-lake",
  TELCO_GCP__ARTIFACT_REGISTRY: "southamerica-east1-docker.pkg.dev/aurora-ml/telco-dev",
  GOOGLE_OAUTH_ACCESS_TOKEN: "test-token",
};

/** Runs `telco ARGS` in this process; returns the exit code and what went to stdout. */
async function telco(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    const argv = ["node", "telco", ...args];
    const code = await runProgram(await buildProgram(argv), argv);
    return { code, stdout };
  } finally {
    spy.mockRestore();
    process.exitCode = undefined;
  }
}

describe("telco models deploy / predict batch with Vertex AI (fake REST server, no network)", () => {
  let fx: ServingFixture;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    fx = await servingFixture();
    const v2 = await fx.registry.register({
      name: "churn",
      format: "telco-gbdt",
      artifact: await fixtureModelBytes(9, 10),
      card: { metrics: { auc: { value: 0.71 } }, features: fx.v1.card.features },
    });
    await fx.registry.setAlias("churn", "challenger", v2.version, { action: "force", reason: "test" });
    for (const k of [...Object.keys(ENV), "TELCO_HOME"]) saved[k] = process.env[k];
    Object.assign(process.env, ENV, { TELCO_HOME: fx.home });
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    setVertexRestOptions({});
    await fx.cleanup();
  });

  it("--dry-run prints the exact requests of a 90/10 champion/challenger deployment", async () => {
    const { code, stdout } = await telco([
      "models",
      "deploy",
      "churn",
      "--target",
      "vertex-endpoint",
      "--traffic",
      "challenger=10",
      "--dry-run",
      "--json",
    ]);
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as {
      dryRun: boolean;
      requests: {
        id: string;
        url: string;
        body: {
          model: { containerSpec: { imageUri: string }; artifactUri: string };
          trafficSplit: Record<string, number>;
        };
      }[];
    };
    expect(out.dryRun).toBe(true);
    expect(out.requests.map((r) => r.id)).toEqual([
      "artifact-v1",
      "metadata-v1",
      "upload-v1",
      "artifact-v2",
      "metadata-v2",
      "upload-v2",
      "create-endpoint",
      "deploy-champion",
      "deploy-challenger",
    ]);
    const base = "https://southamerica-east1-aiplatform.googleapis.com/v1";
    expect(out.requests[2].url).toBe(`${base}/${PARENT}/models:upload`);
    expect(out.requests[2].body.model.containerSpec.imageUri).toBe(
      "southamerica-east1-docker.pkg.dev/aurora-ml/telco-dev/telco:latest",
    );
    expect(out.requests[2].body.model.artifactUri).toBe("gs://aurora-lake/models/churn/v1/");
    expect(out.requests[8].body.trafficSplit).toEqual({
      "0": 10,
      "{{deploy-champion.deployedModel.id}}": 90,
    });
  });

  it("rejects a wrong target or split with exit 2 and a message naming the flag", async () => {
    expect((await telco(["models", "deploy", "churn", "--target", "cloud-run", "--dry-run"])).code).toBe(2);
    expect(
      (
        await telco([
          "models",
          "deploy",
          "churn",
          "--target",
          "vertex-endpoint",
          "--traffic",
          "challenger=100",
          "--dry-run",
        ])
      ).code,
    ).toBe(2);
    expect((await telco(["predict", "batch", "--target", "mars", "--dry-run"])).code).toBe(2);
    // Local scoring has no dry run: refusing beats scoring for real.
    expect((await telco(["predict", "batch", "--dry-run"])).code).toBe(2);
  });

  it("deploys the champion alone against recorded responses and reports the endpoint and deployed id", async () => {
    const fake = await fakeVertex([
      {
        method: "POST",
        path: /^\/upload\/storage\/v1\/b\/aurora-lake\/o\?uploadType=media&name=models%2Fchurn%2Fv1%2F/,
        body: { kind: "storage#object", name: "models/churn/v1/model.json" },
      },
      {
        method: "POST",
        path: /name=models%2Fchurn%2Fv1%2Ftelco-version\.json$/,
        body: { kind: "storage#object" },
      },
      {
        method: "POST",
        path: `/v1/${PARENT}/models:upload`,
        body: {
          name: `${NPARENT}/models/churn/operations/1`,
          done: true,
          response: {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse",
            model: `${NPARENT}/models/churn`,
            modelVersionId: "1",
          },
        },
      },
      {
        method: "POST",
        path: `/v1/${PARENT}/endpoints/77:deployModel`,
        body: {
          name: `${NPARENT}/endpoints/77/operations/2`,
          done: true,
          response: {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeployModelResponse",
            deployedModel: { id: "9001", modelVersionId: "1" },
          },
        },
      },
    ]);
    setVertexRestOptions({ apiBase: fake.url, storageBase: fake.url, pollIntervalMs: 5 });
    try {
      const { code, stdout } = await telco([
        "models",
        "deploy",
        "churn",
        "--target",
        "vertex-endpoint",
        "--endpoint",
        "77",
        "--json",
      ]);
      expect(fake.unexpected).toEqual([]);
      expect(code).toBe(0);
      const out = JSON.parse(stdout);
      expect(out.endpoint).toBe(`${PARENT}/endpoints/77`);
      expect(out.deployedModels).toEqual([{ step: "deploy-champion", deployedModelId: "9001" }]);
      expect(out.trafficSplit).toEqual({ "champion (v1)": 100 });
      expect(fake.received[2].authorization).toBe("Bearer test-token");
    } finally {
      setVertexRestOptions({});
      await fake.close();
    }
  });

  it("models import (the container's first step on Vertex) registers the copied version after checking its sha256", async () => {
    const artifact = Buffer.from(await fx.registry.readArtifact(fx.v1));
    const meta = JSON.stringify(fx.v1);
    const obj = (name: string) =>
      `/storage/v1/b/vertex-tenant/o/${encodeURIComponent(`model/${name}`)}?alt=media`;
    const fake = await fakeVertex([
      { method: "GET", path: obj("telco-version.json"), body: JSON.parse(meta) },
      { method: "GET", path: obj(fx.v1.artifact.file), raw: artifact },
      { method: "GET", path: obj("telco-version.json"), body: JSON.parse(meta) },
      { method: "GET", path: obj(fx.v1.artifact.file), raw: Buffer.from("tampered") },
    ]);
    const home = mkdtempSync(join(tmpdir(), "telco-vertex-import-"));
    process.env.TELCO_HOME = home;
    setVertexRestOptions({ storageBase: fake.url });
    try {
      const ok = await telco(["models", "import", "gs://vertex-tenant/model", "--json"]);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({
        name: "churn",
        version: 1,
        originalVersion: 1,
        alias: "champion",
      });
      const registry = new LocalModelRegistry(join(home, "registry"));
      const served = await registry.resolve("churn@champion");
      expect(served.artifact.sha256).toBe(fx.v1.artifact.sha256);
      expect(served.card.features).toEqual(fx.v1.card.features);
      expect(served.lineage.source).toBe("vertex:gs://vertex-tenant/model/");
      const bad = await telco(["models", "import", "gs://vertex-tenant/model/", "--json"]);
      expect(bad.code).toBe(1);
      expect((await registry.aliases("churn")).champion).toBe(1);
      expect(fake.unexpected).toEqual([]);
    } finally {
      process.env.TELCO_HOME = fx.home;
      setVertexRestOptions({});
      rmSync(home, { recursive: true, force: true });
      await fake.close();
    }
  });

  it("predict batch --target vertex --dry-run prints the batchPredictionJobs.create request over the features table", async () => {
    const { code, stdout } = await telco(["predict", "batch", "--target", "vertex", "--dry-run", "--json"]);
    expect(code).toBe(0);
    const [req] = JSON.parse(stdout).requests;
    expect(req.url).toBe(
      `https://southamerica-east1-aiplatform.googleapis.com/v1/${PARENT}/batchPredictionJobs`,
    );
    expect(req.body).toMatchObject({
      model: `${PARENT}/models/churn@champion`,
      inputConfig: {
        instancesFormat: "bigquery",
        bigquerySource: { inputUri: "bq://aurora-ml.gold.customer_features" },
      },
      instanceConfig: {
        instanceType: "object",
        includedFields: ["customer_id", ...(fx.v1.card.features ?? []).map((f) => f.name)],
      },
      outputConfig: {
        predictionsFormat: "bigquery",
        bigqueryDestination: { outputUri: "bq://aurora-ml.gold" },
      },
    });
  });

  it("predict batch --target vertex --wait follows the job to its end; a failed job exits 1", async () => {
    const job = `${NPARENT}/batchPredictionJobs/4242`;
    const state = (s: string, extra: object = {}) => ({
      name: job,
      displayName: "churn-batch",
      state: s,
      ...extra,
    });
    const fake = await fakeVertex([
      { method: "POST", path: `/v1/${PARENT}/batchPredictionJobs`, body: state("JOB_STATE_PENDING") },
      { method: "GET", path: `/v1/${job}`, body: state("JOB_STATE_RUNNING") },
      {
        method: "GET",
        path: `/v1/${job}`,
        body: state("JOB_STATE_SUCCEEDED", {
          outputInfo: {
            bigqueryOutputDataset: "bq://aurora-ml.gold",
            bigqueryOutputTable: "predictions_2026_12_07T10_00_00_000Z",
          },
        }),
      },
      { method: "POST", path: `/v1/${PARENT}/batchPredictionJobs`, body: state("JOB_STATE_PENDING") },
      {
        method: "GET",
        path: `/v1/${job}`,
        body: state("JOB_STATE_FAILED", {
          error: { code: 3, message: "instances[0].tenure_months: is missing" },
        }),
      },
    ]);
    setVertexRestOptions({ apiBase: fake.url, pollIntervalMs: 5 });
    try {
      const ok = await telco(["predict", "batch", "--target", "vertex", "--wait", "--json"]);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ job, state: "JOB_STATE_SUCCEEDED" });
      const failed = await telco(["predict", "batch", "--target", "vertex", "--wait", "--json"]);
      expect(failed.code).toBe(1);
      expect(JSON.parse(failed.stdout).state).toBe("JOB_STATE_FAILED");
      expect(fake.unexpected).toEqual([]);
    } finally {
      setVertexRestOptions({});
      await fake.close();
    }
  });
});
