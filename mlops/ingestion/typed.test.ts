import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import type { Row } from "../../platform/ports/warehouse.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { patternAsGlob } from "./bronze.ts";
import type { DataContract } from "./contract.ts";
import { loadDatasetContracts } from "./contracts.ts";
import { ingestSynthetic } from "./sources.ts";
import { type BronzeRun, runBronze, tempDir, testContract } from "./test-helpers.ts";

// The typed read (DuckDB parses with the contract's types) must give exactly what the text pass
// (VARCHAR + TRY_CAST + rules) gives: same bronze rows, same rejects, whichever runs.

/** Cells that DuckDB's typed reader and TRY_CAST treat alike or differently (the edge cases found). */
const CSV_CELLS = {
  integer: [
    "12",
    " 12",
    "1.0",
    "1.5",
    "1e3",
    "+5",
    "0x10",
    "1_000",
    "-0",
    "99999999999999999999",
    "9007199254740993",
    "  ",
    "",
    "abc",
    "NaN",
    "-3",
  ],
  number: ["1.5", " 1.5 ", ".5", "5.", "1e400", "NaN", "inf", "-0", "1_0", "0x10", "", "x", "-1", "1e2"],
  date: [
    "2025-01-05",
    "2025-1-5",
    "2025-01-05 10:00:00",
    "2025/01/05",
    "20250105",
    "2025-02-30",
    " 2025-01-05",
    "",
  ],
  timestamp: [
    "2025-01-05T10:00:00Z",
    "2025-01-05T10:00:00+03:00",
    "2025-01-05",
    "2025-01-05 10:00",
    "1736071200",
    "",
  ],
  boolean: ["true", "True", "t", "1", "yes", "y", " true ", "2", "0", "false", ""],
};

const csvContract = testContract([
  { name: "id" },
  { name: "n", type: "integer", nullable: true, min: 0, max: 1000000 },
  { name: "x", type: "number", nullable: true, min: 0 },
  { name: "d", type: "date", nullable: true },
  { name: "ts", type: "timestamp" },
  { name: "ok", type: "boolean", nullable: true },
  { name: "note", nullable: true, required: false },
]);

/** JSON values (already encoded) for the same columns: numbers, strings, booleans and nulls mixed. */
const JSON_VALUES = {
  n: [
    "12",
    '"12"',
    "1.5",
    "1.0",
    "1e3",
    "true",
    '" 12"',
    '"abc"',
    "null",
    '""',
    "[1]",
    "99999999999999999999",
    "-1",
  ],
  x: ["1.5", '"1.5"', "1e400", '"NaN"', "true", '""', "0.1", "12345678901234567890123", "null", "-2"],
  ts: ['"2025-01-05T10:00:00"', '"2025-01-05T10:00:00+03:00"', '"2025-01-05"', "1736071200", '"bad"'],
  ok: ["true", '"true"', '"yes"', "1", "0", "2", '""', "null"],
};

const jsonContract = testContract(
  [
    { name: "id" },
    { name: "n", type: "integer", nullable: true, min: 0 },
    { name: "x", type: "number", nullable: true, min: 0 },
    { name: "ts", type: "timestamp", nullable: true },
    { name: "ok", type: "boolean", nullable: true },
  ],
  { format: "jsonl", file: "t.jsonl" },
);

/**
 * Runs the bronze stage with the typed read allowed and, when it was used, again with the text
 * pass forced (when the typed read fell back, both runs would be the same text pass).
 */
async function bothPasses(
  wh: DuckDbWarehouse,
  contract: DataContract,
  content: string,
  file: string,
): Promise<{ typed: BronzeRun; text: BronzeRun }> {
  const typed = await runBronze(contract, content, file, wh);
  if (typed.result.pass === "text") return { typed, text: typed };
  const text = await runBronze(contract, content, file, wh, { typedRead: false });
  expect(text.result.pass).toBe("text");
  return { typed, text };
}

function expectSame(a: BronzeRun, b: BronzeRun): void {
  expect(a.rows).toEqual(b.rows);
  expect(a.rejects).toEqual(b.rejects);
  expect(a.result.rows).toBe(b.result.rows);
  expect(a.result.rejectReasons).toEqual(b.result.rejectReasons);
}

