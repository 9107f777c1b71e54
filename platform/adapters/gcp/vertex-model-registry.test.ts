import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/load.ts";
import { TelcoError } from "../../errors.ts";
import type { ModelVersion } from "../../ports/registry.ts";
import { startFakeGcs } from "./testing/fake-gcs.ts";
import { fakeVertex } from "./testing/fake-vertex.ts";
import { planModelMirror, type UploadModelRequest, VertexRegistryMirror } from "./vertex-model-registry.ts";

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

// An empty folder with no telco.config.yaml: only the uploaded env is loaded.
const cwd = mkdtempSync(join(tmpdir(), "telco-mirror-env-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe("models mirror: the container env it uploads", () => {
  it("is accepted by the config loader the container runs at startup", () => {
    const plan = planModelMirror({
      location: { project: "aurora-prod", region: "southamerica-east1" },
      artifactPrefix: "gs://bkt/models",
      servingImage: "img",
      version,
      artifactPath: "/x",
      aliases: ["champion"],
      modelExists: false,
    });
    const upload = plan.find((r) => r.method === "ModelService.uploadModel")?.request as UploadModelRequest;
    const env = Object.fromEntries((upload.model.containerSpec.env ?? []).map((e) => [e.name, e.value]));
    expect(() => loadConfig({ env, cwd })).not.toThrow();
    // The format still reaches Vertex, as a label.
    expect(upload.model.labels.telco_format).toBe("telco-gbdt");
  });

  it("the loader does reject an unknown TELCO_* key (what the mirror used to upload)", () => {
    expect(() => loadConfig({ env: { TELCO_MODEL_FORMAT: "telco-gbdt" }, cwd })).toThrow(
      /TELCO_MODEL_FORMAT/,
    );
  });
});

