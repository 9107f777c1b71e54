import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/load.ts";
import type { ModelVersion } from "../../ports/registry.ts";
import { planModelMirror, type UploadModelRequest } from "./vertex-model-registry.ts";

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
