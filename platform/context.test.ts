import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
});
