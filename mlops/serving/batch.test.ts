import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPredictionLog } from "../monitoring/prediction-log.ts";
import { SCORES_TABLE, scoreBatch } from "./batch.ts";
import { fixtureRows, type ServingFixture, servingFixture } from "./testing/fixture.ts";

/** Writes fixture customers as gold.customer_features (as of `asOf`) in the fixture warehouse. */
async function loadCustomerFeatures(fx: ServingFixture, n: number, asOf: string): Promise<void> {
  const file = join(fx.home, `features-${asOf}.json`);
  writeFileSync(
    file,
    fixtureRows(n, 11)
      .map((r) => JSON.stringify({ ...r, label: undefined }))
      .join("\n"),
  );
  const wh = await fx.app.warehouse();
  await wh.exec("create schema if not exists gold");
  await wh.exec(
    `create or replace table gold.customer_features as select customer_id, date '${asOf}' as as_of_date, tenure_months, monthly_price_brl, fidelity_months_left, segment, competitor_offer_active from read_json('${file}', format = 'newline_delimited')`,
  );
}

describe("batch scoring", () => {
  let fx: ServingFixture;
  beforeAll(async () => {
    fx = await servingFixture({ config: { batchChunkRows: 1000 } });
  });
  afterAll(async () => fx.cleanup());

  it("scores every customer into gold.churn_scores, one partition per date, idempotently", async () => {
    // 5000 rows: more than one DuckDB vector (2048), so the stream is fetched several times.
    await loadCustomerFeatures(fx, 5000, "2026-10-01");
    const progress: number[] = [];
    const first = await scoreBatch(fx.app, { reasons: 0, onProgress: (rows) => progress.push(rows) });
    expect(first).toMatchObject({ scoringDate: "2026-10-01", rows: 5000, modelVersion: 1, parts: 5 });
    expect(progress).toEqual([1000, 2000, 3000, 4000, 5000]);
    expect(first.bands.low + first.bands.medium + first.bands.high).toBe(5000);
    // The re-run (with reasons) replaces the partition: same row count, reasons now present.
    const again = await scoreBatch(fx.app, { asOf: "2026-10-01" });
    expect(again.rows).toBe(5000);

    const wh = await fx.app.warehouse();
    const counts = await wh.query<{ d: string; n: number; ids: number }>(
      `select cast(scoring_date as varchar) as d, count(*) as n, count(distinct customer_id) as ids from ${SCORES_TABLE} group by 1`,
    );
    expect(counts).toEqual([{ d: "2026-10-01", n: 5000, ids: 5000 }]);

    await loadCustomerFeatures(fx, 800, "2026-11-01");
    await scoreBatch(fx.app, { reasons: 0, log: false });
    const byDate = await wh.query<{ d: string; n: number }>(
      `select cast(scoring_date as varchar) as d, count(*) as n from ${SCORES_TABLE} group by 1 order by 1`,
    );
    expect(byDate).toEqual([
      { d: "2026-10-01", n: 5000 },
      { d: "2026-11-01", n: 800 },
    ]);
    const [row] = await wh.query<{ p: number; band: string; reasons: unknown[]; v: string }>(
      `select probability as p, risk_band as band, top_reasons as reasons, model_version as v from ${SCORES_TABLE} where scoring_date = date '2026-10-01' and customer_id = 'C000001'`,
    );
    expect(row.p).toBeGreaterThan(0);
    expect(row.v).toBe("1");
    expect(row.reasons).toHaveLength(3);
    expect(["low", "medium", "high"]).toContain(row.band);

    // Both 2026-10-01 runs were logged (source batch); the 2026-11-01 run had logging off.
    const log = await readPredictionLog(fx.app.lake(), { from: "2026-09-01", to: "2026-12-31" });
    expect(log.filter((r) => r.source === "batch")).toHaveLength(10_000);
    expect(log[0].features).toHaveProperty("monthly_price_brl");
  });

  it("names the missing feature columns when the table does not fit the model", async () => {
    const wh = await fx.app.warehouse();
    await wh.exec(
      "create or replace table gold.customer_features as select 'C1' as customer_id, date '2026-10-01' as as_of_date, 1.0 as tenure_months",
    );
    await expect(scoreBatch(fx.app)).rejects.toThrow(/monthly_price_brl/);
  });
});
