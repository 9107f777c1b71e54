import { Parser } from "node-sql-parser";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DuckDbWarehouse } from "../local/duckdb-warehouse.ts";
import {
  BigQueryLoader,
  bigqueryLoadSql,
  duckdbLoadSql,
  type LoadTableSpec,
  loadScript,
  loadStatements,
} from "./bigquery-loader.ts";
import { BigQueryWarehouse } from "./bigquery-warehouse.ts";
import { type FakeBigQuery, fakeBigQuery } from "./testing/fake-bigquery.ts";

/**
 * Raw files → BigQuery. Three checks, each honest about its reach:
 *  - the split statements rendered for BigQuery parse with node-sql-parser's BigQuery grammar;
 *  - the same statements spelt for DuckDB (`duckdbLoadSql`: try_cast for safe_cast, regexp_matches
 *    for regexp_contains) run on a staged batch and put every row where the contract says, with the
 *    reasons worked out by hand;
 *  - the real @google-cloud/bigquery client, pointed at a local fake of the REST API, sends the load
 *    job and the script (the fake answers as BigQuery does; nothing reaches Google).
 */

const SPEC: LoadTableSpec = {
  name: "crm_customers",
  format: "csv",
  primaryKey: ["customer_id"],
  eventTime: "created_at",
  columns: [
    { name: "customer_id", type: "string", nullable: false, pattern: "^AUR-[0-9]{8}$" },
    { name: "uf", type: "string", nullable: false, enum: ["SP", "RJ", "MG"] },
    { name: "birth_date", type: "date", nullable: true },
    { name: "score", type: "integer", nullable: true, min: 0, max: 100 },
    { name: "monthly_brl", type: "number", nullable: true, decimal: "," },
    { name: "active", type: "boolean", nullable: true },
    { name: "created_at", type: "timestamp", nullable: false },
  ],
};

const STAGED = [
  ["AUR-00000001", "SP", "1990-06-02", "42", "126,76", "true", "2026-03-04 18:20:00"],
  ["AUR-1", "SP", "1990-06-02", "1", "", "", "2026-03-04 18:20:00"],
  ["AUR-00000003", "XX", "", "", "", "", "2026-03-04 18:20:00"],
  ["AUR-00000004", "MG", "", "1.5", "", "", "2026-03-04 18:20:00"],
  ["AUR-00000005", "MG", "", "150", "", "", "2026-03-04 18:20:00"],
  ["AUR-00000006", "RJ", "2026-13-01", "", "", "", "2026-03-04 18:20:00"],
  ["AUR-00000007", "RJ", "", "", "", "", ""],
  ["AUR-00000008", "RJ", "", " ", "", "", "2026-03-05 10:00:00"],
];

const BATCH = { batchId: "b20260305", ingestedAt: "2026-03-05 12:00:00" };

describe("load statements", () => {
  const parser = new Parser();
  const statements = loadStatements(bigqueryLoadSql, SPEC, "bronze._load_crm_customers_b20260305", {
    ...BATCH,
    badRecordErrors: ["gs://lake/raw/crm/customers.csv: Too many values in line 12"],
  });

  it.each(statements.map((s, i) => [i, s] as const))("BigQuery statement #%i parses", (_i, sql) => {
    expect(() => parser.astify(sql, { database: "bigquery" })).not.toThrow();
  });

  it("creates bronze partitioned by month of the event time and clustered by the primary key", () => {
    expect(statements[0]).toBe(
      "create table if not exists bronze.crm_customers (`customer_id` STRING, `uf` STRING, `birth_date` DATE, `score` INT64, `monthly_brl` FLOAT64, `active` BOOL, `created_at` TIMESTAMP, _batch_id STRING, _ingested_at TIMESTAMP) partition by timestamp_trunc(`created_at`, month) cluster by `customer_id`",
    );
    expect(
      statements.some((s) =>
        // a string is checked without its leading and trailing spaces (only spaces, as locally)
        s.includes("regexp_contains(nullif(trim(s.`customer_id`, ' '), ''), '^AUR-[0-9]{8}$')"),
      ),
    ).toBe(true);
  });
});

