/**
 * The one detector of Brazilian personal data (LGPD) for the whole platform: the assistant's guardrails,
 * traces and logs, and the API access log all call it. Written by hand: no maintained library knows
 * CPF/CNPJ check digits, DDD area codes, CEP cues and Brazilian phone shapes (Presidio is Python and
 * English-first; the npm validators only check a value you already isolated).
 *
 * Each kind is found by its shape and then confirmed, so that amounts, dates and ids stay readable:
 * - cpf   11 digits, formatted or not, with valid check digits; also glued to letters ("cli12345678909x").
 * - cnpj  14 digits (or the 2026 alphanumeric base) with valid check digits.
 * - phone +55 numbers in any separator style (spaces, dots, dashes, "+" from query strings, "(11)",
 *         %2B), DDD + number when the DDD is a real area code, and bare numbers only next to a phone cue.
 * - cep   00000-000 / 00.000-000, or 8 bare digits right after a "CEP" cue.
 * - card  13–19 digits passing Luhn with a known brand prefix and length; the expiry and CVV that
 *         follow it (or that follow a "CVV" / "validade" cue) are found too.
 * - email, imei (15 digits, Luhn, a real reporting-body prefix or an "IMEI" cue),
 *   iccid (19–20 digits starting 89, Luhn or an "ICCID" cue).
 * - name  only by key: `nome=…` / `name=…` in query strings and `"nome": "…"` in JSON text.
 * Bare digit runs are dropped when the nearest cue before them names something else (protocolo,
 * fatura, pedido, boleto, …), and valid boleto lines and Pix payloads are never taken apart.
 * Text holding %XX escapes is read in its decoded view as well; offsets always refer to the text given.
 */
import { validateLinhaDigitavel } from "../formats/boleto.ts";
import { isValidCnpj, isValidCpf, luhnValid } from "../formats/check-digits.ts";
import { validatePix } from "../formats/pix.ts";
import { hasEscapes, percentDecode } from "./percent.ts";

export const PII_KINDS = [
  "cpf",
  "cnpj",
  "phone",
  "cep",
  "card",
  "cvv",
  "card_expiry",
  "email",
  "imei",
  "iccid",
  "name",
] as const;
export type PiiKind = (typeof PII_KINDS)[number];

export interface PiiMatch {
  kind: PiiKind;
  /** Offsets in the text given (UTF-16 units), end exclusive. */
  start: number;
  end: number;
  /** The text as written, text.slice(start, end). */
  value: string;
}

export interface DetectOptions {
  /**
   * "text" (default): a `key=value` value ends at whitespace, & or #. "url": the text is a URL or query
   * string, and a value runs to the next & or # (a name may hold encoded spaces).
   */
  mode?: "text" | "url";
}

interface Span {
  kind: PiiKind;
  start: number;
  end: number;
  prio: number;
}

// ---------------------------------------------------------------------------------------------------
// Keys that hold personal data, in query strings (`nome=…`) and JSON text; also used by maskObject.
// Compared after lower-casing and removing "_" and "-" (customer_name = customerName = customer-name).

const KEY_KINDS: Record<string, PiiKind> = {};
const keys = (kind: PiiKind, names: string) => {
  for (const k of names.split(" ")) KEY_KINDS[k] = kind;
};
keys(
  "name",
  "name nome fullname nomecompleto customername nomecliente clientname firstname lastname sobrenome " +
    "nomedocliente holdername cardholder cardholdername titular nometitular mothername nomemae nomedamae " +
    "nomesocial socialname responsavel nomeresponsavel username nomeusuario",
);
keys("cpf", "cpf cpfcnpj documento document");
keys("cnpj", "cnpj");
keys("phone", "phone phonenumber tel telefone fone celular cel mobile msisdn whatsapp");
keys("email", "email mail");
keys("cep", "cep zip zipcode postalcode");
keys("card", "card cardnumber cartao numerocartao pan");
keys("cvv", "cvv cvc cvv2 securitycode codigoseguranca");
keys("card_expiry", "expiry cardexpiry validadecartao");
keys("imei", "imei");
keys("iccid", "iccid");

