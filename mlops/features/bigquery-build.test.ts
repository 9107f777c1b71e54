import { Parser } from "node-sql-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BigQueryWarehouse } from "../../platform/adapters/gcp/bigquery-warehouse.ts";
import { type FakeBigQuery, fakeBigQuery } from "../../platform/adapters/gcp/testing/fake-bigquery.ts";
import { featuresConfigSchema } from "../../platform/config/sections/features.ts";
import { buildLatestFeatures, buildTrainingSet, REQUIRED_SOURCES } from "./offline.ts";

/**
 * The whole gold build under the gcp profile: buildTrainingSet and buildLatestFeatures run on the
 * BigQuery adapter, whose real client talks to a local fake of the BigQuery REST API. The fake
 * answers reads with recorded-shape rows (the data range, per-cutoff counts, column lists, row
 * hashes); what is checked is what BigQuery was sent: every statement, split out of scripts, must
 * parse with node-sql-parser's BigQuery grammar (positional `?` parameters, which that grammar
 * lacks and BigQuery accepts, are replaced by NULL first), name the prefixed datasets, and carry
 * no DuckDB-only construct. The results of the SQL are compared on DuckDB in bigquery.test.ts.
 */

let fake: FakeBigQuery;
let wh: BigQueryWarehouse;
const cfg = featuresConfigSchema.parse({});

beforeAll(async () => {
  process.env.METADATA_SERVER_DETECTION = "none";
  fake = await fakeBigQuery({
    rowsFor: (sql) => {
      if (/`acme\.dev_silver`\.INFORMATION_SCHEMA\.TABLES/.test(sql))
        return REQUIRED_SOURCES.map((t) => ({ table_name: t.slice("silver.".length) }));
      if (sql.includes("as first_month")) return [{ first_month: "2025-01-01", last_event: "2025-12-20" }];
      if (sql.includes("as n_rows")) return [{ cutoff_date: "2025-09-01", n_rows: "40", positives: "3" }];
      if (/INFORMATION_SCHEMA\.COLUMNS/.test(sql))
        return [
          { column_name: "customer_id", column_type: "STRING" },
          { column_name: "label", column_type: "INT64" },
        ];
      if (sql.includes("farm_fingerprint")) return [{ n: "40", h: "-123456789" }];
      if (/select count\(\*\) as n from/i.test(sql)) return [{ n: "35" }];
      return [];
    },
  });
  wh = new BigQueryWarehouse({
    project: "acme",
    location: "US",
    datasetPrefix: "dev",
    apiEndpoint: fake.url,
  });
});
afterAll(async () => {
  await fake.close();
});

function statementsSent(): string[] {
  return fake.queries
    .filter((q) => !q.dryRun)
    .flatMap((q) => q.sql.split(/;\s*\n/))
    .map((s) => s.trim().replace(/;$/, ""))
    .filter(Boolean);
}

describe("gold build on BigQuery (fake REST API)", () => {
  it("builds the training set with BigQuery statements only", async () => {
    const summary = await buildTrainingSet(wh, cfg, { asOf: "2025-12-01" });
    expect(summary).toMatchObject({
      rows: 40,
      positives: 3,
      cutoffs: [{ cutoffDate: "2025-09-01", rows: 40 }],
    });
    expect(summary.datasetVersion).toMatch(/^[0-9a-f]{16}$/);
    const sent = statementsSent();
    expect(
      sent.some((s) => s.startsWith("create or replace table dev_gold.churn_training partition by")),
    ).toBe(true);
    expect(
      sent.some((s) =>
        s.startsWith("INSERT INTO dev_meta.dataset_versions VALUES ('gold.synthetic_training'"),
      ),
    ).toBe(true);
    expect(
      sent.some((s) => s.startsWith("insert into dev_meta.feature_sets values ('gold.churn_training'")),
    ).toBe(true);
  });

  it("builds the latest features with BigQuery statements only", async () => {
    const before = fake.queries.length;
    const r = await buildLatestFeatures(wh, { asOf: "2025-11-17" });
    expect(r).toMatchObject({ table: "gold.customer_features", asOf: "2025-11-17", rows: 35 });
    expect(
      fake.queries
        .slice(before)
        .some((q) =>
          q.sql.includes("create or replace table dev_gold.customer_features cluster by customer_id"),
        ),
    ).toBe(true);
  });

  it("every statement sent parses with the BigQuery grammar and names prefixed datasets", () => {
    const parser = new Parser();
    const sent = statementsSent();
    expect(sent.length).toBeGreaterThan(20);
    const failures: string[] = [];
    for (const sql of sent) {
      try {
        parser.astify(sql.replaceAll("?", "NULL"), { database: "bigquery" });
      } catch (err) {
        failures.push(`${sql.slice(0, 120)} → ${(err as Error).message.slice(0, 80)}`);
      }
    }
    expect(failures).toEqual([]);
    for (const text of sent) {
      // comments are prose and string literals data ('gold.churn_training' names a table in meta)
      const sql = text.replace(/--.*$/gm, "").replace(/'(?:[^'\\]|\\.)*'/g, "''");
      expect(sql).not.toMatch(/(?<![\w.`])(bronze|silver|gold|meta)\.[a-z_]/);
      expect(sql).not.toMatch(
        /\bfilter\s*\(\s*where|\bqualify\b|generate_series|\btemp\b|::|\bvarchar\b|\browid\b|DESCRIBE/i,
      );
    }
  });
});
