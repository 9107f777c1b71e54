import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Parser } from "node-sql-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BigQueryWarehouse } from "../../platform/adapters/gcp/bigquery-warehouse.ts";
import { type GcsBucketLike, GcsLake } from "../../platform/adapters/gcp/gcs-lake.ts";
import { type FakeBigQuery, fakeBigQuery } from "../../platform/adapters/gcp/testing/fake-bigquery.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { renderCsvIngest, renderIngest } from "./cli.ts";
import { dataContractSchema } from "./contract.ts";
import { freezeContract, userContractPath } from "./contracts.ts";
import { ingestCsv, ingestIbmTelco, ingestPlan, ingestSynthetic, interactionsPlan } from "./sources.ts";
import { tempDir } from "./test-helpers.ts";
import { csvWithRowId, loadableContract, refuseUnloadable } from "./warehouse-ingest.ts";

/**
 * `telco data ingest synthetic|csv` under the gcp profile, end to end against doubles of both
 * services: the real BigQuery client talks to a local fake of the BigQuery REST API, and the lake is
 * GcsLake over an in-memory bucket. Checked: the delivered files land in the bucket's raw layer, one
 * load job per file reads them from there (STRING staging schema), the typing script partitions and
 * clusters bronze and inserts rejects into bronze._quarantine, the batch and delivery identity are
 * recorded, and the printed report counts loaded rows and quarantined ones with their reasons.
 */

/** An in-memory bucket with the method shapes of @google-cloud/storage's Bucket. */
function memoryBucket(): GcsBucketLike & { objects: Map<string, Buffer> } {
  const objects = new Map<string, Buffer>();
  return {
    objects,
    file(name) {
      return {
        async exists() {
          return [objects.has(name)];
        },
        async download() {
          const data = objects.get(name);
          if (!data) throw new Error(`No such object: ${name}`);
          return [data];
        },
        async save(data) {
          objects.set(name, Buffer.from(data));
        },
      };
    },
    async getFiles({ prefix }) {
      return [[...objects.keys()].filter((k) => k.startsWith(prefix)).map((name) => ({ name }))];
    },
    async upload(localPath, { destination }) {
      const { readFileSync } = await import("node:fs");
      objects.set(destination, readFileSync(localPath));
    },
    async deleteFiles({ prefix }) {
      for (const k of [...objects.keys()]) if (k.startsWith(prefix)) objects.delete(k);
    },
  };
}

