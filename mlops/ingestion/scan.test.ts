import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { parseCsvRecord, scanFile } from "./scan.ts";
import { runBronze, tempDir, testContract } from "./test-helpers.ts";

/** CSV-encodes one field: quoted when needed (or when `forceQuote`), quotes doubled. */
function encodeField(value: string, forceQuote: boolean): string {
  return forceQuote || /[",\r\n]/.test(value) || value === "" ? `"${value.replaceAll('"', '""')}"` : value;
}

// Text cells with the characters that break naive CSV parsers (no leading/trailing blanks:
// an all-blank cell is NULL by design, tested separately).
const nastyText = fc
  .array(fc.constantFrom("a", "Z", "ç", "ã", "€", " ", ",", '"', "\n", "\r\n", ";", "'", "😀"), {
    minLength: 1,
    maxLength: 12,
  })
  .map((parts) => `x${parts.join("")}y`);

const rowArb = fc.record({
  note: nastyText,
  qty: fc.integer({ min: -1_000_000, max: 1_000_000 }),
  price: fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  flag: fc.boolean(),
  day: fc.date({
    min: new Date("1990-01-01T00:00:00Z"),
    max: new Date("2030-12-31T00:00:00Z"),
    noInvalidDate: true,
  }),
  quote: fc.boolean(),
});

const contract = testContract(
  [
    { name: "id", type: "integer" },
    { name: "note" },
    { name: "qty", type: "integer" },
    { name: "price", type: "number" },
    { name: "flag", type: "boolean" },
    { name: "day", type: "date" },
  ],
  { primaryKey: ["id"] },
);

describe("CSV parsing round-trip (property-based)", () => {
  // One in-memory DuckDB for all generated cases keeps the property test fast.
  let wh: DuckDbWarehouse;
  beforeAll(async () => {
    wh = await DuckDbWarehouse.open(":memory:");
  });
  afterAll(() => wh.close());

  it("random quoted fields, commas, newlines, CRLF and BOM come back as the same typed values and real line numbers", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.boolean(),
        async (rows, crlf, bom) => {
          const eol = crlf ? "\r\n" : "\n";
          let text = `${bom ? "\uFEFF" : ""}id,note,qty,price,flag,day${eol}`;
          const expectedLines: number[] = [];
          let line = 2;
          rows.forEach((r, i) => {
            expectedLines.push(line);
            const day = r.day.toISOString().slice(0, 10);
            const fields = [
              String(i),
              encodeField(r.note, r.quote),
              String(r.qty),
              String(r.price),
              String(r.flag),
              day,
            ];
            const record = fields.map((f, k) => (k === 1 ? f : r.quote ? `"${f}"` : f)).join(",");
            text += record + eol;
            line += (record.match(/\n/g) ?? []).length + 1;
          });
          const { rows: out, result } = await runBronze(contract, text, "t.csv", wh);
          expect(result.rejects).toBe(0);
          expect(out).toHaveLength(rows.length);
          out.forEach((o, i) => {
            const r = rows[i];
            expect(o.id).toBe(i);
            expect(o.note).toBe(r.note);
            expect(o.qty).toBe(r.qty);
            expect(o.price).toBe(r.price + 0); // "-0" is written as "0"
            expect(o.flag).toBe(r.flag);
            expect((o.day as Date).toISOString().slice(0, 10)).toBe(r.day.toISOString().slice(0, 10));
            expect(o._line).toBe(expectedLines[i]);
          });
        },
      ),
      { numRuns: 12 },
    );
  });

  it("parseCsvRecord inverts field encoding for any strings", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "grapheme" }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (fields, force) => {
          const line = fields.map((f) => encodeField(f.replaceAll("\r", ""), force)).join(",");
          expect(parseCsvRecord(line)).toEqual(fields.map((f) => f.replaceAll("\r", "")));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("the scanner counts records and finds ragged rows wherever a chunk boundary falls", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(nastyText, fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 30 }),
        async (rows) => {
          const dir = tempDir();
          const path = join(dir, "r.csv");
          let text = "a,b,c\n";
          let line = 2;
          const ragged: { record: number; line: number; fields: number }[] = [];
          rows.forEach(([note, fields], i) => {
            const cells = [
              encodeField(note, true),
              ...Array.from({ length: fields - 1 }, (_, k) => String(k)),
            ];
            const record = cells.join(",");
            if (fields !== 3) ragged.push({ record: i, line, fields });
            text += `${record}\n`;
            line += (record.match(/\n/g) ?? []).length + 1;
          });
          writeFileSync(path, text);
          const scan = await scanFile(path, { format: "csv" });
          expect(scan.header).toEqual(["a", "b", "c"]);
          expect(scan.records).toBe(rows.length);
          expect(scan.ragged).toEqual(ragged);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("scanFile", () => {
  it("splits a multi-byte character across the 4 MB chunk boundary without calling it invalid", async () => {
    const dir = tempDir();
    const path = join(dir, "big.csv");
    const header = "id,note\n";
    const pad = "x".repeat(4 * 1024 * 1024 - header.length - 3);
    writeFileSync(path, `${header}1,${pad}é\n2,ok\n`);
    const scan = await scanFile(path, { format: "csv" });
    expect(scan.records).toBe(2);
    expect(scan.lineBreakpoints).toEqual([{ record: 0, offset: 2 }]);
  });

  it("gives the SHA-256 of the bytes on disk, BOM included", async () => {
    const dir = tempDir();
    const path = join(dir, "bom.csv");
    const bytes = Buffer.from("\uFEFFa,b\n1,2\n", "utf8");
    writeFileSync(path, bytes);
    const { createHash } = await import("node:crypto");
    const scan = await scanFile(path, { format: "csv" });
    expect(scan.contentHash).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(scan.header).toEqual(["a", "b"]);
  });

  it("hashes every byte of a file spanning several reads of the reused buffer", async () => {
    // ~10 MB with a different line in each 4 MB read: a stale or shared buffer changes the hash.
    const body = Array.from({ length: 400_000 }, (_, i) => `${i},row ${i} ção\n`).join("");
    const path = join(tempDir(), "big.csv");
    writeFileSync(path, `id,note\n${body}`);
    const scan = await scanFile(path, { format: "csv" });
    const expected = createHash("sha256").update(readFileSync(path)).digest("hex");
    expect(scan.contentHash).toBe(expected);
    expect(scan.records).toBe(400_000);
    expect(scan.bytes).toBeGreaterThan(8 * 1024 * 1024);
  });
});

describe("line-only CSV scan", () => {
  it("agrees with the field-counting scan on quote-free files (blank lines, CRLF, no final newline)", async () => {
    const cell = fc.constantFrom("1", "ab", "", " ", "ç", "2025-01-05");
    const lineArb = fc.oneof(
      fc.array(cell, { minLength: 3, maxLength: 3 }).map((c) => c.join(",")),
      fc.constantFrom("", "\r", "x,y"),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArb, { minLength: 1, maxLength: 25 }),
        fc.constantFrom("\n", "\r\n"),
        fc.boolean(),
        async (lines, eol, finalEol) => {
          const dir = tempDir();
          const path = join(dir, "q.csv");
          writeFileSync(path, `a,b,c${eol}1,2,3${eol}${lines.join(eol)}${finalEol ? eol : ""}`);
          const fast = await scanFile(path, { format: "csv" });
          const full = await scanFile(path, { format: "csv", countFields: true });
          expect(full.raggedChecked).toBe(true);
          // Lines ending in the delimiter (e.g. "1,2,") send the line-only scan to field counting.
          const trailing = lines.some((l) => l.replace(/\r$/, "").endsWith(","));
          expect(fast.raggedChecked).toBe(trailing);
          expect(fast.records).toBe(full.records);
          expect(fast.lineBreakpoints).toEqual(full.lineBreakpoints);
          expect(fast.maxRecordBytes).toBe(full.maxRecordBytes);
          expect(fast.header).toEqual(full.header);
          expect(fast.contentHash).toBe(full.contentHash);
        },
      ),
      { numRuns: 60, seed: 5 },
    );
  });

  it("a quote anywhere (even in the last chunk) switches to the record splitter", async () => {
    const dir = tempDir();
    const path = join(dir, "late.csv");
    const body = "1,abc,2\n".repeat(700_000); // > 4 MB: the quote sits in the second chunk
    writeFileSync(path, `a,b,c\n${body}2,"x,y",3\n3,1\n`);
    const scan = await scanFile(path, { format: "csv" });
    expect(scan.raggedChecked).toBe(true);
    expect(scan.records).toBe(700_002);
    expect(scan.ragged).toEqual([{ record: 700_001, line: 700_003, fields: 2 }]);
  });

  it("counts JSON true/false bytes, also across the 4 MB chunk boundary", async () => {
    const dir = tempDir();
    const path = join(dir, "b.jsonl");
    const line = '{"id":"a","s":"xx"}\n';
    const pad = line.repeat(Math.floor((4 * 1024 * 1024) / line.length) - 2);
    const cut = 4 * 1024 * 1024 - pad.length; // bytes left before the boundary
    // "true" starts 2 bytes before the boundary: 15 + n + 6 bytes precede it in its line.
    const edge = `{"id":"e","s":"${"y".repeat(cut - 2 - 21)}","f":true}\n`;
    expect(pad.length + edge.indexOf("true")).toBe(4 * 1024 * 1024 - 2);
    writeFileSync(path, `${pad}${edge}{"id":"b","f":false}\n{"id":"c","s":"untrue"}\n`);
    const scan = await scanFile(path, { format: "jsonl" });
    expect(scan.booleanLiterals).toBe(3);
    const none = join(dir, "n.jsonl");
    writeFileSync(none, '{"id":"a","n":1}\n');
    expect((await scanFile(none, { format: "jsonl" })).booleanLiterals).toBe(0);
  });
});

describe("JSONL fallback", () => {
  it("an invalid line with no blank lines still yields a reject with its line number", async () => {
    const c = testContract([{ name: "id" }, { name: "n", type: "integer" }], {
      format: "jsonl",
      file: "t.jsonl",
    });
    const { rows, rejects } = await runBronze(
      c,
      '{"id":"a","n":1}\n{"id":"b",\n{"id":"c","n":3}\n',
      "t.jsonl",
    );
    expect(rows.map((r) => [r.id, r._line])).toEqual([
      ["a", 1],
      ["c", 3],
    ]);
    expect(rejects.map((r) => Number(r.line))).toEqual([2]);
  });
});
