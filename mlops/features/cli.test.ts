import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { createProgram, runProgram } from "../../platform/cli/runtime.ts";
import { workspacePaths } from "../../platform/workspace.ts";
import { registerFeatureCommands } from "./cli.ts";
import { FEATURE_NAMES } from "./definitions.ts";
import { loadOperator, randomOperator } from "./testing/random-operator.ts";
import { silverWarehouse } from "./testing/silver-fixtures.ts";

const repo = join(import.meta.dirname, "..", "..");
let home: string;

/** Runs `telco <args>` in-process with only this module's commands (fast); captures output. */
async function telco(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const so = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const se = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  const previous = process.env.TELCO_HOME;
  process.env.TELCO_HOME = home;
  try {
    const program = createProgram("0.0.0-test");
    registerFeatureCommands(program);
    const status = await runProgram(program, ["node", "telco", ...args]);
    return { status, stdout: out.join(""), stderr: err.join("") };
  } finally {
    so.mockRestore();
    se.mockRestore();
    if (previous === undefined) delete process.env.TELCO_HOME;
    else process.env.TELCO_HOME = previous;
  }
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "features-cli-"));
  const wh = await silverWarehouse(workspacePaths(home).warehouse);
  await loadOperator(wh, randomOperator(3, 40));
  await wh.close();
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

describe("telco features", () => {
  it("is wired into the real CLI binary (list --json)", () => {
    const r = spawnSync(process.execPath, [join(repo, "bin/telco.ts"), "features", "list", "--json"], {
      cwd: home,
      env: { ...process.env, TELCO_HOME: home },
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).features.map((f: { name: string }) => f.name)).toEqual(FEATURE_NAMES);
  });

  it("lists the declared features as a table", async () => {
    const text = await telco(["features", "list"]);
    expect(text.status).toBe(0);
    for (const name of FEATURE_NAMES) expect(text.stdout).toContain(name);
  });

  it("builds the training set as of a date and reports rows, positives and cutoffs", async () => {
    const r = await telco(["features", "dataset", "--as-of", "2025-10-01", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.asOf).toBe("2025-10-01");
    expect(s.cutoffs.map((c: { cutoffDate: string }) => c.cutoffDate)).toEqual([
      "2025-04-01",
      "2025-05-01",
      "2025-06-01",
      "2025-07-01",
      "2025-08-01",
      "2025-09-01", // + 30 days = 2025-10-01: label window complete by --as-of
    ]);
    expect(s.rows).toBe(s.cutoffs.reduce((a: number, c: { rows: number }) => a + c.rows, 0));
    expect(s.positiveRate).toBeCloseTo(s.positives / s.rows, 10);
  });

  it("rejects a malformed --as-of with exit 1 naming the option", async () => {
    const r = await telco(["features", "dataset", "--as-of", "01/10/2025", "--json"]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({
      code: "validation",
      message: expect.stringContaining("--as-of"),
    });
  });

  it("materializes the online store and reads a customer back with explanations", async () => {
    const m = await telco(["features", "materialize", "--as-of", "2025-09-01", "--json"]);
    expect(m.status, m.stderr).toBe(0);
    const summary = JSON.parse(m.stdout);
    expect(summary.rows).toBeGreaterThan(0);
    expect(summary.path).toBe(workspacePaths(home).onlineStore);
    const wh = await DuckDbWarehouse.open(workspacePaths(home).warehouse, { readOnly: true });
    const [{ id }] = await wh.query<{ id: string }>(
      "select min(customer_id) as id from gold.customer_features",
    );
    await wh.close();
    const g = await telco(["features", "get", id, "--json"]);
    expect(g.status, g.stderr).toBe(0);
    const record = JSON.parse(g.stdout);
    expect(record.asOf).toBe("2025-09-01");
    expect(Object.keys(record.features)).toEqual(FEATURE_NAMES);
    const text = await telco(["features", "get", record.customerId]);
    expect(text.stdout).toContain("Meses de contrato");
    const missing = await telco(["features", "get", "NOPE"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/NOPE/);
  });
});