/** What the fake answers, changed per test. */
const state = {
  /** Populations meta.delivery_identities holds. */
  populations: [] as { population: string; identity: string; batch_id: string }[],
  /** Bronze rows per table for the batch; quarantine reasons per table. */
  bronzeRows: {} as Record<string, number>,
  reasons: {} as Record<string, { reason: string; n: number }[]>,
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

const tableOf = (sql: string, from: string) => new RegExp(`${from}\\.(\\w+)`).exec(sql)?.[1] ?? "";

beforeAll(async () => {
  process.env.METADATA_SERVER_DETECTION = "none";
  home = tempDir("telco-gcp-ingest-");
  fake = await fakeBigQuery({
    loadOutcome: (uris) =>
      uris[0].endsWith("/customers.csv")
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
      if (sql.startsWith("SELECT reason, count(*) AS n FROM dev_bronze._quarantine")) {
        const t = /table_name = '(\w+)'/.exec(sql)?.[1] ?? "";
        return (state.reasons[t] ?? []).map((r) => ({ reason: r.reason, n: String(r.n) }));
      }
      if (/^SELECT count\(\*\) AS n FROM dev_bronze\.\w+ WHERE _batch_id/.test(sql))
        return [{ n: String(state.bronzeRows[tableOf(sql, "dev_bronze")] ?? 0) }];
      if (sql.startsWith("SELECT batch_id FROM dev_meta.raw_files WHERE"))
        return state.seenIn ? [{ batch_id: state.seenIn }] : [];
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
        { reason: "monthly_fee: below 0", n: 1 },
        { reason: "unreadable: line 7: Too many values in row starting at position: 912.", n: 1 },
      ],
    };
    const { app, bucket } = gcpApp();
    const before = fake.requests.length;
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

    // one load job per delivered file, from the bucket, into a STRING staging table
    const loads = fake.requests
      .slice(before)
      .map((r) => (r.body?.configuration as { load?: Record<string, unknown> } | undefined)?.load)
      .filter((l) => l !== undefined);
    expect(loads).toHaveLength(report.files.length);
    const customers = loads.find((l) => String(l.sourceUris).endsWith("/customers.csv")) as Record<
      string,
      unknown
    >;
    expect(customers).toMatchObject({
      sourceUris: [
        `gs://acme-lake/lake/raw/synthetic/crm/ingest_date=2026-12-07/${report.batchId}/customers.csv`,
      ],
      sourceFormat: "CSV",
      skipLeadingRows: 1,
      destinationTable: { projectId: "acme", datasetId: "dev_bronze" },
      writeDisposition: "WRITE_TRUNCATE",
    });
    const fields = (customers.schema as { fields: { name: string; type: string }[] }).fields;
    expect(fields[0]).toMatchObject({ name: "customer_id", type: "STRING" });
    expect(new Set(fields.map((f) => f.type))).toEqual(new Set(["STRING"]));

    // the typing script: bronze partitioned by month of the event time and clustered by the key,
    // contract failures and the unreadable line inserted into the quarantine
    const script = fake.queries.find((q) =>
      q.sql.startsWith("create table if not exists dev_bronze.crm_customers"),
    );
    expect(script?.sql).toMatch(
      /create table if not exists dev_bronze\.crm_customers \(.*\) partition by date_trunc\(`signup_date`, month\) cluster by `customer_id`/,
    );
    expect(script?.sql).toMatch(/insert into dev_bronze\._quarantine select 'crm_customers' as table_name/);
    expect(script?.sql).toContain(
      `insert into dev_bronze._quarantine values ('crm_customers', '${report.batchId}', 'unreadable: line 7: Too many values in row starting at position: 912.'`,
    );

    // silver from bronze by BigQuery SQL that parses with a BigQuery grammar
    const silver = fake.queries.find((q) =>
      q.sql.startsWith("create or replace table dev_silver.crm_customers"),
    );
    expect(silver?.sql).toContain(
      "FROM (SELECT *, CAST(NULL AS INT64) AS _line FROM dev_bronze.crm_customers)",
    );
    expect(() => new Parser().astify(silver?.sql ?? "", { database: "bigquery" })).not.toThrow();

    // the batch, its raw files and the delivery identity are recorded in meta
    const sent = fake.queries.map((q) => q.sql);
    expect(sent.filter((s) => s.startsWith("INSERT INTO dev_meta.raw_files"))).toHaveLength(
      report.files.length,
    );
    expect(sent.find((s) => s.startsWith("INSERT INTO dev_meta.ingestion_batches"))).toContain(
      `'${report.batchId}', 'synthetic', TIMESTAMP '2026-12-07T10:00:00.000Z'`,
    );
    expect(sent.find((s) => s.startsWith("INSERT INTO dev_meta.delivery_identities"))).toMatch(
      /'synthetic', 'aurora-telecom-simulator seed=3 customers=40 start=2025-01'/,
    );
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
      rejectReasons: {
        "monthly_fee: below 0": 1,
        "unreadable: line 7: Too many values in row starting at position: 912.": 1,
      },
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
      "crm/customers.csv → bronze.crm_customers: 38 rows, 2 quarantined (monthly_fee: below 0: 1, unreadable: line 7: Too many values in row starting at position: 912.: 1)",
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
    expect(load?.schema.fields.map((f) => f.name)).toEqual(["customer_id", "monthly_charges", "churn"]);
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

  it("refuses by name what a load job cannot do: an unfrozen contract, a JSONL row id; conforms column names", async () => {
    const dir = tempDir("telco-gcp-csv-");
    const { app, bucket } = gcpApp();
    await expect(
      ingestCsv(app, csv(dir), { name: "my-churn", target: "Churn", contractDir: dir }),
    ).rejects.toThrow(/no frozen contract: inferring one reads the file with the local warehouse/);
    expect(bucket.objects.size).toBe(0);
    expect(() =>
      refuseUnloadable(contract({ format: "jsonl", rowId: "row_id", primaryKey: ["row_id"] }), "x.jsonl"),
    ).toThrow(/my_churn: rows are keyed by the generated "row_id" .* cannot compute for a jsonl file/);
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
    const { records } = await csvWithRowId(path, withRowId, "odd.csv", out);
    const lines = readFileSync(out, "utf8").trimEnd().split("\n");
    expect(records).toBe(5);
    expect(lines.slice(0, 3).map((l) => JSON.parse(l))).toEqual([
      { row_id: "odd.csv:2", monthly_charges: "10.5", churn: "Yes", note: "plain" },
      { row_id: "odd.csv:3", monthly_charges: "20", churn: "No", note: "two\nlines" },
      { row_id: "odd.csv:6", monthly_charges: "30", churn: "Yes", note: 'a "quote"' },
    ]);
    expect(lines[3]).toBe("ragged row: line 7 has 2 fields, the header has 3");
    expect(JSON.parse(lines[4])).toEqual({
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
    state.reasons = { odd: [{ reason: "unreadable: line 4: ragged", n: 1 }] };
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
    const key = `lake/raw/odd/_with_row_id/ingest_date=${report.ingestDate}/${report.batchId}/odd.csv.jsonl`;
    expect(load).toMatchObject({
      sourceUris: [`gs://acme-lake/${key}`],
      sourceFormat: "NEWLINE_DELIMITED_JSON",
    });
    expect((load?.schema as { fields: { name: string }[] } | undefined)?.fields.map((f) => f.name)).toEqual([
      "row_id",
      "monthly_charges",
      "churn",
      "note",
    ]);
    expect(bucket.objects.get(key)?.toString()).toBe(readFileSync(out, "utf8"));
    expect(
      bucket.objects.has(`lake/raw/odd/user/ingest_date=${report.ingestDate}/${report.batchId}/odd.csv`),
    ).toBe(true);
    const silver = fake.queries
      .filter((q) => q.sql.startsWith("create or replace table dev_silver.odd "))
      .at(-1);
    expect(silver?.sql).toContain("PARTITION BY `row_id`");
    const gold = fake.queries
      .filter((q) => q.sql.startsWith("create or replace table dev_gold.odd_training"))
      .at(-1);
    expect(gold?.sql).toContain("cast(`row_id` as string) AS customer_id");
    expect(report.files[0]).toMatchObject({ rows: 4, rejects: 1 });
  });
});

describe("telco data ingest interactions / ibm-telco under the gcp profile", () => {
  it("loads exported interactions (JSONL) by a load job, and refuses ibm-telco by name with a hint", async () => {
    state.populations = [];
    state.bronzeRows = { crm_interactions: 1 };
    state.reasons = {};
    const dir = tempDir("telco-gcp-interactions-");
    mkdirSync(join(dir, "crm"));
    writeFileSync(
      join(dir, "crm", "interactions.jsonl"),
      `${JSON.stringify({ interaction_id: "i1", customer_id: "c1", created_at: "2026-12-01T10:00:00Z" })}\n`,
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
      sourceUris: [
        `gs://acme-lake/lake/raw/synthetic/crm/ingest_date=${report.ingestDate}/${report.batchId}/interactions.jsonl`,
      ],
    });
    expect(report.files).toMatchObject([{ file: "crm/interactions.jsonl", status: "ingested", rows: 1 }]);
    expect([...bucket.objects.keys()]).toHaveLength(1);

    const ibm = join(dir, "telco.csv");
    writeFileSync(ibm, "customerID,Churn\nc1,Yes\n");
    await expect(ingestIbmTelco(app, ibm)).rejects.toThrow(
      /ibm-telco: its silver and gold SQL .* not rendered for BigQuery/,
    );
  });
});
