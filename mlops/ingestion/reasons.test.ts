import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Parser } from "node-sql-parser";
import { describe, expect, it } from "vitest";
import { bigqueryLoadSql, duckdbLoadSql, loadScript } from "../../platform/adapters/gcp/bigquery-loader.ts";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import { sqlDialect } from "../../platform/sql/dialect.ts";
import { dataContractSchema } from "./contract.ts";
import { freezeContract, userContractPath } from "./contracts.ts";
import { labelCounts } from "./reasons.ts";
import { ingestCsv } from "./sources.ts";
import { tempDir } from "./test-helpers.ts";
import { contractReasons, loadableContract, loadJsonl, quarantineReasonsSql } from "./warehouse-ingest.ts";
import { loadedSilverSelect } from "./warehouse-load.ts";

/**
 * One bad file, both profiles: the local bronze stage (DuckDB) and the BigQuery publish script
 * (run as its DuckDB twin: the same statements spelt for DuckDB, over the JSONL copy the load job
 * reads) quarantine the same lines with the same reason texts, and the reports count them under the
 * same labels. Every rule is broken once: empty key, enum, integer (text and "1.5"), range, number,
 * date, boolean, pattern, two rules on one row, a duplicate key.
 */

const CONTRACT = dataContractSchema.parse({
  name: "subs",
  version: 1,
  dataset: "subs",
  source: "user",
  format: "csv",
  file: "subs.csv",
  primaryKey: ["customer_id"],
  columns: [
    { name: "customer_id", type: "string", nullable: false },
    { name: "uf", type: "string", nullable: true, enum: ["SP", "RJ", "MG"] },
    { name: "Age", type: "integer", nullable: true, min: 18, max: 120 },
    { name: "MonthlyFee", type: "number", nullable: true, min: 0 },
    { name: "signup", type: "date", nullable: true },
    { name: "active", type: "boolean", nullable: true },
    { name: "code", type: "string", nullable: true, pattern: "^AB-[0-9]{3}$" },
    { name: "churn", type: "string", nullable: false },
  ],
  training: { target: "churn", positive: "yes" },
});

const FILE = [
  "customer_id,uf,Age,MonthlyFee,signup,active,code,churn",
  "c1,SP,30,10.5,2024-01-01,true,AB-123,yes", // 2 kept
  "c2,XX,30,10,2024-01-01,true,AB-123,no", // 3 enum
  "c3,RJ,abc,10,2024-01-01,true,AB-123,no", // 4 integer
  "c4,MG,10,10,2024-01-01,true,AB-123,yes", // 5 below minimum
  "c5,SP,30,-1,2024-13-01,true,AB-123,no", // 6 below minimum and not a date
  ",SP,30,1,2024-01-01,false,AB-123,no", // 7 empty key
  "c6,SP,30,1,2024-01-01,maybe,ZZ-1,no", // 8 boolean and pattern
  "c1,SP,31,1,2024-01-01,true,AB-124,no", // 9 duplicate of line 2
  "c7,SP,1.5,1,2024-01-01,true,AB-123,yes", // 10 not a whole integer
  "c8,SP,130,abc,2024-01-01,true,AB-123,no", // 11 above maximum and not a number
  "c9,RJ,40,5,2024-02-01,false,AB-999,yes", // 12 kept
  // whitespace: the checks see a string without its leading/trailing spaces, bronze keeps it
  "c10, RJ ,30,1,2024-01-01,true,AB-123,yes", // 13 kept (" RJ " is RJ)
  "c11,SP, 45 , 2.5 ,2024-01-01,true,AB-123,no", // 14 kept (numbers with spaces)
  "c12,SP,30,1,2024-01-01,true,AB-123,   ", // 15 all-space required cell: empty
  "c13,MG,30,1,2024-01-01,true,   ,no", // 16 kept (all-space optional cell passes the pattern)
  " c9 ,SP,30,1,2024-01-01,true,AB-123,no", // 17 duplicate of line 12 (" c9 " is c9)
  "c14,SP ,30,1,2024-01-01,true, AB-12,no", // 18 pattern (shown trimmed)
].join("\n");

type Cells = Record<string, unknown>;
/** The whitespace rows kept, as a layer holds them (numbers as DOUBLE: the engines' types differ). */
const WHITESPACE_ROWS = (layer: string, fee = "monthly_fee") =>
  `select customer_id, uf, cast(age as double) as age, cast(${fee} as double) as fee, code from ${layer}.subs where customer_id in ('c10', 'c11', 'c13') order by customer_id`;

