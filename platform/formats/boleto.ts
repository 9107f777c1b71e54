/**
 * FEBRABAN boleto bancário (bank collection; not the "arrecadação" slips of utilities, which start with 8):
 * the 44-digit bar code and the 47-digit linha digitável, with every check digit (written by hand: the
 * layout and the mod-10/mod-11 rules are a page of the FEBRABAN spec, and no maintained npm package builds
 * them with the 2025 due-date factor rollover).
 *
 * Bar code (positions 1-based):
 *   1–3 bank code · 4 currency (9 = real) · 5 general check digit (mod 11) · 6–9 due-date factor ·
 *   10–19 amount in cents · 20–44 free field (25 digits, laid out by each bank).
 * Linha digitável (five fields):
 *   1: bank + currency + free field 1–5 + DV(mod 10) · 2: free field 6–15 + DV · 3: free field 16–25 + DV ·
 *   4: the general check digit · 5: factor + amount, shown as "AAAAA.AAAAA BBBBB.BBBBBB CCCCC.CCCCCC D EEEEEEEEEEEEEE".
 * Due-date factor: days since 1997-10-07 (2000-07-03 = 1000 … 2025-02-21 = 9999); on 2025-02-22 it
 * restarted at 1000, and it repeats every 9,000 days. Decoding therefore needs a reference date: FEBRABAN
 * reads a factor as the date inside [reference − 3000 days, reference + 5500 days].
 */
import { ValidationError } from "../errors.ts";
import { boletoMod11CheckDigit, mod10CheckDigit } from "./check-digits.ts";

const DAY_MS = 86_400_000;
/** Factor 0 day: 1997-10-07. */
const FACTOR_EPOCH = Date.UTC(1997, 9, 7);
const FACTOR_CYCLE = 9000;
const WINDOW_PAST_DAYS = 3000;
const WINDOW_FUTURE_DAYS = 5500;
const MAX_CENTS = 9_999_999_999;

export interface BoletoInput {
  /** The bank's 3-digit FEBRABAN code ("341" Itaú, "237" Bradesco, "001" Banco do Brasil, …). */
  bankCode: string;
  amountBrl: number;
  /** yyyy-mm-dd; null for a boleto without due date (factor 0000). */
  dueDate: string | null;
  /** "9" (real) unless told otherwise. */
  currencyCode?: string;
  /** The bank's 25-digit free field. When absent it is built from agency, account, wallet and ourNumber. */
  freeField?: string;
  /** Nosso número: the collection's own id for this slip (digits; default 0). */
  ourNumber?: string | number;
  /** Agency, 4 digits (default "1234": the sandbox's fictitious collection account). */
  agency?: string;
  /** Account without its check digit (default "12345"). */
  account?: string;
  /** Carteira (Itaú: 3 digits, default "109"). */
  wallet?: string;
}

export interface Boleto {
  /** 44 digits. */
  barcode: string;
  /** 47 digits in the five usual groups. */
  linhaDigitavel: string;
}

export interface ParsedBoleto extends Boleto {
  bankCode: string;
  currencyCode: string;
  generalCheckDigit: number;
  dueFactor: number;
  /** yyyy-mm-dd, or null for factor 0000 (no due date) or a factor below 1000 (not issued since 2000). */
  dueDate: string | null;
  amountCents: number;
  amountBrl: number;
  freeField: string;
}

export interface DecodeOptions {
  /** yyyy-mm-dd the due-date factor is read against (default: today, UTC). */
  referenceDate?: string;
}

export type BoletoCheck = { ok: true; boleto: ParsedBoleto } | { ok: false; errors: string[] };

const digitsOnly = (s: string) => /^[0-9]*$/.test(s);

