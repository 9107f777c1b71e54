import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  boletoMod11CheckDigit,
  cnpjCheckDigits,
  cpfCheckDigits,
  isValidCnpj,
  isValidCpf,
  luhnValid,
  mod10CheckDigit,
} from "./check-digits.ts";

describe("check digits, worked by hand", () => {
  it("CPF 123.456.789-09", () => {
    // d1: 1·10+2·9+3·8+4·7+5·6+6·5+7·4+8·3+9·2 = 210; 210 mod 11 = 1 < 2 → 0
    // d2: 1·11+2·10+3·9+4·8+5·7+6·6+7·5+8·4+9·3+0·2 = 255; 255 mod 11 = 2 → 11 − 2 = 9
    expect(cpfCheckDigits("123456789")).toBe("09");
    expect(isValidCpf("123.456.789-09")).toBe(true);
    expect(isValidCpf("123.456.789-08")).toBe(false);
    expect(isValidCpf("111.111.111-11")).toBe(false); // right digits, but a repdigit
  });

  it("CNPJ 11.222.333/0001-81 and the alphanumeric 12.ABC.345/01DE-35", () => {
    // d1: weights 5432 98765432 over 1,1,2,2,2,3,3,3,0,0,0,1 = 102; 102 mod 11 = 3 → 8
    // d2: weights 6 5432 98765432 over …,8 = 120; 120 mod 11 = 10 → 1
    expect(cnpjCheckDigits("112223330001")).toBe("81");
    expect(isValidCnpj("11.222.333/0001-81")).toBe(true);
    // Letters count as ASCII − 48 (A = 17 … E = 21): sums 459 (mod 11 = 8 → 3) and 424 (mod 11 = 6 → 5).
    expect(cnpjCheckDigits("12ABC34501DE")).toBe("35");
    expect(isValidCnpj("12.ABC.345/01DE-35")).toBe(true);
    expect(isValidCnpj("12.ABC.345/01DE-36")).toBe(false);
    expect(isValidCnpj("00.000.000/0000-00")).toBe(false);
  });

  it("Luhn / FEBRABAN mod 10", () => {
    // 7992739871: the textbook Luhn example, check digit 3.
    expect(mod10CheckDigit("7992739871")).toBe(3);
    expect(luhnValid("79927398713")).toBe(true);
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(luhnValid("x")).toBe(false);
  });

  it("FEBRABAN mod 11 maps remainders 0, 1 and 10 to 1", () => {
    // "1" alone: 1·2 = 2, 2 mod 11 = 2 → 9.  "5": 10 → 1 (11 − 10).  "0": 0 → 11 → 1.  "6": 12 mod 11 = 1 → 10 → 1.
    expect(boletoMod11CheckDigit("1")).toBe(9);
    expect(boletoMod11CheckDigit("5")).toBe(1);
    expect(boletoMod11CheckDigit("0")).toBe(1);
    expect(boletoMod11CheckDigit("6")).toBe(1);
    expect(boletoMod11CheckDigit("12")).toBe(4); // 1·3 + 2·2 = 7 → 11 − 7 = 4
  });

  it("bad input gives -1 / empty / false, never an exception", () => {
    expect(mod10CheckDigit("12a")).toBe(-1);
    expect(boletoMod11CheckDigit("")).toBe(-1);
    expect(cpfCheckDigits("123")).toBe("");
    expect(cnpjCheckDigits("abc")).toBe("");
    expect(isValidCpf("")).toBe(false);
  });

  it("a Luhn digit always validates, and any single-digit change breaks it", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{1,30}$/),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (body, at, delta) => {
          const full = body + mod10CheckDigit(body);
          expect(luhnValid(full)).toBe(true);
          const i = at % full.length;
          const changed = full.slice(0, i) + ((Number(full[i]) + delta) % 10) + full.slice(i + 1);
          expect(luhnValid(changed)).toBe(false);
        },
      ),
    );
  });
});
