import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import {
  barcodeToLinhaDigitavel,
  boletoFromInvoice,
  dateFromFactor,
  dueDateFactor,
  linhaDigitavelToBarcode,
  parseBarcode,
  parseLinhaDigitavel,
  validateBarcode,
  validateLinhaDigitavel,
} from "./boleto.ts";

/** Independent of the implementation: FEBRABAN mod-11 remainder of the 43 digits around position 5. */
function mod11Remainder(barcode: string): number {
  const body = barcode.slice(0, 4) + barcode.slice(5);
  let sum = 0;
  for (let i = 0; i < 43; i++) sum += Number(body[42 - i]) * (2 + (i % 8));
  return sum % 11;
}
const COLLAPSED = new Set([0, 1, 10]); // remainders whose DV (11, 10, 11−10) all become 1

const addDays = (iso: string, n: number) =>
  new Date(Date.parse(`${iso}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

describe("boleto bancário: worked examples", () => {
  it("builds an Itaú second copy, every digit derived by hand", () => {
    // Due-date factor: 2026-12-15 is 661 days after 2025-02-22 (factor restarted at 1000) → 1661.
    // Free field (Itaú): carteira 109 · nosso número 12345678 · DAC · agência 1234 · conta 12345 · DAC · 000
    //   DAC 1 = mod10("1234" "12345" "109" "12345678") = 4   DAC 2 = mod10("1234" "12345") = 1
    //   → 109 12345678 4 1234 12345 1 000
    // Bar code without DV: 341 9 1661 0000012990 1091234567841234123451000
    //   mod-11 sum (weights 2..9 from the right) = 751; 751 mod 11 = 3; DV = 11 − 3 = 8
    // Field 1: 3419 + 10912 = 341910912; products from the right 2·2,1·1,9·2,0,1·2,9,1·2,4,3·2
    //   → 4+1+9+0+2+9+2+4+6 = 37 → DV 3.  Field 2: 3456784123 → DV 3.  Field 3: 4123451000 → DV 0.
    const b = boletoFromInvoice({
      bankCode: "341",
      amountBrl: 129.9,
      dueDate: "2026-12-15",
      ourNumber: "12345678",
      agency: "1234",
      account: "12345",
      wallet: "109",
    });
    expect(b.barcode).toBe("34198166100000129901091234567841234123451000");
    expect(b.linhaDigitavel).toBe("34191.09123 34567.841233 41234.510000 8 16610000012990");
  });

  it("the general DV collapses remainder 1 to 1 (bank 001, free field given, factor before the rollover)", () => {
    // 2024-05-10 is 9712 days after 1997-10-07 → factor 9712 (first cycle).
    // 001 9 9712 0000150075 0000001234567890123456789: mod-11 sum 760, 760 mod 11 = 1, 11 − 1 = 10 → DV 1.
    // Field 1: 001900000 → 9; fields 2 and 3: 0123456789 → 7.
    const b = boletoFromInvoice({
      bankCode: "001",
      amountBrl: 1500.75,
      dueDate: "2024-05-10",
      freeField: "0000001234567890123456789",
    });
    expect(b.barcode).toBe("00191971200001500750000001234567890123456789");
    expect(b.linhaDigitavel).toBe("00190.00009 01234.567897 01234.567897 1 97120000150075");
    expect(mod11Remainder(b.barcode)).toBe(1);
  });

  it("other banks get the neutral layout agência(4) conta(10) nosso número(11)", () => {
    // 237 9 1661 0000012990 1234 0000012345 00000000042: sum 486, 486 mod 11 = 2 → DV 9.
    const b = boletoFromInvoice({ bankCode: "237", amountBrl: 129.9, dueDate: "2026-12-15", ourNumber: 42 });
    expect(b.barcode).toBe("23799166100000129901234000001234500000000042");
  });

  it("the sandbox's call shape works with defaults for the other fields", () => {
    const b = boletoFromInvoice({ bankCode: "341", amountBrl: 89.9, dueDate: "2026-12-20", ourNumber: "77" });
    const p = parseLinhaDigitavel(b.linhaDigitavel, { referenceDate: "2026-12-07" });
    expect(p).toMatchObject({ bankCode: "341", amountBrl: 89.9, dueDate: "2026-12-20", currencyCode: "9" });
    expect(p.freeField.slice(0, 11)).toBe("10900000077"); // carteira 109 + nosso número 00000077
  });

  it("reads the widely published Bradesco example (R$ 3,700.00 due 2018-06-11)", () => {
    const linha = "23793.38128 60007.827136 95000.063305 9 75520000370000";
    const barcode = "23799755200003700003381260007827139500006330";
    const p = parseLinhaDigitavel(linha, { referenceDate: "2018-06-01" });
    expect(p).toMatchObject({
      barcode,
      bankCode: "237",
      dueFactor: 7552,
      dueDate: "2018-06-11",
      amountBrl: 3700,
    });
    expect(linhaDigitavelToBarcode(linha.replace(/[ .]/g, ""))).toBe(barcode);
    expect(barcodeToLinhaDigitavel(barcode)).toBe(linha);
  });
});

describe("due-date factor", () => {
  it.each([
    ["2000-07-03", 1000],
    ["2018-06-11", 7552],
    ["2025-02-21", 9999],
    ["2025-02-22", 1000], // the rollover
    ["2025-02-23", 1001],
    ["2026-12-15", 1661],
    ["2049-10-13", 9999],
    ["2049-10-14", 1000], // the next one
  ])("%s → %i", (date, factor) => {
    expect(dueDateFactor(date)).toBe(factor);
  });

  it("reads a factor inside FEBRABAN's window around the reference date", () => {
    expect(dateFromFactor(1000, { referenceDate: "2026-12-07" })).toBe("2025-02-22");
    expect(dateFromFactor(1000, { referenceDate: "2001-01-01" })).toBe("2000-07-03");
    expect(dateFromFactor(9999, { referenceDate: "2025-02-22" })).toBe("2025-02-21");
    expect(dateFromFactor(7552, { referenceDate: "2018-06-01" })).toBe("2018-06-11");
    // Read in December 2026, factor 7552 is either 2018-06-11 (3,101 days back) or 2043-01-31 (5,899
    // ahead): both outside the window, so the nearest wins.
    expect(dateFromFactor(7552, { referenceDate: "2026-12-07" })).toBe("2018-06-11");
    expect(dateFromFactor(0)).toBeNull();
    expect(dateFromFactor(999)).toBeNull();
  });

  it("rejects bad dates with the field name", () => {
    expect(() => dueDateFactor("2026-02-30")).toThrow(/dueDate: expected a date/);
    expect(() => dueDateFactor("1999-01-01")).toThrow(/before 2000-07-03/);
  });
});

describe("validation", () => {
  const good = boletoFromInvoice({ bankCode: "341", amountBrl: 129.9, dueDate: "2026-12-15", ourNumber: 5 });

  it("names every failed check digit", () => {
    const d = good.linhaDigitavel.replace(/[ .]/g, "");
    const broken = `${d.slice(0, 9)}${(Number(d[9]) + 1) % 10}${d.slice(10, 32)}${(Number(d[32]) + 1) % 10}${d.slice(33)}`;
    const r = validateLinhaDigitavel(broken);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toHaveLength(2);
      expect(r.errors[0]).toMatch(/field 1 check digit/);
      expect(r.errors[1]).toMatch(/general check digit/);
    }
    expect(() => parseLinhaDigitavel(broken)).toThrow(ValidationError);
  });

  it.each([
    ["", /expected 47 digits, got 0/],
    ["1234", /expected 47 digits/],
    ["23793.38128 60007.82713x", /only digits/],
    ["836200000005667800481000180975657313001589636081", /arrecadação/],
  ])("rejects %j", (text, message) => {
    const r = validateLinhaDigitavel(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join(" ")).toMatch(message);
  });

  it("rejects bad bar codes and bad invoice input without crashing", () => {
    expect(validateBarcode("123").ok).toBe(false);
    expect(validateBarcode(`${good.barcode.slice(0, 4)}0${good.barcode.slice(5)}`).ok).toBe(false);
    expect(() => parseBarcode("x")).toThrow(/barcode: expected 44 digits/);
    expect(() => boletoFromInvoice({ bankCode: "34", amountBrl: 1, dueDate: "2026-12-15" })).toThrow(
      /bankCode/,
    );
    expect(() => boletoFromInvoice({ bankCode: "836", amountBrl: 1, dueDate: "2026-12-15" })).toThrow(
      /arrecadação/,
    );
    expect(() => boletoFromInvoice({ bankCode: "341", amountBrl: -1, dueDate: "2026-12-15" })).toThrow(
      /amountBrl/,
    );
    expect(() =>
      boletoFromInvoice({ bankCode: "341", amountBrl: Number.NaN, dueDate: "2026-12-15" }),
    ).toThrow(/amountBrl/);
    expect(() => boletoFromInvoice({ bankCode: "341", amountBrl: 1e8, dueDate: "2026-12-15" })).toThrow(
      /10-digit amount/,
    );
    expect(() => boletoFromInvoice({ bankCode: "341", amountBrl: 1, dueDate: "15/12/2026" })).toThrow(
      /dueDate/,
    );
    expect(() =>
      boletoFromInvoice({ bankCode: "341", amountBrl: 1, dueDate: "2026-12-15", ourNumber: "123456789" }),
    ).toThrow(/ourNumber: expected up to 8 digits/);
    expect(() =>
      boletoFromInvoice({ bankCode: "341", amountBrl: 1, dueDate: "2026-12-15", freeField: "1" }),
    ).toThrow(/freeField/);
  });

  it("a boleto without due date uses factor 0000", () => {
    const b = boletoFromInvoice({ bankCode: "001", amountBrl: 10, dueDate: null });
    const p = parseBarcode(b.barcode);
    expect(p.dueFactor).toBe(0);
    expect(p.dueDate).toBeNull();
  });
});

describe("properties", () => {
  const input = fc.record({
    bankCode: fc.stringMatching(/^[0-79][0-9]{2}$/), // a leading 8 is an arrecadação slip
    cents: fc.integer({ min: 0, max: 9_999_999_999 }),
    dueOffset: fc.integer({ min: 0, max: 20_000 }), // days after 2000-07-03, across two rollovers
    free: fc.option(fc.stringMatching(/^[0-9]{25}$/), { nil: undefined }),
    ourNumber: fc.integer({ min: 0, max: 99_999_999 }),
  });
  const build = (i: {
    bankCode: string;
    cents: number;
    dueOffset: number;
    free?: string;
    ourNumber: number;
  }) => {
    const dueDate = addDays("2000-07-03", i.dueOffset);
    const b = boletoFromInvoice({
      bankCode: i.bankCode,
      amountBrl: i.cents / 100,
      dueDate,
      freeField: i.free,
      ourNumber: i.ourNumber,
    });
    return { b, dueDate };
  };

  it("amount and due date decode back (for any reference date whose window holds the due date)", () => {
    fc.assert(
      fc.property(input, fc.integer({ min: -5500, max: 3000 }), (i, refShift) => {
        const { b, dueDate } = build(i);
        const p = parseLinhaDigitavel(b.linhaDigitavel, { referenceDate: addDays(dueDate, refShift) });
        expect(p.amountCents).toBe(i.cents);
        expect(p.dueDate).toBe(dueDate);
        expect(p.bankCode).toBe(i.bankCode);
        if (i.free) expect(p.freeField).toBe(i.free);
      }),
      { numRuns: 500 },
    );
  });

  it("linha ↔ bar code conversions round-trip", () => {
    fc.assert(
      fc.property(input, (i) => {
        const { b } = build(i);
        expect(b.barcode).toMatch(/^[0-9]{44}$/);
        expect(b.linhaDigitavel).toMatch(/^\d{5}\.\d{5} \d{5}\.\d{6} \d{5}\.\d{6} \d \d{14}$/);
        expect(linhaDigitavelToBarcode(b.linhaDigitavel)).toBe(b.barcode);
        expect(barcodeToLinhaDigitavel(b.barcode)).toBe(b.linhaDigitavel);
        expect(barcodeToLinhaDigitavel(linhaDigitavelToBarcode(b.linhaDigitavel))).toBe(b.linhaDigitavel);
      }),
      { numRuns: 500 },
    );
  });

  it("any single-digit change is detected, except the mod-11 collapse of remainders 0, 1 and 10 in field 5", () => {
    // Fields 1–3 carry a mod-10 (Luhn) digit, which catches every single-digit change. Field 4 is the
    // general DV itself. Field 5 (factor + amount) is covered by the general DV only: a change moves the
    // mod-11 remainder (11 is prime and weights 2–9 never cancel a difference of 1–9), but FEBRABAN maps
    // remainders 0, 1 and 10 all to DV 1, so a change between those three goes unnoticed by design.
    let escapes = 0;
    fc.assert(
      fc.property(input, fc.nat(46), fc.integer({ min: 1, max: 9 }), (i, pos, delta) => {
        const { b } = build(i);
        const d = b.linhaDigitavel.replace(/[ .]/g, "");
        const mutated = d.slice(0, pos) + ((Number(d[pos]) + delta) % 10) + d.slice(pos + 1);
        const r = validateLinhaDigitavel(mutated);
        if (pos < 33) {
          expect(r.ok).toBe(false);
          return;
        }
        const mutatedBarcode = d.slice(0, 4) + d[32] + mutated.slice(33) + b.barcode.slice(19);
        const collapse =
          COLLAPSED.has(mod11Remainder(b.barcode)) && COLLAPSED.has(mod11Remainder(mutatedBarcode));
        expect(r.ok).toBe(collapse);
        if (collapse) escapes++;
      }),
      { numRuns: 3000 },
    );
    expect(escapes).toBeLessThan(300); // rare: both remainders must land in {0, 1, 10}
  });

  it("a concrete field-5 change the FEBRABAN DV cannot see (remainder 1 → 0)", () => {
    // Example 2 above has remainder 1. The amount digit at bar-code position 19 (weight 2 + (25 mod 8) = 3)
    // lowered by 4 lowers the sum by 12 ≡ 1 (mod 11): remainder 0, DV still 1.
    const b = boletoFromInvoice({
      bankCode: "001",
      amountBrl: 1500.75,
      dueDate: "2024-05-10",
      freeField: "0000001234567890123456789",
    });
    const forged = `${b.barcode.slice(0, 18)}${Number(b.barcode[18]) - 4}${b.barcode.slice(19)}`;
    expect(mod11Remainder(forged)).toBe(0);
    expect(parseBarcode(forged).amountBrl).toBe(1500.71);
  });

  it("any single-digit change of a bar code is detected, except the same collapse", () => {
    fc.assert(
      fc.property(input, fc.nat(43), fc.integer({ min: 1, max: 9 }), (i, pos, delta) => {
        const { b } = build(i);
        const mutated =
          b.barcode.slice(0, pos) + ((Number(b.barcode[pos]) + delta) % 10) + b.barcode.slice(pos + 1);
        const collapse =
          pos !== 4 &&
          mutated[0] !== "8" && // rejected as an arrecadação slip
          COLLAPSED.has(mod11Remainder(b.barcode)) &&
          COLLAPSED.has(mod11Remainder(mutated));
        expect(validateBarcode(mutated).ok).toBe(collapse);
      }),
      { numRuns: 3000 },
    );
  });
});