describe("the split runs on DuckDB with the contract's verdicts", () => {
  let wh: DuckDbWarehouse;
  beforeAll(async () => {
    wh = await DuckDbWarehouse.open(":memory:");
  });
  afterAll(async () => {
    await wh.close();
  });

  async function stage(): Promise<void> {
    await wh.exec("create schema if not exists bronze");
    await wh.exec(
      `create or replace table bronze._load_x (${SPEC.columns.map((c) => `"${c.name}" varchar`).join(", ")})`,
    );
    for (const r of STAGED) {
      await wh.query(`insert into bronze._load_x values (${r.map(() => "?").join(", ")})`, r);
    }
  }

  it("types good rows into bronze and quarantines each bad one with its first failing check", async () => {
    await stage();
    for (const sql of loadStatements(duckdbLoadSql, SPEC, "bronze._load_x", {
      ...BATCH,
      badRecordErrors: ["gs://lake/crm/customers.csv: Too many values in line 12"],
    })) {
      await wh.exec(sql);
    }
    const good = await wh.query(
      "select customer_id, uf, cast(birth_date as varchar) as birth_date, score, monthly_brl, active, cast(created_at as varchar) as created_at, _batch_id from bronze.crm_customers order by customer_id",
    );
    expect(good).toEqual([
      {
        customer_id: "AUR-00000001",
        uf: "SP",
        birth_date: "1990-06-02",
        score: 42,
        monthly_brl: 126.76,
        active: true,
        created_at: "2026-03-04 18:20:00",
        _batch_id: "b20260305",
      },
      {
        customer_id: "AUR-00000008",
        uf: "RJ",
        birth_date: null,
        score: null,
        monthly_brl: null,
        active: null,
        created_at: "2026-03-05 10:00:00",
        _batch_id: "b20260305",
      },
    ]);
    const bad = await wh.query(
      "select json_extract_string(record, '$.customer_id') as id, reason from bronze._quarantine order by id nulls last",
    );
    expect(bad).toEqual([
      { id: "AUR-00000003", reason: "uf: not one of SP, RJ, MG" },
      { id: "AUR-00000004", reason: "score: not an integer" },
      { id: "AUR-00000005", reason: "score: above 100" },
      { id: "AUR-00000006", reason: "birth_date: not a date" },
      { id: "AUR-00000007", reason: "created_at: empty" },
      { id: "AUR-1", reason: "customer_id: does not match ^AUR-[0-9]{8}$" },
      { id: null, reason: "unreadable: gs://lake/crm/customers.csv: Too many values in line 12" },
    ]);
    expect(await wh.tables()).not.toContain("bronze._load_x");
  });

  it("reloading the same batch replaces its rows instead of duplicating them", async () => {
    await stage();
    for (const sql of loadStatements(duckdbLoadSql, SPEC, "bronze._load_x", BATCH)) await wh.exec(sql);
    const [{ n }] = await wh.query("select count(*) as n from bronze.crm_customers");
    const [{ q }] = await wh.query("select count(*) as q from bronze._quarantine");
    expect({ n, q }).toEqual({ n: 2, q: 6 });
  });
});

describe("duplicate keys within a batch (staged with the delivered line)", () => {
  const JSONL_SPEC: LoadTableSpec = { ...SPEC, format: "jsonl" };
  const ROWS: [number, string, string, string][] = [
    // line, customer_id, uf, score
    [2, "AUR-00000001", "SP", "1"],
    [3, "AUR-00000002", "RJ", "2"],
    [4, "AUR-00000001", "MG", "3"], // duplicate of line 2
    [5, "AUR-00000002", "XX", "4"], // invalid (enum): a reject, not a duplicate
    [7, "AUR-00000001", "SP", "5"], // duplicate of line 2 again
  ];

  it.each(
    loadStatements(bigqueryLoadSql, JSONL_SPEC, "bronze._load_x", { ...BATCH, lines: true }).map(
      (s, i) => [i, s] as const,
    ),
  )("BigQuery statement #%i (with lines) parses", (_i, sql) => {
    expect(() => new Parser().astify(sql, { database: "bigquery" })).not.toThrow();
  });

  it("keeps the first line of each key in bronze and quarantines the others with the local wording", async () => {
    const wh = await DuckDbWarehouse.open(":memory:");
    try {
      await wh.exec("create schema bronze");
      await wh.exec(
        `create table bronze._load_x (${SPEC.columns.map((c) => `"${c.name}" varchar`).join(", ")}, _line bigint)`,
      );
      for (const [line, id, uf, score] of ROWS) {
        await wh.query(
          "insert into bronze._load_x values (?, ?, NULL, ?, NULL, NULL, '2026-03-04 18:20:00', ?)",
          [id, uf, score, line],
        );
      }
      const script = loadScript(duckdbLoadSql, JSONL_SPEC, "bronze._load_x", { ...BATCH, lines: true });
      expect(script.statements.every((s) => /^(insert|delete)\b/.test(s))).toBe(true);
      for (const sql of [...script.setup, ...script.statements, ...script.cleanup]) await wh.exec(sql);
      const good = await wh.query(
        "select customer_id, uf, score from bronze.crm_customers order by customer_id",
      );
      expect(good).toEqual([
        { customer_id: "AUR-00000001", uf: "SP", score: 1 },
        { customer_id: "AUR-00000002", uf: "RJ", score: 2 },
      ]);
      const bad = await wh.query(
        "select reason, cast(json_extract(record, '$._line') as integer) as line from bronze._quarantine order by line",
      );
      expect(bad).toEqual([
        { reason: "duplicate key (customer_id=AUR-00000001), first seen on line 2", line: 4 },
        { reason: "uf: not one of SP, RJ, MG", line: 5 },
        { reason: "duplicate key (customer_id=AUR-00000001), first seen on line 2", line: 7 },
      ]);
      expect(await wh.tables()).not.toContain("bronze._load_x");
    } finally {
      await wh.close();
    }
  });
});