function parseIsoDate(field: string, s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== s)
    throw new ValidationError(field, `expected a date yyyy-mm-dd, got ${JSON.stringify(s)}`);
  return t;
}

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/** The 4-digit due-date factor of a date (0 for no due date), following the 2025-02-22 restart at 1000. */
export function dueDateFactor(dueDate: string | null): number {
  if (dueDate === null) return 0;
  const days = Math.round((parseIsoDate("dueDate", dueDate) - FACTOR_EPOCH) / DAY_MS);
  if (days < 1000)
    throw new ValidationError(
      "dueDate",
      `${dueDate} is before 2000-07-03, the first date of the factor cycle`,
    );
  return 1000 + ((days - 1000) % FACTOR_CYCLE);
}

/**
 * The due date a factor stands for, read against a reference date: the one inside FEBRABAN's window
 * [reference − 3000, reference + 5500] days, or the nearest when none falls inside. Null for factor 0
 * (no due date) and factors below 1000.
 */
export function dateFromFactor(factor: number, opts: DecodeOptions = {}): string | null {
  if (!Number.isInteger(factor) || factor < 1000 || factor > 9999) return null;
  const ref = Math.round(
    ((opts.referenceDate ? parseIsoDate("referenceDate", opts.referenceDate) : Date.now()) - FACTOR_EPOCH) /
      DAY_MS,
  );
  // factor + 9000k days after the epoch, k ≥ 0; pick k for the window, else the nearest.
  const low = ref - WINDOW_PAST_DAYS;
  let k = Math.max(0, Math.ceil((low - factor) / FACTOR_CYCLE));
  let days = factor + k * FACTOR_CYCLE;
  if (days > ref + WINDOW_FUTURE_DAYS && k > 0) {
    const earlier = days - FACTOR_CYCLE;
    if (ref - earlier < days - ref) {
      k -= 1;
      days = earlier;
    }
  }
  return isoDay(FACTOR_EPOCH + days * DAY_MS);
}

function amountCents(amountBrl: number): number {
  if (typeof amountBrl !== "number" || !Number.isFinite(amountBrl) || amountBrl < 0)
    throw new ValidationError(
      "amountBrl",
      `expected a non-negative amount in reais, got ${String(amountBrl)}`,
    );
  // Amounts come from invoice arithmetic in floating point (129.9 * 100 = 12990.000000000002): round to cents.
  const cents = Math.round(amountBrl * 100);
  if (cents > MAX_CENTS)
    throw new ValidationError("amountBrl", `${amountBrl} exceeds the 10-digit amount field (99,999,999.99)`);
  return cents;
}

function digitsField(
  field: string,
  value: string | number | undefined,
  width: number,
  fallback: string,
): string {
  const s = value === undefined ? fallback : String(value).trim();
  if (!digitsOnly(s) || s.length > width)
    throw new ValidationError(field, `expected up to ${width} digits, got ${JSON.stringify(String(value))}`);
  return s.padStart(width, "0");
}

/**
 * Itaú (341) free field: carteira(3) nosso número(8) DAC(1) agência(4) conta(5) DAC(1) "000". The first
 * DAC is mod 10 of agência+conta+carteira+nosso número (only carteira+nosso número for carteiras 126, 131,
 * 146, 150 and 168); the second is mod 10 of agência+conta.
 */
function itauFreeField(agency: string, account: string, wallet: string, ourNumber: string): string {
  const dacOurNumber = ["126", "131", "146", "150", "168"].includes(wallet)
    ? mod10CheckDigit(wallet + ourNumber)
    : mod10CheckDigit(agency + account + wallet + ourNumber);
  const dacAccount = mod10CheckDigit(agency + account);
  return `${wallet}${ourNumber}${dacOurNumber}${agency}${account}${dacAccount}000`;
}

