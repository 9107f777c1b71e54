import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createProgram, runProgram } from "../../platform/cli/runtime.ts";
import { UsageError } from "../../platform/errors.ts";
import { describeIbm } from "../training/testing/ibm-suite.ts";
import { assertReadOnlySql, registerIngestionCommands, renderTable } from "./cli.ts";
import { ibmTelcoPath, tempDir } from "./test-helpers.ts";

describe("telco sql guard", () => {
  it.each([
    "select 1",
    "  WITH x AS (SELECT 1) SELECT * FROM x;",
    "-- comment\nSELECT ';' AS semi",
    "describe gold.ibm_telco_training",
    "show tables",
    "explain select 1",
    "summarize silver.ibm_telco",
  ])("accepts %j", (q) => {
    expect(() => assertReadOnlySql(q)).not.toThrow();
  });

  it.each([
    "drop table meta.raw_files",
    "insert into meta.raw_files values (1)",
    "select 1; drop table x",
    "copy (select 1) to '/tmp/x.csv'",
    "attach 'x.db'",
    "/* select */ delete from t",
    "",
  ])("refuses %j", (q) => {
    expect(() => assertReadOnlySql(q)).toThrow(UsageError);
  });

  it("renders a table with a row count and cuts long cells", () => {
    const out = renderTable(
      [
        { a: 1, b: "x".repeat(100) },
        { a: null, b: "y" },
      ],
      10,
    );
    const lines = out.split("\n");
    expect(lines[0]).toMatch(/^a\s+b$/);
    expect(lines[2]).toMatch(/^1\s+x{39}…$/);
    expect(lines[3]).toMatch(/^NULL\s+y$/);
    expect(lines.at(-1)).toBe("(2 rows)");
  });
});

describeIbm("telco data / telco sql (end to end, in process)", () => {
  const home = tempDir("telco-cli-home-");
  /** Runs the real CLI program in this process, capturing stdout/stderr. */
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
      // Only this module's commands: the test does not depend on other modules' state.
      const program = createProgram("test");
      registerIngestionCommands(program);
      const status = await runProgram(program, ["node", "telco", ...args]);
      return { status, stdout: out.join(""), stderr: err.join("") };
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  }
  beforeAll(() => {
    process.env.TELCO_HOME = join(home, ".telco");
  });
  afterAll(() => {
    delete process.env.TELCO_HOME;
  });

  it("ingests the IBM file, queries it read-only and prints lineage down to the raw file", async () => {
    const none = await telco(["sql", "select 1"]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/warehouse .* not found/);

    const ingest = await telco(["--json", "data", "ingest", "ibm-telco", ibmTelcoPath()]);
    expect(ingest.status, ingest.stderr).toBe(0);
    expect(JSON.parse(ingest.stdout)).toMatchObject({ dataset: "ibm-telco", rows: 7043, rejects: 0 });

    const q = await telco([
      "--json",
      "sql",
      "select count(*) as n, sum(label) as churn from gold.ibm_telco_training",
    ]);
    expect(q.status, q.stderr).toBe(0);
    expect(JSON.parse(q.stdout)).toEqual([{ n: 7043, churn: 1869 }]);

    const human = await telco([
      "sql",
      "select contract, count(*) as n from silver.ibm_telco group by 1 order by 1",
    ]);
    expect(human.stdout).toMatch(/contract\s+n\n/);
    expect(human.stdout).toMatch(/Month-to-month\s+3875/);

    const write = await telco(["sql", "delete from meta.dataset_versions"]);
    expect(write.status).toBe(2);

    const lineage = await telco(["data", "lineage", "gold.ibm_telco_training"]);
    expect(lineage.status, lineage.stderr).toBe(0);
    expect(lineage.stdout).toMatch(/gold\.ibm_telco_training@[0-9a-f]{16}/);
    expect(lineage.stdout).toMatch(/└─ raw\/ibm-telco\/ibm\/ingest_date=.*telco-customer-churn\.csv@/);

    const versions = await telco(["--json", "data", "versions", "silver.ibm_telco"]);
    expect(JSON.parse(versions.stdout)).toHaveLength(1);
  });
});
