import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Parser } from "node-sql-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BigQueryWarehouse } from "../../platform/adapters/gcp/bigquery-warehouse.ts";
import { GcsLake } from "../../platform/adapters/gcp/gcs-lake.ts";
import {
  type FakeBigQuery,
  fakeBigQuery,
  splitStatements,
} from "../../platform/adapters/gcp/testing/fake-bigquery.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { renderCsvIngest, renderIngest } from "./cli.ts";
import { dataContractSchema } from "./contract.ts";
import { freezeContract, userContractPath } from "./contracts.ts";
import { ingestCsv, ingestIbmTelco, ingestPlan, ingestSynthetic, interactionsPlan } from "./sources.ts";
import { tempDir } from "./test-helpers.ts";
import { memoryBucket } from "./testing/memory-bucket.ts";
import { loadableContract, loadJsonl } from "./warehouse-ingest.ts";

/**
 * `telco data ingest synthetic|csv` under the gcp profile, end to end against doubles of both
 * services: the real BigQuery client talks to a local fake of the BigQuery REST API, and the lake is
 * GcsLake over an in-memory bucket. Checked: the delivered files land in the bucket's raw layer, one
 * load job per file reads them from there (STRING staging schema), the typing script partitions and
 * clusters bronze and inserts rejects into bronze._quarantine, the batch and delivery identity are
 * recorded, and the printed report counts loaded rows and quarantined ones with their reasons.
 */

/** What the fake answers, changed per test. */
const state = {
  /** Populations meta.delivery_identities holds. */
  populations: [] as { population: string; identity: string; batch_id: string }[],
  /** Bronze rows per table for the batch; quarantine reasons per table. */
  bronzeRows: {} as Record<string, number>,
  /** Quarantined rows per table by kind of reason (what quarantineReasonsSql returns). */
  reasons: {} as Record<string, { kind: string | null; n: number }[]>,
  /** The batch meta.raw_files names for a content hash already ingested (none: every file is new). */
  seenIn: undefined as string | undefined,
};

let fake: FakeBigQuery;
let home: string;

function gcpApp(): { app: AppContext; bucket: ReturnType<typeof memoryBucket> } {
  const config = configSchema.parse({
    profile: "gcp",
    gcp: { project: "acme", bucket: "gs://acme-lake", region: "US", bigqueryDatasetPrefix: "dev" },
  });
  const base = contextFromConfig(config, home);
  const bucket = memoryBucket();
  const lake = new GcsLake({ bucket: "gs://acme-lake", prefix: "lake", client: bucket });
  const wh = new BigQueryWarehouse({
    project: "acme",
    location: "US",
    datasetPrefix: "dev",
    apiEndpoint: fake.url,
  });
  // The composition root's gcp adapters, pointed at the doubles (the bucket cannot be reached by URL).
  return { app: { ...base, lake: () => lake, warehouse: async () => wh }, bucket };
}

/** Statements of the non-dry queries the fake received from `from` on that BigQuery's grammar refuses. */
const unparsedSince = (from: number) =>
  fake.queries
    .slice(from)
    .filter((q) => !q.dryRun)
    .flatMap((q) => splitStatements(q.sql))
    .filter((x) => !/^(BEGIN|COMMIT) TRANSACTION$/.test(x))
    .filter((x) => {
      try {
        new Parser().astify(x, { database: "bigquery" });
        return false;
      } catch {
        return true;
      }
    });

const tableOf = (sql: string, from: string) => new RegExp(`${from}\\.(\\w+)`).exec(sql)?.[1] ?? "";

