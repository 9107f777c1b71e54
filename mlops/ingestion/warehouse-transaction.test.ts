import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Parser } from "node-sql-parser";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { duckdbLoadSql, loadScript } from "../../platform/adapters/gcp/bigquery-loader.ts";
import { BigQueryWarehouse } from "../../platform/adapters/gcp/bigquery-warehouse.ts";
import { GcsLake } from "../../platform/adapters/gcp/gcs-lake.ts";
import {
  type FakeBigQuery,
  type FakeBigQueryOptions,
  fakeBigQuery,
} from "../../platform/adapters/gcp/testing/fake-bigquery.ts";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { dataContractSchema } from "./contract.ts";
import { freezeContract, userContractPath } from "./contracts.ts";
import { labelCounts } from "./reasons.ts";
import { ingestCsv } from "./sources.ts";
import { tempDir } from "./test-helpers.ts";
import { memoryBucket } from "./testing/memory-bucket.ts";
import { contractReasons, loadableContract, loadJsonl, quarantineReasonsSql } from "./warehouse-ingest.ts";

/**
 * `telco data ingest csv` under the gcp profile against the review's three gaps:
 *  - columns are matched by the header's names, not positions (reordered, extra, missing optional);
 *  - duplicate keys of a batch are quarantined with the local wording;
 *  - the batch is one transaction: a failure at any step leaves nothing of it in BigQuery or GCS.
 * Row-level results come from the DuckDB twin of the BigQuery statements (the staged JSONL read by
 * name, then the same publish script spelt for DuckDB), checked against the local path; the
 * transaction's end state comes from the fake BigQuery, which keeps tables and BigQuery's
 * multi-statement rules (see fake-bigquery.ts).
 */

const CONTRACT = dataContractSchema.parse({
  name: "my_churn",
  version: 1,
  dataset: "my-churn",
  source: "user",
  format: "csv",
  file: "churn.csv",
  primaryKey: ["customer_id"],
  columns: [
    { name: "customer_id", type: "string", nullable: false },
    { name: "MonthlyCharges", type: "number", nullable: true },
    { name: "Churn", type: "string", nullable: false },
    { name: "Plan", type: "string", nullable: true, required: false },
  ],
  training: { target: "Churn", positive: "yes" },
});

// Reordered columns, an extra one, the optional Plan missing; an uncastable value and a duplicate key.
const FILE = [
  "Churn,extra_col,MonthlyCharges,customer_id",
  "Yes,x,10.5,c1",
  "No,y,abc,c2",
  "No,z,20,c1",
  "Yes,w,30,c3",
].join("\n");

beforeAll(() => {
  process.env.METADATA_SERVER_DETECTION = "none";
});