describe("BigQueryLoader against a fake BigQuery REST API", () => {
  let fake: FakeBigQuery | undefined;
  beforeAll(() => {
    // no probe of the GCE metadata server (the SDK's auth looks for it; nothing leaves 127.0.0.1)
    process.env.METADATA_SERVER_DETECTION = "none";
  });
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  async function client(url: string) {
    const { BigQuery } = await import("@google-cloud/bigquery");
    return new BigQuery({ projectId: "acme", apiEndpoint: url });
  }

  it("sends a STRING-schema load job from gs:// into the prefixed bronze dataset, then one script", async () => {
    fake = await fakeBigQuery({
      loadOutcome: () => ({
        outputRows: 8,
        badRecords: 1,
        errors: [{ message: "Too many values in line 12", location: "gs://lake/raw/crm/customers.csv" }],
      }),
    });
    // through the Warehouse port's loadFiles: the adapter's own client runs the load job
    const warehouse = new BigQueryWarehouse({
      project: "acme",
      location: "southamerica-east1",
      datasetPrefix: "dev",
      apiEndpoint: fake.url,
    });
    const result = await warehouse.loadFiles(SPEC, {
      uris: ["gs://lake/raw/crm/customers.csv"],
      ...BATCH,
      batchId: "b-1",
    });
    expect(result).toMatchObject({
      table: "bronze.crm_customers",
      staging: "bronze._load_crm_customers_b_1",
      stagedRows: 8,
      badRecords: 1,
      badRecordErrors: ["gs://lake/raw/crm/customers.csv: Too many values in line 12"],
    });
    const insert = fake.requests.find(
      (r) => r.method === "POST" && (r.body?.configuration as { load?: unknown })?.load,
    );
    const load = (insert?.body?.configuration as { load?: Record<string, unknown> } | undefined)?.load ?? {};
    expect(load).toMatchObject({
      sourceUris: ["gs://lake/raw/crm/customers.csv"],
      sourceFormat: "CSV",
      skipLeadingRows: 1,
      writeDisposition: "WRITE_TRUNCATE",
      destinationTable: { projectId: "acme", datasetId: "dev_bronze", tableId: "_load_crm_customers_b_1" },
    });
    expect((load.schema as { fields: { type: string }[] }).fields.map((f) => f.type)).toEqual(
      SPEC.columns.map(() => "STRING"),
    );
    expect(insert?.body?.jobReference).toMatchObject({ location: "southamerica-east1" });
    // the job was polled until DONE, then the split ran as one script on the prefixed datasets
    expect(
      fake.requests.some((r) => r.method === "GET" && r.path.includes("/jobs/telco_load_crm_customers_")),
    ).toBe(true);
    const script = fake.queries.find((q) => !q.dryRun)?.sql ?? "";
    expect(script).toMatch(/insert into dev_bronze\.crm_customers \([^)]*, _batch_id, _ingested_at\) select/);
    expect(script).toContain("from dev_bronze._load_crm_customers_b_1 as s where not (");
    expect(script).toContain("'unreadable: gs://lake/raw/crm/customers.csv: Too many values in line 12'");
    expect(script).toMatch(/drop table dev_bronze\._load_crm_customers_b_1;$/);
  });

  it("deferPublish: loads JSONL by name into staging (with _line) and returns the publish script unrun", async () => {
    fake = await fakeBigQuery({ loadOutcome: () => ({ outputRows: 5, badRecords: 0 }) });
    const warehouse = new BigQueryWarehouse({
      project: "acme",
      location: "US",
      datasetPrefix: "dev",
      apiEndpoint: fake.url,
    });
    const result = await warehouse.loadFiles(
      { ...SPEC, format: "jsonl" },
      {
        uris: ["gs://lake/raw/_staging/b-2/customers.csv.jsonl"],
        ...BATCH,
        batchId: "b-2",
        lines: true,
        deferPublish: true,
      },
    );
    const load = fake.requests
      .map((r) => (r.body?.configuration as { load?: Record<string, unknown> } | undefined)?.load)
      .find((l) => l !== undefined);
    expect(load).toMatchObject({ sourceFormat: "NEWLINE_DELIMITED_JSON", ignoreUnknownValues: true });
    expect((load?.schema as { fields: { name: string; type: string }[] } | undefined)?.fields.at(-1)).toEqual(
      {
        name: "_line",
        type: "INTEGER",
        mode: "NULLABLE",
      },
    );
    // nothing published yet: only the staging table exists
    expect(fake.queries).toEqual([]);
    expect([...fake.held.keys()]).toEqual(["dev_bronze._load_crm_customers_b_2"]);
    expect(result.publish?.setup[0]).toMatch(/^create table if not exists bronze\.crm_customers /);
    expect(result.publish?.statements.some((s) => s.includes("first seen on line"))).toBe(true);
    expect(result.publish?.cleanup).toEqual(["drop table bronze._load_crm_customers_b_2"]);
  });

  it("a load BigQuery fails names the files and the reason, and runs no script", async () => {
    fake = await fakeBigQuery({ loadOutcome: () => ({ outputRows: 0, badRecords: 0 }) });
    const bq = await client(fake.url);
    const failing = {
      async createJob(o: Parameters<typeof bq.createJob>[0]) {
        const [job] = await bq.createJob(o);
        return [
          {
            id: job.id,
            async getMetadata() {
              return [
                {
                  status: {
                    state: "DONE",
                    errorResult: { reason: "invalid", message: "Error while reading data: too many errors" },
                  },
                },
              ];
            },
          },
        ] as [{ id?: string; getMetadata(): Promise<[Record<string, unknown>]> }];
      },
    };
    const warehouse = new BigQueryWarehouse({ project: "acme", location: "US", apiEndpoint: fake.url });
    const loader = new BigQueryLoader({
      jobs: failing,
      warehouse,
      project: "acme",
      location: "US",
      pollMs: 1,
    });
    await expect(loader.load(SPEC, { uris: ["gs://lake/x.csv"], ...BATCH })).rejects.toThrow(
      /loading gs:\/\/lake\/x\.csv into bronze\.crm_customers failed: Error while reading data/,
    );
    expect(fake.queries).toEqual([]);
    await expect(loader.load(SPEC, { uris: ["/tmp/x.csv"], ...BATCH })).rejects.toThrow(/gs:\/\/ URIs/);
  });
});

