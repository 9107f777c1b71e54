import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { moduleRegistrars } from "../../cli/main.ts";
import { cliHarness } from "./testing/cli-harness.ts";
import { identityOnnxModel } from "./testing/onnx-fixture.ts";

describe("telco models (CLI)", () => {
  it("registers ONNX models (validated), lists, promotes with the policy, audits and mirrors (dry-run)", async () => {
    const { home, telco: run } = cliHarness(await moduleRegistrars(["registry"]));
    const telco = (_home: string, args: string[], env: Record<string, string> = {}) =>
      run(args, { USER: "ana", ...env });
    const file = join(home, "m.onnx");
    writeFileSync(file, identityOnnxModel());
    const card = join(home, "card.json");
    writeFileSync(
      card,
      JSON.stringify({ evaluationDataset: { name: "synthetic", version: "e1" }, intendedUse: "demo" }),
    );

    const bad = join(home, "bad.onnx");
    writeFileSync(bad, "not a model");
    const rejected = await telco(home, ["models", "register", bad, "--name", "churn"]);
    expect(rejected.status).toBe(1);
    expect(rejected.json.error.message).toMatch(/bad\.onnx: not a loadable ONNX model/);

    const r1 = await telco(home, [
      "models",
      "register",
      file,
      "--name",
      "churn",
      "--metrics",
      '{"auc":0.80,"ece":0.02}',
      "--card",
      card,
    ]);
    expect(r1.status).toBe(0);
    expect(r1.json).toMatchObject({
      name: "churn",
      version: 1,
      format: "onnx",
      signature: { inputs: ["X"], outputs: ["Y"] },
    });
    const r2 = await telco(home, [
      "models",
      "register",
      file,
      "--name",
      "churn",
      "--metrics",
      '{"auc":0.7,"ece":0.02}',
      "--card",
      card,
    ]);
    expect(r2.json.version).toBe(2);

    expect((await telco(home, ["models", "promote", "churn", "1"])).json).toMatchObject({
      applied: true,
      champion: null,
    });
    const refused = await telco(home, ["models", "promote", "churn", "2"]);
    expect(refused.status).toBe(1);
    expect(refused.json.error.code).toBe("promotion_refused");
    expect(refused.json.error.details.decision.reasons[0]).toMatch(/primary:auc/);

    const list = (await telco(home, ["models", "list"])).json;
    expect(list).toEqual([
      { name: "churn", version: 1, aliases: ["champion"], metrics: { auc: 0.8, ece: 0.02 } },
      { name: "churn", version: 2, aliases: [], metrics: { auc: 0.7, ece: 0.02 } },
    ]);
    const audit = (await telco(home, ["models", "audit", "churn"])).json;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ by: "ana", alias: "champion", to: 1, action: "auto-first" });

    const mirror = (
      await telco(home, ["models", "mirror", "churn@champion", "--dry-run"], {
        TELCO_GCP__PROJECT: "proj",
        TELCO_GCP__REGION: "us-central1",
        TELCO_GCP__BUCKET: "bkt",
        TELCO_GCP__ARTIFACT_REGISTRY: "us-central1-docker.pkg.dev/proj/repo",
      })
    ).json;
    const upload = mirror.requests.find(
      (x: { method: string }) => x.method === "ModelService.uploadModel",
    ).request;
    expect(upload).toMatchObject({
      parent: "projects/proj/locations/us-central1",
      modelId: "churn",
      model: {
        displayName: "churn",
        artifactUri: "gs://bkt/models/churn/v1/",
        containerSpec: { imageUri: "us-central1-docker.pkg.dev/proj/repo/telco:latest" },
        versionAliases: ["champion"],
      },
    });
    const next = (
      await telco(
        home,
        ["models", "mirror", "churn@2", "--existing", "--serving-image", "img:2", "--dry-run"],
        {
          TELCO_GCP__PROJECT: "proj",
          TELCO_GCP__BUCKET: "bkt",
          TELCO_GCP__ARTIFACT_REGISTRY: "us-central1-docker.pkg.dev/proj/repo",
        },
      )
    ).json;
    expect(next.error).toBeUndefined();
    const upload2 = next.requests[1].request;
    expect(upload2.parentModel).toBe("projects/proj/locations/southamerica-east1/models/churn");
    expect(upload2.modelId).toBeUndefined();
    expect(upload2.model.versionAliases).toEqual([]);
    expect(upload2.model.containerSpec.imageUri).toBe("img:2");
    const aliases = (
      await telco(home, ["models", "mirror", "churn@champion", "--aliases-only", "1", "--dry-run"], {
        TELCO_GCP__PROJECT: "proj",
      })
    ).json;
    expect(aliases.requests).toEqual([
      {
        method: "ModelService.mergeVersionAliases",
        request: {
          name: "projects/proj/locations/southamerica-east1/models/churn@1",
          versionAliases: ["champion"],
        },
      },
    ]);
    const cmp = (await telco(home, ["models", "compare", "churn", "1", "2"])).json;
    expect(cmp.metrics.find((m: { metric: string }) => m.metric === "auc")).toMatchObject({
      v1: 0.8,
      v2: 0.7,
    });
    expect(cmp.metrics.find((m: { metric: string }) => m.metric === "auc").delta).toBeCloseTo(-0.1, 10);
    expect(cmp.policy.promote).toBe(false);
    const shown = (await telco(home, ["models", "show", "churn@champion"])).json;
    expect(shown).toMatchObject({
      version: 1,
      aliases: ["champion"],
      card: { intendedUse: "demo" },
      lineage: { source: "external:m.onnx" },
    });

    const forced = await telco(home, ["models", "promote", "churn", "2", "--force", "--reason", "hotfix"]);
    expect(forced.json).toMatchObject({ forced: true, applied: true });
    const back = (await telco(home, ["models", "rollback", "churn"])).json;
    expect(back).toMatchObject({ action: "rollback", from: 2, to: 1 });
    expect(
      (await telco(home, ["models", "audit", "churn"])).json.map((e: { action: string }) => e.action),
    ).toEqual(["auto-first", "force", "rollback"]);

    const noProject = await telco(home, ["models", "mirror", "churn", "--dry-run"]);
    expect(noProject.json.error.message).toMatch(/gcp.project/);
  }, 120_000);
});