beforeAll(async () => {
  process.env.METADATA_SERVER_DETECTION = "none";
  home = tempDir("telco-gcp-ingest-");
  fake = await fakeBigQuery({
    loadOutcome: (uris) =>
      uris[0].endsWith("-customers.csv.jsonl")
        ? {
            outputRows: 40,
            badRecords: 1,
            errors: [{ message: "Too many values in row starting at position: 912.", location: "line 7" }],
          }
        : { outputRows: 25, badRecords: 0 },
    rowsFor: (sql) => {
      if (/INFORMATION_SCHEMA\.TABLES WHERE table_name = 'delivery_identities'/.test(sql))
        return [{ t: state.populations.length > 0 ? "1" : "0" }];
      if (sql.includes("FROM dev_meta.delivery_identities WHERE dataset"))
        return state.populations.map((p) => ({ ...p }));
      if (sql.startsWith("select count(*) as n from dev_bronze._quarantine")) {
        const t = /table_name = '(\w+)'/.exec(sql)?.[1] ?? "";
        return [{ n: String((state.reasons[t] ?? []).reduce((a, r) => a + r.n, 0)) }];
      }
      if (sql.startsWith("SELECT CASE WHEN reason LIKE 'duplicate key%'")) {
        const t = /table_name = '(\w+)'/.exec(sql)?.[1] ?? "";
        return (state.reasons[t] ?? []).map((r) => ({ kind: r.kind, n: String(r.n) }));
      }
      if (/^SELECT count\(\*\) AS n FROM dev_bronze\.\w+ WHERE _batch_id/.test(sql))
        return [{ n: String(state.bronzeRows[tableOf(sql, "dev_bronze")] ?? 0) }];
      if (sql.startsWith("SELECT batch_id FROM dev_meta.raw_files WHERE"))
        return state.seenIn ? [{ batch_id: state.seenIn }] : [];
      if (sql.startsWith("SELECT count(nullif(trim(`customer_id`), '')) AS k0_n")) {
        // customer_id: text; MonthlyCharges: one value not an integer, all numbers; Churn: text
        const k = (i: number, fails: number[]) =>
          Object.fromEntries(
            ["n", "int", "num", "dcomma", "bool", "date", "ts"].map((c, j) => [
              `k${i}_${c}`,
              String(j === 0 ? 2 : fails[j - 1]),
            ]),
          );
        return [{ ...k(0, [2, 2, 2, 2, 2, 2]), ...k(1, [1, 0, 1, 2, 2, 2]), ...k(2, [2, 2, 2, 2, 2, 2]) }];
      }
      if (sql.startsWith("SELECT DISTINCT trim(`churn`) AS v")) return [{ v: "No" }, { v: "Yes" }];
      if (/INFORMATION_SCHEMA\.COLUMNS/.test(sql)) return [{ column_name: "id", column_type: "STRING" }];
      if (sql.includes("farm_fingerprint")) return [{ n: "20", h: "42" }];
      if (sql.includes("sum(label) AS pos")) return [{ pos: "3", n: "9" }];
      return [];
    },
  });
});
afterAll(async () => {
  await fake.close();
});

