import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TelcoError } from "../../errors.ts";
import type { ModelVersion } from "../../ports/registry.ts";
import { fakeVertex, type ScriptedResponse } from "./testing/fake-vertex.ts";
import {
  CONTAINER_START,
  parseTraffic,
  planEndpoint,
  planEndpointDeploy,
  VERTEX_HEALTH_ROUTE,
  VERTEX_PREDICT_ROUTE,
} from "./vertex-endpoint.ts";
import { resolvePlaceholders, VertexRest } from "./vertex-rest.ts";

const LOC = { project: "aurora-ml", region: "southamerica-east1" };
const PARENT = "projects/aurora-ml/locations/southamerica-east1";
// What Vertex answers uses the project NUMBER in resource names.
const NPARENT = "projects/123456789012/locations/southamerica-east1";

function version(v: number): ModelVersion {
  return {
    name: "churn",
    version: v,
    format: "telco-gbdt",
    createdAt: "2026-12-01T00:00:00Z",
    createdBy: "test",
    artifact: { file: "model.json", bytes: 10, sha256: "x" },
    card: { metrics: { auc: { value: 0.8123 } } as ModelVersion["card"]["metrics"], codeVersion: "abc123" },
    lineage: {},
  };
}

/** Responses in the documented REST shapes (Operation, UploadModelResponse, DeployModelResponse). */
function op(name: string, response?: Record<string, unknown>, type = "GenericOperationMetadata") {
  return {
    name,
    metadata: { "@type": `type.googleapis.com/google.cloud.aiplatform.v1.${type}` },
    ...(response ? { done: true, response } : {}),
  };
}

describe("parseTraffic", () => {
  it("reads ALIAS=PERCENT, repeated or comma-separated, and rejects what cannot be a split", () => {
    expect(parseTraffic([])).toEqual({});
    expect(parseTraffic(["challenger=10"])).toEqual({ challenger: 10 });
    expect(parseTraffic(["challenger=10,shadow-b=5"])).toEqual({ challenger: 10, "shadow-b": 5 });
    expect(() => parseTraffic(["challenger"])).toThrow(/ALIAS=PERCENT/);
    expect(() => parseTraffic(["champion=10"])).toThrow(/champion gets the rest/);
    expect(() => parseTraffic(["a=60", "b=40"])).toThrow(/leave the champion/);
    expect(() => parseTraffic(["a=0"])).toThrow(/1-99/);
    expect(() => parseTraffic(["a=1", "a=2"])).toThrow(/twice/);
  });
});

describe("planEndpointDeploy", () => {
  const base = {
    location: LOC,
    apiBase: "https://southamerica-east1-aiplatform.googleapis.com",
    storageBase: "https://storage.googleapis.com",
    artifactPrefix: "gs://aurora-lake/models/",
    servingImage: "southamerica-east1-docker.pkg.dev/aurora-ml/telco/telco:abc",
    champion: { alias: "champion", version: version(3), artifactPath: "/reg/3/model.json" },
    challengers: [],
    modelExists: false,
    machineType: "n1-standard-2",
    minReplicas: 1,
    maxReplicas: 2,
  };

  it("champion only: artifact copy, models.upload, endpoints.create, deployModel with all the traffic", () => {
    const plan = planEndpointDeploy(base);
    expect(plan.map((s) => `${s.method} ${s.url}`)).toEqual([
      "POST https://storage.googleapis.com/upload/storage/v1/b/aurora-lake/o?uploadType=media&name=models%2Fchurn%2Fv3%2Fmodel.json",
      "POST https://storage.googleapis.com/upload/storage/v1/b/aurora-lake/o?uploadType=media&name=models%2Fchurn%2Fv3%2Ftelco-version.json",
      `POST https://southamerica-east1-aiplatform.googleapis.com/v1/${PARENT}/models:upload`,
      `POST https://southamerica-east1-aiplatform.googleapis.com/v1/${PARENT}/endpoints?endpointId=churn-endpoint`,
      `POST https://southamerica-east1-aiplatform.googleapis.com/v1/${PARENT}/endpoints/churn-endpoint:deployModel`,
    ]);
    const upload = plan[2].body as { modelId?: string; model: Record<string, unknown> };
    expect(upload.modelId).toBe("churn");
    expect(upload.model).toMatchObject({
      artifactUri: "gs://aurora-lake/models/churn/v3/",
      versionAliases: ["v3", "champion"],
      containerSpec: {
        imageUri: base.servingImage,
        ports: [{ containerPort: 8080 }],
        predictRoute: VERTEX_PREDICT_ROUTE,
        healthRoute: VERTEX_HEALTH_ROUTE,
        command: ["sh", "-c"],
        args: [CONTAINER_START],
      },
    });
    // The container's first step reads this: the version's card and checksum beside the artifact.
    expect(plan[1].body).toMatchObject({ name: "churn", version: 3, artifact: { sha256: "x" } });
    expect(plan[4].body).toEqual({
      deployedModel: {
        model: `${PARENT}/models/churn@v3`,
        displayName: "churn-v3-champion",
        dedicatedResources: {
          machineSpec: { machineType: "n1-standard-2" },
          minReplicaCount: 1,
          maxReplicaCount: 2,
        },
      },
      trafficSplit: { "0": 100 },
    });
    expect(plan.filter((s) => s.longRunning).map((s) => s.id)).toEqual([
      "upload-v3",
      "create-endpoint",
      "deploy-champion",
    ]);
    expect(planEndpoint(plan)).toBe(`${PARENT}/endpoints/churn-endpoint`);
  });

  it("an existing endpoint and model: no endpoints.create, every upload under parentModel", () => {
    const plan = planEndpointDeploy({ ...base, endpointId: "42", modelExists: true });
    expect(plan.some((s) => s.id === "create-endpoint")).toBe(false);
    expect(plan[2].body).toMatchObject({ parentModel: `${PARENT}/models/churn` });
    expect(planEndpoint(plan)).toBe(`${PARENT}/endpoints/42`);
  });

  it("refuses a challenger that is the champion's version, and bad replica bounds", () => {
    expect(() =>
      planEndpointDeploy({
        ...base,
        challengers: [{ alias: "challenger", version: version(3), artifactPath: "x", percent: 10 }],
      }),
    ).toThrow(/already is/);
    expect(() => planEndpointDeploy({ ...base, minReplicas: 3, maxReplicas: 2 })).toThrow(/replicas/);
  });
});

