import { describe, expect, it } from "vitest";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { ValidationError } from "../../platform/errors.ts";
import { runBronze, testContract } from "./test-helpers.ts";

const contract = testContract([
  { name: "id", pattern: "^C[0-9]{3}$" },
  { name: "plan", enum: ["basic", "plus"] },
  { name: "months", type: "integer", min: 0, max: 120 },
  { name: "charges", type: "number", nullable: true, min: 0 },
  { name: "active", type: "boolean" },
  { name: "since", type: "date" },
  { name: "note", nullable: true, required: false },
]);

const header = "id,plan,months,charges,active,since,note";

describe("bronze stage: typing and rejects", () => {
  it("types valid rows and treats blank numeric cells in nullable columns as NULL, not a reject", async () => {
    const { rows, result } = await runBronze(
      contract,
      `${header}\nC001,basic,3,10.5,true,2024-01-31,hi\nC002,plus,0, ,false,2023-12-01,\n`,
    );
    expect(result.rejects).toBe(0);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      id: "C001",
      plan: "basic",
      months: 3,
      charges: 10.5,
      active: true,
      note: "hi",
      _line: 2,
    });
    expect(rows[1].charges).toBeNull();
    expect(rows[1].note).toBeNull();
    expect(rows[1]._line).toBe(3);
  });

  it("rejects each bad row with file, line and a reason naming the column", async () => {
    const lines = [
      header,
      "C001,basic,3,1,true,2024-01-01,", // 2 ok
      "C002,gold,3,1,true,2024-01-01,", // 3 enum
      "C003,basic,abc,1,true,2024-01-01,", // 4 wrong type
      "C004,basic,500,1,true,2024-01-01,", // 5 out of range
      "X5,basic,3,1,true,2024-01-01,", // 6 pattern
      "C006,basic,,1,true,2024-01-01,", // 7 null in non-nullable
      "C001,plus,4,2,false,2024-02-01,", // 8 duplicate key
      "C008,basic,3,1,true", // 9 ragged (too few fields)
      "C009,basic,3,1,true,2024-01-01,x,extra", // 10 ragged (too many)
      "C010,basic,2.5,1,maybe,2024-13-45,", // 11 several problems
      "C011,basic,3,-1,true,2024-01-01,", // 12 below minimum (nullable number)
    ];
    const { rows, rejects, result } = await runBronze(contract, `${lines.join("\n")}\n`, "customers.csv");
    expect(rows.map((r) => r.id)).toEqual(["C001"]);
    expect(result.rows).toBe(1);
    expect(result.rejects).toBe(10);
    const byLine = new Map(rejects.map((r) => [Number(r.line), String(r.reason)]));
    expect(rejects.every((r) => r.source_file === "customers.csv")).toBe(true);
    expect(byLine.get(3)).toMatch(/plan: "gold" is not an allowed value/);
    expect(byLine.get(4)).toMatch(/months: "abc" is not a valid integer/);
    expect(byLine.get(5)).toMatch(/months: 500 is above maximum 120/);
    expect(byLine.get(6)).toMatch(/id: "X5" does not match pattern/);
    expect(byLine.get(7)).toMatch(/months: empty value in a non-nullable column/);
    expect(byLine.get(8)).toMatch(/duplicate key \(id=C001\), first seen on line 2/);
    expect(byLine.get(9)).toMatch(/ragged row: 5 fields, header has 7/);
    expect(byLine.get(10)).toMatch(/ragged row: 8 fields, header has 7/);
    const multi = byLine.get(11) ?? "";
    expect(multi).toMatch(/months: "2.5" is not a valid integer/);
    expect(multi).toMatch(/active: "maybe" is not a valid boolean/);
    expect(multi).toMatch(/since: "2024-13-45" is not a valid date/);
    expect(byLine.get(12)).toMatch(/charges: -1 is below minimum 0/);
    expect(JSON.parse(String(rejects[0].record))).toMatchObject({ id: "C002", plan: "gold" });
    expect(result.rejectReasons["duplicate key"]).toBe(1);
  });

  it("restores the warehouse's thread count after the single-threaded checked COPY", async () => {
    const wh = await DuckDbWarehouse.open(":memory:");
    try {
      await wh.exec("SET threads = 3");
      const { rows } = await runBronze(
        contract,
        `${header}\nC001,basic,3,10.5,true,2024-01-31,hi\n`,
        "t.csv",
        wh,
      );
      expect(rows).toHaveLength(1);
      const [t] = await wh.query<{ t: number }>("SELECT current_setting('threads')::BIGINT AS t");
      expect(Number(t.t)).toBe(3);
    } finally {
      await wh.close();
    }
  });

  it("finds a key repeated three times and repeated composite keys among many unique ones", async () => {
    const pair = testContract([{ name: "cust" }, { name: "month" }, { name: "n", type: "integer" }], {
      primaryKey: ["cust", "month"],
    });
    const rows = Array.from({ length: 5000 }, (_, i) => `K${i % 2500},${i < 2500 ? "01" : "02"},${i}`);
    // Lines 2.. hold 5000 unique (cust, month) pairs; append repeats of lines 2 and 3 and a third copy.
    rows.push("K0,01,9000", "K1,01,9001", "K0,01,9002", "K0,02,9003");
    const { rows: kept, rejects, result } = await runBronze(pair, `cust,month,n\n${rows.join("\n")}\n`);
    expect(kept).toHaveLength(5000);
    expect(rejects.map((r) => Number(r.line))).toEqual([5002, 5003, 5004, 5005]);
    expect(String(rejects[0].reason)).toMatch(/duplicate key \(cust=K0, month=01\), first seen on line 2/);
    expect(String(rejects[2].reason)).toMatch(/first seen on line 2$/);
    expect(String(rejects[3].reason)).toMatch(/duplicate key \(cust=K0, month=02\), first seen on line 2502/);
    expect(result.rejectReasons).toEqual({ "duplicate key": 4 });
  });

  it("keeps the first VALID occurrence of a key, file order in bronze and line order in rejects", async () => {
    const lines = [
      header,
      "C001,basic,abc,1,true,2024-01-01,", // 2 wrong type: not a first occurrence
      "C002,basic,1,1,true,2024-01-01,", // 3 ok
      "C001,plus,2,1,true,2024-01-01,", // 4 ok, first valid C001
      "C002,plus,3,1,true,2024-01-01,", // 5 duplicate of line 3
      "C003,gold,4,1,true,2024-01-01,", // 6 enum
      "C001,basic,5,1,true,2024-01-01,", // 7 duplicate of line 4
      "C004,basic,6,1,true,2024-01-01,", // 8 ok
    ];
    const { rows, rejects, result } = await runBronze(contract, `${lines.join("\n")}\n`);
    expect(rows.map((r) => [r.id, r._line])).toEqual([
      ["C002", 3],
      ["C001", 4],
      ["C004", 8],
    ]);
    expect(rejects.map((r) => Number(r.line))).toEqual([2, 5, 6, 7]);
    expect(String(rejects[1].reason)).toMatch(/duplicate key \(id=C002\), first seen on line 3/);
    expect(String(rejects[3].reason)).toMatch(/duplicate key \(id=C001\), first seen on line 4/);
    expect(JSON.parse(String(rejects[3].record))).toMatchObject({ id: "C001", months: 5 });
    expect(result.rejectReasons).toEqual({ "wrong type": 1, "not in enum": 1, "duplicate key": 2 });
  });

  it("reports real file line numbers when quoted fields span lines (CRLF, BOM)", async () => {
    const text = `\uFEFF${header}\r\nC001,basic,1,1,true,2024-01-01,"two\r\nlines"\r\n\r\nC002,basic,x,1,true,2024-01-01,"a ""quoted"", comma"\r\nC003,basic,1,1,true,2024-01-01,"three\nline\nnote"\r\nC004,basic,-5,1,true,2024-01-01,\r\n`;
    const { rows, rejects } = await runBronze(contract, text);
    expect(rows.map((r) => [r.id, r._line, r.note])).toEqual([
      ["C001", 2, "two\r\nlines"],
      ["C003", 6, "three\nline\nnote"],
    ]);
    expect(rejects.map((r) => [Number(r.line), JSON.parse(String(r.record)).note])).toEqual([
      [5, 'a "quoted", comma'],
      [9, null],
    ]);
  });

  it("keeps an unexpected new column and warns about it", async () => {
    const { rows, result } = await runBronze(
      contract,
      `${header},loyalty\nC001,basic,3,1,true,2024-01-01,,gold\n`,
    );
    expect(result.extraColumns).toEqual(["loyalty"]);
    expect(result.warnings.join()).toMatch(/unexpected column\(s\) loyalty/);
    expect(rows[0].loyalty).toBe("gold");
  });

  it("accepts a missing optional column as NULL", async () => {
    const { rows } = await runBronze(
      contract,
      "id,plan,months,charges,active,since\nC001,basic,3,1,true,2024-01-01\n",
    );
    expect(rows[0].note).toBeNull();
  });

  it("handles a very long field (3 MB in one cell, above DuckDB's 2 MB default line size)", async () => {
    const long = "x".repeat(3 * 1024 * 1024);
    const { rows } = await runBronze(
      contract,
      `${header}\nC001,basic,3,1,true,2024-01-01,"${long}"\nC002,basic,3,1,true,2024-01-01,short\n`,
    );
    expect(rows).toHaveLength(2);
    expect(String(rows[0].note).length).toBe(long.length);
    expect(rows[1]._line).toBe(3);
  });

  it("fails a file missing a required column, naming file and column", async () => {
    const err = await runBronze(
      contract,
      "id,plan,charges,active,since\nC001,basic,1,true,2024-01-01\n",
      "crm.csv",
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/crm\.csv: missing required column\(s\) months/);
  });

  it("fails an empty file and a header-only file", async () => {
    await expect(runBronze(contract, "", "empty.csv")).rejects.toThrow(/empty\.csv: the file is empty/);
    await expect(runBronze(contract, `${header}\n`, "head.csv")).rejects.toThrow(
      /head\.csv: the file has a header but no data rows/,
    );
  });

  it("fails a Latin-1 file with a UTF-8 hint", async () => {
    const latin1 = Buffer.from(`${header}\nC001,basic,3,1,true,2024-01-01,São Paulo\n`, "latin1");
    const err = await runBronze(contract, latin1, "latin.csv").catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/latin\.csv: the file is not valid UTF-8.*line ~2/);
    expect(err.hint).toMatch(/iconv/);
  });

  it("fails an unterminated quote", async () => {
    await expect(runBronze(contract, `${header}\nC001,basic,3,1,true,2024-01-01,"open\n`)).rejects.toThrow(
      /quoted field opened on line 2 is never closed/,
    );
  });
});