describe("typed read vs text pass: identical bronze and rejects", () => {
  let wh: DuckDbWarehouse;
  beforeAll(async () => {
    wh = await DuckDbWarehouse.open(":memory:");
  });
  afterAll(() => wh.close());

  it("CSV: one edge-case cell among clean rows, for every edge case of every type", async () => {
    const good = ["12", "1.5", "2025-01-05", "2025-01-05T10:00:00", "true"];
    const cols = ["n", "x", "d", "ts", "ok"] as const;
    let typedUsed = 0;
    for (const [k, col] of cols.entries()) {
      for (const cell of CSV_CELLS[csvContract.columns[k + 1].type as keyof typeof CSV_CELLS]) {
        const bad = [...good];
        bad[k] = cell;
        const lines = [
          "id,n,x,d,ts,ok,note",
          `A1,${good.join(",")},a`,
          `A2,${bad.join(",")},b`,
          `A3,${good.join(",")},`,
        ];
        const { typed, text } = await bothPasses(wh, csvContract, `${lines.join("\n")}\n`, "edge.csv");
        expectSame(typed, text);
        if (typed.result.pass === "typed") typedUsed++;
      }
      void col;
    }
    // The clean variants (e.g. " 12", "1e3", "2025/01/05") really went through the typed read.
    expect(typedUsed).toBeGreaterThan(15);
  });

  it("JSONL: one edge-case value among clean lines, for every edge case of every column", async () => {
    // No JSON true/false in the clean lines, so number columns are read typed unless the edge value is one.
    const good: Record<string, string> = { n: "12", x: "1.5", ts: '"2025-01-05T10:00:00"', ok: '"yes"' };
    let typedUsed = 0;
    for (const [col, values] of Object.entries(JSON_VALUES)) {
      for (const v of values) {
        const line = (id: string, over: Record<string, string>) =>
          `{"id":"${id}",${Object.entries({ ...good, ...over })
            .map(([k, val]) => `"${k}":${val}`)
            .join(",")}}`;
        const content = `${[line("J1", {}), line("J2", { [col]: v }), line("J3", {})].join("\n")}\n`;
        const { typed, text } = await bothPasses(wh, jsonContract, content, "edge.jsonl");
        expectSame(typed, text);
        if (typed.result.pass === "typed") typedUsed++;
      }
    }
    expect(typedUsed).toBeGreaterThan(12);
  });

  it("random files mixing clean and edge-case cells give the same result both ways (property)", async () => {
    const cell = (t: keyof typeof CSV_CELLS) => fc.constantFrom(...CSV_CELLS[t]);
    const row = fc.tuple(cell("integer"), cell("number"), cell("date"), cell("timestamp"), cell("boolean"));
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 6 }), async (rows) => {
        const lines = ["id,n,x,d,ts,ok", ...rows.map((r, i) => `R${i % 4},${r.join(",")}`)];
        const { typed, text } = await bothPasses(wh, csvContract, `${lines.join("\n")}\n`, "p.csv");
        expectSame(typed, text);
      }),
      { numRuns: 20, seed: 11 },
    );
  });

  it("a ragged row in a quote-free file (DuckDB's strict reader refuses it) is still named", async () => {
    const lines = [
      "id,n,x,d,ts,ok",
      "A1,1,1,2025-01-05,2025-01-05,true",
      "A2,1,1,2025-01-05,2025-01-05,true,extra",
      "A3,1,1,2025-01-05",
      "A4,1,1,2025-01-05,2025-01-05,true,", // trailing delimiter: DuckDB's strict mode lets it through
    ];
    const { typed } = await bothPasses(wh, csvContract, `${lines.join("\n")}\n`, "r.csv");
    expect(typed.result.pass).toBe("text");
    expect(typed.rows.map((r) => r.id)).toEqual(["A1"]);
    expect(typed.rejects.map((r) => [Number(r.line), String(r.reason)])).toEqual([
      [3, "ragged row: 7 fields, header has 6"],
      [4, expect.stringMatching(/^ragged row: 4 fields, header has 6/)],
      [5, "ragged row: 7 fields, header has 6"],
    ]);
    // Each of those rows alone: the line-only scan defers to DuckDB (strict) or to field counts.
    for (const bad of lines.slice(2)) {
      const one = await bothPasses(wh, csvContract, `${lines[0]}\n${lines[1]}\n${bad}\n`, "r1.csv");
      expect(one.typed.result.pass).toBe("text");
      expect(one.typed.rejects.map((r) => Number(r.line))).toEqual([3]);
    }
  });

  it("a JSON boolean in a number column is rejected, not read as 1", async () => {
    const content =
      '{"id":"J1","n":1,"x":true,"ts":null,"ok":null}\n{"id":"J2","n":2,"x":3,"ts":null,"ok":null}\n';
    const { typed, text } = await bothPasses(wh, jsonContract, content, "b.jsonl");
    expectSame(typed, text);
    expect(typed.rows.map((r) => r.id)).toEqual(["J2"]);
    expect(String(typed.rejects[0].reason)).toMatch(/x: "true" is not a valid number/);
  });
});