describe("telco data ingest synthetic under the gcp profile (fake BigQuery, in-memory GCS)", () => {
  let delivery: string;
  beforeAll(async () => {
    const gen = await generateOperatorData({
      customers: 40,
      seed: 3,
      months: 2,
      start: "2025-01",
      dirtyRate: 0,
      outDir: join(home, "deliveries", "synthetic", "d1"),
    });
    delivery = gen.outDir;
  });

  it("uploads the raw files, loads them by load jobs into partitioned bronze and quarantines rejects", async () => {
    state.populations = [];
    state.bronzeRows = { crm_customers: 38, billing_invoices: 25 };
    state.reasons = {
      crm_customers: [
        { kind: "below minimum", n: 1 },
        { kind: "unreadable", n: 1 },
      ],
    };
    const { app, bucket } = gcpApp();
    const before = fake.requests.length;
    const queriesBefore = fake.queries.length;
    const report = await ingestSynthetic(app, delivery, { now: new Date("2026-12-07T10:00:00Z") });

    // raw: every delivered file (and the manifest) is in the bucket under the batch
    const raw = [...bucket.objects.keys()].filter((k) => k.startsWith("lake/raw/synthetic/"));
    expect(raw).toContain(`lake/raw/synthetic/crm/ingest_date=2026-12-07/${report.batchId}/customers.csv`);
    expect(raw).toContain(
      `lake/raw/synthetic/_delivery/ingest_date=2026-12-07/${report.batchId}/manifest.json`,
    );
    expect(
      bucket.objects
        .get(`lake/raw/synthetic/crm/ingest_date=2026-12-07/${report.batchId}/customers.csv`)
        ?.toString(),
    ).toMatch(/^customer_id,/);

    // the JSONL copies the load jobs read were staged beside raw and are gone after the commit
    expect([...bucket.objects.keys()].filter((k) => k.includes("/_staging/"))).toEqual([]);
    const staged = [...bucket.uploads.keys()].filter((k) => k.includes(`/_staging/${report.batchId}/`));
    expect(staged).toHaveLength(report.files.length);

    // one load job per table, from the bucket's staging prefix, JSONL mapped by name into STRING columns
    const loads = fake.requests
      .slice(before)
      .map((r) => (r.body?.configuration as { load?: Record<string, unknown> } | undefined)?.load)
      .filter((l) => l !== undefined);
    expect(loads).toHaveLength(report.files.length);
    const customers = loads.find((l) => String(l.sourceUris).endsWith("-customers.csv.jsonl")) as Record<
      string,
      unknown
    >;
    expect(customers).toMatchObject({
      sourceFormat: "NEWLINE_DELIMITED_JSON",
      ignoreUnknownValues: true,
      destinationTable: { projectId: "acme", datasetId: "dev_bronze" },
      writeDisposition: "WRITE_TRUNCATE",
    });
    expect(String(customers.sourceUris)).toMatch(
      new RegExp(
        `^gs://acme-lake/lake/raw/synthetic/_staging/${report.batchId}/\\d+-customers\\.csv\\.jsonl$`,
      ),
    );
    const fields = (customers.schema as { fields: { name: string; type: string }[] }).fields;
    expect(fields[0]).toMatchObject({ name: "customer_id", type: "STRING" });
    expect(fields.at(-1)).toMatchObject({ name: "_line", type: "INTEGER" });
    expect(new Set(fields.slice(0, -1).map((f) => f.type))).toEqual(new Set(["STRING"]));

    // DDL first (BigQuery runs none inside a transaction): bronze partitioned by month of the event
    // time and clustered by the key
    const setup = fake.queries.find((q) =>
      q.sql.includes("create table if not exists dev_bronze.crm_customers"),
    );
    expect(setup?.sql).toMatch(
      /create table if not exists dev_bronze\.crm_customers \(.*\) partition by date_trunc\(`signup_date`, month\) cluster by `customer_id`/,
    );
    // then one transaction: bronze, quarantine (contract failures, duplicate keys, the unreadable
    // line) and the meta rows of the batch
    const tx = fake.queries.filter((q) => q.sql.startsWith("BEGIN TRANSACTION;")).at(-1)?.sql ?? "";
    expect(tx).toMatch(/;\nCOMMIT TRANSACTION;$/);
    expect(tx).toMatch(
      /insert into dev_bronze\.crm_customers \(`customer_id`, [^)]*, _batch_id, _ingested_at\) select /,
    );
    expect(tx).toMatch(/insert into dev_bronze\._quarantine select 'crm_customers' as table_name/);
    expect(tx).toContain("'duplicate key (' || 'customer_id=' || coalesce(");
    expect(tx).toContain(
      `insert into dev_bronze._quarantine values ('crm_customers', '${report.batchId}', 'unreadable: line 7: Too many values in row starting at position: 912.'`,
    );
    expect(tx.match(/INSERT INTO dev_meta\.raw_files VALUES/g)).toHaveLength(report.files.length);
    expect(tx).toContain(
      `INSERT INTO dev_meta.ingestion_batches VALUES ('${report.batchId}', 'synthetic', TIMESTAMP '2026-12-07T10:00:00.000Z'`,
    );
    expect(tx).toMatch(
      /INSERT INTO dev_meta\.delivery_identities VALUES \('[^']+', 'synthetic', 'aurora-telecom-simulator seed=3 customers=40 start=2025-01'/,
    );
    // every statement of the transaction parses with the BigQuery grammar
    const parser = new Parser();
    for (const stmt of splitStatements(tx).filter((x) => !/^(BEGIN|COMMIT) TRANSACTION$/.test(x))) {
      expect(() => parser.astify(stmt, { database: "bigquery" }), stmt.slice(0, 80)).not.toThrow();
    }
    // and so does every other statement the ingest sent (the harness: what the fake received)
    const unparsed = fake.queries
      .slice(queriesBefore)
      .filter((q) => !q.dryRun)
      .flatMap((q) => splitStatements(q.sql))
      .filter((x) => !/^(BEGIN|COMMIT) TRANSACTION$/.test(x))
      .filter((x) => {
        try {
          parser.astify(x, { database: "bigquery" });
          return false;
        } catch {
          return true;
        }
      });
    expect(unparsed).toEqual([]);
    // end state in BigQuery: the batch's meta rows, no staging table left
    expect(fake.held.get("dev_meta.raw_files")?.filter((r) => r.includes(report.batchId))).toHaveLength(
      report.files.length,
    );
    expect([...fake.held.keys()].filter((t) => t.includes("._load_"))).toEqual([]);

    // silver from bronze by BigQuery SQL that parses with a BigQuery grammar
    const silver = fake.queries.find((q) =>
      q.sql.startsWith("create or replace table dev_silver.crm_customers"),
    );
    expect(silver?.sql).toContain(
      "FROM (SELECT *, CAST(NULL AS INT64) AS _line FROM dev_bronze.crm_customers)",
    );
    expect(() => new Parser().astify(silver?.sql ?? "", { database: "bigquery" })).not.toThrow();
    const sent = fake.queries.map((q) => q.sql);

    // the optional source this delivery lacks exists as empty typed tables
    expect(
      sent.some((s) =>
        /CREATE TABLE IF NOT EXISTS dev_silver\.crm_interactions \(`interaction_id` STRING/.test(s),
      ),
    ).toBe(true);

    // the report: loaded rows and quarantined rows with reasons, as the CLI prints them
    const file = report.files.find((f) => f.file === "crm/customers.csv");
    expect(file).toMatchObject({
      status: "ingested",
      rows: 38,
      rejects: 2,
      // counted under the local report's labels (reasons.ts)
      rejectReasons: { "out of range": 1, unreadable: 1 },
    });
    expect(report.files.find((f) => f.file === "billing/invoices.csv")).toMatchObject({
      rows: 25,
      rejects: 0,
    });
    expect(report.rows).toBe(63);
    expect(report.rejects).toBe(2);
    expect(report.tables.map((t) => t.table)).toContain("silver.crm_customers");
    const printed = renderIngest(report);
    expect(printed).toContain(
      "crm/customers.csv → bronze.crm_customers: 38 rows, 2 quarantined (out of range: 1, unreadable: 1)",
    );
    expect(printed).toContain("billing/invoices.csv → bronze.billing_invoices: 25 rows, 0 quarantined");
    expect(printed).toContain(
      `telco sql "select * from bronze._quarantine where batch_id = '${report.batchId}'"`,
    );
  });

  it("skips files whose content hash meta.raw_files already holds: nothing uploaded, no load job", async () => {
    state.populations = [];
    state.seenIn = "20261201T000000-bbbbbb";
    try {
      const { app, bucket } = gcpApp();
      const before = fake.requests.length;
      const report = await ingestSynthetic(app, delivery);
      expect(report.files.every((f) => f.status === "skipped")).toBe(true);
      expect(report.warnings[0]).toMatch(
        /identical file already ingested in batch 20261201T000000-bbbbbb; skipped/,
      );
      expect(bucket.objects.size).toBe(0);
      const loads = fake.requests
        .slice(before)
        .filter((r) => (r.body?.configuration as { load?: unknown })?.load);
      expect(loads).toHaveLength(0);
      expect(renderIngest(report)).toContain(
        "crm/customers.csv → bronze.crm_customers: skipped (already ingested)",
      );
    } finally {
      state.seenIn = undefined;
    }
  });

  it("refuses a delivery of another population, read through BigQuery SQL", async () => {
    state.populations = [
      {
        population: "aurora-telecom-simulator seed=9 customers=10 start=2024-01",
        identity: JSON.stringify({ seed: 9 }),
        batch_id: "20261201T000000-aaaaaa",
      },
    ];
    const { app, bucket } = gcpApp();
    await expect(ingestSynthetic(app, delivery)).rejects.toThrow(/another simulation .* seed=9 customers=10/);
    const asked = fake.queries
      .filter((q) => q.sql.includes("FROM dev_meta.delivery_identities WHERE dataset"))
      .at(-1);
    expect(asked?.sql).toContain("max_by(identity, batch_id) AS identity");
    expect(() =>
      new Parser().astify(asked?.sql.replace("?", "'synthetic'") ?? "", { database: "bigquery" }),
    ).not.toThrow();
    expect(bucket.objects.size).toBe(0);
  });
});

