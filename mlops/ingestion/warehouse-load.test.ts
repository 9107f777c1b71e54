import { Parser } from "node-sql-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BigQueryWarehouse } from "../../platform/adapters/gcp/bigquery-warehouse.ts";
import { type FakeBigQuery, fakeBigQuery } from "../../platform/adapters/gcp/testing/fake-bigquery.ts";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import type { Lake } from "../../platform/ports/lake.ts";
import { bigqueryDialect, bigqueryLogicOnDuckdb } from "../../platform/sql/dialect.ts";
import { loadDatasetContracts } from "./contracts.ts";
import { bigqueryIdent, ident } from "./sql.ts";
import { loadDeliveryInWarehouse, loadedSilverSelect } from "./warehouse-load.ts";

/**
 * Raw → bronze → silver on BigQuery: the real BigQuery client against a local fake of its REST API
 * (nothing reaches Google). Checked: the load job of each delivered file (format, gs:// URIs, STRING
 * staging schema), that silver is rebuilt by one BigQuery-grammar statement per table reading the
 * loaded bronze table, and that bronze and silver versions are recorded with their lineage.
 */

let fake: FakeBigQuery;
const contracts = loadDatasetContracts("synthetic").filter((c) =>
  ["crm_customers", "billing_invoice_items"].includes(c.name),
);
const lake = {
  kind: "gcs",
  uri: (key: string) => `gs://acme-lake/lake/${key}`,
} as unknown as Lake;

beforeAll(async () => {
  process.env.METADATA_SERVER_DETECTION = "none";
  fake = await fakeBigQuery({
    loadOutcome: (uris) => ({ outputRows: uris[0].endsWith(".jsonl") ? 30 : 12, badRecords: 0 }),
    rowsFor: (sql) => {
      if (sql.includes("from dev_bronze._quarantine")) return [{ n: "2" }];
      if (/INFORMATION_SCHEMA\.COLUMNS/.test(sql))
        return [{ column_name: "customer_id", column_type: "STRING" }];
      if (sql.includes("farm_fingerprint")) return [{ n: "10", h: "42" }];
      return [];
    },
  });
});
afterAll(async () => {
  await fake.close();
});

describe("loadDeliveryInWarehouse on BigQuery (fake REST API)", () => {
  it("loads each file by a load job, rebuilds silver with BigQuery SQL and records versions", async () => {
    const wh = new BigQueryWarehouse({
      project: "acme",
      location: "US",
      datasetPrefix: "dev",
      apiEndpoint: fake.url,
    });
    const summary = await loadDeliveryInWarehouse(wh, lake, {
      contracts,
      batchId: "b-20261201",
      ingestedAt: new Date("2026-12-01T10:00:00Z"),
      files: [
        { table: "crm_customers", key: "raw/synthetic/2026-12-01/crm/customers.csv" },
        { table: "billing_invoice_items", key: "raw/synthetic/2026-12-01/billing/invoice_items.jsonl" },
      ],
    });
    expect(summary.tables.map((t) => [t.table, t.bronze.stagedRows, t.quarantined, t.silver.rows])).toEqual([
      ["billing_invoice_items", 30, 2, 10],
      ["crm_customers", 12, 2, 10],
    ]);
    const loads = fake.requests
      .map((r) => (r.body?.configuration as { load?: Record<string, unknown> } | undefined)?.load)
      .filter((l) => l !== undefined);
    expect(loads.map((l) => [l.sourceFormat, l.sourceUris])).toEqual([
      [
        "NEWLINE_DELIMITED_JSON",
        ["gs://acme-lake/lake/raw/synthetic/2026-12-01/billing/invoice_items.jsonl"],
      ],
      ["CSV", ["gs://acme-lake/lake/raw/synthetic/2026-12-01/crm/customers.csv"]],
    ]);
    const silver = fake.queries.filter((q) => q.sql.startsWith("create or replace table dev_silver."));
    expect(
      silver.map((q) => /^create or replace table (\S+) cluster by (.+?) as SELECT/.exec(q.sql)?.slice(1)),
    ).toEqual([
      ["dev_silver.billing_invoice_items", "`invoice_id`, `line_no`"],
      ["dev_silver.crm_customers", "`customer_id`"],
    ]);
    const parser = new Parser();
    for (const q of silver) {
      expect(() => parser.astify(q.sql, { database: "bigquery" })).not.toThrow();
      expect(q.sql).toMatch(
        // the loaded bronze table has no _line (a load job keeps no line numbers): a null one is added
        /FROM \(SELECT \*, CAST\(NULL AS INT64\) AS _line FROM dev_bronze\.(billing_invoice_items|crm_customers)\)\n\) AS b\nWHERE _latest = 1$/,
      );
    }
    const versions = fake.queries.filter((q) => q.sql.startsWith("INSERT INTO dev_meta.dataset_versions"));
    expect(versions.map((q) => /VALUES \('([^']+)'/.exec(q.sql)?.[1])).toEqual([
      "bronze.billing_invoice_items",
      "silver.billing_invoice_items",
      "bronze.crm_customers",
      "silver.crm_customers",
    ]);
    expect(versions[1].sql).toMatch(/\['bronze\.billing_invoice_items@[0-9a-f]{16}'\]/);
  });

  it("refuses a file of an unknown contract, and a warehouse that reads files itself", async () => {
    const wh = new BigQueryWarehouse({ project: "acme", location: "US", apiEndpoint: fake.url });
    await expect(
      loadDeliveryInWarehouse(wh, lake, {
        contracts,
        batchId: "b",
        files: [{ table: "nope", key: "raw/x.csv" }],
      }),
    ).rejects.toThrow(/data contract nope \(file raw\/x\.csv\)/);
    const duck = await DuckDbWarehouse.open(":memory:");
    try {
      await expect(
        loadDeliveryInWarehouse(duck, lake, { contracts, batchId: "b", files: [] }),
      ).rejects.toThrow(/reads delivered files itself/);
    } finally {
      await duck.close();
    }
  });
});

describe("silver of a loaded bronze table, BigQuery statement and its DuckDB twin", () => {
  it("keeps the latest batch's row per key on DuckDB, and the BigQuery text parses", async () => {
    const contract = {
      name: "t",
      primaryKey: ["id"],
      columns: [
        { name: "id", type: "string" as const },
        { name: "v", type: "integer" as const },
      ],
    } as unknown as Parameters<typeof loadedSilverSelect>[0];
    const bq = loadedSilverSelect(contract, bigqueryDialect, bigqueryIdent);
    expect(() => new Parser().astify(bq, { database: "bigquery" })).not.toThrow();
    const duck = await DuckDbWarehouse.open(":memory:");
    try {
      // like the loader's bronze: contract columns, _batch_id, _ingested_at and no _line
      await duck.exec(`CREATE SCHEMA bronze; CREATE TABLE bronze.t AS SELECT * FROM (VALUES
        ('a', 1, 'b1', TIMESTAMP '2026-12-01 10:00:00'),
        ('a', 2, 'b2', TIMESTAMP '2026-12-02 10:00:00'),
        ('b', 3, 'b1', TIMESTAMP '2026-12-01 10:00:00')) AS x(id, v, _batch_id, _ingested_at)`);
      const rows = await duck.query(
        `${loadedSilverSelect(contract, bigqueryLogicOnDuckdb, ident)} ORDER BY id`,
      );
      expect(rows.map((r) => [r.id, Number(r.v)])).toEqual([
        ["a", 2],
        ["b", 3],
      ]);
    } finally {
      await duck.close();
    }
  });
});