describe("quarantine reasons: one wording for local and gcp", () => {
  it("the same bad file gives the same rejected lines, reason texts and counts on both profiles", async () => {
    const dir = tempDir("telco-reasons-");
    const path = join(dir, "subs.csv");
    writeFileSync(path, FILE);

    // local: the DuckDB bronze stage
    const schemas = tempDir("telco-reasons-schemas-");
    freezeContract(userContractPath(schemas, "subs"), CONTRACT);
    const local = contextFromConfig(configSchema.parse({}), tempDir("telco-reasons-local-"));
    let localRejects: [number, string][];
    let localCounts: Record<string, number>;
    let localBronze: Cells[];
    let localSilver: Cells[];
    try {
      const report = await ingestCsv(local, path, { name: "subs", target: "churn", contractDir: schemas });
      localCounts = report.files[0].rejectReasons;
      const lwh = await local.warehouse();
      const rows = await lwh.query<{ line: number; reason: string }>(
        "SELECT line, reason FROM bronze.rejects ORDER BY line",
      );
      localRejects = rows.map((r) => [Number(r.line), r.reason]);
      localBronze = await lwh.query<Cells>(WHITESPACE_ROWS("bronze", `"MonthlyFee"`));
      localSilver = await lwh.query<Cells>(WHITESPACE_ROWS("silver"));
    } finally {
      await local.close();
    }

    // gcp: the JSONL copy a load job reads, then the publish statements with the shared wording
    const jsonl = join(dir, "subs.jsonl");
    await loadJsonl(path, CONTRACT, "subs.csv", jsonl);
    const spec = loadableContract(CONTRACT);
    const batch = {
      batchId: "b1",
      ingestedAt: "2026-12-07 10:00:00",
      lines: true,
      reason: contractReasons(CONTRACT),
    };
    const wh = await DuckDbWarehouse.open(":memory:");
    let gcpRejects: [number, string][];
    let gcpCounts: Record<string, number>;
    let gcpBronze: Cells[];
    let gcpSilver: Cells[];
    try {
      await wh.exec("create schema bronze");
      const cols = spec.columns.map((c) => `'${c.name}': 'VARCHAR'`).join(", ");
      await wh.exec(
        `create table bronze._load_x as select * from read_json('${jsonl}', format = 'newline_delimited', columns = {${cols}, '_line': 'BIGINT'})`,
      );
      const script = loadScript(duckdbLoadSql, spec, "bronze._load_x", batch);
      for (const sql of [...script.setup, ...script.statements, ...script.cleanup]) await wh.exec(sql);
      const rows = await wh.query<{ line: number; reason: string }>(
        "select cast(json_extract(record, '$._line') as integer) as line, reason from bronze._quarantine order by line",
      );
      gcpRejects = rows.map((r) => [Number(r.line), r.reason]);
      gcpCounts = labelCounts(await wh.query(quarantineReasonsSql("subs", "b1")));
      gcpBronze = await wh.query<Cells>(WHITESPACE_ROWS("bronze"));
      await wh.exec("create schema silver");
      await wh.exec(
        `create table silver.subs as ${loadedSilverSelect(spec, sqlDialect("duckdb"), (n) => `"${n}"`)}`,
      );
      gcpSilver = await wh.query<Cells>(WHITESPACE_ROWS("silver"));
    } finally {
      await wh.close();
    }

    expect(localRejects).toEqual([
      [3, 'uf: "XX" is not an allowed value'],
      [4, 'Age: "abc" is not a valid integer'],
      [5, "Age: 10 is below minimum 18"],
      [6, 'MonthlyFee: -1 is below minimum 0; signup: "2024-13-01" is not a valid date'],
      [7, "customer_id: empty value in a non-nullable column"],
      [8, 'active: "maybe" is not a valid boolean; code: "ZZ-1" does not match pattern ^AB-[0-9]{3}$'],
      [9, "duplicate key (customer_id=c1), first seen on line 2"],
      [10, 'Age: "1.5" is not a valid integer'],
      [11, 'Age: 130 is above maximum 120; MonthlyFee: "abc" is not a valid number'],
      [15, "churn: empty value in a non-nullable column"],
      [17, "duplicate key (customer_id=c9), first seen on line 12"],
      [18, 'code: "AB-12" does not match pattern ^AB-[0-9]{3}$'],
    ]);
    expect(gcpRejects).toEqual(localRejects);
    expect(localCounts).toEqual({
      "not in enum": 1,
      "wrong type": 3,
      "out of range": 3,
      "null in non-nullable": 2,
      "duplicate key": 2,
      "pattern mismatch": 1,
    });
    expect(gcpCounts).toEqual(localCounts);

    // bronze keeps a string as delivered on both profiles; silver holds it trimmed (all-space = null)
    expect(localBronze).toEqual([
      { customer_id: "c10", uf: " RJ ", age: 30, fee: 1, code: "AB-123" },
      { customer_id: "c11", uf: "SP", age: 45, fee: 2.5, code: "AB-123" },
      { customer_id: "c13", uf: "MG", age: 30, fee: 1, code: "   " },
    ]);
    expect(gcpBronze).toEqual(localBronze);
    expect(localSilver).toEqual([
      { customer_id: "c10", uf: "RJ", age: 30, fee: 1, code: "AB-123" },
      { customer_id: "c11", uf: "SP", age: 45, fee: 2.5, code: "AB-123" },
      { customer_id: "c13", uf: "MG", age: 30, fee: 1, code: null },
    ]);
    expect(gcpSilver).toEqual(localSilver);

    // the BigQuery spelling of the same statements parses with the BigQuery grammar
    const bq = loadScript(bigqueryLoadSql, spec, "bronze._load_x", batch);
    const parser = new Parser();
    for (const sql of [...bq.statements, quarantineReasonsSql("subs", "b1")]) {
      expect(() => parser.astify(sql, { database: "bigquery" }), sql).not.toThrow();
    }
    expect(bq.statements.join("\n")).toContain(`'" is not an allowed value'`);
  });
});