/** The kind of personal data a field/parameter name holds, or undefined. */
export function piiKindOfKey(key: string): PiiKind | undefined {
  const k = key.toLowerCase().replace(/[_-]/g, "");
  return Object.hasOwn(KEY_KINDS, k) ? KEY_KINDS[k] : undefined;
}

/** Latin letters with the Portuguese accents (a plain class: \p{L} needs the slower /u mode). */
const LETTER = "A-Za-zÀ-ÖØ-öø-ÿ";
// In each pattern the value is the last group and ends the match (offsets come from the match's end:
// the /d flag would give them too, but makes every exec several times slower).
const KEY_VALUE_TEXT = new RegExp(`(?<![${LETTER}0-9_-])([A-Za-z][A-Za-z0-9_-]{1,40})=([^&#\\s"']+)`, "g");
const KEY_VALUE_URL = /(?:^|(?<=[?&;]))([^=&#?;/]{1,60})=([^&#]+)/g;
const JSON_VALUE = /"([A-Za-z][A-Za-z0-9_-]{1,40})"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|(-?[0-9][0-9.eE+-]*))/g;

function decodeKey(k: string): string {
  try {
    return decodeURIComponent(k);
  } catch {
    return k;
  }
}

/** Every match of a global regex (shared, so no per-call clone as String.prototype.matchAll makes). */
function all(re: RegExp, t: string): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  re.lastIndex = 0;
  for (let m = re.exec(t); m !== null; m = re.exec(t)) {
    out.push(m);
    if (m[0].length === 0) re.lastIndex++;
  }
  return out;
}