describe("an enum value with an apostrophe", () => {
  const spec: LoadTableSpec = {
    name: "plans",
    format: "jsonl",
    primaryKey: ["id"],
    columns: [
      { name: "id", type: "string", nullable: false },
      { name: "plan", type: "string", nullable: true, enum: ["Pro", "Ana's"] },
    ],
  };

  it("is a BigQuery literal with a backslash escape (BigQuery reads '' as two adjacent literals), and DuckDB's doubled", async () => {
    const bqSql = loadScript(bigqueryLoadSql, spec, "bronze._load_plans", BATCH).statements.join("\n");
    expect(bqSql).toContain("in ('Pro', 'Ana\\'s')");
    expect(bqSql).not.toContain("'Ana''s'");
    const wh = await DuckDbWarehouse.open(":memory:");
    try {
      await wh.exec("create schema bronze");
      await wh.exec(
        "create table bronze._load_plans as select * from (values ('1', 'Ana''s'), ('2', 'Bob''s')) t(id, plan)",
      );
      const script = loadScript(duckdbLoadSql, spec, "bronze._load_plans", BATCH);
      for (const sql of [...script.setup, ...script.statements]) await wh.exec(sql);
      expect(await wh.query("select id, plan from bronze.plans")).toEqual([{ id: "1", plan: "Ana's" }]);
      expect(await wh.query("select reason from bronze._quarantine")).toEqual([
        { reason: "plan: not one of Pro, Ana's" },
      ]);
    } finally {
      await wh.close();
    }
  });
});
