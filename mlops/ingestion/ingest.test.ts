import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { ValidationError } from "../../platform/errors.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { describeIbm, itIbm } from "../training/testing/ibm-suite.ts";
import { readContract } from "./contracts.ts";
import { ingestCsv, ingestIbmTelco, ingestSynthetic, newestSyntheticDelivery } from "./sources.ts";
import { ibmTelcoPath, tempDir } from "./test-helpers.ts";
import { datasetLineage, latestDatasetVersion, lineageRawFiles, listDatasetVersions } from "./versions.ts";

function newApp(schemasDir?: string): { app: AppContext; home: string } {
  const home = tempDir("telco-home-");
  const config = configSchema.parse(schemasDir ? { data: { schemasDir } } : {});
  return { app: contextFromConfig(config, home), home };
}

function lakeFiles(home: string): string[] {
  const lake = join(home, "lake");
  if (!existsSync(lake)) return [];
  return readdirSync(lake, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describeIbm("ingest ibm-telco", () => {
  let app: AppContext;
  let home: string;
  beforeAll(() => {
    ({ app, home } = newApp());
  });
  afterAll(() => app.close());

  it("loads all 7,043 customers; 11 blank TotalCharges become NULL, not rejects", async () => {
    const report = await ingestIbmTelco(app, ibmTelcoPath());
    expect(report.rows).toBe(7043);
    expect(report.rejects).toBe(0);
    const wh = await app.warehouse();
    const [s] = await wh.query<{ n: number; blank: number; tenure0: number }>(
      "SELECT count(*) AS n, count(*) FILTER (total_charges IS NULL) AS blank, count(*) FILTER (total_charges IS NULL AND tenure_months = 0) AS tenure0 FROM silver.ibm_telco",
    );
    expect(s).toEqual({ n: 7043, blank: 11, tenure0: 11 });
  });

  it("keeps raw byte-for-byte and writes Parquet for bronze/silver/gold, partitioned by source and date", async () => {
    const files = lakeFiles(home);
    const raw = files.filter((f) => f.includes("/raw/"));
    expect(raw).toHaveLength(1);
    expect(raw[0]).toMatch(
      /raw\/ibm-telco\/ibm\/ingest_date=\d{4}-\d{2}-\d{2}\/[^/]+\/telco-customer-churn\.csv$/,
    );
    expect(readFileSync(raw[0]).equals(readFileSync(ibmTelcoPath()))).toBe(true);
    for (const layer of ["bronze", "silver", "gold"]) {
      expect(files.some((f) => f.includes(`/${layer}/ibm-telco/`) && f.endsWith(".parquet"))).toBe(true);
    }
  });

  it("builds gold.ibm_telco_training in the agreed shape", async () => {
    const wh = await app.warehouse();
    const cols = await wh.query<{ column_name: string; column_type: string }>(
      "DESCRIBE gold.ibm_telco_training",
    );
    const types = Object.fromEntries(cols.map((c) => [c.column_name, c.column_type]));
    expect(types.customer_id).toBe("VARCHAR");
    expect(types.label).toBe("INTEGER");
    expect(types.senior_citizen).toBe("INTEGER");
    expect(types.monthly_charges).toBe("DOUBLE");
    expect(types.total_charges).toBe("DOUBLE");
    expect(types.contract).toBe("VARCHAR");
    const [r] = await wh.query<{ n: number; churners: number; nulls: number; ids: number }>(
      "SELECT count(*) AS n, sum(label) AS churners, count(*) FILTER (total_charges IS NULL) AS nulls, count(DISTINCT customer_id) AS ids FROM gold.ibm_telco_training",
    );
    expect(r).toEqual({ n: 7043, churners: 1869, nulls: 0, ids: 7043 });
  });

  it("records versions and walks lineage from gold back to the raw file", async () => {
    const wh = await app.warehouse();
    const gold = await latestDatasetVersion(wh, "gold.ibm_telco_training");
    expect(gold?.version).toMatch(/^[0-9a-f]{16}$/);
    expect(gold?.rowCount).toBe(7043);
    const tree = await datasetLineage(wh, "gold.ibm_telco_training");
    expect(tree.parents[0].table).toBe("silver.ibm_telco");
    expect(tree.parents[0].parents[0].table).toBe("bronze.ibm_telco");
    const raw = lineageRawFiles(tree);
    expect(raw).toHaveLength(1);
    expect(raw[0]).toMatch(/^raw\/ibm-telco\/.*telco-customer-churn\.csv$/);
    const bronze = await latestDatasetVersion(wh, "bronze.ibm_telco");
    expect(bronze?.contractVersion).toBe(1);
  });

  it("skips an identical re-delivery instead of duplicating bronze", async () => {
    const before = await listDatasetVersions(await app.warehouse());
    const report = await ingestIbmTelco(app, ibmTelcoPath());
    expect(report.files[0].status).toBe("skipped");
    expect(report.warnings.join()).toMatch(/already ingested/);
    const wh = await app.warehouse();
    const [b] = await wh.query<{ n: number }>("SELECT count(*) AS n FROM bronze.ibm_telco");
    expect(b.n).toBe(7043);
    expect(await listDatasetVersions(wh)).toEqual(before);
  });

  it("a changed delivery is a new version: silver dedupes on the key, latest row wins", async () => {
    const dir = tempDir();
    const lines = readFileSync(ibmTelcoPath(), "utf8").split("\n");
    // Same customers, one changed: first customer now churned; plus one brand-new bad row.
    const first = lines[1].split(",");
    first[first.length - 1] = "Yes";
    const changed = [
      lines[0],
      first.join(","),
      "9999-ZZZZZ,Robot,0,No,No,1,Yes,No,DSL,No,No,No,No,No,No,One year,No,Mailed check,10,10,No",
    ];
    const file = join(dir, "telco-customer-churn.csv");
    writeFileSync(file, `${changed.join("\n")}\n`);
    const before = await latestDatasetVersion(await app.warehouse(), "gold.ibm_telco_training");
    const report = await ingestIbmTelco(app, file);
    expect(report.rows).toBe(1);
    expect(report.rejects).toBe(1);
    const wh = await app.warehouse();
    const [rej] = await wh.query<{ line: number; reason: string }>(
      `SELECT line, reason FROM bronze.rejects WHERE batch_id = '${report.batchId}'`,
    );
    expect(rej).toEqual({ line: 3, reason: 'gender: "Robot" is not an allowed value' });
    const id = first[0];
    const [g] = await wh.query<{ label: number; n: number }>(
      `SELECT (SELECT label FROM gold.ibm_telco_training WHERE customer_id = '${id}') AS label, (SELECT count(*) FROM gold.ibm_telco_training) AS n`,
    );
    expect(g).toEqual({ label: 1, n: 7043 });
    const after = await latestDatasetVersion(wh, "gold.ibm_telco_training");
    expect(after?.version).not.toBe(before?.version);
    expect(lineageRawFiles(await datasetLineage(wh, "gold.ibm_telco_training"))).toHaveLength(2);
  });
});

describe("failed files write nothing", () => {
  itIbm(
    "a missing required column fails with the file name and leaves lake and warehouse untouched",
    async () => {
      const { app, home } = newApp();
      try {
        const dir = tempDir();
        const file = join(dir, "broken.csv");
        const lines = readFileSync(ibmTelcoPath(), "utf8").split("\n").slice(0, 50);
        writeFileSync(file, lines.map((l) => l.split(",").slice(0, -1).join(",")).join("\n"));
        const err = await ingestIbmTelco(app, file).catch((e) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect(err.message).toMatch(/broken\.csv: missing required column\(s\) Churn/);
        expect(lakeFiles(home)).toEqual([]);
        expect(await listDatasetVersions(await app.warehouse())).toEqual([]);
        expect(existsSync(join(home, "tmp")) ? readdirSync(join(home, "tmp")) : []).toEqual([]);
        const empty = join(dir, "empty.csv");
        writeFileSync(empty, "");
        await expect(ingestIbmTelco(app, empty)).rejects.toThrow(/empty\.csv: the file is empty/);
        const latin = join(dir, "latin1.csv");
        writeFileSync(latin, Buffer.from(lines.join("\n").replace("Female", "Fêmea"), "latin1"));
        await expect(ingestIbmTelco(app, latin)).rejects.toThrow(/latin1\.csv: the file is not valid UTF-8/);
        expect(lakeFiles(home)).toEqual([]);
      } finally {
        await app.close();
      }
    },
  );
});

describe("ingest csv (user dataset)", () => {
  const schemasDir = tempDir("telco-schemas-");
  let app: AppContext;
  beforeAll(() => {
    ({ app } = newApp(schemasDir));
  });
  afterAll(() => app.close());
  const dir = tempDir();

  it("infers a contract, freezes it in schemasDir and builds gold.<name>_training", async () => {
    const file = join(dir, "acme.csv");
    writeFileSync(
      file,
      "Customer Id,Plan Type,Monthly Fee,Tenure,Joined,Is Churned\nA1,basic,10.5,3,2024-01-01,Y\nA2,plus,20,12,2023-05-02,N\nA3,basic, ,1,2024-06-01,N\n",
    );
    const report = await ingestCsv(app, file, {
      name: "acme-churn",
      target: "Is Churned",
      id: "Customer Id",
    });
    expect(report.contractInferred).toBe(true);
    expect(report.rows).toBe(3);
    const contract = readContract(join(schemasDir, "acme-churn", "acme-churn.json"));
    expect(contract.name).toBe("acme_churn");
    expect(Object.fromEntries(contract.columns.map((c) => [c.name, c.type]))).toEqual({
      "Customer Id": "string",
      "Plan Type": "string",
      "Monthly Fee": "number",
      Tenure: "integer",
      Joined: "date",
      "Is Churned": "string",
    });
    expect(contract.training).toMatchObject({ target: "Is Churned", positive: "Y" });
    const wh = await app.warehouse();
    const rows = await wh.query("SELECT * FROM gold.acme_churn_training ORDER BY customer_id");
    expect(rows.map((r) => [r.customer_id, r.label, r.plan_type, r.monthly_fee])).toEqual([
      ["A1", 1, "basic", 10.5],
      ["A2", 0, "plus", 20],
      ["A3", 0, "basic", null],
    ]);
    const v = await latestDatasetVersion(wh, "gold.acme_churn_training");
    expect(v?.rowCount).toBe(3);
  });

  it("validates a later file against the frozen contract", async () => {
    const file = join(dir, "acme2.csv");
    writeFileSync(
      file,
      "Customer Id,Plan Type,Monthly Fee,Tenure,Joined,Is Churned,Region\nA4,basic,abc,3,2024-01-01,Y,SP\nA5,plus,20,12,2023-05-02,N,RJ\n",
    );
    const report = await ingestCsv(app, file, { name: "acme-churn", target: "Is Churned" });
    expect(report.contractInferred).toBe(false);
    expect(report.rows).toBe(1);
    expect(report.rejects).toBe(1);
    expect(report.warnings.join()).toMatch(/unexpected column\(s\) Region/);
    const wh = await app.warehouse();
    const [n] = await wh.query<{ n: number }>("SELECT count(*) AS n FROM gold.acme_churn_training");
    expect(n.n).toBe(4);
    const missing = join(dir, "acme3.csv");
    writeFileSync(missing, "Customer Id,Plan Type,Tenure,Joined,Is Churned\nA6,basic,3,2024-01-01,Y\n");
    await expect(ingestCsv(app, missing, { name: "acme-churn", target: "Is Churned" })).rejects.toThrow(
      /acme3\.csv: missing required column\(s\) Monthly Fee/,
    );
  });

  it("asks for --positive when the target is not an obvious yes/no", async () => {
    const file = join(dir, "odd.csv");
    writeFileSync(file, "id,x,status\n1,2,gone\n2,3,stayed\n");
    await expect(ingestCsv(app, file, { name: "odd", target: "status" })).rejects.toThrow(/--positive/);
    const report = await ingestCsv(app, file, { name: "odd", target: "status", positive: "gone" });
    const wh = await app.warehouse();
    expect(await wh.query("SELECT customer_id, label, x FROM gold.odd_training ORDER BY 1")).toEqual([
      { customer_id: "1", label: 1, x: 2 },
      { customer_id: "2", label: 0, x: 3 },
    ]);
    expect(report.contractInferred).toBe(true);
  });
});

describe("ingest synthetic delivery", () => {
  let app: AppContext;
  let home: string;
  beforeAll(() => {
    ({ app, home } = newApp());
  });
  afterAll(() => app.close());

  it("ingests the newest delivery into silver.<contract> for every contract, rejecting injected defects", async () => {
    await generateOperatorData({
      customers: 200,
      seed: 7,
      months: 3,
      start: "2025-01",
      dirtyRate: 0.02,
      outDir: join(home, "deliveries", "synthetic", "d1"),
    });
    expect(newestSyntheticDelivery(home)).toBe(join(home, "deliveries", "synthetic", "d1"));
    const report = await ingestSynthetic(app);
    expect(report.files).toHaveLength(11);
    expect(report.rejects).toBeGreaterThan(0);
    const wh = await app.warehouse();
    const tables = await wh.tables();
    for (const t of [
      "crm_customers",
      "crm_contracts",
      "billing_invoices",
      "usage_monthly",
      "support_tickets",
    ]) {
      expect(tables).toContain(`silver.${t}`);
    }
    const [c] = await wh.query<{ n: number; ids: number; bad: number }>(
      "SELECT count(*) AS n, count(DISTINCT customer_id) AS ids, count(*) FILTER (NOT regexp_full_match(customer_id, '^AUR-[0-9]{8}$')) AS bad FROM silver.crm_customers",
    );
    expect(c.n).toBe(c.ids);
    expect(c.bad).toBe(0);
    expect(c.n).toBeGreaterThan(180);
    const [r] = await wh.query<{ n: number }>(
      "SELECT count(*) AS n FROM bronze.rejects WHERE line IS NULL OR reason IS NULL OR source_file IS NULL",
    );
    expect(r.n).toBe(0);
    const lineage = await datasetLineage(wh, "silver.support_tickets");
    expect(lineageRawFiles(lineage)[0]).toMatch(/^raw\/synthetic\/support\/.*tickets\.jsonl$/);
    expect(lakeFiles(home).some((f) => f.endsWith("manifest.json"))).toBe(true);
  });

  it("one bad file in a delivery fails the whole batch and publishes none of the good files", async () => {
    const src = join(home, "deliveries", "synthetic", "d1");
    const dst = join(home, "deliveries", "synthetic", "d2");
    cpSync(src, dst, { recursive: true });
    // Change every good file so none is skipped as already ingested, then break one.
    for (const f of ["crm/contracts.csv", "billing/invoices.csv"]) {
      writeFileSync(join(dst, f), `${readFileSync(join(dst, f), "utf8")}\n`);
    }
    // usage_monthly (most records) is staged first, while the other lane parses other files.
    const usage = readFileSync(join(dst, "usage/usage_monthly.csv"), "utf8").split("\n");
    writeFileSync(
      join(dst, "usage/usage_monthly.csv"),
      usage.map((l) => l.split(",").slice(1).join(",")).join("\n"),
    );
    const before = lakeFiles(home).sort();
    const versions = await listDatasetVersions(await app.warehouse());
    await expect(ingestSynthetic(app, dst)).rejects.toThrow(
      /usage\/usage_monthly\.csv: missing required column/,
    );
    expect(lakeFiles(home).sort()).toEqual(before);
    expect(await listDatasetVersions(await app.warehouse())).toEqual(versions);
  });
});
