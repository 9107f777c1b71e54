/** CPF (Brazilian taxpayer id) check digits, per the Receita Federal modulo-11 algorithm. */
export function cpfCheckDigits(base9: string): string {
  if (!/^[0-9]{9}$/.test(base9)) throw new RangeError(`CPF base must be 9 digits, got "${base9}"`);
  const d = Array.from(base9, Number);
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (d[i] as number) * (10 - i);
  let r = (sum * 10) % 11;
  const d1 = r === 10 ? 0 : r;
  sum = 0;
  for (let i = 0; i < 9; i++) sum += (d[i] as number) * (11 - i);
  sum += d1 * 2;
  r = (sum * 10) % 11;
  const d2 = r === 10 ? 0 : r;
  return `${d1}${d2}`;
}

/** Formats 9 base digits + check digits as 000.000.000-00. */
export function formatCpf(base9: string): string {
  const all = base9 + cpfCheckDigits(base9);
  return `${all.slice(0, 3)}.${all.slice(3, 6)}.${all.slice(6, 9)}-${all.slice(9)}`;
}

/** True for a CPF (formatted or bare digits) whose check digits are right and that is not a repdigit. */
export function isValidCpf(cpf: string): boolean {
  const digits = cpf.replace(/[.-]/g, "");
  if (!/^[0-9]{11}$/.test(digits)) return false;
  if (/^(\d)\1{10}$/.test(digits)) return false;
  return cpfCheckDigits(digits.slice(0, 9)) === digits.slice(9);
}

/** Builds a valid CPF from a 9-digit number, skipping repdigits (e.g. 111.111.111-11). */
export function cpfFromNumber(n: number): string {
  let base = String(Math.abs(Math.trunc(n)) % 1_000_000_000).padStart(9, "0");
  if (/^(\d)\1{8}$/.test(base)) base = `${base.slice(0, 8)}${(Number(base[8]) + 1) % 10}`;
  return formatCpf(base);
}
