import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { ingestSynthetic } from "./sources.ts";
import { tempDir } from "./test-helpers.ts";
import { datasetLineage, ingestedState, listDatasetVersions } from "./versions.ts";

/** Deliveries from different simulations, and re-ingests of the same one. */
describe("synthetic deliveries keep their identity", () => {
  let app: AppContext;
  let home: string;
  beforeAll(() => {
    home = tempDir("telco-home-");
    app = contextFromConfig(configSchema.parse({}), home);
  });
  afterAll(() => app.close());
  const generate = (folder: string, seed: number, customers: number) =>
    generateOperatorData({
      customers,
      seed,
      months: 3,
      start: "2025-01",
      dirtyRate: 0,
      outDir: join(home, "deliveries", "synthetic", folder),
    });
  const versions = async () =>
    (await listDatasetVersions(await app.warehouse()))
      .filter((v) => v.layer !== "raw")
      .map((v) => `${v.table}@${v.version}`)
      .sort();

  it("records the generator seed and parameters in the report and lineage", async () => {
    const gen = await generate("a", 7, 120);
    const report = await ingestSynthetic(app, gen.outDir);
    expect(report.delivery?.population).toMatch(/seed=7 customers=120 start=2025-01/);
    expect(report.delivery?.identity).toMatchObject({ seed: 7, customers: 120, months: 3 });
    const lineage = await datasetLineage(await app.warehouse(), "bronze.crm_customers");
    expect(lineage.delivery?.identity).toMatchObject({ seed: 7, customers: 120 });
  }, 60_000);

  it("the same delivery regenerated and re-ingested gives identical versions", async () => {
    const before = await versions();
    const state = await ingestedState(await app.warehouse());
    const gen = await generate("a-again", 7, 120);
    const report = await ingestSynthetic(app, gen.outDir);
    expect(report.files.every((f) => f.status === "skipped")).toBe(true);
    expect(await versions()).toEqual(before);
    expect(await ingestedState(await app.warehouse())).toBe(state);
  }, 60_000);

  it("refuses another population by name, merges it with allowMixed, and the state key changes", async () => {
    const state = await ingestedState(await app.warehouse());
    // The state including the delivery a pipeline is about to ingest of the same population is unchanged.
    expect(
      await ingestedState(await app.warehouse(), [
        "aurora-telecom-simulator seed=7 customers=120 start=2025-01",
      ]),
    ).toBe(state);
    const before = await versions();
    const other = await generate("b", 8, 150);
    const refused = ingestSynthetic(app, other.outDir);
    await expect(refused).rejects.toThrow(/seed=8 customers=150.*seed=7 customers=120/);
    await expect(refused).rejects.toThrow(/manifest\.json/);
    expect(await versions()).toEqual(before);
    const mixed = await ingestSynthetic(app, other.outDir, { allowMixed: true });
    expect(mixed.rows).toBeGreaterThan(0);
    expect(await ingestedState(await app.warehouse())).not.toBe(state);
  }, 60_000);
});
