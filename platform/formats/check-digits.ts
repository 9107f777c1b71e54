/**
 * Check-digit algorithms of the Brazilian formats, in one place for the boleto and Pix builders and the
 * PII detector (written by hand: each is a few lines, and no maintained npm package covers them all).
 * Every function takes a string of decimal digits (CNPJ also takes the alphanumeric base) and never throws
 * on bad input: it returns -1 / false instead, so callers decide how to reject it.
 */

const isDigits = (s: string): boolean => /^[0-9]+$/.test(s);

/**
 * Modulo-10 check digit with weights 2,1,2,1… from the right, summing the digits of each product: the
 * FEBRABAN "módulo 10" of the linha digitável fields and the Luhn digit of card numbers, IMEI and ICCID.
 */
export function mod10CheckDigit(digits: string): number {
  if (!isDigits(digits)) return -1;
  let sum = 0;
  let double = true;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when the last digit is the Luhn (mod-10) digit of the others. */
export function luhnValid(digits: string): boolean {
  if (digits.length < 2 || !isDigits(digits)) return false;
  return mod10CheckDigit(digits.slice(0, -1)) === digits.charCodeAt(digits.length - 1) - 48;
}

/**
 * FEBRABAN "módulo 11" general check digit of the 44-digit bank bar code (computed over the other 43
 * digits): weights 2…9 repeating from the right; DV = 11 − (sum mod 11), and 0, 10 or 11 become 1.
 */
export function boletoMod11CheckDigit(digits: string): number {
  if (!isDigits(digits)) return -1;
  let sum = 0;
  let weight = 2;
  for (let i = digits.length - 1; i >= 0; i--) {
    sum += (digits.charCodeAt(i) - 48) * weight;
    weight = weight === 9 ? 2 : weight + 1;
  }
  const dv = 11 - (sum % 11);
  return dv === 0 || dv === 10 || dv === 11 ? 1 : dv;
}

/**
 * Receita Federal mod-11 digit over the characters of `s` (each worth its char code − 48) followed by
 * `extra` when ≥ 0, with weights `top`, `top − 1`, … wrapping from 2 back to 9 (CPF never wraps, CNPJ
 * does): remainder < 2 gives 0, else 11 − remainder.
 */
function receitaDigit(s: string, extra: number, top: number): number {
  let sum = 0;
  let w = top;
  for (let i = 0; i < s.length; i++) {
    sum += (s.charCodeAt(i) - 48) * w;
    w = w === 2 ? 9 : w - 1;
  }
  if (extra >= 0) sum += extra * w;
  const r = sum % 11;
  return r < 2 ? 0 : 11 - r;
}

/** The two CPF check digits of a 9-digit base ("" when the base is not 9 digits). */
export function cpfCheckDigits(base9: string): string {
  if (base9.length !== 9 || !isDigits(base9)) return "";
  const d1 = receitaDigit(base9, -1, 10);
  const d2 = receitaDigit(base9, d1, 11);
  return `${d1}${d2}`;
}

/** A CPF (bare 11 digits or formatted 000.000.000-00) with right check digits that is not a repdigit. */
export function isValidCpf(value: string): boolean {
  const d = value.replace(/[.\s-]/g, "");
  if (d.length !== 11 || !isDigits(d) || /^(\d)\1{10}$/.test(d)) return false;
  return cpfCheckDigits(d.slice(0, 9)) === d.slice(9);
}

/**
 * The two CNPJ check digits of a 12-character base. The base may be alphanumeric (the Receita Federal
 * format issued from July 2026, IN RFB 2.229/2024): each character counts as its ASCII code − 48, so
 * digits keep their value and "A" counts 17. Returns "" for a malformed base.
 */
export function cnpjCheckDigits(base12: string): string {
  if (!/^[0-9A-Z]{12}$/.test(base12)) return "";
  // Weights 5 4 3 2 9 8 7 6 5 4 3 2, then 6 5 4 3 2 9 … 2 over the base and the first digit.
  const d1 = receitaDigit(base12, -1, 5);
  const d2 = receitaDigit(base12, d1, 6);
  return `${d1}${d2}`;
}

/** A CNPJ (bare or formatted 00.000.000/0000-00, numeric or alphanumeric) with right check digits. */
export function isValidCnpj(value: string): boolean {
  const c = value.replace(/[.\s/-]/g, "");
  if (!/^[0-9A-Z]{12}[0-9]{2}$/.test(c) || /^(\d)\1{13}$/.test(c)) return false;
  return cnpjCheckDigits(c.slice(0, 12)) === c.slice(12);
}