function keySpans(text: string, mode: "text" | "url"): Span[] {
  const out: Span[] = [];
  if (text.includes("=")) {
    for (const m of all(mode === "url" ? KEY_VALUE_URL : KEY_VALUE_TEXT, text)) {
      const kind = piiKindOfKey(mode === "url" ? decodeKey(m[1]) : m[1]);
      const end = m.index + m[0].length;
      if (kind) out.push({ kind, start: end - m[2].length, end, prio: 0 });
    }
  }
  if (text.includes('"')) {
    for (const m of all(JSON_VALUE, text)) {
      const kind = piiKindOfKey(m[1]);
      const value = m[2] ?? m[3];
      const end = m.index + m[0].length - (m[2] === undefined ? 0 : 1);
      if (kind && value) out.push({ kind, start: end - value.length, end, prio: 0 });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Cues: the nearest keyword before a bare number says what it is.

type Cue = "cpf" | "cnpj" | "phone" | "cep" | "imei" | "iccid" | "card" | "other";
const CUE_NAMES: Cue[] = ["cpf", "cnpj", "phone", "cep", "imei", "iccid", "card", "other"];
const CUES = new RegExp(
  `(?<![${LETTER}0-9])(?:(cpf)|(cnpj)|(telefone|tel|fone|celular|cel|whatsapp|whats|zap|wpp|phone|mobile|contato|ligar|ligue|sms|fixo)` +
    `|(cep|zip|c[oó]digo postal)|(imei)|(iccid|sim ?card|chip)|(cart[aã]o|card|cr[eé]dito|d[eé]bito|visa|mastercard|amex)` +
    `|(protocolo|protocol|pedido|order|fatura|invoice|boleto|nota fiscal|nf-?e|c[oó]digo de barras|linha digit[aá]vel` +
    `|ticket|chamado|contrato|contract|transa[cç][aã]o|transaction|nsu|txid|matr[ií]cula|serial|s[eé]rie))(?![${LETTER}])`,
  "gi",
);
const CUE_WINDOW = 32;
/** Cheap pre-checks (plain ASCII) before the full cue scan. */
const MAYBE_PHONE_CUE = /tel|fone|cel|whats|zap|wpp|phone|mobile|contato|lig|sms|fixo/i;
const MAYBE_CEP_CUE = /cep|zip|postal/i;

/** The text being scanned, with its cue words found once on first need. */
interface Scan {
  t: string;
  cues: { start: number; end: number; cue: Cue }[] | null;
}

function cuesOf(s: Scan): { start: number; end: number; cue: Cue }[] {
  if (!s.cues) {
    s.cues = [];
    for (const m of all(CUES, s.t)) {
      let g = 1;
      while (m[g] === undefined) g++;
      s.cues.push({ start: m.index, end: m.index + m[0].length, cue: CUE_NAMES[g - 1] });
    }
  }
  return s.cues;
}

/** The nearest cue word ending before `start`, within CUE_WINDOW characters. */
function cueBefore(s: Scan, start: number): Cue | null {
  let cue: Cue | null = null;
  for (const c of cuesOf(s)) {
    if (c.end > start) break;
    if (c.start >= start - CUE_WINDOW) cue = c.cue;
  }
  return cue;
}

const hasCue = (s: Scan, cue: Cue) => cuesOf(s).some((c) => c.cue === cue);

// ---------------------------------------------------------------------------------------------------
// Shapes. L/R: not glued to other digits (a separator between digits counts as glue: "1.234", "12/05").

const L = `(?<![0-9][.,/:-]?)`;
const R = `(?![.,/:-]?[0-9])`;
// Phones and CEPs have no check digit: they must also stand apart from letters ("…f4a31-4340-2598b…" is hex).
const LW = `(?<![${LETTER}0-9_])(?<![0-9][.,/:-])`;
const RW = `(?![${LETTER}0-9_])(?![.,/:-][0-9])`;
const SEP = String.raw`[\s.+-]`;
/** The DDD area codes Anatel assigns. */
const DDD = "(?:1[1-9]|2[12478]|3[1-578]|4[1-9]|5[1345]|6[1-9]|7[134579]|8[1-9]|9[1-9])";
const SUB = `(?:9${SEP}?[0-9]{4}|[2-9][0-9]{3})${SEP}?[0-9]{4}`;
const AREA = String.raw`(?:\(\s*0?${DDD}\s*\)|0?${DDD})`;
const re = (src: string, flags = "g") => new RegExp(src, flags);

/**
 * Phone shapes, strongest first, with the digits each needs. `cue`: "none" needs no cue, "veto" is dropped
 * when the nearest cue names something else, "need" needs a phone cue.
 */
const PHONES: { re: RegExp; digits: number; cue: "none" | "veto" | "need" }[] = [
  {
    re: re(String.raw`${LW}(?:\+|%2[Bb]|(?<![0-9])00)\s*55${SEP}*${AREA}${SEP}*${SUB}${RW}`, "g"),
    digits: 10,
    cue: "none",
  },
  { re: re(`${LW}55${SEP}*${AREA}${SEP}*${SUB}${RW}`, "g"), digits: 12, cue: "none" },
  { re: re(String.raw`${LW}\(\s*0?${DDD}\s*\)${SEP}*${SUB}${RW}`, "g"), digits: 10, cue: "none" },
  { re: re(`${LW}0?${DDD}${SEP}+${SUB}${RW}`, "g"), digits: 10, cue: "veto" },
  { re: re(`${LW}0?${DDD}9[0-9]{8}${RW}`, "g"), digits: 11, cue: "veto" },
  { re: re(String.raw`${LW}9[0-9]{4}[\s.-][0-9]{4}${RW}`, "g"), digits: 9, cue: "veto" },
  { re: re(`${LW}0?${DDD}[2-5][0-9]{7}${RW}`, "g"), digits: 10, cue: "need" },
  { re: re(String.raw`${LW}(?:[2-5][0-9]{3}[\s.-]?[0-9]{4}|9[0-9]{8})${RW}`, "g"), digits: 8, cue: "need" },
];
const NATIONWIDE = /^[34]00[0-9][\s.-]?[0-9]{4}$/;
/** CPF: bare, 000000000-00, 000.000.000-00 (or .00), 000 000 000 00 (or -00). */
const CPF = re(
  String.raw`${L}(?:[0-9]{11}|[0-9]{9}-[0-9]{2}|[0-9]{3}\.[0-9]{3}\.[0-9]{3}[-.][0-9]{2}|[0-9]{3} [0-9]{3} [0-9]{3}[ -][0-9]{2})${R}`,
);
/** CNPJ: bare, or with its slash (00.000.000/0000-00, 00000000/0000-00). */
const CNPJ = re(String.raw`${L}(?:[0-9]{14}|[0-9]{2}\.?[0-9]{3}\.?[0-9]{3}\/[0-9]{4}-?[0-9]{2})${R}`);
const CNPJ_ALNUM =
  /(?<![0-9A-Za-z])[0-9A-Z]{2}\.[0-9A-Z]{3}\.[0-9A-Z]{3}\/[0-9A-Z]{4}-[0-9]{2}(?![0-9A-Za-z])/g;
const CEP_FORMATTED = re(String.raw`${LW}(?:[0-9]{5}|[0-9]{2}\.[0-9]{3})-[0-9]{3}${RW}`, "g");
const CEP_BARE = re(`${LW}[0-9]{8}${RW}`, "g");
/** 13–20 digits: bare, 4-4-4-x(-x), 4-6-4/5 (Amex, Diners), and the IMEI groupings 2-6-6-1 and 6-2-6-1. */
const LONG = re(
  String.raw`${L}(?:[0-9]{13,20}|[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{1,4}(?:\1[0-9]{1,4})?` +
    String.raw`|[0-9]{4}([ -])[0-9]{6}\2[0-9]{4,5}|[0-9]{2}([ ./-])[0-9]{6}\3[0-9]{6}\3[0-9]|[0-9]{6}([ -])[0-9]{2}\4[0-9]{6}\4[0-9])${R}`,
);
const EMAIL = new RegExp(
  `(?<![${LETTER}0-9._%+-])[${LETTER}0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?` +
    String.raw`(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])`,
  "g",
);
const EXPIRY = String.raw`((?:0[1-9]|1[0-2])\s?\/\s?(?:20)?[0-9]{2})(?![0-9])`;
const CVV_CUE = String.raw`(?:cvv2?|cvc2?|c[oó]d(?:igo)?\.?\s*(?:de\s+)?seg(?:uran[cç]a)?\.?|security code|c[oó]digo de verifica[cç][aã]o)`;
const EXPIRY_CUE = String.raw`(?:validade|val\.|vencimento do cart[aã]o|expira(?:[cç][aã]o)?|expiry|expiration|exp\.?|valid thru|v[aá]lido at[eé])`;
const CVV_WITH_CUE = re(
  // A few words may sit between the cue and the code: "cvv do meu cartão: 987", "security code on my card is 987".
  String.raw`(?<![${LETTER}])${CVV_CUE}(?:\s+(?:do|da|de|of|on|my|meu|minha|the|your|seu|sua|cart[aã]o|card|cr[eé]dito|credit|d[eé]bito|debit)){0,4}\s*(?:[:=-]|[eé]|is)?\s*([0-9]{3,4})(?![0-9])`,
  "gi",
);
const EXPIRY_WITH_CUE = re(
  String.raw`(?<![${LETTER}])${EXPIRY_CUE}\s*(?:do cart[aã]o\s*)?(?:[:=-]|[eé])?\s*${EXPIRY}`,
  "gi",
);
const NEXT_LEAD = String.raw`^[\s,;:|()/-]*(?:(?:e|and)\s+)?`;
const EXPIRY_NEXT = re(String.raw`${NEXT_LEAD}(?:(?:${EXPIRY_CUE}|venc(?:imento)?)\s*:?\s*)?${EXPIRY}`, "i");
const CVV_NEXT = re(String.raw`${NEXT_LEAD}(?:${CVV_CUE}\s*:?\s*)?([0-9]{3,4})(?![0-9/])`, "i");
const UUID = /(?<![0-9A-Za-z])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9A-Za-z])/gi;
const LINHA = /[0-9]{5}\.[0-9]{5}\s[0-9]{5}\.[0-9]{6}\s[0-9]{5}\.[0-9]{6}\s[0-9]\s[0-9]{14}/g;
const MAYBE_CVV_CUE = /cv[vc]|seg|security|verifica/i;
const CARD_CONTEXT = /cart[aã]o|card|cr[eé]dito|d[eé]bito/i;

/** IMEI reporting-body prefixes (the first two digits of every TAC in use). */
const IMEI_RBI = new Set([
  "01",
  "10",
  "30",
  "33",
  "35",
  "44",
  "45",
  "49",
  "50",
  "51",
  "52",
  "53",
  "54",
  "86",
  "91",
  "98",
  "99",
]);

/** A card number's brand prefix and length agree (Visa, Mastercard, Amex, Diners, JCB, Elo, Hipercard, Discover). */
function cardBrandOk(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p4 = Number(d.slice(0, 4));
  if (d[0] === "4") return n === 13 || n === 16 || n === 19;
  if (d[0] === "5") return n >= 16 && n <= 19;
  if (d[0] === "2") return n === 16 && p4 >= 2221 && p4 <= 2720;
  if (p2 === 34 || p2 === 37) return n === 15;
  if (p4 === 3841) return n === 13 || n === 16 || n === 19;
  if (p2 === 30 || p2 === 36 || p2 === 38) return n >= 14 && n <= 19;
  if (p2 === 35) return n >= 16 && n <= 19;
  if (d[0] === "6") return n >= 16 && n <= 19;
  return false;
}

function classifyLong(d: string, cue: Cue | null, grouped: boolean): PiiKind | null {
  const n = d.length;
  const luhn = luhnValid(d);
  if (n >= 19 && d.startsWith("89") && (luhn || cue === "iccid")) return "iccid";
  if (cue === "imei" && n >= 14 && n <= 16) return "imei";
  if (!grouped && cue === "other") return null;
  if (n === 15 && luhn && IMEI_RBI.has(d.slice(0, 2)) && !/^3[47]/.test(d)) return "imei";
  if (luhn && n <= 19 && (cardBrandOk(d) || cue === "card")) return "card";
  return null;
}

const digitsOf = (s: string) => s.replace(/[^0-9]/g, "");

/**
 * Spans never taken apart: UUIDs (request and record ids), and valid formatted linhas digitáveis and Pix
 * payloads (the operator's own payment data).
 */
function protectedSpans(t: string, maxRun: number): [number, number][] {
  const out: [number, number][] = [];
  if (t.length >= 36 && t.includes("-"))
    for (const m of all(UUID, t)) out.push([m.index, m.index + m[0].length]);
  if (maxRun >= 14)
    for (const m of all(LINHA, t))
      if (validateLinhaDigitavel(m[0], { referenceDate: "2026-01-01" }).ok)
        out.push([m.index, m.index + m[0].length]);
  if (/br\.gov\.bcb\.pix/i.test(t)) {
    for (let s = t.indexOf("000201"); s !== -1; s = t.indexOf("000201", s + 1)) {
      for (let e = t.indexOf("6304", s); e !== -1 && e - s < 600; e = t.indexOf("6304", e + 1)) {
        if (validatePix(t.slice(s, e + 8)).ok) {
          out.push([s, e + 8]);
          break;
        }
      }
    }
  }
  return out;
}

/**
 * Keeps non-overlapping spans: key values first, then the longest reading (a whole "+55 11 98765-4321"
 * over a CPF-looking part of it), then the kind's priority (an 11-digit run valid as CPF stays a CPF).
 */
function resolve(spans: Span[]): Span[] {
  if (spans.length < 2) return spans;
  const sorted = [...spans].sort(
    (a, b) =>
      Number(b.prio === 0) - Number(a.prio === 0) ||
      b.end - b.start - (a.end - a.start) ||
      a.prio - b.prio ||
      a.start - b.start,
  );
  const kept: Span[] = [];
  for (const s of sorted) if (!kept.some((k) => s.start < k.end && k.start < s.end)) kept.push(s);
  return kept.sort((a, b) => a.start - b.start);
}

/** Card followers: an expiry and/or a CVV right after a card (separators and cue words only in between). */
function cardFollowers(t: string, cardEnd: number): Span[] {
  const out: Span[] = [];
  let at = cardEnd;
  let gotExpiry = false;
  let gotCvv = false;
  for (let step = 0; step < 2; step++) {
    const rest = t.slice(at, at + 48);
    const e = gotExpiry ? null : EXPIRY_NEXT.exec(rest);
    const c = e || gotCvv ? null : CVV_NEXT.exec(rest);
    const m = e ?? c;
    if (!m) break;
    const end = m.index + m[0].length;
    out.push({ kind: e ? "card_expiry" : "cvv", start: at + end - m[1].length, end: at + end, prio: 7 });
    if (e) gotExpiry = true;
    else gotCvv = true;
    at += end;
  }
  return out;
}

/** The characters regex \s matches. */
const isSpace = (c: number) =>
  c === 32 ||
  (c >= 9 && c <= 13) ||
  (c > 127 &&
    (c === 0xa0 ||
      c === 0x1680 ||
      (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x202f ||
      c === 0x205f ||
      c === 0x3000 ||
      c === 0xfeff));

/**
 * Digits in all of `t`, and the most digits in one run of digits and number separators (space . + ( ) / -).
 * Every numeric shape lies inside one such run, so a shape needing n digits cannot match below n.
 */
function digitRuns(t: string): { total: number; maxRun: number } {
  let total = 0;
  let run = 0;
  let maxRun = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      total++;
      if (++run > maxRun) maxRun = run;
    } else if (!(c === 46 || c === 43 || c === 40 || c === 41 || c === 47 || c === 45 || isSpace(c))) run = 0;
  }
  return { total, maxRun };
}

