import { Parser } from "node-sql-parser";
import { afterEach, describe, expect, it } from "vitest";
import type { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import type { Row } from "../../platform/ports/warehouse.ts";
import {
  bigqueryDialect,
  bigqueryLogicOnDuckdb,
  duckdbDialect,
  renderDialect,
  type SqlDialect,
} from "../../platform/sql/dialect.ts";
import { FEATURE_NAMES } from "./definitions.ts";
import {
  dataRangeSql,
  featureSetStatements,
  LATEST_TABLE,
  latestFeatureReads,
  latestFeatureStatements,
  TRAINING_TABLE,
  trainingSetStatements,
} from "./offline.ts";
import { loadOperator, randomOperator } from "./testing/random-operator.ts";
import { silverWarehouse } from "./testing/silver-fixtures.ts";

/**
 * The feature SQL under the gcp profile. What is compared, honestly:
 *  - every BigQuery statement is parsed with node-sql-parser's BigQuery grammar (a grammar check:
 *    names of tables and columns are not resolved, and nothing runs on BigQuery);
 *  - its twin is the same statement with BigQuery's structure (spine as a CTE, no temp table,
 *    months counted from month boundaries and days of month) spelt in DuckDB's function names
 *    (`bigqueryLogicOnDuckdb`); it runs on DuckDB over the same random operator as the local
 *    rendering and must give the same rows. What stays unexecuted is the one-to-one spelling of
 *    each function in BigQuery (date_diff argument order, generate_date_array, float64, …).
 */

const parser = new Parser();
const PARAMS = { firstCutoff: "2025-03-01", lastCutoff: "2025-10-01", horizonDays: 60 };
const AS_OF = "2025-11-17";

function parseBigQuery(sql: string): void {
  parser.astify(sql, { database: "bigquery" });
}

const opened: DuckDbWarehouse[] = [];
afterEach(async () => {
  for (const w of opened.splice(0)) await w.close();
});

async function operatorWarehouse(seed: number): Promise<DuckDbWarehouse> {
  const wh = await silverWarehouse();
  opened.push(wh);
  await loadOperator(wh, randomOperator(seed, 80));
  return wh;
}

async function build(
  wh: DuckDbWarehouse,
  statements: string[],
  table: string,
  order: string,
): Promise<Row[]> {
  for (const sql of statements) await wh.exec(sql);
  return wh.query(`select * from ${table} order by ${order}`);
}

describe("BigQuery statements parse with a BigQuery grammar", () => {
  const statements: [string, string][] = [
    ...trainingSetStatements(bigqueryDialect, PARAMS).map((s, i): [string, string] => [`training #${i}`, s]),
    ...latestFeatureStatements(bigqueryDialect, AS_OF).map((s, i): [string, string] => [`latest #${i}`, s]),
    ["data range", dataRangeSql(bigqueryDialect)],
    ["batch scoring: columns", latestFeatureReads(bigqueryDialect).columns],
    ["batch scoring: as-of date", latestFeatureReads(bigqueryDialect).asOfDate],
    ["batch scoring: rows", latestFeatureReads(bigqueryDialect).rows(["tenure_months", "arpu_brl"])],
    ...featureSetStatements("bigquery", { table: LATEST_TABLE, asOf: AS_OF, rows: 3 }).map(
      (s, i): [string, string] => [`feature set lineage #${i}`, s],
    ),
  ];

  it.each(statements)("%s", (_name, sql) => {
    expect(() => parseBigQuery(sql)).not.toThrow();
    // no DuckDB-only construct survived the rendering
    expect(sql).not.toMatch(/\bfilter\s*\(\s*where|\bqualify\b|generate_series|\btemp\b|date_sub\('|::/i);
  });

  it("the grammar is strict enough to reject the DuckDB renderings", () => {
    const duck = trainingSetStatements(duckdbDialect, PARAMS);
    const spine = duck.find((s) => s.includes("temp table"));
    expect(spine).toBeDefined();
    expect(() => parseBigQuery(spine ?? "")).toThrow();
    expect(() => parseBigQuery("select count(*) filter (where a > 1) from t")).toThrow();
  });

  it("builds the training table partitioned by cutoff month and clustered by customer, spine inline", () => {
    const ctas = trainingSetStatements(bigqueryDialect, PARAMS).find((s) => s.includes(TRAINING_TABLE));
    expect(ctas).toMatch(
      /^create or replace table gold\.churn_training partition by date_trunc\(cutoff_date, month\) cluster by customer_id as with feature_spine as \(/,
    );
    expect(ctas).toContain(
      "unnest(generate_date_array(date '2025-03-01', date '2025-10-01', interval 1 month))",
    );
  });
});

describe("the BigQuery logic gives the local results on DuckDB", () => {
  it("training set: same labels and features for every (customer, cutoff)", async () => {
    const order = "cutoff_date, customer_id";
    const local = await build(
      await operatorWarehouse(7),
      trainingSetStatements(duckdbDialect, PARAMS),
      TRAINING_TABLE,
      order,
    );
    const twin = await build(
      await operatorWarehouse(7),
      trainingSetStatements(bigqueryLogicOnDuckdb, PARAMS),
      TRAINING_TABLE,
      order,
    );
    expect(local.length).toBeGreaterThan(200);
    expect(local.some((r) => r.label === 1)).toBe(true);
    // every feature has values to compare, not only nulls
    for (const f of FEATURE_NAMES)
      expect(
        local.some((r) => r[f] !== null),
        f,
      ).toBe(true);
    expect(twin).toEqual(local);
  });

  it("latest features: same rows as of a date in the middle of a month", async () => {
    const local = await build(
      await operatorWarehouse(11),
      latestFeatureStatements(duckdbDialect, AS_OF),
      LATEST_TABLE,
      "customer_id",
    );
    const twin = await build(
      await operatorWarehouse(11),
      latestFeatureStatements(bigqueryLogicOnDuckdb, AS_OF),
      LATEST_TABLE,
      "customer_id",
    );
    expect(local.length).toBeGreaterThan(20);
    expect(twin).toEqual(local);
    // batch scoring's reads of the table, both renderings, on the twin's DuckDB
    const wh = opened[opened.length - 1];
    const reads = [latestFeatureReads(duckdbDialect), latestFeatureReads(bigqueryLogicOnDuckdb)];
    const [d1, d2] = await Promise.all(reads.map((r) => wh.query(r.asOfDate)));
    expect(d1).toEqual([{ d: AS_OF }]);
    expect(d2).toEqual(d1);
    const rows = await wh.query(reads[1].rows(["tenure_months", "arpu_brl"]));
    expect(rows).toEqual(
      local.map((r) => ({
        customer_id: r.customer_id,
        tenure_months: r.tenure_months,
        arpu_brl: r.arpu_brl,
      })),
    );
  });

  it("data range: same first month and last event", async () => {
    const wh = await operatorWarehouse(3);
    const [local] = await wh.query(dataRangeSql(duckdbDialect));
    const [twin] = await wh.query(dataRangeSql(bigqueryLogicOnDuckdb));
    expect(local.first_month).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(twin).toEqual(local);
  });
});

describe("dialect functions", () => {
  it("complete months and years: BigQuery's formula equals DuckDB's date_sub day by day", async () => {
    const wh = await operatorWarehouse(1);
    const pairs = `(select cast(a as date) as a, cast(b as date) as b
      from generate_series(date '1999-12-01', date '2026-12-31', interval 5 day) as x(a),
           generate_series(date '2024-01-01', date '2025-03-31', interval 1 day) as y(b) where b >= a)`;
    const mismatches = (d: SqlDialect, e: SqlDialect) =>
      `select count(*) as n,
        count(case when ${d.monthsBetween("a", "b")} <> ${e.monthsBetween("a", "b")} then 1 end) as months,
        count(case when ${d.yearsBetween("a", "b")} <> ${e.yearsBetween("a", "b")} then 1 end) as years
       from ${pairs} as p`;
    const [r] = await wh.query(mismatches(duckdbDialect, bigqueryLogicOnDuckdb));
    expect(Number(r.n)).toBeGreaterThan(500_000);
    expect({ months: r.months, years: r.years }).toEqual({ months: 0, years: 0 });
  });

  it("expands nested calls, keeps comments and strings, and rejects unknown names and arities", () => {
    const sql = "select @float(@months_between(a, b)) -- a, comment (with parens)\n, '@float(x)' from t";
    expect(renderDialect(sql, bigqueryDialect)).toBe(
      "select cast((date_diff(b, a, month) - case when extract(day from b) < extract(day from a) and b <> last_day(b) then 1 else 0 end) as float64) -- a, comment (with parens)\n, '@float(x)' from t",
    );
    expect(() => renderDialect("select @nope(a)", duckdbDialect)).toThrow(/unknown dialect function @nope/);
    expect(() => renderDialect("select @float(a, b)", duckdbDialect)).toThrow(/takes 1 argument/);
    expect(() => renderDialect("select @days_before(a, b)", bigqueryDialect)).toThrow(/whole number of days/);
    expect(() => renderDialect("select @float(a", duckdbDialect)).toThrow(/unclosed/);
  });
});
