import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { moduleRegistrars } from "../../cli/main.ts";
import { startFakeGcs } from "../../platform/adapters/gcp/testing/fake-gcs.ts";
import { fakeVertex } from "../../platform/adapters/gcp/testing/fake-vertex.ts";
import { cliHarness } from "./testing/cli-harness.ts";
import { identityOnnxModel } from "./testing/onnx-fixture.ts";

// `telco models mirror` end to end against a fake Cloud Storage (STORAGE_EMULATOR_HOST) and a fake
// Vertex AI REST API (VERTEX_API_ENDPOINT). The fake's answers are written by hand from the Vertex AI
// REST reference (models.upload → Operation, then UploadModelResponse; mergeVersionAliases → Model);
// nothing was recorded from a live service, nothing leaves 127.0.0.1.
describe("telco models mirror (fake Cloud Storage + fake Vertex REST API)", () => {
  it("copies the artifact, uploads the model with the body --dry-run prints, then moves aliases", async () => {
    const { home, telco } = cliHarness(await moduleRegistrars(["registry"]));
    const file = join(home, "m.onnx");
    writeFileSync(file, identityOnnxModel());
    const card = join(home, "card.json");
    writeFileSync(card, JSON.stringify({ evaluationDataset: { name: "synthetic", version: "e1" } }));
    const reg = await telco([
      "models",
      "register",
      file,
      "--name",
      "churn",
      "--metrics",
      '{"auc":0.8,"ece":0.02}',
      "--card",
      card,
    ]);
    expect(reg.status).toBe(0);
    expect((await telco(["models", "promote", "churn", "1"], { USER: "ana" })).status).toBe(0);

    const PARENT = "projects/aurora-prod/locations/us-central1";
    const OP = `${PARENT}/models/churn/operations/31`;
    const gcs = await startFakeGcs({ bucket: "bkt" });
    const vertex = await fakeVertex([
      { method: "POST", path: `/v1/${PARENT}/models:upload`, body: { name: OP, done: false } },
      {
        method: "GET",
        path: `/v1/${OP}`,
        body: {
          name: OP,
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
        body: { name: `${PARENT}/models/churn`, versionId: "1", versionAliases: ["default", "champion"] },
      },
      {
        method: "POST",
        path: `/v1/${PARENT}/models:upload`,
        status: 403,
        body: {
          error: {
            code: 403,
            status: "PERMISSION_DENIED",
            message: "Permission 'aiplatform.models.upload' denied on resource.",
          },
        },
      },
    ]);
    const env = {
      TELCO_GCP__PROJECT: "aurora-prod",
      TELCO_GCP__REGION: "us-central1",
      TELCO_GCP__BUCKET: "bkt",
      TELCO_GCP__ARTIFACT_REGISTRY: "us-central1-docker.pkg.dev/aurora-prod/repo",
      VERTEX_API_ENDPOINT: vertex.url,
      STORAGE_EMULATOR_HOST: gcs.url,
      GOOGLE_OAUTH_ACCESS_TOKEN: "test-token",
      VERTEX_POLL_INTERVAL_MS: "5",
    };
    try {
      const dry = await telco(["models", "mirror", "churn@champion", "--dry-run"], env);
      expect(dry.json.error).toBeUndefined();
      expect(dry.status).toBe(0);
      const sent = await telco(["models", "mirror", "churn@champion"], env);
      expect(sent.status).toBe(0);
      expect(sent.json.requests).toEqual(dry.json.requests);
      const [copy, upload] = dry.json.requests as { method: string; request: Record<string, unknown> }[];
      expect(copy.method).toBe("storage.upload");
      // The object in the bucket holds the registered artifact's bytes.
      expect(copy.request.destination).toMatch(/^gs:\/\/bkt\/models\/churn\/v1\/[^/]+$/);
      const stored = gcs.objects.get(String(copy.request.destination).replace("gs://bkt/", ""));
      expect(stored?.bytes.equals(readFileSync(copy.request.source as string))).toBe(true);
      const { parent, ...body } = upload.request;
      expect(parent).toBe(PARENT);
      expect(JSON.parse(vertex.received[0].body)).toEqual(body);
      expect(sent.json.results[1]).toMatchObject({ model: `${PARENT}/models/churn`, modelVersionId: "1" });

      const moved = await telco(["models", "mirror", "churn@champion", "--aliases-only", "1"], env);
      expect(moved.status).toBe(0);
      expect(moved.json.results[0]).toMatchObject({ versionAliases: ["default", "champion"] });

      const denied = await telco(["models", "mirror", "churn@champion"], env);
      expect(denied.status).toBe(1);
      expect(denied.json.error.message).toMatch(
        /403 PERMISSION_DENIED: Permission 'aiplatform\.models\.upload'/,
      );
      expect(vertex.unexpected).toEqual([]);
      expect(vertex.received.every((r) => r.authorization === "Bearer test-token")).toBe(true);
    } finally {
      await vertex.close();
      await gcs.close();
    }
  }, 60_000);
});