const span = (kind: PiiKind, m: RegExpExecArray, prio: number, length = m[0].length): Span => ({
  kind,
  start: m.index,
  end: m.index + length,
  prio,
});
const BARE = /^[0-9]+$/;
const MOBILE_START = new RegExp(`^0?${DDD}9`);

/** Every non-key detection in `t` (already decoded). */
function coreSpans(t: string): Span[] {
  const { total, maxRun } = digitRuns(t);
  const hasAt = t.includes("@");
  if (total < 2 && !hasAt) return [];
  const scan: Scan = { t, cues: null };
  const spans: Span[] = [];
  if (hasAt) for (const m of all(EMAIL, t)) spans.push(span("email", m, 1));
  if (t.includes("/") && /[A-Z]/.test(t))
    for (const m of all(CNPJ_ALNUM, t)) if (isValidCnpj(m[0])) spans.push(span("cnpj", m, 3));
  if (maxRun >= 13) {
    for (const m of all(LONG, t)) {
      const grouped = !BARE.test(m[0]);
      let length = m[0].length;
      let kind = classifyLong(digitsOf(m[0]), cueBefore(scan, m.index), grouped);
      // A 5th group may be a CVV written after the card: try without it.
      if (!kind && grouped && m[0].split(/[ -]/).length === 5) {
        length = m[0].search(/[ -][0-9]{1,4}$/);
        kind = classifyLong(digitsOf(m[0].slice(0, length)), cueBefore(scan, m.index), grouped);
      }
      if (kind) spans.push(span(kind, m, 2, length));
    }
  }
  if (maxRun >= 14)
    for (const m of all(CNPJ, t)) {
      if (!isValidCnpj(m[0])) continue;
      if (BARE.test(m[0]) && cueBefore(scan, m.index) === "other") continue;
      spans.push(span("cnpj", m, 3));
    }
  if (maxRun >= 11)
    for (const m of all(CPF, t)) {
      if (!isValidCpf(m[0].replace(/\s/g, ""))) continue;
      if (BARE.test(m[0])) {
        const cue = cueBefore(scan, m.index);
        if (cue === "other" || cue === "cnpj") continue;
        // A bare mobile number that happens to pass the CPF check: the phone cue decides.
        if (cue === "phone" && MOBILE_START.test(m[0])) continue;
      }
      spans.push(span("cpf", m, 4));
    }
  if (maxRun >= 8) {
    const phoneCue = MAYBE_PHONE_CUE.test(t) && hasCue(scan, "phone");
    for (const p of PHONES) {
      if (maxRun < p.digits || (p.cue === "need" && !phoneCue)) continue;
      for (const m of all(p.re, t)) {
        if (p.cue !== "none") {
          const cue = cueBefore(scan, m.index);
          if (p.cue === "need" ? cue !== "phone" : cue !== null && cue !== "phone") continue;
          // 3003-xxxx, 4004-xxxx…: companies' nationwide numbers, not a person's.
          if (NATIONWIDE.test(m[0])) continue;
        }
        spans.push(span("phone", m, 5));
      }
    }
    if (t.includes("-"))
      for (const m of all(CEP_FORMATTED, t)) {
        const cue = cueBefore(scan, m.index);
        if (cue !== "other" && cue !== "phone") spans.push(span("cep", m, 6));
      }
    if (MAYBE_CEP_CUE.test(t) && hasCue(scan, "cep"))
      for (const m of all(CEP_BARE, t)) if (cueBefore(scan, m.index) === "cep") spans.push(span("cep", m, 6));
  }
  if (total >= 3 && MAYBE_CVV_CUE.test(t))
    for (const m of all(CVV_WITH_CUE, t)) {
      const end = m.index + m[0].length;
      spans.push({ kind: "cvv", start: end - m[1].length, end, prio: 7 });
    }
  const cardContext = total >= 4 && CARD_CONTEXT.test(t);
  if (spans.length === 0 && !cardContext) return spans;
  const prot = protectedSpans(t, maxRun);
  let kept = resolve(
    prot.length ? spans.filter((s) => !prot.some(([a, b]) => s.start < b && a < s.end)) : spans,
  );
  const cards = kept.filter((s) => s.kind === "card");
  const extra: Span[] = [];
  for (const c of cards) extra.push(...cardFollowers(t, c.end));
  if (total >= 4 && (cards.length > 0 || cardContext)) {
    for (const m of all(EXPIRY_WITH_CUE, t)) {
      const g = [m.index + m[0].length - m[1].length, m.index + m[0].length];
      const near =
        cards.some((c) => Math.abs(c.start - g[0]) < 120) ||
        CARD_CONTEXT.test(t.slice(Math.max(0, g[0] - 60), g[1] + 60));
      if (near) extra.push({ kind: "card_expiry", start: g[0], end: g[1], prio: 7 });
    }
  }
  if (extra.length > 0) kept = resolve([...kept, ...extra]);
  return kept;
}