/** The 25-digit free field from the input: given as is, Itaú's layout for 341, or a neutral layout. */
function freeFieldOf(input: BoletoInput): string {
  if (input.freeField !== undefined) {
    if (typeof input.freeField !== "string" || !/^[0-9]{25}$/.test(input.freeField))
      throw new ValidationError("freeField", "expected exactly 25 digits");
    return input.freeField;
  }
  const agency = digitsField("agency", input.agency, 4, "1234");
  if (input.bankCode === "341") {
    return itauFreeField(
      agency,
      digitsField("account", input.account, 5, "12345"),
      digitsField("wallet", input.wallet, 3, "109"),
      digitsField("ourNumber", input.ourNumber, 8, "0"),
    );
  }
  // Other banks: agência(4) conta(10) nosso número(11). Pass `freeField` for a bank's own layout.
  return (
    agency +
    digitsField("account", input.account, 10, "12345") +
    digitsField("ourNumber", input.ourNumber, 11, "0")
  );
}

/** Bar code from its parts, computing the general check digit. */
function barcodeOf(bank: string, currency: string, factor: number, cents: number, free: string): string {
  const body = bank + currency + String(factor).padStart(4, "0") + String(cents).padStart(10, "0") + free;
  const dv = boletoMod11CheckDigit(body);
  return body.slice(0, 4) + dv + body.slice(4);
}

/** Formats 47 digits as "AAAAA.AAAAA BBBBB.BBBBBB CCCCC.CCCCCC D EEEEEEEEEEEEEE". */
export function formatLinhaDigitavel(digits47: string): string {
  const d = digits47;
  return `${d.slice(0, 5)}.${d.slice(5, 10)} ${d.slice(10, 15)}.${d.slice(15, 21)} ${d.slice(21, 26)}.${d.slice(26, 32)} ${d[32]} ${d.slice(33)}`;
}

/** The formatted linha digitável of a 44-digit bar code (no validation: see barcodeToLinhaDigitavel). */
function linhaOf(barcode: string): string {
  const f1 = barcode.slice(0, 4) + barcode.slice(19, 24);
  const f2 = barcode.slice(24, 34);
  const f3 = barcode.slice(34, 44);
  const digits =
    f1 +
    mod10CheckDigit(f1) +
    f2 +
    mod10CheckDigit(f2) +
    f3 +
    mod10CheckDigit(f3) +
    barcode[4] +
    barcode.slice(5, 19);
  return formatLinhaDigitavel(digits);
}

/** Builds the bar code and linha digitável of an invoice's second copy. Throws ValidationError on bad input. */
export function boletoFromInvoice(input: BoletoInput): Boleto {
  if (input === null || typeof input !== "object") throw new ValidationError("boleto", "expected an object");
  if (typeof input.bankCode !== "string" || !/^[0-9]{3}$/.test(input.bankCode))
    throw new ValidationError("bankCode", `expected 3 digits, got ${JSON.stringify(input.bankCode)}`);
  if (input.bankCode[0] === "8")
    throw new ValidationError("bankCode", "a leading 8 marks an arrecadação slip, not a bank collection");
  const currency = input.currencyCode ?? "9";
  if (!/^[0-9]$/.test(currency)) throw new ValidationError("currencyCode", "expected one digit (9 = real)");
  const factor = dueDateFactor(input.dueDate ?? null);
  const cents = amountCents(input.amountBrl);
  const barcode = barcodeOf(input.bankCode, currency, factor, cents, freeFieldOf(input));
  return { barcode, linhaDigitavel: linhaOf(barcode) };
}

function decoded(barcode: string, opts: DecodeOptions): ParsedBoleto {
  const factor = Number(barcode.slice(5, 9));
  const cents = Number(barcode.slice(9, 19));
  return {
    barcode,
    linhaDigitavel: linhaOf(barcode),
    bankCode: barcode.slice(0, 3),
    currencyCode: barcode[3],
    generalCheckDigit: Number(barcode[4]),
    dueFactor: factor,
    dueDate: dateFromFactor(factor, opts),
    amountCents: cents,
    amountBrl: cents / 100,
    freeField: barcode.slice(19),
  };
}