describe("telco data ingest csv under the gcp profile", () => {
  const csv = (dir: string) => {
    const path = join(dir, "churn.csv");
    writeFileSync(path, "customer_id,MonthlyCharges,Churn\nc1,10.5,Yes\nc2,20,No\n");
    return path;
  };
  const contract = (extra: Record<string, unknown> = {}) =>
    dataContractSchema.parse({
      name: "my_churn",
      version: 1,
      dataset: "my-churn",
      source: "user",
      format: "csv",
      file: "churn.csv",
      primaryKey: ["customer_id"],
      columns: [
        { name: "customer_id", type: "string", nullable: false },
        { name: "MonthlyCharges", type: "number" },
        { name: "Churn", type: "string" },
      ],
      training: { target: "Churn", positive: "yes" },
      ...extra,
    });

  it("loads a file with a frozen contract and builds gold with conformed names", async () => {
    state.populations = [];
    state.bronzeRows = { my_churn: 2 };
    state.reasons = {};
    const dir = tempDir("telco-gcp-csv-");
    freezeContract(userContractPath(dir, "my-churn"), contract());
    const { app } = gcpApp();
    const report = await ingestCsv(app, csv(dir), { name: "my-churn", target: "Churn", contractDir: dir });
    const gold = fake.queries.find((q) =>
      q.sql.startsWith("create or replace table dev_gold.my_churn_training"),
    );
    expect(gold?.sql).toMatch(/cluster by customer_id as SELECT/);
    expect(gold?.sql).toContain(
      "CAST(lower(trim(cast(`churn` as string))) IN ('yes') AS INTEGER) AS label,\n  `monthly_charges`\nFROM",
    );
    // the load names the columns as local silver does (conformed), whatever the header's spelling
    const load = fake.requests
      .map(
        (r) =>
          (r.body?.configuration as { load?: { schema: { fields: { name: string }[] } } } | undefined)?.load,
      )
      .filter((l) => l !== undefined)
      .at(-1);
    expect(load?.schema.fields.map((f) => f.name)).toEqual([
      "customer_id",
      "monthly_charges",
      "churn",
      "_line",
    ]);
    expect(gold?.sql).toContain("FROM dev_silver.my_churn");
    expect(() => new Parser().astify(gold?.sql ?? "", { database: "bigquery" })).not.toThrow();
    expect(report.labels).toMatchObject({ positives: 3, negatives: 6 });
    expect(report.tables.map((t) => t.table)).toEqual([
      "bronze.my_churn",
      "silver.my_churn",
      "gold.my_churn_training",
    ]);
    expect(renderCsvIngest(report)).toContain("churn.csv → bronze.my_churn: 2 rows, 0 quarantined");
  });

  it("infers the contract in BigQuery (staging load, SAFE_CAST counts) when none is frozen; conforms column names", async () => {
    state.populations = [];
    state.bronzeRows = { my_churn: 2 };
    state.reasons = {};
    const dir = tempDir("telco-gcp-infer-");
    const { app, bucket } = gcpApp();
    const before = fake.queries.length;
    const report = await ingestCsv(app, csv(dir), { name: "my-churn", target: "Churn", contractDir: dir });
    expect(report.contractInferred).toBe(true);
    // the counts BigQuery answered (see rowsFor) made MonthlyCharges a number, the id and target text
    expect(
      JSON.parse(readFileSync(report.contract, "utf8")).columns.map((c: { name: string; type: string }) => [
        c.name,
        c.type,
      ]),
    ).toEqual([
      ["customer_id", "string"],
      ["MonthlyCharges", "number"],
      ["Churn", "string"],
    ]);
    const asked = fake.queries.slice(before).map((q) => q.sql);
    const stats = asked.find((q) => q.startsWith("SELECT count(nullif(trim(`customer_id`), '')) AS k0_n"));
    expect(stats).toContain("countif(nullif(trim(`monthly_charges`), '') is not null and (safe_cast(");
    expect(stats).toMatch(/FROM dev_bronze\._load_infer_my_churn_infer_\w+$/);
    expect(() => new Parser().astify(stats ?? "", { database: "bigquery" })).not.toThrow();
    const targets = asked.find((q) => q.startsWith("SELECT DISTINCT trim(`churn`) AS v"));
    expect(() => new Parser().astify(targets ?? "", { database: "bigquery" })).not.toThrow();
    // the inference's staging table and objects are gone; the ingest that followed loaded the file
    expect(asked.some((q) => /^drop table dev_bronze\._load_infer_my_churn_/.test(q))).toBe(true);
    expect([...fake.held.keys()].filter((t) => t.includes("_load_"))).toEqual([]);
    expect([...bucket.objects.keys()].filter((k) => k.includes("_staging"))).toEqual([]);
    expect(report.files[0]).toMatchObject({ status: "ingested", rows: 2 });
    expect(unparsedSince(before)).toEqual([]);

    const spaced = contract();
    spaced.columns[1] = { ...spaced.columns[1], name: "Monthly Charges" };
    // a header BigQuery would not take as column names loads under the conformed names instead
    expect(loadableContract(spaced).columns.map((c) => c.name)).toEqual([
      "customer_id",
      "monthly_charges",
      "churn",
    ]);
    expect(loadableContract(spaced).training?.target).toBe("churn");
  });

  it("gives a CSV without an id column the local path's row ids (<file>:<line>) before the load", async () => {
    const dir = tempDir("telco-gcp-rowid-");
    const path = join(dir, "odd.csv");
    // a BOM, a quoted field over two lines, a blank line, CRLF endings and a ragged row
    writeFileSync(
      path,
      '\uFEFFMonthlyCharges,Churn,note\r\n10.5,Yes,plain\r\n20,No,"two\r\nlines"\r\n\r\n30,Yes,"a ""quote"""\r\n40,No\r\n50,No,last\r\n',
    );
    const withRowId = contract({
      columns: [
        { name: "MonthlyCharges", type: "number" },
        { name: "Churn", type: "string" },
        { name: "note", type: "string", nullable: true },
      ],
      rowId: "row_id",
      primaryKey: ["row_id"],
    });
    const out = join(dir, "odd.jsonl");
    const { records } = await loadJsonl(path, withRowId, "odd.csv", out);
    const lines = readFileSync(out, "utf8").trimEnd().split("\n");
    expect(records).toBe(5);
    expect(lines.slice(0, 3).map((l) => JSON.parse(l))).toEqual([
      { _line: 2, row_id: "odd.csv:2", monthly_charges: "10.5", churn: "Yes", note: "plain" },
      { _line: 3, row_id: "odd.csv:3", monthly_charges: "20", churn: "No", note: "two\nlines" },
      { _line: 6, row_id: "odd.csv:6", monthly_charges: "30", churn: "Yes", note: 'a "quote"' },
    ]);
    expect(lines[3]).toBe("ragged row: line 7 has 2 fields, the header has 3");
    expect(JSON.parse(lines[4])).toEqual({
      _line: 8,
      row_id: "odd.csv:8",
      monthly_charges: "50",
      churn: "No",
      note: "last",
    });

    // the same file through the local bronze stage gives the same ids to the same rows
    const local = contextFromConfig(configSchema.parse({}), tempDir("telco-local-rowid-"));
    try {
      await ingestCsv(local, path, { name: "odd", target: "Churn", positive: "yes" });
      const rows = await (await local.warehouse()).query<{ row_id: string; monthly_charges: number }>(
        "SELECT row_id, monthly_charges FROM silver.odd ORDER BY monthly_charges",
      );
      expect(rows.map((r) => [r.row_id, Number(r.monthly_charges)])).toEqual([
        ["odd.csv:2", 10.5],
        ["odd.csv:3", 20],
        ["odd.csv:6", 30],
        ["odd.csv:8", 50],
      ]);
    } finally {
      await local.close();
    }

    // under gcp the JSONL copy is what the load job reads, and silver/gold key by the row id
    state.populations = [];
    state.bronzeRows = { odd: 4 };
    state.reasons = { odd: [{ kind: "unreadable", n: 1 }] };
    const schemas = tempDir("telco-gcp-rowid-schemas-");
    freezeContract(userContractPath(schemas, "odd"), {
      ...withRowId,
      name: "odd",
      dataset: "odd",
      file: "odd.csv",
    });
    const { app, bucket } = gcpApp();
    const before = fake.requests.length;
    const report = await ingestCsv(app, path, { name: "odd", target: "Churn", contractDir: schemas });
    const load = fake.requests
      .slice(before)
      .map((r) => (r.body?.configuration as { load?: Record<string, unknown> } | undefined)?.load)
      .find((l) => l !== undefined);
    const key = `lake/raw/odd/_staging/${report.batchId}/0-odd.csv.jsonl`;
    expect(load).toMatchObject({
      sourceUris: [`gs://acme-lake/${key}`],
      sourceFormat: "NEWLINE_DELIMITED_JSON",
    });
    expect((load?.schema as { fields: { name: string }[] } | undefined)?.fields.map((f) => f.name)).toEqual([
      "row_id",
      "monthly_charges",
      "churn",
      "note",
      "_line",
    ]);
    // what the load job read; a staging object, deleted once the batch committed
    expect(bucket.uploads.get(key)?.toString()).toBe(readFileSync(out, "utf8"));
    expect(bucket.objects.has(key)).toBe(false);
    expect(
      bucket.objects.has(`lake/raw/odd/user/ingest_date=${report.ingestDate}/${report.batchId}/odd.csv`),
    ).toBe(true);
    const silver = fake.queries
      .filter((q) => q.sql.startsWith("create or replace table dev_silver.odd "))
      .at(-1);
    // silver dedupes on the row id, compared as the checks see a string (without spaces)
    expect(silver?.sql).toContain("PARTITION BY NULLIF(trim(`row_id`, ' '), '')");
    const gold = fake.queries
      .filter((q) => q.sql.startsWith("create or replace table dev_gold.odd_training"))
      .at(-1);
    expect(gold?.sql).toContain("cast(`row_id` as string) AS customer_id");
    expect(report.files[0]).toMatchObject({ rows: 4, rejects: 1 });
  });
});

