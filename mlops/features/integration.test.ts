import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import type { Row, Warehouse } from "../../platform/ports/warehouse.ts";
import { ingestSynthetic } from "../ingestion/sources.ts";
import { datasetLineage, lineageRawFiles } from "../ingestion/versions.ts";
import { loadSyntheticContracts } from "../simulator/contracts.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { FEATURE_NAMES } from "./definitions.ts";
import {
  buildLatestFeatures,
  buildTrainingSet,
  LATEST_TABLE,
  TRAINING_TABLE,
  type TrainingSetSummary,
} from "./offline.ts";
import { extractAt, loadOperator, type OperatorRows } from "./testing/random-operator.ts";
import { silverWarehouse } from "./testing/silver-fixtures.ts";

/**
 * End to end over the real simulator and ingestion: generate a tiny operator, ingest it into
 * silver, build the training set, then re-check labels and point-in-time correctness on it.
 */
let home: string;
let app: AppContext;
let summary: TrainingSetSummary;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "features-int-"));
  const gen = await generateOperatorData({
    customers: 150,
    seed: 5,
    months: 9,
    start: "2025-01",
    outDir: join(home, "delivery"),
  });
  app = contextFromConfig(configSchema.parse({}), home);
  await ingestSynthetic(app, gen.outDir);
  summary = await buildTrainingSet(await app.warehouse(), app.config.features);
}, 120_000);
afterAll(async () => {
  await app.close();
  rmSync(home, { recursive: true, force: true });
});

/** Every silver table as rows with dates/timestamps as 'YYYY-MM-DD[ HH:MM:SS]' strings. */
async function silverRows(wh: Warehouse): Promise<OperatorRows> {
  const out: OperatorRows = {};
  for (const c of loadSyntheticContracts().values()) {
    const cols = c.columns.map((col) =>
      col.type === "date" || col.type === "timestamp"
        ? `cast(${col.name} as varchar) as ${col.name}`
        : col.name,
    );
    out[c.name] = await wh.query(`select ${cols.join(", ")} from silver.${c.name}`);
  }
  return out;
}

describe("feature store on generated + ingested data", () => {
  it("builds monthly cutoffs with unique rows and some churners", () => {
    expect(summary.cutoffs.map((c) => c.cutoffDate)).toEqual([
      "2025-04-01",
      "2025-05-01",
      "2025-06-01",
      "2025-07-01",
      "2025-08-01",
      "2025-09-01",
    ]);
    expect(summary.rows).toBeGreaterThan(500);
    expect(summary.positives).toBeGreaterThan(0);
  });

  it("labels match the contracts' cancellations within 30 days, and every row is an active contract", async () => {
    const wh = await app.warehouse();
    const [dups] = await wh.query<{ n: number }>(
      `select count(*) as n from (select customer_id, cutoff_date from ${TRAINING_TABLE} group by all having count(*) > 1)`,
    );
    expect(dups.n).toBe(0);
    const rows = await wh.query<{ label: number; start: string; cancel: string | null; cutoff: string }>(
      `select t.label, cast(c.start_date as varchar) as start, cast(c.cancel_date as varchar) as cancel,
              cast(t.cutoff_date as varchar) as cutoff
       from ${TRAINING_TABLE} t join silver.crm_contracts c using (customer_id)`,
    );
    expect(rows.length).toBe(summary.rows);
    for (const r of rows) {
      expect(r.start < r.cutoff).toBe(true);
      if (r.cancel) expect(r.cancel >= r.cutoff).toBe(true);
      const end = new Date(`${r.cutoff}T00:00:00Z`);
      end.setUTCDate(end.getUTCDate() + 30);
      const expected = r.cancel !== null && r.cancel < end.toISOString().slice(0, 10) ? 1 : 0;
      expect(r.label, `${r.cutoff} ${r.start} ${r.cancel}`).toBe(expected);
    }
  });

  it("records gold.synthetic_training's version with lineage back to the raw files", async () => {
    const lineage = await datasetLineage(await app.warehouse(), "gold.synthetic_training");
    expect(lineage.rowCount).toBe(summary.rows);
    expect(lineage.version).toBe(summary.datasetVersion);
    expect(lineage.parents.map((p) => p.table)).toEqual(["gold.churn_training"]);
    expect(lineage.parents[0].parents.map((p) => p.table).sort()).toContain("silver.support_tickets");
    expect(lineageRawFiles(lineage).length).toBeGreaterThanOrEqual(11);
  });

  it("computes the same features at 2025-07-01 from an extract taken that day", async () => {
    const cutoff = "2025-07-01";
    const wh = await app.warehouse();
    const training = new Map(
      (await wh.query(`select * from ${TRAINING_TABLE} where cutoff_date = date '${cutoff}'`)).map(
        (r: Row) => [String(r.customer_id), r],
      ),
    );
    const extract = await silverWarehouse();
    try {
      await loadOperator(extract, extractAt(await silverRows(wh), cutoff));
      await buildLatestFeatures(extract, { asOf: cutoff });
      const latest = await extract.query(`select * from ${LATEST_TABLE}`);
      expect(latest.length).toBe(training.size);
      for (const l of latest) {
        const t = training.get(String(l.customer_id))!;
        for (const f of FEATURE_NAMES) expect(l[f], `${l.customer_id} ${f}`).toEqual(t[f]);
      }
    } finally {
      await extract.close();
    }
  });
});
