import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { loadTrainingData, snakeName, trainingTableName } from "./load.ts";

let w: DuckDbWarehouse;
beforeAll(async () => {
  w = await DuckDbWarehouse.open(":memory:");
  await w.exec(`
    create schema gold;
    create table gold.synthetic_training as select * from (values
      ('c2', DATE '2026-02-01', 1, 10.5, 'pos', true, TIMESTAMP '2026-01-01 00:00:00'),
      ('c1', DATE '2026-01-01', 0, null, 'pre', false, TIMESTAMP '2026-01-01 00:00:00'),
      ('c1', DATE '2026-02-01', 1, 3.0, null, true, TIMESTAMP '2026-01-01 00:00:00')
    ) t(customer_id, cutoff_date, label, arpu, plan, has_debt, updated_at);
    create table gold.bad_label_training as select 'c1' as customer_id, 2 as label, 1.0 as x;
    create table gold.no_label_training as select 'c1' as customer_id, 1.0 as x;
  `);
});
afterAll(async () => w.close());

describe("training table names", () => {
  it("snake-cases dataset names", () => {
    expect(snakeName("ibm-telco")).toBe("ibm_telco");
    expect(snakeName("MyChurn Data")).toBe("my_churn_data");
    expect(trainingTableName("ibm-telco")).toBe("gold.ibm_telco_training");
    expect(() => trainingTableName("--")).toThrow(/dataset/);
  });
});

describe("loadTrainingData", () => {
  it("reads the agreed shape in a canonical order, typing features by column type", async () => {
    const loaded = await loadTrainingData(w, "synthetic");
    expect(loaded.groups).toEqual(["c1", "c1", "c2"]);
    expect(loaded.cutoffs).toEqual(["2026-01-01", "2026-02-01", "2026-02-01"]);
    expect(Array.from(loaded.data.label as Uint8Array)).toEqual([0, 1, 1]);
    expect(loaded.data.features.map((f) => [f.name, f.kind])).toEqual([
      ["arpu", "numeric"],
      ["plan", "categorical"],
      ["has_debt", "categorical"],
    ]);
    const arpu = loaded.data.features[0];
    expect(arpu.kind === "numeric" && Number.isNaN(arpu.values[0])).toBe(true);
    const plan = loaded.data.features[1];
    expect(plan.kind === "categorical" && plan.codes[1]).toBe(-1);
    expect(loaded.skipped).toEqual([{ column: "updated_at", type: "TIMESTAMP" }]);
  });

  it("gives the same content hash for the same content and a different one after a change", async () => {
    const a = (await loadTrainingData(w, "synthetic")).contentHash;
    expect((await loadTrainingData(w, "synthetic")).contentHash).toBe(a);
    await w.exec("update gold.synthetic_training set arpu = 11 where customer_id = 'c2'");
    expect((await loadTrainingData(w, "synthetic")).contentHash).not.toBe(a);
  });

  it("explains what is wrong: missing table, missing label, bad label value", async () => {
    await expect(loadTrainingData(w, "nothing")).rejects.toThrow(/gold\.nothing_training not found/);
    // The hint names commands that exist.
    await expect(loadTrainingData(w, "ibm")).rejects.toMatchObject({
      hint: expect.stringContaining("telco data ingest ibm-telco FILE"),
    });
    await expect(loadTrainingData(w, "nothing")).rejects.toMatchObject({
      hint: expect.stringContaining("telco data ingest csv FILE --name nothing --target COLUMN"),
    });
    await expect(loadTrainingData(w, "no-label")).rejects.toThrow(
      /no_label_training\.label: required column/,
    );
    await expect(loadTrainingData(w, "bad-label")).rejects.toThrow(/row 1 \(customer_id c1\) has label 2/);
  });
});
