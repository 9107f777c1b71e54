import { Parser } from "node-sql-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import {
  bigqueryDialect,
  bigqueryLogicOnDuckdb,
  duckdbDialect,
  type SqlDialect,
} from "../../platform/sql/dialect.ts";
import { contractFromInference, inferenceSql, loadDatasetContracts } from "./contracts.ts";
import { ibmBronzeAsDelivered } from "./sources.ts";
import { bigqueryIdent, conformedNames, ident, lit, renderSql } from "./sql.ts";

/**
 * The silver and gold SQL of ingestion under BigQuery. Each file is rendered for BigQuery (backtick
 * identifiers, BigQuery types) and parsed with node-sql-parser's BigQuery grammar (a grammar check,
 * nothing runs on BigQuery). Its twin, the BigQuery logic spelt in DuckDB's names, runs on DuckDB
 * over a small bronze fixture with duplicates across batches and must give the DuckDB rendering's
 * rows, which are also checked against hand-worked answers.
 */

const parser = new Parser();
let wh: DuckDbWarehouse;

beforeAll(async () => {
  wh = await DuckDbWarehouse.open(":memory:");
  await wh.exec(`create schema bronze;
create table bronze.crm_customers as select * from (values
  ('C1', 'Ana', 'SP', timestamp '2026-01-01 10:00:00', 'b1', 1),
  ('C1', 'Ana Maria', 'SP', timestamp '2026-02-01 10:00:00', 'b2', 1),
  ('C2', 'Bia', 'RJ', timestamp '2026-01-01 10:00:00', 'b1', 2),
  ('C2', 'Bia old line', 'RJ', timestamp '2026-01-01 10:00:00', 'b1', 1),
  ('C3', 'Caio', 'MG', timestamp '2026-01-01 10:00:00', 'b1', 3)
) as t(customer_id, name, uf, _ingested_at, _batch_id, _line);
create table bronze.ibm_telco as select * from (values
  ('7590-VHVEG', 'Female', 0, 'Yes', 'No', 1, 'No', 'No phone service', 'DSL', 'No', 'Yes', 'No', 'No', 'No', 'No',
   'Month-to-month', 'Yes', 'Electronic check', 29.85, 29.85, 'No', timestamp '2026-01-01 10:00:00', 'b1', 1),
  ('7590-VHVEG', 'Female', 0, 'Yes', 'No', 2, 'No', 'No phone service', 'DSL', 'No', 'Yes', 'No', 'No', 'No', 'No',
   'Month-to-month', 'Yes', 'Electronic check', 29.85, 59.70, 'Yes', timestamp '2026-02-01 10:00:00', 'b2', 1),
  ('5575-GNVDE', 'Male', 1, 'No', 'No', 0, 'Yes', 'No', 'DSL', 'Yes', 'No', 'Yes', 'No', 'No', 'No',
   'One year', 'No', 'Mailed check', 56.95, null, 'No', timestamp '2026-01-01 10:00:00', 'b1', 2)
) as t(customerID, gender, SeniorCitizen, Partner, Dependents, tenure, PhoneService, MultipleLines, InternetService,
  OnlineSecurity, OnlineBackup, DeviceProtection, TechSupport, StreamingTV, StreamingMovies, Contract,
  PaperlessBilling, PaymentMethod, MonthlyCharges, TotalCharges, Churn, _ingested_at, _batch_id, _line);`);
});

afterAll(async () => {
  await wh.close();
});

function dedupe(dialect: SqlDialect): string {
  const q = dialect === bigqueryDialect ? bigqueryIdent : ident;
  return renderSql(
    "silver",
    "dedupe",
    {
      columns: ["customer_id", "name", "uf"].map((n) => `${q(n)} AS ${q(n)}`).join(", "),
      bronze: "bronze.crm_customers",
      primary_key: q("customer_id"),
    },
    dialect,
  );
}

function csvTraining(dialect: SqlDialect, silver: string): string {
  const q = dialect === bigqueryDialect ? bigqueryIdent : ident;
  return renderSql(
    "gold",
    "csv_training",
    {
      id: q("customer_id"),
      target: q("uf"),
      positive: ["sp", "mg"].map(lit).join(", "),
      features: q("name"),
      silver,
    },
    dialect,
  );
}

