import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GcsModelRegistry } from "./adapters/gcp/gcs-model-registry.ts";
import { LocalModelRegistry } from "./adapters/local/file-model-registry.ts";
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
