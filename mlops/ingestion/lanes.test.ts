import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import { ValidationError } from "../../platform/errors.ts";
import type { Row } from "../../platform/ports/warehouse.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { loadDatasetContracts } from "./contracts.ts";
import { scanFile } from "./scan.ts";
import { scanFileOffThread } from "./scan-worker.ts";
import { ingestSynthetic } from "./sources.ts";
import { tempDir } from "./test-helpers.ts";

function lakeFiles(home: string): string[] {
  const lake = join(home, "lake");
  if (!existsSync(lake)) return [];
  return readdirSync(lake, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

describe("files staged side by side (lanes)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(tempDir("telco-lanes-"), "delivery");
    await generateOperatorData({
      customers: 150,
      seed: 11,
      months: 3,
      start: "2025-01",
      dirtyRate: 0.01,
      outDir: dir,
    });
  });

  async function ingest(lanes: number, delivery = dir) {
    const home = tempDir("telco-home-");
    const app = contextFromConfig(configSchema.parse({}), home);
    try {
      const report = await ingestSynthetic(app, delivery, { lanes });
      const wh = await app.warehouse();
      const silver: Record<string, Row[]> = {};
      for (const c of loadDatasetContracts("synthetic").filter((c) => !c.optional)) {
        silver[c.name] = await wh.query(`SELECT * FROM silver.${c.name} ORDER BY ALL`);
      }
      const rejects = await wh.query(
        "SELECT * EXCLUDE (batch_id, ingested_at) FROM bronze.rejects ORDER BY table_name, line, reason",
      );
      const [threads] = await wh.query<{ t: number }>("SELECT current_setting('threads')::BIGINT AS t");
      return { report, silver, rejects, threads: Number(threads.t) };
    } finally {
      await app.close();
    }
  }

  it("three lanes give the same report, silver tables and rejects as one, in the plan's file order", async () => {
    const one = await ingest(1);
    const three = await ingest(3);
    const strip = (r: typeof one.report) =>
      r.files.map(({ file, table, status, rows, rejects, rejectReasons, contentHash, pass }) => ({
        file,
        table,
        status,
        rows,
        rejects,
        rejectReasons,
        contentHash,
        pass,
      }));
    expect(three.report.files.map((f) => f.file)).toEqual(
      loadDatasetContracts("synthetic")
        .filter((c) => !c.optional)
        .map((c) => c.file),
    );
    expect(strip(three.report)).toEqual(strip(one.report));
    expect(three.report.rejects).toBeGreaterThan(0);
    expect(three.rejects).toEqual(one.rejects);
    for (const [table, rows] of Object.entries(one.silver)) {
      expect(rows.length, table).toBeGreaterThan(0);
      expect(three.silver[table], table).toEqual(rows);
    }
    expect(three.report.tables.map((t) => [t.table, t.version, t.rows])).toEqual(
      one.report.tables.map((t) => [t.table, t.version, t.rows]),
    );
    // Lanes run DuckDB single-threaded; the instance's own setting comes back afterwards.
    expect(three.threads).toBe(one.threads);
  });

  it("a file failing in one lane while others stage fails the batch, publishes nothing and leaves the warehouse usable", async () => {
    const bad = join(tempDir("telco-lanes-bad-"), "delivery");
    cpSync(dir, bad, { recursive: true });
    // A small file (staged last) turns non-UTF-8; the big ones are mid-flight in other lanes.
    const disputes = join(bad, "billing/disputes.csv");
    writeFileSync(disputes, Buffer.concat([readFileSync(disputes), Buffer.from([0xff, 0xfe, 0x0a])]));
    const home = tempDir("telco-home-");
    const app = contextFromConfig(configSchema.parse({}), home);
    try {
      const before = lakeFiles(home);
      await expect(ingestSynthetic(app, bad, { lanes: 3 })).rejects.toThrow(
        /disputes\.csv: the file is not valid UTF-8/,
      );
      expect(lakeFiles(home)).toEqual(before);
      expect(existsSync(join(home, "tmp")) ? readdirSync(join(home, "tmp")) : []).toEqual([]);
      const wh = await app.warehouse();
      const [t] = await wh.query<{ t: number }>("SELECT current_setting('threads')::BIGINT AS t");
      expect(Number(t.t)).toBeGreaterThan(1);
      // The same workspace then takes the good delivery.
      const ok = await ingestSynthetic(app, dir, { lanes: 3 });
      expect(ok.files.every((f) => f.status === "ingested")).toBe(true);
      expect(ok.rows).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });
});

describe("scanFileOffThread", () => {
  it("gives scanFile's result from a worker thread", async () => {
    const dir = tempDir("telco-scanw-");
    const path = join(dir, "a.csv");
    writeFileSync(path, 'id,text\n1,"two\nlines"\n2,x\n\n3,y,extra\n');
    const inPlace = await scanFile(path, { format: "csv" });
    const worker = await scanFileOffThread(path, { format: "csv" }, 0);
    expect(worker).toEqual(inPlace);
    expect(worker.ragged).toHaveLength(1);
  });

  it("rethrows the worker's ValidationError as the same class, field, message and details", async () => {
    const dir = tempDir("telco-scanw-");
    const path = join(dir, "bad.csv");
    writeFileSync(
      path,
      Buffer.concat([Buffer.from("id,name\n1,Jo"), Buffer.from([0xe3, 0x28]), Buffer.from("\n")]),
    );
    const expected = await scanFile(path, { format: "csv" }).catch((e: unknown) => e);
    const got = await scanFileOffThread(path, { format: "csv" }, 0).catch((e: unknown) => e);
    expect(expected).toBeInstanceOf(ValidationError);
    expect(got).toBeInstanceOf(ValidationError);
    const v = got as ValidationError;
    const e = expected as ValidationError;
    expect([v.field, v.message, v.hint, v.details]).toEqual([e.field, e.message, e.hint, e.details]);
  });

  it("a missing file fails the same way in place and on a worker", async () => {
    const path = join(tempDir("telco-scanw-"), "nope.csv");
    await expect(scanFileOffThread(path, { format: "csv" }, 0)).rejects.toThrow(/ENOENT/);
  });
});
