import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type DataContract, dataContractSchema } from "../ingestion/contract.ts";
import { readDeliveryTable } from "./read-delivery.ts";
import { TableWriter } from "./writer.ts";

const dir = mkdtempSync(join(tmpdir(), "aurora-writer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const contract = (format: "csv" | "jsonl"): DataContract =>
  dataContractSchema.parse({
    name: "t",
    version: 1,
    dataset: "synthetic",
    source: "test",
    format,
    file: `x/t.${format}`,
    primaryKey: ["id"],
    columns: [
      { name: "id", type: "integer" },
      { name: "text", type: "string", nullable: true },
      { name: "amount_brl", type: "number", min: 0 },
    ],
  });

// Awkward values: separators, quotes, newlines, accents, control chars, and one bigger than a chunk.
const values = [
  "a,b",
  'say "oi"',
  "linha1\nlinha2",
  "São Paulo – ação",
  "tab\there",
  "",
  "x".repeat(300_000),
];

describe("TableWriter", () => {
  it.each(["csv", "jsonl"] as const)(
    "round-trips awkward %s values and reports rows, bytes and sha256",
    async (format) => {
      const c = contract(format);
      const w = new TableWriter(c, join(dir, format), { dirtyRate: 0, seed: 1, stream: 0 });
      for (const [i, v] of values.entries()) w.write([String(i + 1), v, "12.50"]);
      const summary = await w.close();
      const bytes = readFileSync(join(dir, format, c.file));
      expect(summary.rows).toBe(values.length);
      expect(summary.bytes).toBe(bytes.length);
      expect(summary.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
      const { rows } = readDeliveryTable(join(dir, format), c);
      expect(rows.map((r) => r.text)).toEqual(values.map((v) => (v === "" ? null : v)));
      expect(rows.every((r) => r.amount_brl === "12.5" || r.amount_brl === "12.50")).toBe(true);
    },
  );

  it("injects defects only when asked, and counts them", async () => {
    const c = contract("csv");
    const w = new TableWriter(c, join(dir, "dirty"), { dirtyRate: 0.5, seed: 1, stream: 0 });
    for (let i = 0; i < 400; i++) w.write([String(i + 1), "ok", "10.00"]);
    const summary = await w.close();
    const total = Object.values(summary.defects).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(150);
    expect(total).toBeLessThan(250);
    expect(summary.rows).toBe(400 + summary.defects.duplicate_key);
    expect(summary.defects.negative_amount).toBeGreaterThan(0);
    expect(summary.defects.bad_date).toBe(0); // the table has no date column
  });
});