describe("VertexRest against a local fake replaying Vertex responses", () => {
  let dir: string;
  const championBytes = '{"kind":"gbdt","trees":[3]}';
  const challengerBytes = '{"kind":"gbdt","trees":[4]}';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "telco-vertex-endpoint-"));
    writeFileSync(join(dir, "v3.json"), championBytes);
    writeFileSync(join(dir, "v4.json"), challengerBytes);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("uploads both versions, creates the endpoint, deploys champion then challenger with a 90/10 split", async () => {
    const uploadOp = `${NPARENT}/models/churn/operations/1001`;
    const script: ScriptedResponse[] = [
      {
        method: "POST",
        path: /^\/upload\/storage\/v1\/b\/aurora-lake\/o\?uploadType=media&name=models%2Fchurn%2Fv3%2F/,
        body: {
          kind: "storage#object",
          bucket: "aurora-lake",
          name: "models/churn/v3/model.json",
          size: String(championBytes.length),
        },
      },
      {
        method: "POST",
        path: /name=models%2Fchurn%2Fv3%2Ftelco-version\.json$/,
        body: { kind: "storage#object", name: "models/churn/v3/telco-version.json" },
      },
      // Pending at first: the client polls GET v1/{operation} until done.
      {
        method: "POST",
        path: `/v1/${PARENT}/models:upload`,
        body: op(uploadOp, undefined, "UploadModelOperationMetadata"),
      },
      {
        method: "GET",
        path: `/v1/${uploadOp}`,
        body: op(uploadOp, undefined, "UploadModelOperationMetadata"),
      },
      {
        method: "GET",
        path: `/v1/${uploadOp}`,
        body: op(
          uploadOp,
          {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse",
            model: `${NPARENT}/models/churn`,
            modelVersionId: "1",
          },
          "UploadModelOperationMetadata",
        ),
      },
      {
        method: "POST",
        path: /^\/upload\/storage\/v1\/b\/aurora-lake\/o\?uploadType=media&name=models%2Fchurn%2Fv4%2F/,
        body: { kind: "storage#object", bucket: "aurora-lake", name: "models/churn/v4/model.json" },
      },
      {
        method: "POST",
        path: /name=models%2Fchurn%2Fv4%2Ftelco-version\.json$/,
        body: { kind: "storage#object" },
      },
      {
        method: "POST",
        path: `/v1/${PARENT}/models:upload`,
        body: op(
          `${NPARENT}/models/churn/operations/1002`,
          {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse",
            model: `${NPARENT}/models/churn`,
            modelVersionId: "2",
          },
          "UploadModelOperationMetadata",
        ),
      },
      {
        method: "POST",
        path: `/v1/${PARENT}/endpoints?endpointId=churn-endpoint`,
        body: op(
          `${NPARENT}/endpoints/churn-endpoint/operations/2001`,
          {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.Endpoint",
            name: `${NPARENT}/endpoints/churn-endpoint`,
            displayName: "churn-endpoint",
          },
          "CreateEndpointOperationMetadata",
        ),
      },
      {
        method: "POST",
        path: `/v1/${PARENT}/endpoints/churn-endpoint:deployModel`,
        body: op(
          `${NPARENT}/endpoints/churn-endpoint/operations/3001`,
          {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeployModelResponse",
            deployedModel: {
              id: "5550001",
              model: `${NPARENT}/models/churn`,
              modelVersionId: "1",
              displayName: "churn-v3-champion",
            },
          },
          "DeployModelOperationMetadata",
        ),
      },
      {
        method: "POST",
        path: `/v1/${PARENT}/endpoints/churn-endpoint:deployModel`,
        body: op(
          `${NPARENT}/endpoints/churn-endpoint/operations/3002`,
          {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeployModelResponse",
            deployedModel: {
              id: "5550002",
              model: `${NPARENT}/models/churn`,
              modelVersionId: "2",
              displayName: "churn-v4-challenger",
            },
          },
          "DeployModelOperationMetadata",
        ),
      },
    ];
    const fake = await fakeVertex(script);
    try {
      const plan = planEndpointDeploy({
        location: LOC,
        apiBase: fake.url,
        storageBase: fake.url,
        artifactPrefix: "gs://aurora-lake/models",
        servingImage: "img",
        champion: { alias: "champion", version: version(3), artifactPath: join(dir, "v3.json") },
        challengers: [
          { alias: "challenger", version: version(4), artifactPath: join(dir, "v4.json"), percent: 10 },
        ],
        modelExists: false,
        machineType: "n1-standard-2",
        minReplicas: 1,
        maxReplicas: 2,
      });
      const rest = new VertexRest(LOC, { accessToken: async () => "tok-123", pollIntervalMs: 5 });
      const results = await rest.execute(plan);
      expect(fake.unexpected).toEqual([]);
      expect(fake.received).toHaveLength(script.length);
      expect(fake.received.every((r) => r.authorization === "Bearer tok-123")).toBe(true);
      // The artifact bytes themselves went to Cloud Storage.
      expect(fake.received[0].body).toBe(championBytes);
      expect(fake.received[0].contentType).toBe("application/octet-stream");
      expect(fake.received[5].body).toBe(challengerBytes);
      expect(fake.received[1].contentType).toBe("application/json");
      expect(JSON.parse(fake.received[1].body)).toMatchObject({ name: "churn", version: 3 });
      // First upload creates the model, the second is a version of it.
      expect(JSON.parse(fake.received[2].body)).toMatchObject({ modelId: "churn" });
      expect(JSON.parse(fake.received[7].body)).toMatchObject({
        parentModel: `${PARENT}/models/churn`,
        model: { versionAliases: ["v4", "challenger"] },
      });
      // The challenger's deployment names the champion's deployed id from the previous answer.
      expect(JSON.parse(fake.received[9].body).trafficSplit).toEqual({ "0": 100 });
      expect(JSON.parse(fake.received[10].body)).toMatchObject({
        deployedModel: { model: `${PARENT}/models/churn@v4` },
        trafficSplit: { "0": 10, "5550001": 90 },
      });
      expect((results.get("upload-v3") as { modelVersionId: string }).modelVersionId).toBe("1");
      expect((results.get("deploy-challenger") as { deployedModel: { id: string } }).deployedModel.id).toBe(
        "5550002",
      );
    } finally {
      await fake.close();
    }
  });

  it("a failed operation and an HTTP error stop the plan with one message naming the step", async () => {
    const fake = await fakeVertex([
      {
        method: "POST",
        path: `/v1/${PARENT}/endpoints/churn-endpoint:deployModel`,
        body: {
          name: `${NPARENT}/endpoints/churn-endpoint/operations/9`,
          done: true,
          error: {
            code: 8,
            message: "The following quota metrics exceed quota limits: custom_model_serving_cpus",
          },
        },
      },
      {
        method: "POST",
        path: `/v1/${PARENT}/endpoints/churn-endpoint:deployModel`,
        status: 403,
        body: {
          error: {
            code: 403,
            status: "PERMISSION_DENIED",
            message: "Permission 'aiplatform.endpoints.deploy' denied",
          },
        },
      },
    ]);
    try {
      const rest = new VertexRest(LOC, { accessToken: async () => "t", pollIntervalMs: 5 });
      const step = {
        id: "deploy-champion",
        description: "deploy champion v3",
        method: "POST" as const,
        url: `${fake.url}/v1/${PARENT}/endpoints/churn-endpoint:deployModel`,
        body: {},
        longRunning: true,
      };
      const quota = await rest.execute([step]).catch((e: unknown) => e);
      expect(quota).toBeInstanceOf(TelcoError);
      expect((quota as Error).message).toBe(
        "deploy champion v3: The following quota metrics exceed quota limits: custom_model_serving_cpus (code 8)",
      );
      const denied = await rest.execute([step]).catch((e: unknown) => e);
      expect((denied as TelcoError).code).toBe("vertex_request_failed");
      expect((denied as Error).message).toMatch(
        /403 PERMISSION_DENIED: Permission 'aiplatform.endpoints.deploy' denied/,
      );
      expect((denied as TelcoError).hint).toMatch(/roles/);
    } finally {
      await fake.close();
    }
  });

  it("placeholders resolve from earlier results, and name what is missing", () => {
    const results = new Map<string, unknown>([["a", { deployedModel: { id: "7" } }]]);
    expect(
      resolvePlaceholders({ "{{a.deployedModel.id}}": 90, x: "id={{a.deployedModel.id}}" }, results),
    ).toEqual({
      "7": 90,
      x: "id=7",
    });
    expect(() => resolvePlaceholders("{{b.id}}", results)).toThrow(/has not run/);
    expect(() => resolvePlaceholders("{{a.nothing}}", results)).toThrow(/has no nothing/);
  });
});