describe("loadJsonl: the copy a load job reads", () => {
  const c = (format: "csv" | "jsonl") =>
    dataContractSchema.parse({
      name: "t",
      version: 1,
      dataset: "t",
      source: "user",
      format,
      file: `t.${format}`,
      primaryKey: ["id"],
      columns: [
        { name: "id", type: "string" },
        { name: "Note", type: "string", nullable: true },
        { name: "n", type: "number", nullable: true },
      ],
    });

  it("keeps every character of a CSV cell (escapes, tabs, backslashes, accents, emoji, control characters)", async () => {
    const dir = tempDir("telco-jsonl-");
    const cells = ["tab\there", "back\\slash", 'say "hi"', "ação", "🙂 ok", "bell\u0007", "line\u2028sep"];
    const path = join(dir, "t.csv");
    writeFileSync(
      path,
      `n,Note,id,other\n${cells.map((v, i) => `${i},"${v.replaceAll('"', '""')}",k${i},x`).join("\n")}\n`,
    );
    const out = join(dir, "t.jsonl");
    const r = await loadJsonl(path, c("csv"), "t.csv", out);
    expect(r).toEqual({
      records: cells.length,
      columns: ["n", "Note", "id", "other"],
      extras: new Map([["other", "other"]]),
    });
    const rows = readFileSync(out, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((o) => o.note)).toEqual(cells);
    // the column the contract lacks is written too (bronze keeps it as text)
    expect(rows[0]).toEqual({ _line: 2, id: "k0", note: cells[0], n: "0", other: "x" });
  });

  it("turns JSONL values into text, keeps extra keys under snake_case names, and writes a line BigQuery cannot read for a non-object", async () => {
    const dir = tempDir("telco-jsonl-");
    const path = join(dir, "t.jsonl");
    writeFileSync(
      path,
      [
        JSON.stringify({ id: "a", Note: { x: 1 }, n: 1.5, extra: true, "Plan Name": "x", _batch_id: "z" }),
        "",
        "[1, 2]",
        "{not json",
        JSON.stringify({ id: "b", n: null }),
      ].join("\n"),
    );
    const out = join(dir, "t.out");
    const r = await loadJsonl(path, c("jsonl"), "t.jsonl", out);
    expect(r.records).toBe(4);
    expect(new Set(r.columns)).toEqual(new Set(["id", "Note", "n", "extra", "Plan Name", "_batch_id"]));
    // snake_case names, as the contract's columns get (a leading _ dropped: no clash with _batch_id)
    expect(r.extras).toEqual(
      new Map([
        ["extra", "extra"],
        ["Plan Name", "plan_name"],
        ["_batch_id", "batch_id"],
      ]),
    );
    const lines = readFileSync(out, "utf8").trimEnd().split("\n");
    expect(JSON.parse(lines[0])).toEqual({
      _line: 1,
      id: "a",
      note: '{"x":1}',
      n: "1.5",
      extra: "true",
      plan_name: "x",
      batch_id: "z",
    });
    expect(lines[1]).toBe("not a JSON object: line 3");
    expect(lines[2]).toBe("not a JSON object: line 4");
    expect(JSON.parse(lines[3])).toEqual({ _line: 5, id: "b", n: null });
  });
});