/** Checks a 44-digit bar code (spaces allowed) and decodes it; errors name each failed check. */
export function validateBarcode(text: string, opts: DecodeOptions = {}): BoletoCheck {
  if (typeof text !== "string") return { ok: false, errors: ["barcode: expected a string"] };
  const b = text.replace(/\s+/g, "");
  if (!/^[0-9]{44}$/.test(b))
    return { ok: false, errors: [`barcode: expected 44 digits, got ${b.length} characters`] };
  if (b[0] === "8")
    return { ok: false, errors: ["barcode: starts with 8, an arrecadação slip (not supported)"] };
  const expected = boletoMod11CheckDigit(b.slice(0, 4) + b.slice(5));
  if (Number(b[4]) !== expected)
    return { ok: false, errors: [`barcode: general check digit is ${b[4]}, expected ${expected}`] };
  return { ok: true, boleto: decoded(b, opts) };
}

/**
 * Checks a linha digitável (formatted or 47 bare digits) and decodes it: the mod-10 digit of each of the
 * three first fields and the mod-11 general digit are all recomputed; errors name each one that fails.
 */
export function validateLinhaDigitavel(text: string, opts: DecodeOptions = {}): BoletoCheck {
  if (typeof text !== "string") return { ok: false, errors: ["linhaDigitavel: expected a string"] };
  const d = text.replace(/[\s.]+/g, "");
  if (!digitsOnly(d))
    return { ok: false, errors: ["linhaDigitavel: only digits, spaces and dots are allowed"] };
  if (d.length === 48 && d[0] === "8")
    return {
      ok: false,
      errors: ["linhaDigitavel: 48 digits starting with 8 is an arrecadação slip (not supported)"],
    };
  if (d.length !== 47) return { ok: false, errors: [`linhaDigitavel: expected 47 digits, got ${d.length}`] };
  const errors: string[] = [];
  const fields: [string, number, number][] = [
    ["field 1", 0, 9],
    ["field 2", 10, 20],
    ["field 3", 21, 31],
  ];
  for (const [name, from, dvAt] of fields) {
    const dv = mod10CheckDigit(d.slice(from, dvAt));
    if (Number(d[dvAt]) !== dv)
      errors.push(`linhaDigitavel: ${name} check digit is ${d[dvAt]}, expected ${dv}`);
  }
  const barcode = d.slice(0, 4) + d[32] + d.slice(33) + d.slice(4, 9) + d.slice(10, 20) + d.slice(21, 31);
  const general = boletoMod11CheckDigit(barcode.slice(0, 4) + barcode.slice(5));
  if (Number(d[32]) !== general)
    errors.push(`linhaDigitavel: general check digit (field 4) is ${d[32]}, expected ${general}`);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, boleto: decoded(barcode, opts) };
}

/** validateLinhaDigitavel that throws ValidationError("linhaDigitavel", …) on any failed check. */
export function parseLinhaDigitavel(text: string, opts: DecodeOptions = {}): ParsedBoleto {
  const r = validateLinhaDigitavel(text, opts);
  if (!r.ok)
    throw new ValidationError(
      "linhaDigitavel",
      r.errors.map((e) => e.replace(/^linhaDigitavel: /, "")).join("; "),
    );
  return r.boleto;
}

/** validateBarcode that throws ValidationError("barcode", …) on any failed check. */
export function parseBarcode(text: string, opts: DecodeOptions = {}): ParsedBoleto {
  const r = validateBarcode(text, opts);
  if (!r.ok)
    throw new ValidationError("barcode", r.errors.map((e) => e.replace(/^barcode: /, "")).join("; "));
  return r.boleto;
}

/** The 44-digit bar code a valid linha digitável encodes. */
export function linhaDigitavelToBarcode(linha: string): string {
  return parseLinhaDigitavel(linha).barcode;
}

/** The formatted linha digitável of a valid 44-digit bar code. */
export function barcodeToLinhaDigitavel(barcode: string): string {
  return parseBarcode(barcode).linhaDigitavel;
}