describe("contract patterns as GLOB", () => {
  const patterns = [
    ...new Set(
      ["synthetic", "ibm-telco"].flatMap((d) =>
        loadDatasetContracts(d).flatMap((c) =>
          c.columns.flatMap((col) => (col.pattern ? [col.pattern] : [])),
        ),
      ),
    ),
  ];

  it("translates every shipped pattern and refuses what GLOB cannot express", () => {
    expect(patterns.length).toBeGreaterThan(8);
    for (const p of patterns) expect(patternAsGlob(p), p).toBeDefined();
    for (const p of [
      "^a+$",
      "^a|b$",
      "abc",
      "^a*$",
      "^[^0-9]$",
      "^x{2,3}$",
      "^a.b$",
      "^[0-9]?$",
      "^(ab){2}$",
    ]) {
      expect(patternAsGlob(p), p).toBeUndefined();
    }
  });

  it("GLOB accepts exactly the strings regexp_full_match accepts (property, multi-byte and near misses)", async () => {
    const wh = await DuckDbWarehouse.open(":memory:");
    try {
      // Near misses: a valid-looking string per pattern with one character replaced, dropped or added.
      const chars = fc.constantFrom(..."0123456789AURINVCTRPAY-.() 9é٣\n*?[]_%aZ");
      for (const p of patterns) {
        const sample = (patternAsGlob(p) ?? "").replace(/\[(.)-.\]/g, (_, lo: string) =>
          /[0-9]/.test(lo) ? "5" : lo,
        );
        const strings = fc.sample(
          fc.oneof(
            fc.string({ unit: chars, maxLength: 20 }),
            fc
              .tuple(fc.nat(sample.length), chars, fc.constantFrom("replace", "drop", "add"))
              .map(([i, c, op]) =>
                op === "replace"
                  ? sample.slice(0, i) + c + sample.slice(i + 1)
                  : op === "drop"
                    ? sample.slice(0, i) + sample.slice(i + 1)
                    : sample.slice(0, i) + c + sample.slice(i),
              ),
          ),
          { numRuns: 400, seed: 3 },
        );
        strings.push(sample);
        const [r] = await wh.query<{ differ: number; matched: number }>(
          `SELECT count(*) FILTER (WHERE (s GLOB ?) <> regexp_full_match(s, ?)) AS differ, count(*) FILTER (WHERE regexp_full_match(s, ?)) AS matched FROM (SELECT unnest(from_json(?, '["VARCHAR"]')) AS s)`,
          [patternAsGlob(p), p, p, JSON.stringify(strings)],
        );
        expect(r.differ, p).toBe(0);
        expect(r.matched, p).toBeGreaterThan(0);
      }
    } finally {
      await wh.close();
    }
  });
});

describe("synthetic delivery with injected bad rows: typed read and text pass agree", () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(tempDir("telco-typed-"), "delivery");
    await generateOperatorData({
      customers: 150,
      seed: 5,
      months: 3,
      start: "2025-01",
      dirtyRate: 0.004,
      outDir: dir,
    });
  });

  async function ingest(typedRead: boolean) {
    const home = tempDir("telco-home-");
    const app = contextFromConfig(configSchema.parse({}), home);
    const report = await ingestSynthetic(app, dir, { typedRead });
    const wh = await app.warehouse();
    const silver: Record<string, Row[]> = {};
    for (const c of loadDatasetContracts("synthetic").filter((c) => !c.optional)) {
      silver[c.name] = await wh.query(`SELECT * FROM silver.${c.name} ORDER BY ALL`);
    }
    const rejects = await wh.query(
      "SELECT * EXCLUDE (batch_id, ingested_at) FROM bronze.rejects ORDER BY table_name, line",
    );
    await app.close();
    return { report, silver, rejects };
  }

  it("same silver tables (row counts and values) and same rejects; clean files took the typed read", async () => {
    const fast = await ingest(true);
    const text = await ingest(false);
    expect(text.report.files.every((f) => f.pass === "text")).toBe(true);
    // Files with injected defects fell back to the text pass; clean ones were read typed.
    expect(fast.report.files.some((f) => f.pass === "typed")).toBe(true);
    expect(fast.report.files.some((f) => f.pass === "text" && f.rejects > 0)).toBe(true);
    expect(fast.rejects.length).toBeGreaterThan(0);
    expect(fast.rejects).toEqual(text.rejects);
    for (const [table, rows] of Object.entries(text.silver)) {
      expect(rows.length, table).toBeGreaterThan(0);
      expect(fast.silver[table], table).toEqual(rows);
    }
    expect(fast.report.rows).toBe(text.report.rows);
  });
});