describe("telco data ingest interactions / ibm-telco under the gcp profile", () => {
  it("loads exported interactions (JSONL) by a load job", async () => {
    state.populations = [];
    state.bronzeRows = { crm_interactions: 1 };
    state.reasons = {};
    const dir = tempDir("telco-gcp-interactions-");
    mkdirSync(join(dir, "crm"));
    writeFileSync(
      join(dir, "crm", "interactions.jsonl"),
      `${JSON.stringify({
        interaction_id: "i1",
        customer_id: "c1",
        channel: "chat",
        category: "billing",
        summary: null,
        sentiment: "neutral",
        outcome: "resolved",
        offers_made: null,
        offer_accepted: null,
        protocol: "P1",
        created_at: "2026-12-01T10:00:00Z",
      })}\n`,
    );
    const { app, bucket } = gcpApp();
    const before = fake.requests.length;
    const report = await ingestPlan(app, interactionsPlan(dir));
    const load = fake.requests
      .slice(before)
      .map((r) => (r.body?.configuration as { load?: Record<string, unknown> } | undefined)?.load)
      .find((l) => l !== undefined);
    expect(load).toMatchObject({
      sourceFormat: "NEWLINE_DELIMITED_JSON",
      sourceUris: [`gs://acme-lake/lake/raw/synthetic/_staging/${report.batchId}/0-interactions.jsonl.jsonl`],
    });
    expect(report.files).toMatchObject([{ file: "crm/interactions.jsonl", status: "ingested", rows: 1 }]);
    expect([...bucket.objects.keys()]).toEqual([
      `lake/raw/synthetic/crm/ingest_date=${report.ingestDate}/${report.batchId}/interactions.jsonl`,
    ]);
  });

  /** An IBM Telco file with the contract's 21 columns; `rows` are [customerID, tenure, TotalCharges, Churn]. */
  const ibmFile = (
    dir: string,
    rows: [string, string, string, string][],
    order?: (h: string[]) => string[],
  ) => {
    const header = dataContractSchema
      .parse(
        JSON.parse(
          readFileSync(join(import.meta.dirname, "../../data/schemas/ibm-telco/ibm_telco.json"), "utf8"),
        ),
      )
      .columns.map((c) => c.name);
    const cols = order ? order(header) : header;
    const value = (h: string, [id, tenure, total, churn]: [string, string, string, string]): string =>
      (
        ({
          customerID: id,
          gender: "Female",
          SeniorCitizen: "0",
          tenure,
          MultipleLines: "No",
          InternetService: "DSL",
          Contract: "Month-to-month",
          PaymentMethod: "Electronic check",
          MonthlyCharges: "29.85",
          TotalCharges: total,
          Churn: churn,
        }) as Record<string, string>
      )[h] ?? "Yes";
    const path = join(dir, "telco.csv");
    writeFileSync(
      path,
      [cols.join(","), ...rows.map((r) => cols.map((h) => value(h, r)).join(","))].join("\n"),
    );
    return path;
  };

  it("ingests ibm-telco: bronze by load job, silver and gold from the same SQL files rendered for BigQuery", async () => {
    state.populations = [];
    state.bronzeRows = { ibm_telco: 2 };
    state.reasons = {};
    const dir = tempDir("telco-gcp-ibm-");
    // columns in another order than the contract's: the load maps them by name
    const file = ibmFile(
      dir,
      [
        ["7590-VHVEG", "1", "29.85", "No"],
        ["5575-GNVDE", "0", " ", "Yes"],
      ],
      (h) => [...h].reverse(),
    );
    const { app, bucket } = gcpApp();
    const before = fake.queries.length;
    const report = await ingestIbmTelco(app, file);
    expect(report.files).toMatchObject([
      { file: "telco.csv", table: "bronze.ibm_telco", status: "ingested", rows: 2 },
    ]);
    expect(report.tables.map((t) => t.table)).toEqual([
      "bronze.ibm_telco",
      "silver.ibm_telco",
      "gold.ibm_telco_training",
    ]);
    const staged = [...bucket.uploads.entries()].find(([k]) => k.includes(`/_staging/${report.batchId}/`));
    expect(JSON.parse(staged?.[1].toString().split("\n")[0] ?? "{}")).toMatchObject({
      _line: 2,
      customer_id: "7590-VHVEG",
      senior_citizen: "0",
      total_charges: "29.85",
      churn: "No",
    });
    const sent = fake.queries.slice(before).map((q) => q.sql);
    const silver = sent.find((q) => q.startsWith("create or replace table dev_silver.ibm_telco"));
    expect(silver).toContain("`customer_id` AS `customerID`");
    expect(silver).toContain("FROM dev_bronze.ibm_telco)");
    const gold = sent.find((q) => q.startsWith("create or replace table dev_gold.ibm_telco_training"));
    expect(gold).toContain("FROM dev_silver.ibm_telco");
    for (const q of [silver, gold])
      expect(() => new Parser().astify(q ?? "", { database: "bigquery" })).not.toThrow();
    expect(renderIngest(report)).toContain("telco.csv → bronze.ibm_telco: 2 rows, 0 quarantined");
    expect(unparsedSince(before)).toEqual([]);
  });

  it("refuses an ibm-telco file missing required columns by name, before anything reaches GCS or BigQuery", async () => {
    const dir = tempDir("telco-gcp-ibm-bad-");
    const ibm = join(dir, "telco.csv");
    writeFileSync(ibm, "customerID,Churn\n7590-VHVEG,Yes\n");
    const { app, bucket } = gcpApp();
    const loadsBefore = fake.requests.filter(
      (r) => (r.body?.configuration as { load?: unknown })?.load,
    ).length;
    await expect(ingestIbmTelco(app, ibm)).rejects.toThrow(
      /telco\.csv: missing required column\(s\) gender, SeniorCitizen, Partner, .*TotalCharges \(contract ibm_telco v1\)/,
    );
    expect(bucket.uploads.size).toBe(0);
    expect(fake.requests.filter((r) => (r.body?.configuration as { load?: unknown })?.load)).toHaveLength(
      loadsBefore,
    );
  });
});