describe("bronze stage: JSONL", () => {
  const jsonContract = testContract(
    [
      { name: "ticket_id" },
      { name: "opened_at", type: "timestamp" },
      { name: "score", type: "integer", nullable: true, min: 1, max: 5 },
      { name: "repeat", type: "boolean" },
    ],
    { format: "jsonl", file: "t.jsonl" },
  );

  it("types JSON values, skips blank lines and rejects bad lines with their line number", async () => {
    const lines = [
      '{"ticket_id":"T1","opened_at":"2026-03-04T18:20:00Z","score":5,"repeat":false}',
      "",
      '{"ticket_id":"T2","opened_at":"2026-03-04T18:20:00Z","score":null,"repeat":true,"channel":"app"}',
      "not json at all",
      '{"ticket_id":"T3","opened_at":"yesterday","score":9,"repeat":true}',
      '{"ticket_id":"T1","opened_at":"2026-03-05T00:00:00Z","score":1,"repeat":true}',
    ];
    const { rows, rejects, result } = await runBronze(jsonContract, `${lines.join("\n")}\n`, "t.jsonl");
    expect(rows.map((r) => [r.ticket_id, r._line, r.score, r.repeat])).toEqual([
      ["T1", 1, 1 * 5, false],
      ["T2", 3, null, true],
    ]);
    expect(rows[0].opened_at).toEqual(new Date("2026-03-04T18:20:00Z"));
    expect(rows[1].channel).toBe("app");
    expect(result.warnings.join()).toMatch(/channel/);
    expect(rejects.map((r) => Number(r.line))).toEqual([4, 5, 6]);
    expect(String(rejects[0].reason)).toMatch(/not a JSON object/);
    expect(String(rejects[1].reason)).toMatch(
      /opened_at: "yesterday" is not a valid timestamp.*score: 9 is above maximum 5/,
    );
    expect(String(rejects[2].reason)).toMatch(/duplicate key \(ticket_id=T1\), first seen on line 1/);
  });
});
