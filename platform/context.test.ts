import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GcsModelRegistry } from "./adapters/gcp/gcs-model-registry.ts";
import { startFakeGcs } from "./adapters/gcp/testing/fake-gcs.ts";
import { LocalModelRegistry } from "./adapters/local/file-model-registry.ts";
import { loadConfig } from "./config/load.ts";
import { configSchema } from "./config/schema.ts";
import { contextFromConfig } from "./context.ts";
import { ConfigError } from "./errors.ts";

describe("AppContext adapter selection", () => {
  it("uses the file lake and DuckDB in the local profile", async () => {
    const home = mkdtempSync(join(tmpdir(), "telco-ctx-"));
    const app = contextFromConfig(configSchema.parse({}), home);
    expect(app.lake().kind).toBe("local");
    expect(app.lake().uri("raw/x.csv")).toBe(join(home, "lake", "raw", "x.csv"));
    const wh = await app.warehouse();
    expect(wh.kind).toBe("duckdb");
    expect(await wh.query("select 1 + 1 as two")).toEqual([{ two: 2 }]);
    await app.close();
  });

  it("uses Cloud Storage and BigQuery in the gcp profile without touching the network until used", async () => {
    const config = configSchema.parse({ profile: "gcp", gcp: { project: "p1", bucket: "telco-lake" } });
    const app = contextFromConfig(config, "/nonexistent");
    expect(app.lake().kind).toBe("gcs");
    expect(app.lake().uri("gold/x.parquet")).toBe("gs://telco-lake/lake/gold/x.parquet");
    expect((await app.warehouse()).kind).toBe("bigquery");
  });

  it("names the missing gcp key", () => {
    const app = contextFromConfig(configSchema.parse({ profile: "gcp" }), "/nonexistent");
    expect(() => app.lake()).toThrowError(ConfigError);
    expect(() => app.lake()).toThrowError(/gcp\.bucket/);
    // Every missing prerequisite at once, not one per run.
    expect(() => app.lake()).toThrowError(/gcp\.project and gcp\.bucket/);
    expect(() =>
      contextFromConfig(configSchema.parse({ profile: "gcp", gcp: { project: "p" } }), "/x").lake(),
    ).toThrowError(/needs gcp\.bucket \(not set\)/);
  });

  it("builds every port the profile selects: local stores in the workspace, GCP adapters under gcp", async () => {
    const home = mkdtempSync(join(tmpdir(), "telco-ctx-"));
    const local = contextFromConfig(configSchema.parse({}), home);
    const store = local.onlineStore();
    expect(store.kind).toBe("sqlite");
    await store.close();
    const meta = local.pipelineMetadata();
    expect([meta.kind, meta.root]).toEqual(["sqlite", join(home, "pipelines")]);
    meta.close();
    expect(local.registry()).toBeInstanceOf(LocalModelRegistry);
    expect((local.registry() as LocalModelRegistry).root).toBe(join(home, "registry"));
    expect(local.registry()).toBe(local.registry());
    expect(local.alertSinks().map((s) => s.channel)).toEqual(["log", "webhook", "cloud_monitoring"]);
    expect(
      local.embeddings((d) => ({
        provider: "own",
        model: "m",
        dimension: d,
        maxBatch: 1,
        embed: async () => [],
      })).provider,
    ).toBe("own");
    await local.close();

    const gcp = contextFromConfig(
      configSchema.parse({ profile: "gcp", gcp: { project: "p1", bucket: "b" } }),
      home,
    );
    expect(gcp.onlineStore().kind).toBe("firestore");
    // Firestore under gcp, artifacts still under the given (or workspace) folder; nothing is sent until used.
    const gcpMeta = gcp.pipelineMetadata();
    expect([gcpMeta.kind, gcpMeta.root]).toEqual(["firestore", join(home, "pipelines")]);
    gcpMeta.close();
    const elsewhere = gcp.pipelineMetadata("/elsewhere");
    expect(elsewhere.root).toBe("/elsewhere");
    elsewhere.close();
    expect(gcp.pipelineService().kind).toBe("vertex");
    expect(gcp.registryMirror().kind).toBe("vertex");
    // The registry lives in the bucket under gcp (nothing is sent until used), not in the workspace.
    const gcsRegistry = gcp.registry();
    expect(gcsRegistry).toBeInstanceOf(GcsModelRegistry);
    expect((gcsRegistry as GcsModelRegistry).objects.uri("registry/models")).toBe("gs://b/registry/models");
    expect(gcp.registry()).toBe(gcsRegistry);
    expect(() => contextFromConfig(configSchema.parse({ profile: "gcp" }), home).registry()).toThrowError(
      /gcp\.bucket/,
    );
    expect(() => contextFromConfig(configSchema.parse({ profile: "gcp" }), home).onlineStore()).toThrowError(
      /gcp\.project/,
    );
    expect(() =>
      contextFromConfig(configSchema.parse({ profile: "gcp" }), home).pipelineMetadata(),
    ).toThrowError(/gcp\.project/);
    // Run artifacts need the bucket, asked for when a run first uses them (listing runs does not).
    const noBucket = contextFromConfig(configSchema.parse({ profile: "gcp", gcp: { project: "p1" } }), home);
    expect(() => noBucket.pipelineMetadata().artifacts).toThrowError(/gcp\.bucket/);
  });
});

describe("gcp.registryPrefix: where the model registry lives in the bucket", () => {
  const saved = process.env.STORAGE_EMULATOR_HOST;
  afterEach(() => {
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
  });

  it("defaults to registry/, and TELCO_GCP__REGISTRY_PREFIX moves every object of a registered version", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "telco-ctx-prefix-"));
    const env = { TELCO_PROFILE: "gcp", TELCO_GCP__BUCKET: "gs://acme-ml", TELCO_HOME: cwd };
    expect(loadConfig({ env, cwd }).config.gcp.registryPrefix).toBe("registry");
    const { config, home } = loadConfig({
      env: { ...env, TELCO_GCP__REGISTRY_PREFIX: "teams/churn-reg" },
      cwd,
    });
    expect(config.gcp.registryPrefix).toBe("teams/churn-reg");

    const gcs = await startFakeGcs({ bucket: "acme-ml" });
    process.env.STORAGE_EMULATOR_HOST = gcs.url;
    try {
      const app = contextFromConfig(config, home);
      const v = await app.registry().register({
        name: "churn",
        format: "onnx",
        artifact: new TextEncoder().encode("not really onnx"),
        card: { metrics: { auc: { value: 0.7 } } },
      });
      expect(v.version).toBe(1);
      const names = [...gcs.objects.keys()];
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((n) => !n.startsWith("teams/churn-reg/models/churn/"))).toEqual([]);
      expect(names).toContain("teams/churn-reg/models/churn/versions/1/model.json");
      expect(await app.registry().listModels()).toEqual(["churn"]);
    } finally {
      await gcs.close();
    }
    // a prefix that is no folder path is refused by name
    expect(() => loadConfig({ env: { ...env, TELCO_GCP__REGISTRY_PREFIX: "/../x" }, cwd })).toThrowError(
      /gcp\.registryPrefix/,
    );
  });
});