describe("by header name, SAFE_CAST and duplicate keys: BigQuery's statements on DuckDB equal the local path", () => {
  it("maps reordered columns by name, names the uncastable field, keeps the first of a duplicate key", async () => {
    const dir = tempDir("telco-gcp-twin-");
    const path = join(dir, "churn.csv");
    writeFileSync(path, FILE);
    const jsonl = join(dir, "churn.jsonl");
    const read = await loadJsonl(path, CONTRACT, "churn.csv", jsonl);
    expect(read.columns).toEqual(["Churn", "extra_col", "MonthlyCharges", "customer_id"]);

    // the twin: the JSONL staged by key name (as the load job does), then the publish script
    const spec = loadableContract(CONTRACT);
    const wh = await DuckDbWarehouse.open(":memory:");
    let twin: { bronze: unknown[]; quarantine: unknown[] };
    try {
      await wh.exec("create schema bronze");
      const cols = spec.columns.map((c) => `'${c.name}': 'VARCHAR'`).join(", ");
      await wh.exec(
        `create table bronze._load_x as select * from read_json('${jsonl}', format = 'newline_delimited', columns = {${cols}, '_line': 'BIGINT'})`,
      );
      const script = loadScript(duckdbLoadSql, spec, "bronze._load_x", {
        batchId: "b1",
        ingestedAt: "2026-12-07 10:00:00",
        lines: true,
        reason: contractReasons(CONTRACT),
      });
      for (const sql of [...script.setup, ...script.statements, ...script.cleanup]) await wh.exec(sql);
      twin = {
        bronze: await wh.query(
          "select customer_id, monthly_charges, churn, plan from bronze.my_churn order by customer_id",
        ),
        quarantine: await wh.query(
          "select cast(json_extract(record, '$._line') as integer) as line, reason from bronze._quarantine order by line",
        ),
      };
      // the report's counts: the same query the gcp report sends, on the twin's quarantine
      const kinds = await wh.query<{ kind: string; n: number }>(quarantineReasonsSql("my_churn", "b1"));
      expect(labelCounts(kinds)).toEqual({ "duplicate key": 1, "wrong type": 1 });
      expect(() =>
        new Parser().astify(quarantineReasonsSql("my_churn", "b1"), { database: "bigquery" }),
      ).not.toThrow();
    } finally {
      await wh.close();
    }
    expect(twin.bronze).toEqual([
      { customer_id: "c1", monthly_charges: 10.5, churn: "Yes", plan: null },
      { customer_id: "c3", monthly_charges: 30, churn: "Yes", plan: null },
    ]);
    expect(twin.quarantine).toEqual([
      { line: 3, reason: 'MonthlyCharges: "abc" is not a valid number' },
      { line: 4, reason: "duplicate key (customer_id=c1), first seen on line 2" },
    ]);

    // the local bronze stage: the same rows kept, the duplicate worded the same
    const schemas = tempDir("telco-local-twin-schemas-");
    freezeContract(userContractPath(schemas, "my-churn"), CONTRACT);
    const local = contextFromConfig(configSchema.parse({}), tempDir("telco-local-twin-"));
    try {
      const report = await ingestCsv(local, path, {
        name: "my-churn",
        target: "Churn",
        contractDir: schemas,
      });
      expect(report.warnings.join("\n")).toMatch(/unexpected column\(s\) extra_col/);
      const lwh = await local.warehouse();
      const rows = await lwh.query<{ customer_id: string; monthly_charges: number; churn: string }>(
        "SELECT customer_id, monthly_charges, churn FROM silver.my_churn ORDER BY customer_id",
      );
      expect(rows.map((r) => [r.customer_id, Number(r.monthly_charges), r.churn])).toEqual(
        (twin.bronze as { customer_id: string; monthly_charges: number; churn: string }[]).map((r) => [
          r.customer_id,
          r.monthly_charges,
          r.churn,
        ]),
      );
      const dups = await lwh.query<{ line: number; reason: string }>(
        "SELECT line, reason FROM bronze.rejects WHERE reason LIKE 'duplicate key%' ORDER BY line",
      );
      expect(dups.map((d) => [Number(d.line), d.reason])).toEqual([
        [4, "duplicate key (customer_id=c1), first seen on line 2"],
      ]);
    } finally {
      await local.close();
    }
  });
});

