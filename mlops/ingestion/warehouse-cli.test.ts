import { readFileSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type FakeBigQuery, fakeBigQuery } from "../../platform/adapters/gcp/testing/fake-bigquery.ts";
import { type FakeGcs, startFakeGcs } from "../../platform/adapters/gcp/testing/fake-gcs.ts";
import { createProgram, runProgram } from "../../platform/cli/runtime.ts";
import { registerIngestionCommands } from "./cli.ts";
import { dataContractSchema } from "./contract.ts";
import { tempDir } from "./test-helpers.ts";

/**
 * `telco data ingest ibm-telco FILE` under TELCO_PROFILE=gcp through the real command and the
 * composition root (contextFromConfig builds GcsLake and BigQueryWarehouse from the config): the
 * SDKs reach a fake Cloud Storage JSON API (STORAGE_EMULATOR_HOST) and a fake BigQuery REST API
 * (BIGQUERY_EMULATOR_HOST), both written from the REST references. Judged by what they hold after.
 */

let bq: FakeBigQuery;
let gcs: FakeGcs;
let gcsPaths: { url: string; close(): Promise<void> };

/**
 * Under STORAGE_EMULATOR_HOST the Storage SDK uploads to /upload/storage/v1/b/… but lists (and so
 * deletes by prefix) at /b/…, which the fake GCS does not route; this forwards /b/… to
 * /storage/v1/b/…, the JSON API's path (hand-written: a dozen lines of node:http).
 */
async function pathShim(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").startsWith("/b/") ? `/storage/v1${req.url}` : (req.url ?? "/");
    const forward = request(
      { host: to.hostname, port: to.port, path, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
const home = tempDir("telco-gcp-cli-");
const ENV = {
  TELCO_HOME: join(home, ".telco"),
  TELCO_PROFILE: "gcp",
  TELCO_GCP__PROJECT: "acme",
  TELCO_GCP__BUCKET: "gs://cli-lake",
  TELCO_GCP__REGION: "US",
  METADATA_SERVER_DETECTION: "none",
};
const saved = new Map<string, string | undefined>();

beforeAll(async () => {
  bq = await fakeBigQuery({
    loadOutcome: () => ({ outputRows: 2, badRecords: 0 }),
    rowsFor: (sql) => {
      if (/^SELECT count\(\*\) AS n FROM bronze\.ibm_telco WHERE _batch_id/.test(sql)) return [{ n: "2" }];
      if (/INFORMATION_SCHEMA\.COLUMNS/.test(sql))
        return [{ column_name: "customer_id", column_type: "STRING" }];
      if (sql.includes("farm_fingerprint")) return [{ n: "2", h: "11" }];
      return [];
    },
  });
  gcs = await startFakeGcs({ bucket: "cli-lake" });
  gcsPaths = await pathShim(gcs.url);
  for (const [k, v] of Object.entries({
    ...ENV,
    BIGQUERY_EMULATOR_HOST: bq.url,
    STORAGE_EMULATOR_HOST: gcsPaths.url,
  })) {
    saved.set(k, process.env[k]);
    process.env[k] = v;
  }
});

afterAll(async () => {
  for (const [k, v] of saved) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await bq.close();
  await gcsPaths.close();
  await gcs.close();
});

async function telco(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = (sink: string[]) => (chunk: string | Uint8Array) => {
    sink.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, "write").mockImplementation(write(out));
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation(write(err));
  try {
    const program = createProgram("test");
    registerIngestionCommands(program);
    const status = await runProgram(program, ["node", "telco", ...args]);
    return { status, stdout: out.join(""), stderr: err.join("") };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
}

/** An IBM Telco CSV with the contract's columns, two customers. */
function ibmCsv(path: string): void {
  const contract = dataContractSchema.parse(
    JSON.parse(
      readFileSync(join(import.meta.dirname, "../../data/schemas/ibm-telco/ibm_telco.json"), "utf8"),
    ),
  );
  const header = contract.columns.map((c) => c.name);
  const value = (h: string, id: string) =>
    (
      ({
        customerID: id,
        gender: "Male",
        SeniorCitizen: "1",
        tenure: "5",
        MultipleLines: "No",
        InternetService: "DSL",
        Contract: "One year",
        PaymentMethod: "Mailed check",
        MonthlyCharges: "56.95",
        TotalCharges: "284.75",
        Churn: "No",
      }) as Record<string, string>
    )[h] ?? "Yes";
  writeFileSync(
    path,
    [
      header.join(","),
      ...["7590-VHVEG", "5575-GNVDE"].map((id) => header.map((h) => value(h, id)).join(",")),
    ].join("\n"),
  );
}

describe("telco data ingest ibm-telco under TELCO_PROFILE=gcp (fake Cloud Storage and BigQuery)", () => {
  it("puts the raw file in the bucket and the batch in BigQuery in one transaction", async () => {
    const file = join(home, "telco.csv");
    ibmCsv(file);
    const r = await telco(["--json", "data", "ingest", "ibm-telco", file]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      dataset: "ibm-telco",
      rows: 2,
      rejects: 0,
      files: [{ file: "telco.csv", table: "bronze.ibm_telco", status: "ingested" }],
    });
    expect(report.tables.map((t: { table: string }) => t.table)).toEqual([
      "bronze.ibm_telco",
      "silver.ibm_telco",
      "gold.ibm_telco_training",
    ]);
    expect(report.warnings).toEqual([]);
    // Cloud Storage: the delivered file in raw, no staging copy left
    expect([...gcs.objects.keys()]).toEqual([
      `lake/raw/ibm-telco/ibm/ingest_date=${report.ingestDate}/${report.batchId}/telco.csv`,
    ]);
    expect(gcs.objects.get([...gcs.objects.keys()][0])?.bytes.toString()).toBe(readFileSync(file, "utf8"));
    // BigQuery: bronze and meta written by the committed transaction, staging dropped, gold built
    expect(bq.held.get("bronze.ibm_telco")?.length).toBe(1);
    expect(bq.held.get("meta.raw_files")?.[0]).toContain(`'${report.batchId}'`);
    expect(bq.held.get("meta.ingestion_batches")?.[0]).toContain(`'${report.batchId}'`);
    expect([...bq.held.keys()].filter((t) => t.includes("_load_"))).toEqual([]);
    expect(bq.held.has("gold.ibm_telco_training")).toBe(true);
    const load = bq.requests
      .map((q) => (q.body?.configuration as { load?: Record<string, unknown> } | undefined)?.load)
      .find((l) => l !== undefined);
    expect(load).toMatchObject({
      sourceFormat: "NEWLINE_DELIMITED_JSON",
      destinationTable: { projectId: "acme", datasetId: "bronze" },
    });
  }, 60_000);

  it("refuses a file missing required columns by name (exit 1), leaving the bucket and BigQuery as they were", async () => {
    const file = join(home, "short.csv");
    writeFileSync(file, "customerID,Churn\n7590-VHVEG,Yes\n");
    const objects = [...gcs.objects.keys()];
    const held = JSON.stringify([...bq.held]);
    const r = await telco(["data", "ingest", "ibm-telco", file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/short\.csv: missing required column\(s\) gender, SeniorCitizen/);
    expect([...gcs.objects.keys()]).toEqual(objects);
    expect(JSON.stringify([...bq.held])).toBe(held);
  }, 60_000);
});