const ibmSilver = (d: SqlDialect) => renderSql("silver", "ibm_telco", { bronze: "bronze.ibm_telco" }, d);
const ibmGold = (d: SqlDialect, silver: string) => renderSql("gold", "ibm_telco_training", { silver }, d);

describe("ingestion SQL rendered for BigQuery", () => {
  it.each([
    ["silver/dedupe", dedupe(bigqueryDialect)],
    [
      "silver/conform",
      renderSql("silver", "conform", { columns: "`a` AS `b`", bronze: "bronze.t" }, bigqueryDialect),
    ],
    ["silver/ibm_telco", ibmSilver(bigqueryDialect)],
    ["gold/ibm_telco_training", ibmGold(bigqueryDialect, "silver.ibm_telco")],
    ["gold/csv_training", csvTraining(bigqueryDialect, "silver.crm_customers")],
  ])("%s parses with the BigQuery grammar", (_name, sql) => {
    expect(() => parser.astify(sql, { database: "bigquery" })).not.toThrow();
    expect(sql).not.toMatch(/\bqualify\b|\bvarchar\b|\bdouble\b|"/i);
  });

  it("quotes identifiers with backticks for BigQuery", () => {
    expect(bigqueryIdent("Total Charges")).toBe("`Total Charges`");
    expect(bigqueryIdent("a`b")).toBe("`a\\`b`");
    expect(ident('a"b')).toBe('"a""b"');
  });
});

describe("the BigQuery logic gives the DuckDB rows", () => {
  it("dedupe keeps the latest row per key (later batch, then later line)", async () => {
    const local = await wh.query(`${dedupe(duckdbDialect)} ORDER BY customer_id`);
    expect(local).toEqual([
      { customer_id: "C1", name: "Ana Maria", uf: "SP" },
      { customer_id: "C2", name: "Bia", uf: "RJ" },
      { customer_id: "C3", name: "Caio", uf: "MG" },
    ]);
    expect(await wh.query(`${dedupe(bigqueryLogicOnDuckdb)} ORDER BY customer_id`)).toEqual(local);
  });

  it("IBM Telco silver and gold: latest delivery, typed flags, tenure-0 charges as 0", async () => {
    const run = (d: SqlDialect) => wh.query(`${ibmGold(d, `(${ibmSilver(d)})`)}`);
    const local = await run(duckdbDialect);
    expect(local.map((r) => [r.customer_id, r.label, r.tenure_months, r.total_charges, r.partner])).toEqual([
      ["5575-GNVDE", 0, 0, 0, "No"],
      ["7590-VHVEG", 1, 2, 59.7, "Yes"],
    ]);
    expect(await run(bigqueryLogicOnDuckdb)).toEqual(local);
  });

  it("user CSV gold: label from the positive spellings", async () => {
    const run = (d: SqlDialect) => wh.query(csvTraining(d, `(${dedupe(d)})`));
    const local = await run(duckdbDialect);
    expect(local.map((r) => [r.customer_id, r.label])).toEqual([
      ["C1", 1],
      ["C2", 0],
      ["C3", 1],
    ]);
    expect(await run(bigqueryLogicOnDuckdb)).toEqual(local);
  });
});

describe("IBM Telco over a loaded bronze table (conformed names, no _line)", () => {
  it("the delivered names are put back: BigQuery text parses, its DuckDB twin gives the local rows", async () => {
    const [contract] = loadDatasetContracts("ibm-telco");
    const names = conformedNames(contract.columns.map((c) => c.name));
    // the fixture's bronze.ibm_telco as a load job leaves it: conformed names, no _line
    await wh.exec(
      `create or replace table bronze.ibm_telco_loaded as select ${contract.columns
        .map((c) => `${ident(c.name)} as ${ident(names.get(c.name) as string)}`)
        .join(", ")}, _ingested_at, _batch_id from bronze.ibm_telco`,
    );
    const bronze = (q: (n: string) => string) =>
      ibmBronzeAsDelivered(contract, q).replace("FROM bronze.ibm_telco)", "FROM bronze.ibm_telco_loaded)");
    const bqSilver = renderSql(
      "silver",
      "ibm_telco",
      { bronze: ibmBronzeAsDelivered(contract, bigqueryIdent) },
      bigqueryDialect,
    );
    expect(bqSilver).toContain("`customer_id` AS `customerID`");
    expect(() => parser.astify(bqSilver, { database: "bigquery" })).not.toThrow();
    const run = (d: SqlDialect, rel: string) =>
      wh.query(`${ibmGold(d, `(${ibmSilver(d).replace("bronze.ibm_telco", rel)})`)}`);
    const local = await run(duckdbDialect, "bronze.ibm_telco");
    expect(await run(bigqueryLogicOnDuckdb, bronze(ident))).toEqual(local);
  });
});

describe("CSV contract inference rendered for BigQuery", () => {
  const header = ["customer_id", "MonthlyCharges", "Tenure", "Active", "Since", "Churn"];
  const values = [
    ["c1", "10.5", "3", "true", "2024-01-02", "Yes"],
    ["c2", "20", "4", "false", "2024-02-03", "No"],
    ["c3", "", "5", "TRUE", "", "No"],
  ];
  const opts = {
    path: "/x/churn.csv",
    header,
    delimiter: ",",
    name: "churn",
    target: "Churn",
    id: "customer_id",
    positive: undefined,
  };
  const relation = "t_infer";
  const cols = header.map((_, i) => `c${i}`);

  beforeAll(async () => {
    await wh.exec(
      `create or replace table ${relation} as select * from (values ${values
        .map((r) => `(${r.map(lit).join(", ")})`)
        .join(", ")}) as t(${cols.join(", ")})`,
    );
  });

  it("parses with the BigQuery grammar, counting with SAFE_CAST and COUNTIF", () => {
    const sql = inferenceSql("bronze._load_infer_churn_b1", cols.map(bigqueryIdent), 5, bigqueryDialect);
    expect(sql.stats).toContain(
      "countif(nullif(trim(`c1`), '') is not null and (safe_cast(nullif(trim(`c1`), '') as int64) is null",
    );
    for (const q of [sql.stats, sql.targets])
      expect(() => parser.astify(q, { database: "bigquery" })).not.toThrow();
  });

  it("infers on the BigQuery logic (DuckDB twin) the contract the local inference infers", async () => {
    const infer = async (d: SqlDialect) => {
      const sql = inferenceSql(relation, cols, 5, d);
      const [stats] = await wh.query(sql.stats);
      const targets = await wh.query<{ v: string }>(sql.targets);
      return contractFromInference(
        opts,
        stats,
        targets.map((r) => r.v),
      ).columns.map((c) => [c.name, c.type]);
    };
    const local = await infer(duckdbDialect);
    expect(local).toEqual([
      ["customer_id", "string"],
      ["MonthlyCharges", "number"],
      ["Tenure", "integer"],
      ["Active", "boolean"],
      ["Since", "date"],
      ["Churn", "string"],
    ]);
    expect(await infer(bigqueryLogicOnDuckdb)).toEqual(local);
  });

  it("follows BigQuery's casts where they differ from DuckDB's: '1.0' is no INT64, 'yes' no BOOL", async () => {
    await wh.exec(
      `create or replace table t_infer2 as select * from (values ('c1', '1.0', 'yes', 'Yes'), ('c2', '2', 'no', 'No')) as t(c0, c1, c2, c3)`,
    );
    const o = { ...opts, header: ["customer_id", "Amount", "Flag", "Churn"] };
    const infer = async (d: SqlDialect) => {
      const sql = inferenceSql("t_infer2", ["c0", "c1", "c2", "c3"], 3, d);
      const [stats] = await wh.query(sql.stats);
      const targets = await wh.query<{ v: string }>(sql.targets);
      return contractFromInference(
        o,
        stats,
        targets.map((r) => r.v),
      ).columns.map((c) => c.type);
    };
    expect(await infer(bigqueryLogicOnDuckdb)).toEqual(["string", "number", "string", "string"]);
  });
});