/** A gcp AppContext over a fresh fake BigQuery and in-memory bucket. */
async function gcpApp(
  fakeOpts: FakeBigQueryOptions,
  failUpload?: (destination: string) => boolean,
): Promise<{
  app: AppContext;
  bucket: ReturnType<typeof memoryBucket>;
  fake: FakeBigQuery;
  schemas: string;
}> {
  const fake: FakeBigQuery = await fakeBigQuery({
    loadOutcome: () => ({ outputRows: 4, badRecords: 0 }),
    rowsFor: (sql) => {
      // an identical file: what meta.raw_files holds (the committed INSERTs) for its content hash
      if (sql.startsWith("SELECT batch_id FROM dev_meta.raw_files WHERE")) {
        const hash = /content_hash = '([0-9a-f]+)'/.exec(sql)?.[1] ?? "-";
        const row = fake.held.get("dev_meta.raw_files")?.find((r) => r.includes(`'${hash}'`));
        return row ? [{ batch_id: /VALUES \('([^']+)'/.exec(row)?.[1] ?? "" }] : [];
      }
      if (sql.includes("count(*) AS n") || sql.includes("count(*) as n")) return [{ n: "0" }];
      if (/INFORMATION_SCHEMA\.COLUMNS/.test(sql))
        return [{ column_name: "customer_id", column_type: "STRING" }];
      if (sql.includes("farm_fingerprint")) return [{ n: "2", h: "7" }];
      if (sql.includes("sum(label) AS pos")) return [{ pos: "2", n: "2" }];
      return [];
    },
    ...fakeOpts,
  });
  const home = tempDir("telco-gcp-tx-");
  const base = contextFromConfig(
    configSchema.parse({
      profile: "gcp",
      gcp: { project: "acme", bucket: "gs://acme-lake", region: "US", bigqueryDatasetPrefix: "dev" },
    }),
    home,
  );
  const bucket = memoryBucket({ failUpload });
  const lake = new GcsLake({ bucket: "gs://acme-lake", prefix: "lake", client: bucket });
  const wh = new BigQueryWarehouse({
    project: "acme",
    location: "US",
    datasetPrefix: "dev",
    apiEndpoint: fake.url,
  });
  const schemas = tempDir("telco-gcp-tx-schemas-");
  freezeContract(userContractPath(schemas, "my-churn"), CONTRACT);
  return { app: { ...base, lake: () => lake, warehouse: async () => wh }, bucket, fake, schemas };
}

/** Rows (inserts) BigQuery holds of any batch, by table; staging tables. */
function written(fake: FakeBigQuery): { rows: Record<string, number>; staging: string[] } {
  const rows: Record<string, number> = {};
  for (const [t, r] of fake.held) if (r.length > 0 && !t.includes("._load_")) rows[t] = r.length;
  return { rows, staging: [...fake.held.keys()].filter((t) => t.includes("._load_")) };
}

describe("one batch, one transaction: a failure at each step leaves BigQuery and GCS without it", () => {
  let fake: FakeBigQuery | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  async function run(fakeOpts: FakeBigQueryOptions, failUpload?: (d: string) => boolean) {
    const env = await gcpApp(fakeOpts, failUpload);
    fake = env.fake;
    const dir = tempDir("telco-gcp-tx-file-");
    const path = join(dir, "churn.csv");
    writeFileSync(path, FILE);
    const outcome = await ingestCsv(env.app, path, {
      name: "my-churn",
      target: "Churn",
      contractDir: env.schemas,
    }).then(
      (report) => ({ report, error: undefined }),
      (error: Error) => ({ report: undefined, error }),
    );
    return { ...env, ...outcome };
  }

  it("succeeds: bronze, quarantine and meta rows committed together; staging dropped; raw kept", async () => {
    const { bucket, fake: f, report, error } = await run({});
    expect(error).toBeUndefined();
    const id = report?.batchId ?? "";
    const { rows, staging } = written(f);
    expect(staging).toEqual([]);
    expect(rows).toMatchObject({
      "dev_bronze.my_churn": 1,
      "dev_bronze._quarantine": 2, // the checks' rejects and the duplicate keys: one INSERT each
      "dev_meta.raw_files": 1,
      "dev_meta.ingestion_batches": 1,
    });
    expect(f.held.get("dev_meta.raw_files")?.[0]).toContain(`'${id}'`);
    expect([...bucket.objects.keys()]).toEqual([
      `lake/raw/my-churn/user/ingest_date=${report?.ingestDate}/${id}/churn.csv`,
    ]);
    expect(report?.warnings.join("\n")).toMatch(
      /churn\.csv: unexpected column\(s\) extra_col not in contract my_churn v1; kept in bronze as text \(STRING extra_col\)/,
    );
  });

  const steps: [string, FakeBigQueryOptions, ((d: string) => boolean) | undefined, RegExp][] = [
    ["uploading the raw file", {}, (d) => d.endsWith("/churn.csv"), /upload of .*churn\.csv failed/],
    ["uploading the JSONL copy", {}, (d) => d.includes("/_staging/"), /upload of .*_staging.* failed/],
    [
      "the load job",
      { failLoad: () => "Error while reading data, error message: JSON parsing error" },
      undefined,
      /loading gs:\/\/.* failed: Error while reading data/,
    ],
    [
      "creating bronze (DDL before the transaction)",
      {
        failOn: (s) =>
          s.startsWith("create table if not exists dev_bronze.my_churn")
            ? "Access Denied: Dataset acme:dev_bronze"
            : undefined,
      },
      undefined,
      /Access Denied/,
    ],
    [
      "the bronze insert inside the transaction",
      { failOn: (s) => (s.startsWith("insert into dev_bronze.my_churn") ? "Resources exceeded" : undefined) },
      undefined,
      /Resources exceeded/,
    ],
    [
      "the last meta insert inside the transaction",
      {
        failOn: (s) =>
          s.startsWith("INSERT INTO dev_meta.ingestion_batches") ? "Quota exceeded" : undefined,
      },
      undefined,
      /Quota exceeded/,
    ],
    [
      "the commit",
      {
        failOn: (s) =>
          /^COMMIT TRANSACTION$/.test(s) ? "Transaction is aborted due to concurrent update" : undefined,
      },
      undefined,
      /concurrent update/,
    ],
  ];

  it.each(steps)(
    "fails at %s: no object, no staging table, no row of the batch",
    async (_step, opts, failUpload, message) => {
      const { bucket, fake: f, error } = await run(opts, failUpload);
      expect(error?.message).toMatch(message);
      expect([...bucket.objects.keys()]).toEqual([]);
      expect(written(f)).toEqual({ rows: {}, staging: [] });
    },
  );

  it("fails after the commit (silver): the batch stays whole, as committed; re-running rebuilds silver", async () => {
    let silverFails = true;
    const {
      app,
      schemas,
      bucket,
      fake: f,
      error,
    } = await run({
      failOn: (s) =>
        silverFails && s.startsWith("create or replace table dev_silver.my_churn")
          ? "Resources exceeded"
          : undefined,
    });
    expect(error?.message).toMatch(
      /^batch \S+ is committed \(bronze, quarantine, meta\), but rebuilding silver\.my_churn failed: .*Resources exceeded/,
    );
    const { rows, staging } = written(f);
    expect(staging).toEqual([]);
    expect(rows).toMatchObject({
      "dev_bronze.my_churn": 1,
      "dev_meta.raw_files": 1,
      "dev_meta.ingestion_batches": 1,
    });
    expect([...bucket.objects.keys()].filter((k) => k.endsWith("/churn.csv"))).toHaveLength(1);
    expect([...bucket.objects.keys()].filter((k) => k.includes("_staging"))).toEqual([]);

    // the same ingest again: the file is skipped (already committed), silver and gold are rebuilt
    silverFails = false;
    const before = f.queries.length;
    const dir = tempDir("telco-gcp-tx-file-");
    const path = join(dir, "churn.csv");
    writeFileSync(path, FILE);
    const again = await ingestCsv(app, path, { name: "my-churn", target: "Churn", contractDir: schemas });
    expect(again.files).toMatchObject([{ status: "skipped" }]);
    expect(again.tables.map((t) => t.table)).toEqual([
      "bronze.my_churn",
      "silver.my_churn",
      "gold.my_churn_training",
    ]);
    const sent = f.queries.slice(before).map((q) => q.sql);
    expect(sent.some((q) => q.startsWith("create or replace table dev_silver.my_churn"))).toBe(true);
    expect(sent.some((q) => q.startsWith("BEGIN TRANSACTION"))).toBe(false);
    expect(written(f).rows).toMatchObject({ "dev_bronze.my_churn": 1, "dev_meta.raw_files": 1 });
  });
});

describe("the answer to the publish job is lost: the batch's outcome is looked up by its job id before anything is undone", () => {
  let fake: FakeBigQuery | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  async function run(fakeOpts: FakeBigQueryOptions) {
    const env = await gcpApp(fakeOpts);
    fake = env.fake;
    const dir = tempDir("telco-gcp-lost-file-");
    const path = join(dir, "churn.csv");
    writeFileSync(path, FILE);
    const outcome = await ingestCsv(env.app, path, {
      name: "my-churn",
      target: "Churn",
      contractDir: env.schemas,
    }).then(
      (report) => ({ report, error: undefined }),
      (error: Error) => ({ report: undefined, error }),
    );
    return { ...env, ...outcome };
  }
  const lost = (sql: string) => sql.startsWith("BEGIN TRANSACTION");

  it("committed, answer lost: everything kept (raw file, bronze, meta), staging cleaned, reported as committed", async () => {
    const { bucket, fake: f, report, error } = await run({ loseAnswer: lost });
    expect(error).toBeUndefined();
    const id = report?.batchId ?? "";
    // the publish job was submitted under the id derived from the batch, and looked up by it
    const job = `telco_publish_${id.replaceAll("-", "_")}`;
    expect(
      f.requests.some((r) => r.method === "POST" && JSON.stringify(r.body).includes(`"jobId":"${job}"`)),
    ).toBe(true);
    expect(f.requests.some((r) => r.method === "GET" && r.path.endsWith(`/jobs/${job}`))).toBe(true);
    const { rows, staging } = written(f);
    expect(staging).toEqual([]);
    expect(rows).toMatchObject({
      "dev_bronze.my_churn": 1,
      "dev_meta.raw_files": 1,
      "dev_meta.ingestion_batches": 1,
    });
    expect(f.held.get("dev_meta.ingestion_batches")?.[0]).toContain(`'${id}'`);
    expect([...bucket.objects.keys()]).toEqual([
      `lake/raw/my-churn/user/ingest_date=${report?.ingestDate}/${id}/churn.csv`,
    ]);
    expect(report?.files).toMatchObject([{ status: "ingested", file: "churn.csv" }]);
    expect(report?.warnings.join("\n")).toMatch(
      new RegExp(`the answer to publish job ${job} was lost .*batch ${id} is committed`),
    );
    // silver was derived after it, as after any commit
    expect(report?.tables.map((t) => t.table)).toContain("silver.my_churn");
  });

  it("answer lost while the commit still runs: the lookup waits for the job, then keeps the committed batch", async () => {
    const {
      bucket,
      fake: f,
      report,
      error,
    } = await run({
      loseAnswer: lost,
      runningFor: (id) => (id.startsWith("telco_publish_") ? 1 : 0),
    });
    expect(error).toBeUndefined();
    const job = `telco_publish_${(report?.batchId ?? "").replaceAll("-", "_")}`;
    // looked up twice: RUNNING, then DONE
    expect(f.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/jobs/${job}`))).toHaveLength(2);
    expect(written(f).rows).toMatchObject({ "dev_bronze.my_churn": 1, "dev_meta.ingestion_batches": 1 });
    expect([...bucket.objects.keys()]).toEqual([
      `lake/raw/my-churn/user/ingest_date=${report?.ingestDate}/${report?.batchId}/churn.csv`,
    ]);
  });

  it("failed, answer lost: the job says failed, so nothing of the batch is left", async () => {
    const {
      bucket,
      fake: f,
      error,
    } = await run({
      loseAnswer: lost,
      failOn: (s) =>
        /^COMMIT TRANSACTION$/.test(s) ? "Transaction is aborted due to concurrent update" : undefined,
    });
    expect(error).toBeDefined();
    expect([...bucket.objects.keys()]).toEqual([]);
    expect(written(f)).toEqual({ rows: {}, staging: [] });
  });

  it("answer lost and the job cannot be looked up: nothing is deleted, the error says the outcome is unknown", async () => {
    const {
      bucket,
      fake: f,
      error,
    } = await run({
      loseAnswer: lost,
      failJobGet: (id) => (id.startsWith("telco_publish_") ? "no bigquery.jobs.get permission" : undefined),
    });
    expect(error?.message).toMatch(
      /^publish job telco_publish_\S+ of batch \S+ failed or lost its answer .*whether it committed could not be read .*no bigquery\.jobs\.get permission.*nothing was deleted$/,
    );
    // the batch did commit on BigQuery: its raw file is still there (and the staging copy, kept)
    expect(written(f).rows).toMatchObject({ "dev_bronze.my_churn": 1, "dev_meta.ingestion_batches": 1 });
    const keys = [...bucket.objects.keys()];
    expect(keys.filter((k) => k.endsWith("/churn.csv"))).toHaveLength(1);
    expect(keys.filter((k) => k.includes("/_staging/"))).toHaveLength(1);
  });
});

describe("a column the contract lacks is kept in bronze as text under both profiles", () => {
  it("local and the BigQuery statements' twin keep extra_col in bronze with the same values, on a bronze table an earlier batch made without it", async () => {
    const dir = tempDir("telco-extra-");
    const path = join(dir, "churn.csv");
    writeFileSync(path, FILE);
    const jsonl = join(dir, "churn.jsonl");
    const read = await loadJsonl(path, CONTRACT, "churn.csv", jsonl);
    expect(read.extras).toEqual(new Map([["extra_col", "extra_col"]]));

    const base = loadableContract(CONTRACT);
    const spec = {
      ...base,
      columns: [...base.columns, { name: "extra_col", type: "string" as const, nullable: true }],
    };
    const wh = await DuckDbWarehouse.open(":memory:");
    let twin: unknown[];
    try {
      await wh.exec("create schema bronze");
      // an earlier batch's bronze table, made from the contract alone
      for (const sql of loadScript(duckdbLoadSql, base, "bronze._load_0", {
        batchId: "b0",
        ingestedAt: "2026-12-06 10:00:00",
      }).setup)
        await wh.exec(sql);
      const cols = spec.columns.map((c) => `'${c.name}': 'VARCHAR'`).join(", ");
      await wh.exec(
        `create table bronze._load_x as select * from read_json('${jsonl}', format = 'newline_delimited', columns = {${cols}, '_line': 'BIGINT'})`,
      );
      const script = loadScript(duckdbLoadSql, spec, "bronze._load_x", {
        batchId: "b1",
        ingestedAt: "2026-12-07 10:00:00",
        lines: true,
        reason: contractReasons(CONTRACT),
      });
      for (const sql of script.setup) await wh.exec(sql);
      // the twin of the ALTER the gcp ingest sends before the transaction
      await wh.exec('ALTER TABLE bronze.my_churn ADD COLUMN IF NOT EXISTS "extra_col" VARCHAR');
      for (const sql of [...script.statements, ...script.cleanup]) await wh.exec(sql);
      twin = await wh.query("select customer_id, extra_col from bronze.my_churn order by customer_id");
    } finally {
      await wh.close();
    }
    expect(twin).toEqual([
      { customer_id: "c1", extra_col: "x" },
      { customer_id: "c3", extra_col: "w" },
    ]);

    const schemas = tempDir("telco-extra-schemas-");
    freezeContract(userContractPath(schemas, "my-churn"), CONTRACT);
    const local = contextFromConfig(configSchema.parse({}), tempDir("telco-extra-local-"));
    try {
      const report = await ingestCsv(local, path, {
        name: "my-churn",
        target: "Churn",
        contractDir: schemas,
      });
      expect(report.warnings.join("\n")).toMatch(/extra_col .*kept in bronze as text/);
      const lwh = await local.warehouse();
      expect(
        await lwh.query("SELECT customer_id, extra_col FROM bronze.my_churn ORDER BY customer_id"),
      ).toEqual(twin);
    } finally {
      await local.close();
    }
  });

  it("gcp: the ALTER adds the STRING column before the transaction and the insert names it (fake BigQuery's end state)", async () => {
    const env = await gcpApp({});
    try {
      const dir = tempDir("telco-gcp-extra-file-");
      const path = join(dir, "churn.csv");
      writeFileSync(path, FILE);
      const report = await ingestCsv(env.app, path, {
        name: "my-churn",
        target: "Churn",
        contractDir: env.schemas,
      });
      expect(env.fake.addedColumns.get("dev_bronze.my_churn")).toEqual(["extra_col"]);
      const bronzeInsert = env.fake.held.get("dev_bronze.my_churn")?.[0] ?? "";
      expect(bronzeInsert).toMatch(
        /^insert into dev_bronze\.my_churn \(.*`extra_col`, _batch_id, _ingested_at\) select /,
      );
      expect(bronzeInsert).toContain(`'${report.batchId}' as _batch_id`);
      const sent = env.fake.queries.map((q) => q.sql);
      const alter = sent.findIndex((q) =>
        q.includes("ALTER TABLE dev_bronze.my_churn ADD COLUMN IF NOT EXISTS `extra_col` STRING"),
      );
      const begin = sent.findIndex((q) => q.startsWith("BEGIN TRANSACTION"));
      expect(alter).toBeGreaterThanOrEqual(0);
      expect(alter).toBeLessThan(begin);
      const parser = new Parser();
      for (const stmt of sent[alter].split(";\n").map((x) => x.replace(/;$/, ""))) {
        // node-sql-parser's BigQuery grammar lacks ADD COLUMN's IF NOT EXISTS (in BigQuery's DDL
        // reference: ALTER TABLE … ADD COLUMN [IF NOT EXISTS]); the rest is parsed as sent
        const parsed = stmt.replace("ADD COLUMN IF NOT EXISTS", "ADD COLUMN");
        expect(() => parser.astify(parsed, { database: "bigquery" }), stmt).not.toThrow();
      }
      // silver keeps the contract's columns only, as locally
      const silver = sent.find((q) => q.startsWith("create or replace table dev_silver.my_churn")) ?? "";
      expect(silver).not.toContain("extra_col");
    } finally {
      await env.fake.close();
    }
  });
});
