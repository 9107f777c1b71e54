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
    "holdername cardholder cardholdername titular nometitular mothername nomemae nomedamae",
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

const KEY_VALUE_TEXT = /(?<![\p{L}\p{N}_-])([A-Za-z][A-Za-z0-9_-]{1,40})=([^&#\s"']+)/dgu;
const KEY_VALUE_URL = /(?:^|(?<=[?&;]))([^=&#?;/]{1,60})=([^&#]+)/dg;
const JSON_VALUE = /"([A-Za-z][A-Za-z0-9_-]{1,40})"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|(-?[0-9][0-9.eE+-]*))/dg;

function decodeKey(k: string): string {
  try {
    return decodeURIComponent(k);
  } catch {
    return k;
  }
}

function keySpans(text: string, mode: "text" | "url"): Span[] {
  const out: Span[] = [];
  if (text.includes("=")) {
    for (const m of text.matchAll(mode === "url" ? KEY_VALUE_URL : KEY_VALUE_TEXT)) {
      const kind = piiKindOfKey(mode === "url" ? decodeKey(m[1]) : m[1]);
      const at = m.indices?.[2];
      if (kind && at) out.push({ kind, start: at[0], end: at[1], prio: 0 });
    }
  }
  if (text.includes('"')) {
    for (const m of text.matchAll(JSON_VALUE)) {
      const kind = piiKindOfKey(m[1]);
      const at = m.indices?.[2] ?? m.indices?.[3];
      if (kind && at && at[1] > at[0]) out.push({ kind, start: at[0], end: at[1], prio: 0 });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Cues: the nearest keyword before a bare number says what it is.

type Cue = "cpf" | "cnpj" | "phone" | "cep" | "imei" | "iccid" | "card" | "other";
const CUE_NAMES: Cue[] = ["cpf", "cnpj", "phone", "cep", "imei", "iccid", "card", "other"];
const CUES = new RegExp(
  String.raw`(?<![\p{L}\p{N}])(?:(cpf)|(cnpj)|(telefone|tel|fone|celular|cel|whatsapp|whats|zap|wpp|phone|mobile|contato|ligar|ligue|sms|fixo)` +
    `|(cep|zip|c[oó]digo postal)|(imei)|(iccid|sim ?card|chip)|(cart[aã]o|card|cr[eé]dito|d[eé]bito|visa|mastercard|amex)` +
    `|(protocolo|protocol|pedido|order|fatura|invoice|boleto|nota fiscal|nf-?e|c[oó]digo de barras|linha digit[aá]vel` +
    String.raw`|ticket|chamado|contrato|contract|transa[cç][aã]o|transaction|nsu|txid|matr[ií]cula|serial|s[eé]rie))(?!\p{L})`,
  "giu",
);
const CUE_WINDOW = 32;

function cueBefore(text: string, start: number): Cue | null {
  const window = text.slice(Math.max(0, start - CUE_WINDOW), start);
  let cue: Cue | null = null;
  for (const m of window.matchAll(CUES)) {
    for (let g = 1; g <= CUE_NAMES.length; g++)
      if (m[g] !== undefined) {
        cue = CUE_NAMES[g - 1];
        break;
      }
  }
  return cue;
}

// ---------------------------------------------------------------------------------------------------
// Shapes. L/R: not glued to other digits (a separator between digits counts as glue: "1.234", "12/05").

const L = `(?<![0-9][.,/:-]?)`;
const R = `(?![.,/:-]?[0-9])`;
// Phones and CEPs have no check digit: they must also stand apart from letters ("…f4a31-4340-2598b…" is hex).
const LW = String.raw`(?<![\p{L}\p{N}_])(?<![0-9][.,/:-])`;
const RW = String.raw`(?![\p{L}\p{N}_])(?![.,/:-][0-9])`;
const SEP = String.raw`[\s.+-]`;
/** The DDD area codes Anatel assigns. */
const DDD = "(?:1[1-9]|2[12478]|3[1-578]|4[1-9]|5[1345]|6[1-9]|7[134579]|8[1-9]|9[1-9])";
const SUB = `(?:9${SEP}?[0-9]{4}|[2-9][0-9]{3})${SEP}?[0-9]{4}`;
const AREA = String.raw`(?:\(\s*0?${DDD}\s*\)|0?${DDD})`;
const re = (src: string, flags = "g") => new RegExp(src, flags);

/** Phone shapes, strongest first; `cue`: "none" needs no cue, "veto" is dropped on a foreign cue, "need" needs a phone cue. */
const PHONES: { re: RegExp; cue: "none" | "veto" | "need" }[] = [
  {
    re: re(String.raw`${LW}(?:\+|%2[Bb]|(?<![0-9])00)\s*55${SEP}*${AREA}${SEP}*${SUB}${RW}`, "gu"),
    cue: "none",
  },
  { re: re(`${LW}55${SEP}*${AREA}${SEP}*${SUB}${RW}`, "gu"), cue: "none" },
  { re: re(String.raw`${LW}\(\s*0?${DDD}\s*\)${SEP}*${SUB}${RW}`, "gu"), cue: "none" },
  { re: re(`${LW}0?${DDD}${SEP}+${SUB}${RW}`, "gu"), cue: "veto" },
  { re: re(`${LW}0?${DDD}9[0-9]{8}${RW}`, "gu"), cue: "veto" },
  { re: re(String.raw`${LW}9[0-9]{4}[\s.-][0-9]{4}${RW}`, "gu"), cue: "veto" },
  { re: re(`${LW}0?${DDD}[2-5][0-9]{7}${RW}`, "gu"), cue: "need" },
  { re: re(String.raw`${LW}(?:[2-5][0-9]{3}[\s.-]?[0-9]{4}|9[0-9]{8})${RW}`, "gu"), cue: "need" },
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
const CEP_FORMATTED = re(String.raw`${LW}(?:[0-9]{5}|[0-9]{2}\.[0-9]{3})-[0-9]{3}${RW}`, "gu");
const CEP_BARE = re(`${LW}[0-9]{8}${RW}`, "gu");
/** 13–20 digits: bare, 4-4-4-x(-x), 4-6-4/5 (Amex, Diners), and the IMEI groupings 2-6-6-1 and 6-2-6-1. */
const LONG = re(
  String.raw`${L}(?:[0-9]{13,20}|[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{1,4}(?:\1[0-9]{1,4})?` +
    String.raw`|[0-9]{4}([ -])[0-9]{6}\2[0-9]{4,5}|[0-9]{2}([ ./-])[0-9]{6}\3[0-9]{6}\3[0-9]|[0-9]{6}([ -])[0-9]{2}\4[0-9]{6}\4[0-9])${R}`,
);
const EMAIL =
  /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/gu;
const EXPIRY = String.raw`((?:0[1-9]|1[0-2])\s?\/\s?(?:20)?[0-9]{2})(?![0-9])`;
const CVV_CUE = String.raw`(?:cvv2?|cvc2?|c[oó]d(?:igo)?\.?\s*(?:de\s+)?seg(?:uran[cç]a)?\.?|security code|c[oó]digo de verifica[cç][aã]o)`;
const EXPIRY_CUE = String.raw`(?:validade|val\.|vencimento do cart[aã]o|expira(?:[cç][aã]o)?|expiry|expiration|exp\.?|valid thru|v[aá]lido at[eé])`;
const CVV_WITH_CUE = re(
  String.raw`(?<!\p{L})${CVV_CUE}\s*(?:[:=-]|[eé]|is)?\s*([0-9]{3,4})(?![0-9])`,
  "dgiu",
);
const EXPIRY_WITH_CUE = re(
  String.raw`(?<!\p{L})${EXPIRY_CUE}\s*(?:do cart[aã]o\s*)?(?:[:=-]|[eé])?\s*${EXPIRY}`,
  "dgiu",
);
const NEXT_LEAD = String.raw`^[\s,;:|()/-]*(?:(?:e|and)\s+)?`;
const EXPIRY_NEXT = re(
  String.raw`${NEXT_LEAD}(?:(?:${EXPIRY_CUE}|venc(?:imento)?)\s*:?\s*)?${EXPIRY}`,
  "diu",
);
const CVV_NEXT = re(String.raw`${NEXT_LEAD}(?:${CVV_CUE}\s*:?\s*)?([0-9]{3,4})(?![0-9/])`, "diu");
const UUID = /(?<![0-9A-Za-z])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9A-Za-z])/gi;
const LINHA = /[0-9]{5}\.[0-9]{5}\s[0-9]{5}\.[0-9]{6}\s[0-9]{5}\.[0-9]{6}\s[0-9]\s[0-9]{14}/g;
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
function protectedSpans(t: string): [number, number][] {
  const out: [number, number][] = [];
  if (t.includes("-")) for (const m of t.matchAll(UUID)) out.push([m.index, m.index + m[0].length]);
  for (const m of t.matchAll(LINHA))
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
    const g = m?.indices?.[1];
    if (!m || !g) break;
    out.push({ kind: e ? "card_expiry" : "cvv", start: at + g[0], end: at + g[1], prio: 7 });
    if (e) gotExpiry = true;
    else gotCvv = true;
    at += g[1];
  }
  return out;
}

/** Every non-key detection in `t` (already decoded). */
function coreSpans(t: string): Span[] {
  let digits = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
  }
  const hasAt = t.includes("@");
  if (digits < 2 && !hasAt) return [];
  const spans: Span[] = [];
  if (hasAt)
    for (const m of t.matchAll(EMAIL))
      spans.push({ kind: "email", start: m.index, end: m.index + m[0].length, prio: 1 });
  if (digits >= 2 && /[A-Z]/.test(t))
    for (const m of t.matchAll(CNPJ_ALNUM))
      if (isValidCnpj(m[0]))
        spans.push({ kind: "cnpj", start: m.index, end: m.index + m[0].length, prio: 3 });
  if (digits >= 8) {
    for (const m of t.matchAll(LONG)) {
      const grouped = /[^0-9]/.test(m[0]);
      let value = m[0];
      let kind = classifyLong(digitsOf(value), cueBefore(t, m.index), grouped);
      // A 5th group may be a CVV written after the card: try without it.
      if (!kind && grouped && /[ -]/.test(value) && value.split(/[ -]/).length === 5) {
        value = value.slice(0, value.search(/[ -][0-9]{1,4}$/));
        kind = classifyLong(digitsOf(value), cueBefore(t, m.index), grouped);
      }
      if (kind) spans.push({ kind, start: m.index, end: m.index + value.length, prio: 2 });
    }
    for (const m of t.matchAll(CNPJ)) {
      if (!isValidCnpj(m[0])) continue;
      if (/^[0-9]+$/.test(m[0]) && cueBefore(t, m.index) === "other") continue;
      spans.push({ kind: "cnpj", start: m.index, end: m.index + m[0].length, prio: 3 });
    }
    for (const m of t.matchAll(CPF)) {
      if (!isValidCpf(m[0].replace(/[/\s]/g, ""))) continue;
      if (/^[0-9]+$/.test(m[0])) {
        const cue = cueBefore(t, m.index);
        if (cue === "other" || cue === "cnpj") continue;
        // A bare mobile number that happens to pass the CPF check: the phone cue decides.
        if (cue === "phone" && new RegExp(`^0?${DDD}9`).test(m[0])) continue;
      }
      spans.push({ kind: "cpf", start: m.index, end: m.index + m[0].length, prio: 4 });
    }
    for (const p of PHONES) {
      for (const m of t.matchAll(p.re)) {
        if (p.cue !== "none") {
          const cue = cueBefore(t, m.index);
          if (p.cue === "need" ? cue !== "phone" : cue !== null && cue !== "phone") continue;
          // 3003-xxxx, 4004-xxxx…: companies' nationwide numbers, not a person's.
          if (NATIONWIDE.test(m[0])) continue;
        }
        spans.push({ kind: "phone", start: m.index, end: m.index + m[0].length, prio: 5 });
      }
    }
    for (const m of t.matchAll(CEP_FORMATTED)) {
      const cue = cueBefore(t, m.index);
      if (cue === "other" || cue === "phone") continue;
      spans.push({ kind: "cep", start: m.index, end: m.index + m[0].length, prio: 6 });
    }
    for (const m of t.matchAll(CEP_BARE))
      if (cueBefore(t, m.index) === "cep")
        spans.push({ kind: "cep", start: m.index, end: m.index + m[0].length, prio: 6 });
  }
  if (digits >= 3) {
    for (const m of t.matchAll(CVV_WITH_CUE)) {
      const g = m.indices?.[1];
      if (g) spans.push({ kind: "cvv", start: g[0], end: g[1], prio: 7 });
    }
  }
  const prot = protectedSpans(t);
  let kept = resolve(spans.filter((s) => !prot.some(([a, b]) => s.start < b && a < s.end)));
  const cards = kept.filter((s) => s.kind === "card");
  const extra: Span[] = [];
  for (const c of cards) extra.push(...cardFollowers(t, c.end));
  if (digits >= 4 && (cards.length > 0 || CARD_CONTEXT.test(t))) {
    for (const m of t.matchAll(EXPIRY_WITH_CUE)) {
      const g = m.indices?.[1];
      if (!g) continue;
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
  const spans = resolve([...keyed, ...core]);
  return spans.map((s) => ({ kind: s.kind, start: s.start, end: s.end, value: text.slice(s.start, s.end) }));
}

/**
 * Key-only detection for text with no digit, "@" or "%": nothing else can be in it (every numeric kind
 * needs digits, e-mail needs "@", and a digit or "@" may only hide behind a %XX escape). The access
 * log's fast path.
 */
export function detectPiiByKey(text: string, opts: DetectOptions = {}): PiiMatch[] {
  return resolve(keySpans(text, opts.mode ?? "text")).map((s) => ({
    kind: s.kind,
    start: s.start,
    end: s.end,
    value: text.slice(s.start, s.end),
  }));
}
