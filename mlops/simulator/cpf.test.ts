import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cpfCheckDigits, cpfFromNumber, formatCpf, isValidCpf } from "./cpf.ts";

describe("CPF", () => {
  it("computes the check digits of known valid CPFs", () => {
    expect(cpfCheckDigits("529982247")).toBe("25");
    expect(cpfCheckDigits("111444777")).toBe("35");
    expect(formatCpf("529982247")).toBe("529.982.247-25");
  });

  it("accepts valid and rejects wrong check digits, repdigits and malformed input", () => {
    expect(isValidCpf("529.982.247-25")).toBe(true);
    expect(isValidCpf("52998224725")).toBe(true);
    expect(isValidCpf("529.982.247-26")).toBe(false);
    expect(isValidCpf("529.982.247-52")).toBe(false);
    expect(isValidCpf("111.111.111-11")).toBe(false);
    expect(isValidCpf("529.982.247")).toBe(false);
    expect(() => cpfCheckDigits("12345")).toThrow(RangeError);
  });

  it("every generated CPF is valid and formatted", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999 }), (n) => {
        const cpf = cpfFromNumber(n);
        expect(cpf).toMatch(/^[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}$/);
        expect(isValidCpf(cpf)).toBe(true);
      }),
    );
  });

  it("rejects any change of a check digit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999_999 }),
        fc.integer({ min: 9, max: 10 }),
        fc.integer({ min: 1, max: 9 }),
        (n, pos, delta) => {
          const digits = cpfFromNumber(n).replace(/\D/g, "").split("").map(Number);
          digits[pos] = ((digits[pos] as number) + delta) % 10;
          expect(isValidCpf(digits.join(""))).toBe(false);
        },
      ),
    );
  });
});
