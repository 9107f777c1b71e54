import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { readContract, resolvePositive } from "./contracts.ts";
import { ingestCsv } from "./sources.ts";
import { tempDir } from "./test-helpers.ts";

/** User CSVs as public churn datasets ship them: no id, mixed-case booleans, `;` and decimal commas. */
describe("ingest csv: files nobody here wrote", () => {
  let app: AppContext;
  let home: string;
  const dir = tempDir("telco-csv-");
  beforeAll(() => {
    home = tempDir("telco-home-");
    app = contextFromConfig(configSchema.parse({}), home);
  });
  afterAll(() => app.close());

  const bronzeAndRejects = async (table: string, batchId: string) => {
    const wh = await app.warehouse();
    const [b] = await wh.query<{ n: number }>(
      `SELECT count(*) AS n FROM bronze.${table} WHERE _batch_id = '${batchId}'`,
    );
    const rejects = await wh.query<{ line: number; reason: string }>(
      `SELECT line, reason FROM bronze.rejects WHERE batch_id = '${batchId}' ORDER BY line`,
    );
    return { bronze: Number(b.n), rejects };
  };

  it("a file without an id column gets a stable row id from file and line, stated in the contract", async () => {
    const file = join(dir, "noid.csv");
    writeFileSync(file, "plan,minutes,churn\nbasic,10,yes\nplus,20,no\nbasic,7,\nplus,5,no\n");
    const report = await ingestCsv(app, file, { name: "noid", target: "churn" });
    expect(report.id).toEqual({ column: "row_id", generated: true });
    // The contract lands in the workspace, not the source tree.
    expect(report.contract).toBe(join(home, "schemas", "noid", "noid.json"));
    const contract = readContract(report.contract);
    expect(contract.rowId).toBe("row_id");
    expect(contract.primaryKey).toEqual(["row_id"]);
    expect(contract.description).toMatch(/<file name>:<line>/);
    // Every row ends in bronze or in rejects with its line and reason.
    const { bronze, rejects } = await bronzeAndRejects("noid", report.batchId);
    expect(bronze + rejects.length).toBe(4);
    expect(rejects).toEqual([{ line: 4, reason: expect.stringMatching(/churn/) }]);
    const wh = await app.warehouse();
    expect(await wh.query("SELECT customer_id, label FROM gold.noid_training ORDER BY customer_id")).toEqual([
      { customer_id: "noid.csv:2", label: 1 },
      { customer_id: "noid.csv:3", label: 0 },
      { customer_id: "noid.csv:5", label: 0 },
    ]);
    expect(report.labels).toMatchObject({ positives: 1, negatives: 2 });
    // Re-ingesting the same file keeps the same ids: silver does not grow.
    writeFileSync(file, "plan,minutes,churn\nbasic,10,yes\nplus,20,no\nbasic,7,\nplus,5,no\n\n");
    await ingestCsv(app, file, { name: "noid", target: "churn" });
    const [n] = await wh.query<{ n: number }>("SELECT count(*) AS n FROM silver.noid");
    expect(Number(n.n)).toBe(3);
  });

  it("mixed-case boolean targets with spaces all count (TRUE, True, true, ' yes ')", async () => {
    const file = join(dir, "mixed.csv");
    writeFileSync(
      file,
      "id,calls,Churn\n1,3,TRUE\n2,4,True\n3,5,FALSE\n4,6,False\n5,1,true\n6,2, false \n7,9,false\n",
    );
    const report = await ingestCsv(app, file, { name: "mixed", target: "Churn" });
    expect(report.labels).toMatchObject({ positives: 3, negatives: 4 });
    expect(report.labels.positive).toContain("true");
    const wh = await app.warehouse();
    const rows = await wh.query<{ customer_id: string; label: number }>(
      "SELECT customer_id, label FROM gold.mixed_training ORDER BY customer_id",
    );
    expect(rows.map((r) => r.label)).toEqual([1, 1, 0, 0, 1, 0, 0]);
  });

  it("--positive matches case-insensitively and covers the other spellings of a boolean", async () => {
    const file = join(dir, "pt.csv");
    writeFileSync(file, "id,x,cancelou\n1,1,Sim\n2,2,não\n3,3,SIM\n4,4,Não\n5,5,s\n");
    const report = await ingestCsv(app, file, { name: "pt", target: "cancelou", positive: "sim" });
    expect(report.labels).toMatchObject({ positives: 3, negatives: 2 });
    const other = join(dir, "status.csv");
    writeFileSync(other, "id,x,status\n1,1,Gone\n2,2,stayed\n3,3,gone\n");
    const r2 = await ingestCsv(app, other, { name: "status", target: "status", positive: "GONE" });
    expect(r2.labels).toMatchObject({ positives: 2, negatives: 1 });
    await expect(
      ingestCsv(app, other, { name: "status2", target: "status", positive: "left" }),
    ).rejects.toThrow(/--positive.*"left" never occurs in column status/);
  });

  it("guessing the positive value covers every boolean spelling, and refuses a non-boolean", () => {
    for (const [values, positive] of [
      [["Y", "n"], "Y"],
      [["1", "0"], "1"],
      [["no", "Yes", "YES"], "Yes"],
      [["Não", "Sim"], "Sim"],
      [["FALSE", "True", "true"], "True"],
    ] as const) {
      expect(resolvePositive([...values], "t", undefined).positive).toBe(positive);
    }
    expect(() => resolvePositive(["gold", "silver"], "tier", undefined)).toThrow(/pass --positive/);
    // A yes/no target with a stray value is refused, naming it (it would count as no churn).
    expect(() => resolvePositive(["yes", "No", "maybe"], "t", "yes")).toThrow(
      /"maybe".*silently count as no churn/,
    );
    // A multi-valued status is not boolean: --positive picks one value, the others are no churn.
    expect(resolvePositive(["Churned", "Stayed", "Joined"], "status", "Churned").positiveValues).toEqual([
      "churned",
    ]);
    expect(() => resolvePositive(["no", "nao"], "t", undefined)).toThrow(/pass --positive/);
  });

  it("semicolon separators with decimal commas become numbers; BOM and mixed CRLF/LF still work", async () => {
    const file = join(dir, "br.csv");
    writeFileSync(
      file,
      `\uFEFFcliente;plano;valor_mensal;churn\r\nC1;pre;126,76;Sim\nC2;pos;99,9;Não\r\nC4;pre;10;Não\n`,
    );
    const report = await ingestCsv(app, file, { name: "br", target: "churn", id: "cliente" });
    expect(report.decimalComma).toEqual(["valor_mensal"]);
    const contract = readContract(report.contract);
    expect(contract.delimiter).toBe(";");
    expect(contract.columns.find((c) => c.name === "valor_mensal")).toMatchObject({
      type: "number",
      decimal: ",",
    });
    const wh = await app.warehouse();
    expect(
      await wh.query("SELECT customer_id, label, valor_mensal FROM gold.br_training ORDER BY 1"),
    ).toEqual([
      { customer_id: "C1", label: 1, valor_mensal: 126.76 },
      { customer_id: "C2", label: 0, valor_mensal: 99.9 },
      { customer_id: "C4", label: 0, valor_mensal: 10 },
    ]);
    // A later file's value that is no number is a reject naming the field and line.
    const later = join(dir, "br2.csv");
    writeFileSync(later, "cliente;plano;valor_mensal;churn\nC5;pre;12,5;sim\nC6;pre;doze;não\n");
    const r2 = await ingestCsv(app, later, { name: "br", target: "churn" });
    const { bronze, rejects } = await bronzeAndRejects("br", r2.batchId);
    expect(bronze).toBe(1);
    expect(rejects).toEqual([{ line: 3, reason: expect.stringMatching(/valor_mensal/) }]);
  });

  it("--contract-dir puts the contract where a team versions it; a missing column is named", async () => {
    const file = join(dir, "team.csv");
    writeFileSync(file, "customerID,x,Churn\nA,1,Yes\nB,2,No\n");
    const contractDir = tempDir("telco-contracts-");
    const report = await ingestCsv(app, file, { name: "team", target: "Churn", contractDir });
    expect(report.contract).toBe(join(contractDir, "team", "team.json"));
    expect(report.id).toEqual({ column: "customerID", generated: false });
    expect(existsSync(join(home, "schemas", "team"))).toBe(false);
    await expect(ingestCsv(app, file, { name: "team3", target: "Churned" })).rejects.toThrow(
      /--target: column "Churned" not found in the header of team\.csv/,
    );
  });
});
