import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type FakeBigQuery, fakeBigQuery } from "../../platform/adapters/gcp/testing/fake-bigquery.ts";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { createProgram, runProgram } from "../../platform/cli/runtime.ts";
import { workspacePaths } from "../../platform/workspace.ts";
import { registerFeatureCommands } from "./cli.ts";
import { REQUIRED_SOURCES } from "./offline.ts";
import { loadOperator, randomOperator } from "./testing/random-operator.ts";
import { silverWarehouse } from "./testing/silver-fixtures.ts";

/**
 * `telco features dataset|materialize --dry-run`. Locally (DuckDB, no dry run) the statements are
 * printed and nothing is built. Under the gcp profile the real BigQuery client talks to a local fake
 * of the BigQuery REST API (BIGQUERY_EMULATOR_HOST): each statement goes out as a dry-run query job,
 * and BigQuery's answers (bytes, or "Not found") come back per statement.
 */

let home: string;

async function telco(args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const so = vi.spyOn(process.stdout, "write").mockImplementation((c) => {
    out.push(String(c));
    return true;
  });
  const se = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries({ TELCO_HOME: home, ...env })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    const program = createProgram("0.0.0-test");
    registerFeatureCommands(program);
    const status = await runProgram(program, ["node", "telco", ...args]);
    return { status, stdout: out.join("") };
  } finally {
    so.mockRestore();
    se.mockRestore();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "features-dry-run-"));
  const wh = await silverWarehouse(workspacePaths(home).warehouse);
  await loadOperator(wh, randomOperator(3, 30));
  await wh.close();
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("local profile", () => {
  it("prints the DuckDB statements and builds nothing", async () => {
    const r = await telco(["features", "dataset", "--dry-run", "--json"]);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ dialect: "duckdb", checked: false });
    expect(report.statements.map((s: { sql: string }) => s.sql)).toEqual([
      "create schema if not exists gold",
      "create schema if not exists meta",
      expect.stringMatching(/^create or replace temp table feature_spine as/),
      expect.stringMatching(/^create or replace table gold\.churn_training as with/),
      expect.stringMatching(/^create or replace view gold\.synthetic_training as select/),
      "drop table if exists feature_spine",
    ]);
    const wh = await DuckDbWarehouse.open(workspacePaths(home).warehouse, { readOnly: true });
    try {
      expect(await wh.tables()).not.toContain("gold.churn_training");
    } finally {
      await wh.close();
    }
  });
});

describe("gcp profile against a fake BigQuery", () => {
  let fake: FakeBigQuery;
  let env: Record<string, string>;
  beforeAll(async () => {
    fake = await fakeBigQuery({
      tables: REQUIRED_SOURCES.map((t) => t),
      bytesFor: (sql) => (sql.includes("churn_training") ? 5 * 1024 * 1024 : 2048),
      rowsFor: (sql) => {
        if (/`acme\.silver`\.INFORMATION_SCHEMA/.test(sql)) {
          return REQUIRED_SOURCES.map((t) => ({ table_name: t.replace("silver.", "") }));
        }
        if (sql.includes("as first_month")) return [{ first_month: "2025-01-01", last_event: "2025-12-20" }];
        return [];
      },
    });
    env = {
      TELCO_PROFILE: "gcp",
      TELCO_GCP__PROJECT: "acme",
      TELCO_GCP__BUCKET: "acme-lake",
      BIGQUERY_EMULATOR_HOST: fake.url,
      METADATA_SERVER_DETECTION: "none",
    };
  });
  afterAll(async () => {
    await fake.close();
  });

  it("dry-runs every training-set statement on BigQuery and reports bytes and errors", async () => {
    const r = await telco(["features", "dataset", "--dry-run", "--as-of", "2025-12-01", "--json"], env);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ dialect: "bigquery", checked: true, asOf: "2025-12-01" });
    const [ctas, view] = report.statements;
    expect(ctas.sql).toMatch(/^create or replace table gold\.churn_training partition by/);
    expect(ctas.bytesProcessed).toBe(5 * 1024 * 1024);
    // the view reads a table this build would create: BigQuery's answer is reported, not thrown
    expect(view.error).toMatch(/Not found: Table acme:gold\.churn_training/);
    expect(report.totalBytesProcessed).toBe(5 * 1024 * 1024);
    const dry = fake.queries.filter((q) => q.dryRun);
    expect(dry.map((q) => q.sql)).toEqual(report.statements.map((s: { sql: string }) => s.sql));
    // only the data-range read and the dataset listing ran for real, no build statement
    expect(fake.queries.filter((q) => !q.dryRun).map((q) => q.sql.trim().split(/\s/)[0])).toEqual(
      expect.arrayContaining(["select"]),
    );
    expect(fake.queries.filter((q) => !q.dryRun && !/^select\b/i.test(q.sql.trim()))).toEqual([]);
  });

  it("without credentials prints the BigQuery statements unchecked", async () => {
    const noCreds = mkdtempSync(join(tmpdir(), "features-no-creds-"));
    try {
      const before = fake.queries.length;
      const r = await telco(["features", "materialize", "--dry-run", "--as-of", "2025-11-17", "--json"], {
        TELCO_PROFILE: "gcp",
        TELCO_GCP__PROJECT: "acme",
        TELCO_GCP__BUCKET: "acme-lake",
        // no emulator, no key file, no gcloud folder, and a metadata server that is not there (127.0.0.1)
        HOME: noCreds,
        CLOUDSDK_CONFIG: join(noCreds, "gcloud"),
        GCE_METADATA_HOST: "127.0.0.1:9",
        METADATA_SERVER_DETECTION: "none",
      });
      expect(r.status).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ dialect: "bigquery", checked: false });
      expect(report.note).toMatch(/no Google Cloud credentials.*not checked/);
      expect(report.statements[0].sql).toMatch(/^create or replace table gold\.customer_features cluster by/);
      expect(fake.queries.length).toBe(before);
    } finally {
      rmSync(noCreds, { recursive: true, force: true });
    }
  });

  it("dry-runs the latest-features build for a given date, human output", async () => {
    const r = await telco(["features", "materialize", "--dry-run", "--as-of", "2025-11-17"], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^BigQuery dry run as of 2025-11-17: 1\/1 statements valid, 2\.0 KiB to process/,
    );
    expect(r.stdout).toContain(
      "create or replace table gold.customer_features cluster by customer_id as select",
    );
  });
});