// Sends against a fake Cloud Storage (objects.insert, uploadType=media) and a fake Vertex AI REST API
// whose answers are written by hand from the REST reference: models.upload answers a long-running
// Operation (UploadModelOperationMetadata) whose `response` is an UploadModelResponse { model,
// modelVersionId } once `done`; models.mergeVersionAliases answers the Model; errors are google.rpc.Status.
// Nothing here was recorded from a live service.
describe("VertexRegistryMirror sends (fake Cloud Storage + fake Vertex REST API)", () => {
  const LOC = { project: "aurora-prod", region: "southamerica-east1" };
  const PARENT = "projects/aurora-prod/locations/southamerica-east1";
  const OP = `${PARENT}/models/churn/operations/8812`;
  const artifactPath = join(cwd, "model.json");
  writeFileSync(artifactPath, '{"trees":[1,2,3]}');
  const input = {
    version,
    artifactPath,
    aliases: ["champion"],
    modelExists: false,
    artifactPrefix: "gs://bkt/models",
    servingImage: "southamerica-east1-docker.pkg.dev/aurora-prod/telco/telco:1",
  };
  const meta = {
    "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelOperationMetadata",
    genericMetadata: { createTime: "2026-12-07T10:00:00Z", updateTime: "2026-12-07T10:00:01Z" },
  };

  it("copies the artifact, uploads the model (operation polled to done), then moves aliases: bodies as planned", async () => {
    const gcs = await startFakeGcs({ bucket: "bkt" });
    const vertex = await fakeVertex([
      {
        method: "POST",
        path: `/v1/${PARENT}/models:upload`,
        body: { name: OP, metadata: meta, done: false },
      },
      { method: "GET", path: `/v1/${OP}`, body: { name: OP, metadata: meta, done: false } },
      {
        method: "GET",
        path: `/v1/${OP}`,
        body: {
          name: OP,
          metadata: meta,
          done: true,
          response: {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse",
            model: `${PARENT}/models/churn`,
            modelVersionId: "1",
          },
        },
      },
      {
        method: "POST",
        path: `/v1/${PARENT}/models/churn@1:mergeVersionAliases`,
        body: {
          name: `${PARENT}/models/churn`,
          displayName: "churn",
          versionId: "1",
          versionAliases: ["default", "champion"],
        },
      },
    ]);
    try {
      const mirror = new VertexRegistryMirror(LOC, {
        apiBase: vertex.url,
        storageBase: gcs.url,
        accessToken: async () => "test-token",
        pollIntervalMs: 5,
      });
      const plan = mirror.planVersion(input);
      const results = await mirror.execute(plan);
      expect(gcs.objects.get("models/churn/v2/model.json")?.bytes.toString("utf8")).toBe('{"trees":[1,2,3]}');
      expect(results[0]).toMatchObject({ uploaded: "gs://bkt/models/churn/v2/model.json", size: "17" });
      expect(results[1]).toEqual({
        "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse",
        model: `${PARENT}/models/churn`,
        modelVersionId: "1",
      });
      // The body sent is the planned request without its path field (parent), byte for byte.
      const { parent: _parent, ...uploadBody } = plan[1].request as UploadModelRequest;
      expect(vertex.received[0].body).toBe(JSON.stringify(uploadBody));
      expect(vertex.received[0].authorization).toBe("Bearer test-token");

      const aliases = mirror.planAliases("churn", "1", ["champion"]);
      const [model] = await mirror.execute([aliases]);
      expect(model).toMatchObject({ versionId: "1", versionAliases: ["default", "champion"] });
      expect(JSON.parse(vertex.received[3].body)).toEqual({ versionAliases: ["champion"] });
      expect(vertex.unexpected).toEqual([]);
    } finally {
      await vertex.close();
      await gcs.close();
    }
  });

  it("reports a failed operation, a refused upload (field named) and a storage error as TelcoErrors", async () => {
    const gcs = await startFakeGcs({ bucket: "bkt" });
    const vertex = await fakeVertex([
      {
        method: "POST",
        path: `/v1/${PARENT}/models:upload`,
        body: { name: OP, metadata: meta, done: false },
      },
      {
        method: "GET",
        path: `/v1/${OP}`,
        body: {
          name: OP,
          done: true,
          error: { code: 3, message: "Model artifact gs://bkt/models/churn/v2/ is empty." },
        },
      },
      {
        method: "POST",
        path: `/v1/${PARENT}/models:upload`,
        status: 400,
        body: {
          error: {
            code: 400,
            status: "INVALID_ARGUMENT",
            message: "Request contains an invalid argument.",
            details: [
              {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                fieldViolations: [
                  { field: "model.container_spec.image_uri", description: "Image not found." },
                ],
              },
            ],
          },
        },
      },
    ]);
    try {
      const mirror = new VertexRegistryMirror(LOC, {
        apiBase: vertex.url,
        storageBase: gcs.url,
        accessToken: async () => "t",
        pollIntervalMs: 5,
      });
      const plan = mirror.planVersion(input);
      const failed = await mirror.execute(plan).catch((e: unknown) => e as TelcoError);
      expect(failed).toBeInstanceOf(TelcoError);
      expect((failed as TelcoError).code).toBe("vertex_operation_failed");
      expect((failed as TelcoError).message).toMatch(
        /upload model churn: Model artifact .* is empty\. \(code 3\)/,
      );
      const refused = await mirror.execute(plan).catch((e: unknown) => e as TelcoError);
      expect((refused as TelcoError).message).toMatch(
        /400 INVALID_ARGUMENT: .*\(field model\.container_spec\.image_uri: Image not found\.\)/,
      );
      gcs.failNext(/model\.json$/, 403);
      const denied = await mirror.execute(plan).catch((e: unknown) => e as TelcoError);
      expect((denied as TelcoError).message).toMatch(
        /upload\/storage\/v1\/b\/bkt\/o\?uploadType=media.* → 403/,
      );
      expect(vertex.received).toHaveLength(3); // the storage refusal stopped the plan before Vertex
      expect(vertex.unexpected).toEqual([]);
    } finally {
      await vertex.close();
      await gcs.close();
    }
  });
});