/** Finds personal data in `text`. Never throws; non-strings give []. */
export function detectPii(text: string, opts: DetectOptions = {}): PiiMatch[] {
  if (typeof text !== "string" || text.length === 0) return [];
  const keyed = keySpans(text, opts.mode ?? "text");
  let core: Span[];
  if (hasEscapes(text)) {
    const view = percentDecode(text);
    core = coreSpans(view.text).map((s) => ({ ...s, start: view.map[s.start], end: view.map[s.end] }));
  } else core = coreSpans(text);
  const spans = keyed.length === 0 ? core : resolve([...keyed, ...core]);
  return spans.map((s) => ({ kind: s.kind, start: s.start, end: s.end, value: text.slice(s.start, s.end) }));
}

/**
 * Key-only detection, for text with fewer than 2 digits and no "@" or "%": nothing else can be in it
 * (every other kind needs 2+ digits or an "@", and only a %XX escape could hide one). The access log's
 * fast path; tests check it agrees with detectPii on such text.
 */
export function detectPiiByKey(text: string, opts: DetectOptions = {}): PiiMatch[] {
  return resolve(keySpans(text, opts.mode ?? "text")).map((s) => ({
    kind: s.kind,
    start: s.start,
    end: s.end,
    value: text.slice(s.start, s.end),
  }));
}
