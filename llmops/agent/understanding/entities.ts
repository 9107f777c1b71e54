import type { SlotName } from "../../conversation/commands.ts";
import type { UnderstandingCatalog } from "./catalog.ts";
import { collapseRepeats, fold, type Token, tokenize } from "./normalize.ts";
import { parseNumberWords } from "./numbers.ts";

/**
 * Entity extraction for customer messages, pt-BR and English, with offsets into the message.
 * Values are normalised to the slot formats of llmops/conversation/commands.ts: CPF digits, phone E.164, CEP digits,
 * ISO dates, yyyy-mm months (relative ones resolved against the business date), money as a number,
 * catalog plan and offer ids, 1-based ordinals (-1 = the last), yes/no booleans.
 * Hand-written (regular expressions and small lexicons): no maintained JS library covers Brazilian
 * formats and colloquial Portuguese dates.
 */

export const ENTITY_KINDS = [
  "cpf",
  "phone",
  "cep",
  "date",
  "month",
  "money",
  "plan",
  "offer",
  "ordinal",
  "yes_no",
  "login_code",
  "cancel_reason",
] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

export const CANCEL_REASONS = ["price", "quality", "moving", "competitor"] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

export interface Entity {
  kind: EntityKind;
  value: string | number | boolean;
  /** Offsets in the NFC form of the message. */
  start: number;
  end: number;
  text: string;
  /** Plans only: the customer names the plan they have now ("meu plano de 15gb não dá"), not a wish. */
  role?: "current";
}

/** Something shaped like an entity that failed validation (a CPF with wrong check digits, 31/02). */
export interface RejectedEntity {
  kind: "cpf" | "date" | "phone";
  text: string;
  reason: string;
}

export interface ExtractOptions {
  /** yyyy-mm-dd: "mês passado" and bare month names resolve against it. */
  businessDate: string;
  /** Plans, offer ids, competitors; without it plan/offer extraction is off. */
  catalog?: UnderstandingCatalog;
  /** The slot the assistant just asked for: settles 11 digits (CPF/phone) and 8 digits (CEP/date). */
  awaitingSlot?: SlotName | null;
}

export interface Extraction {
  entities: Entity[];
  rejected: RejectedEntity[];
}

const PT_MONTHS = [
  "janeiro",
  "fevereiro",
  "marco",
  "abril",
  "maio",
  "junho",
  "julho",
  "agosto",
  "setembro",
  "outubro",
  "novembro",
  "dezembro",
];
const EN_MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const MONTH_ABBR: Record<string, number> = {
  jan: 1,
  fev: 2,
  feb: 2,
  mar: 3,
  abr: 4,
  apr: 4,
  mai: 5,
  jun: 6,
  jul: 7,
  ago: 8,
  aug: 8,
  set: 9,
  sep: 9,
  sept: 9,
  out: 10,
  oct: 10,
  nov: 11,
  dez: 12,
  dec: 12,
};
const MONTH_OF = new Map<string, number>();
for (const names of [PT_MONTHS, EN_MONTHS])
  for (let i = 0; i < names.length; i++) MONTH_OF.set(names[i], i + 1);
const MONTHS_RE = [...MONTH_OF.keys()].sort((a, b) => b.length - a.length).join("|");
const ABBR_RE = Object.keys(MONTH_ABBR)
  .sort((a, b) => b.length - a.length)
  .join("|");
/** Long month names accept one typo ("fevereirro"); short ones collide (junho/julho). */
const FUZZY_MONTHS = [...MONTH_OF.keys()].filter((m) => m.length >= 7);

/** Check digits of a CPF (11 digits); all-equal digits are invalid even if the sums work. */
export function isValidCpf(digits: string): boolean {
  if (!/^\d{11}$/.test(digits) || /^(\d)\1{10}$/.test(digits)) return false;
  const d = [...digits].map(Number);
  for (const len of [9, 10]) {
    let sum = 0;
    for (let i = 0; i < len; i++) sum += d[i] * (len + 1 - i);
    const check = ((sum * 10) % 11) % 10;
    if (check !== d[len]) return false;
  }
  return true;
}

/** yyyy-mm of the business date shifted by `delta` months. */
export function shiftMonth(businessDate: string, delta: number): string {
  const [y, m] = parseIsoDay(businessDate);
  const total = y * 12 + (m - 1) + delta;
  return `${Math.floor(total / 12)}-${pad2((total % 12) + 1)}`;
}

/** A month without a year is the latest such month not after the business month (invoices are past). */
export function resolveMonth(month: number, year: number | null, businessDate: string): string {
  const [by, bm] = parseIsoDay(businessDate);
  const y = year ?? (month <= bm ? by : by - 1);
  return `${y}-${pad2(month)}`;
}

function parseIsoDay(date: string): [number, number, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(date);
  if (!m) throw new RangeError(`businessDate must be yyyy-mm-dd, got "${date}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function validDay(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= days;
}

function fullYear(yy: string, businessYear: number): number {
  if (yy.length === 4) return Number(yy);
  const n = Number(yy);
  return 2000 + n > businessYear ? 1900 + n : 2000 + n;
}

/** Damerau distance ≤ 1 (one insertion, deletion, substitution or adjacent swap). */
function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/** Month number of a folded word: exact name, or a long name with one typo. */
function monthOfWord(word: string): number | undefined {
  const exact = MONTH_OF.get(word);
  if (exact !== undefined) return exact;
  if (word.length < 6) return undefined;
  for (const m of FUZZY_MONTHS) if (withinOneEdit(word, m)) return MONTH_OF.get(m);
  return undefined;
}

class Scan {
  readonly text: string;
  readonly f: string;
  readonly taken: Uint8Array;
  readonly entities: Entity[] = [];
  readonly rejected: RejectedEntity[] = [];
  readonly businessYear: number;
  readonly options: ExtractOptions;

  constructor(text: string, options: ExtractOptions) {
    this.options = options;
    this.text = text;
    this.f = fold(text);
    this.taken = new Uint8Array(text.length);
    this.businessYear = parseIsoDay(options.businessDate)[0];
  }

  free(start: number, end: number): boolean {
    for (let i = start; i < end; i++) if (this.taken[i]) return false;
    return true;
  }

  take(start: number, end: number): void {
    this.taken.fill(1, start, end);
  }

  add(kind: EntityKind, value: string | number | boolean, start: number, end: number): void {
    this.entities.push({ kind, value, start, end, text: this.text.slice(start, end) });
    this.take(start, end);
  }

  reject(kind: RejectedEntity["kind"], start: number, end: number, reason: string): void {
    this.rejected.push({ kind, text: this.text.slice(start, end), reason });
    this.take(start, end);
  }

  /** Matches of `re` (global) on the folded text whose span is still free. */
  *matches(re: RegExp): Generator<RegExpExecArray> {
    re.lastIndex = 0;
    for (let m = re.exec(this.f); m !== null; m = re.exec(this.f)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      if (this.free(m.index, m.index + m[0].length)) yield m;
    }
  }

  #tokens: Token[] | undefined;

  /** Every word token of the message (computed once). */
  tokens(): Token[] {
    this.#tokens ??= tokenize(this.f);
    return this.#tokens;
  }

  /** Word tokens not inside an extracted entity. */
  freeTokens(): Token[] {
    return this.tokens().filter((t) => this.free(t.start, t.end));
  }
}

const BIRTH_CONTEXT = /nasc|nasci|aniversario|birth|born|\bdob\b|d\.o\.b/;
const CEP_CONTEXT = /\bcep\b|\bzip\b|codigo postal|postal code/;

/** Extracts every entity of the message; see the module comment for the value formats. */
export function extractEntities(text: string, options: ExtractOptions): Extraction {
  const s = new Scan(text.normalize("NFC"), options);
  if (options.awaitingSlot === "phone") {
    phones(s);
    cpfs(s);
  } else {
    cpfs(s);
    phones(s);
  }
  numericDates(s);
  wordDates(s);
  ceps(s);
  monthYears(s);
  money(s);
  loginCodes(s);
  if (options.catalog) {
    ids(s, options.catalog);
    plans(s, options.catalog);
  }
  relativeMonths(s);
  ordinals(s);
  monthNames(s);
  yesNo(s);
  cancelReason(s, options.catalog);
  s.entities.sort((a, b) => a.start - b.start);
  return { entities: s.entities, rejected: s.rejected };
}

// --- CPF, phone, CEP, dates ------------------------------------------------------------------

function cpfs(s: Scan): void {
  const re = /(?<![\d.\-/])(\d{3})([.\s]?)(\d{3})\2(\d{3})([-.\s]?)(\d{2})(?![\d]|[.\-/]\d)/g;
  for (const m of s.matches(re)) {
    const digits = m[1] + m[3] + m[4] + m[6];
    const start = m.index;
    const end = start + m[0].length;
    if (isValidCpf(digits)) s.add("cpf", digits, start, end);
    else if (m[2] === "." || m[5] === "-") s.reject("cpf", start, end, "check digits do not match");
    else if (s.options.awaitingSlot === "cpf" && !/\s/.test(m[0]))
      s.reject("cpf", start, end, "check digits do not match");
  }
}

function phones(s: Scan): void {
  const re = /(?<![\w+])(\+\s?)?(\(?\d[\d\s().-]{8,18}\d)(?![\d])/g;
  for (const m of s.matches(re)) {
    let digits = m[0].replace(/\D/g, "");
    if (digits.length >= 12 && digits.startsWith("55")) digits = digits.slice(2);
    else if (m[1]) continue; // "+" with another country code: not a Brazilian number
    if (digits.length !== 10 && digits.length !== 11) continue;
    const ddd = digits.slice(0, 2);
    const local = digits.slice(2);
    if (ddd[0] === "0" || ddd[1] === "0") continue;
    const mobile = local.length === 9 && local[0] === "9";
    const landline = local.length === 8 && local[0] >= "2" && local[0] <= "5";
    if (!mobile && !landline) continue;
    // Separators must look like a phone number: at most 4 groups.
    if (m[0].split(/[\s().-]+/).filter(Boolean).length > 4) continue;
    s.add("phone", `+55${digits}`, m.index, m.index + m[0].length);
  }
}

function numericDates(s: Scan): void {
  const dmy = /(?<![\d/.,-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d]|[/.,-]\d)/g;
  for (const m of s.matches(dmy)) {
    let day = Number(m[1]);
    let month = Number(m[3]);
    if (month > 12 && day <= 12) [day, month] = [month, day]; // US order written by an English speaker
    const year = fullYear(m[4], s.businessYear);
    if (validDay(year, month, day))
      s.add("date", `${year}-${pad2(month)}-${pad2(day)}`, m.index, m.index + m[0].length);
    else s.reject("date", m.index, m.index + m[0].length, "no such day");
  }
  const iso = /(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)/g;
  for (const m of s.matches(iso)) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (validDay(y, mo, d)) s.add("date", `${m[1]}-${m[2]}-${m[3]}`, m.index, m.index + m[0].length);
    else s.reject("date", m.index, m.index + m[0].length, "no such day");
  }
}

const DAY_MONTH_RE = new RegExp(
  `(?<![\\d])(\\d{1,2})(?:o|º)?\\s+(?:de\\s+|of\\s+)?(${MONTHS_RE})\\b(?!\\s*(?:de\\s+|,\\s*|/\\s*)?\\d)`,
  "g",
);
const DAY_FIRST_RE = new RegExp(
  `(?<![\\d])(\\d{1,2})(?:st|nd|rd|th|o|a|º|ª)?\\s*(?:de\\s+|of\\s+)?(${MONTHS_RE})\\s*(?:de\\s+|,\\s*|/\\s*)?(\\d{4}|\\d{2})(?!\\d)`,
  "g",
);
const MONTH_FIRST_RE = new RegExp(
  `\\b(${MONTHS_RE})\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(\\d{4})(?!\\d)`,
  "g",
);
function wordDates(s: Scan): void {
  // "nasci em 1985, dia 12 de março": day and month in words, the year elsewhere in the message.
  if (BIRTH_CONTEXT.test(s.f)) {
    const year = /(?<![\d/.,-])(19\d\d|20\d\d)(?![\d]|[/.,-]\d)/.exec(s.f);
    const dayMonth = DAY_MONTH_RE;
    const dm = year ? [...s.matches(dayMonth)] : [];
    if (year && dm.length === 1 && s.free(year.index, year.index + 4)) {
      const [m] = dm;
      const y = Number(year[1]);
      const month = MONTH_OF.get(m[2])!;
      const day = Number(m[1]);
      const end = m.index + m[0].length;
      if (y <= s.businessYear && validDay(y, month, day)) {
        s.add("date", `${y}-${pad2(month)}-${pad2(day)}`, m.index, end);
        s.take(year.index, year.index + 4);
      }
    }
  }
  const dayFirst = DAY_FIRST_RE;
  for (const m of s.matches(dayFirst)) addWordDate(s, m, Number(m[1]), MONTH_OF.get(m[2])!, m[3]);
  const monthFirst = MONTH_FIRST_RE;
  for (const m of s.matches(monthFirst)) addWordDate(s, m, Number(m[2]), MONTH_OF.get(m[1])!, m[3]);
}

function addWordDate(s: Scan, m: RegExpExecArray, day: number, month: number, yy: string): void {
  const year = fullYear(yy, s.businessYear);
  const end = m.index + m[0].length;
  if (validDay(year, month, day)) s.add("date", `${year}-${pad2(month)}-${pad2(day)}`, m.index, end);
  else s.reject("date", m.index, end, "no such day");
}

function ceps(s: Scan): void {
  const formatted = /(?<![\d.-])(\d{2})\.?(\d{3})[-\s](\d{3})(?![\d]|[.-]\d)/g;
  for (const m of s.matches(formatted)) s.add("cep", m[1] + m[2] + m[3], m.index, m.index + m[0].length);
  const plain = /(?<![\d.,/-])(\d{8})(?![\d]|[.,/-]\d)/g;
  const cepContext = s.options.awaitingSlot === "cep" || CEP_CONTEXT.test(s.f);
  const birthContext = s.options.awaitingSlot === "birth_date" || BIRTH_CONTEXT.test(s.f);
  for (const m of s.matches(plain)) {
    const d = m[1];
    const [day, month, year] = [Number(d.slice(0, 2)), Number(d.slice(2, 4)), Number(d.slice(4))];
    const isDate = year >= 1900 && year <= s.businessYear && validDay(year, month, day);
    const end = m.index + 8;
    if (isDate && (birthContext || !cepContext))
      s.add("date", `${year}-${pad2(month)}-${pad2(day)}`, m.index, end);
    else s.add("cep", d, m.index, end);
  }
}

// --- months -----------------------------------------------------------------------------------

const NAMED_MONTH_YEAR_RE = new RegExp(
  `\\b(${MONTHS_RE}|${ABBR_RE})\\s*(?:de\\s+|of\\s+|/\\s*|-\\s*)?(\\d{4})(?!\\d)`,
  "g",
);
function monthYears(s: Scan): void {
  const named = NAMED_MONTH_YEAR_RE;
  for (const m of s.matches(named)) {
    const month = MONTH_OF.get(m[1]) ?? MONTH_ABBR[m[1]];
    s.add("month", `${m[2]}-${pad2(month)}`, m.index, m.index + m[0].length);
  }
  const numeric = /(?<![\d/.,-])(0?[1-9]|1[0-2])\/(\d{4})(?![\d/])/g;
  for (const m of s.matches(numeric))
    s.add("month", `${m[2]}-${pad2(Number(m[1]))}`, m.index, m.index + m[0].length);
}

const COUNT_WORDS: Record<string, number> = {
  um: 1,
  uma: 1,
  dois: 2,
  duas: 2,
  tres: 3,
  quatro: 4,
  cinco: 5,
  seis: 6,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
};
const COUNT_RE = `(\\d{1,2}|${Object.keys(COUNT_WORDS).join("|")})`;

const AGO_PT_RE = new RegExp(`\\b${COUNT_RE}\\s+mes(?:es)?\\s+atras\\b`, "g");
const HA_PT_RE = new RegExp(`\\bha\\s+${COUNT_RE}\\s+mes(?:es)?\\b`, "g");
const AGO_EN_RE = new RegExp(`\\b${COUNT_RE}\\s+months?\\s+ago\\b`, "g");
function relativeMonths(s: Scan): void {
  const fixed: [RegExp, number][] = [
    [/\bmes\s+retrasado\b|\bpenultimo\s+mes\b|\bmonth\s+before\s+(?:the\s+)?last\b/g, -2],
    [/\bmes\s+(?:passado|anterior)\b|\bultimo\s+mes\b|\b(?:last|previous)\s+month\b/g, -1],
    [/\b(?:esse|este|desse|deste|nesse|neste)\s+mes\b|\bmes\s+atual\b|\b(?:this|current)\s+month\b/g, 0],
  ];
  for (const [re, delta] of fixed)
    for (const m of s.matches(re))
      s.add("month", shiftMonth(s.options.businessDate, delta), m.index, m.index + m[0].length);
  const ago = [AGO_PT_RE, HA_PT_RE, AGO_EN_RE];
  for (const re of ago)
    for (const m of s.matches(re)) {
      const n = COUNT_WORDS[m[1]] ?? Number(m[1]);
      if (n >= 1 && n <= 24)
        s.add("month", shiftMonth(s.options.businessDate, -n), m.index, m.index + m[0].length);
    }
}

/** "may" is a month only next to a bill word, a preposition or a year ("the may bill", "in may"). */
const MAY_BEFORE = new Set(["in", "of", "the", "from", "for", "since", "em", "de"]);
const MAY_AFTER = new Set(["bill", "invoice", "statement", "payment", "charge"]);

function monthNames(s: Scan): void {
  const tokens = s.freeTokens();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const word = collapseRepeats(t.raw);
    const month = monthOfWord(word);
    if (month === undefined) continue;
    if (word === "may") {
      const before = tokens[i - 1]?.raw;
      const after = tokens[i + 1]?.raw;
      if (!(before && MAY_BEFORE.has(before)) && !(after && MAY_AFTER.has(after))) continue;
    }
    if (word === "marco" && /\bMarco\b/.test(s.text.slice(t.start, t.end))) continue; // a name
    s.add("month", resolveMonth(month, null, s.options.businessDate), t.start, t.end);
  }
}

// --- money, codes, ids, plans -----------------------------------------------------------------

const NUM = String.raw`(\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:[.,]\d{1,2})?)`;

/** "1.234,56" → 1234.56, "129.90" → 129.9, "1,234" → 1234. */
export function parseAmount(raw: string): number {
  const lastComma = raw.lastIndexOf(",");
  const lastDot = raw.lastIndexOf(".");
  let normalised: string;
  if (lastComma >= 0 && lastDot >= 0) {
    normalised = lastComma > lastDot ? raw.replace(/\./g, "").replace(",", ".") : raw.replace(/,/g, "");
  } else if (lastComma >= 0) {
    normalised = /^\d{1,3}(,\d{3})+$/.test(raw) ? raw.replace(/,/g, "") : raw.replace(",", ".");
  } else if (lastDot >= 0) {
    normalised = /^\d{1,3}(\.\d{3})+$/.test(raw) ? raw.replace(/\./g, "") : raw;
  } else normalised = raw;
  return Math.round(Number(normalised) * 100) / 100;
}

const CURRENCY_WORDS = new Set(["reais", "real", "conto", "contos", "pila", "pilas", "brl"]);

const MONEY_RS_RE = new RegExp(String.raw`r\$\s*${NUM}(?![\d])`, "g");
const MONEY_BRL_RE = new RegExp(String.raw`\bbrl\s*${NUM}(?![\d])`, "g");
const MONEY_WORD_RE = new RegExp(String.raw`(?<![\d.,])${NUM}\s*(?:reais|real|contos?|pilas?|brl)\b`, "g");
function money(s: Scan): void {
  const patterns = [
    MONEY_RS_RE,
    MONEY_BRL_RE,
    MONEY_WORD_RE,
    /(?<![\d.,/])(\d{1,3}(?:\.\d{3})*,\d{2})(?![\d,]|\.\d)/g,
  ];
  for (const re of patterns)
    for (const m of s.matches(re)) s.add("money", parseAmount(m[1]), m.index, m.index + m[0].length);
  // Number words followed by a currency word: "cento e vinte reais".
  const tokens = s.freeTokens();
  const words = tokens.map((t) => t.raw);
  for (let i = 0; i < tokens.length; i++) {
    const n = parseNumberWords(words, i);
    if (!n) continue;
    const unit = tokens[i + n.length];
    if (unit && CURRENCY_WORDS.has(unit.raw) && n.value > 0) {
      s.add("money", n.value, tokens[i].start, unit.end);
      i += n.length;
    }
  }
}

function loginCodes(s: Scan): void {
  const re = /(?<![\d.,/-])\d{6}(?![\d]|[.,/-]\d)/g;
  for (const m of s.matches(re)) s.add("login_code", m[0], m.index, m.index + 6);
}

interface CatalogMatchers {
  offers: RegExp | null;
  offerByKey: Map<string, string>;
  plans: RegExp;
  planByLower: Map<string, string>;
  competitor: RegExp;
}

const MATCHERS = new WeakMap<UnderstandingCatalog, CatalogMatchers>();

/** Regular expressions for a catalog's ids and competitor names, built once per catalog object. */
function matchersOf(catalog: UnderstandingCatalog): CatalogMatchers {
  let m = MATCHERS.get(catalog);
  if (m) return m;
  const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const alt = (list: string[]) =>
    list
      .map((id) =>
        escapeRe(id.toLowerCase())
          .replace(/-/g, "[-\\s]?")
          .replace(/([a-z])(\d)/g, "$1[-\\s]?$2"),
      )
      .sort((a, b) => b.length - a.length)
      .join("|");
  const planIds = catalog.plans.map((p) => p.plan_id);
  const competitorAlternatives = [
    ...catalog.competitors.map((c) => escapeRe(fold(c))),
    "outra operadora",
    "outra empresa",
    "concorrente",
    "concorrencia",
    "another (?:provider|carrier|operator|company)",
    "other (?:provider|carrier|operator)",
    "competitor",
  ];
  m = {
    offers: catalog.offer_ids.length > 0 ? new RegExp(`\\b(?:${alt(catalog.offer_ids)})\\b`, "g") : null,
    offerByKey: new Map(catalog.offer_ids.map((id) => [id.toLowerCase().replace(/[-\s]/g, ""), id])),
    plans: new RegExp(`\\b(?:${alt(planIds)})\\b`, "g"),
    planByLower: new Map(planIds.map((id) => [id.toLowerCase(), id])),
    competitor: new RegExp(competitorAlternatives.map((p) => `\\b${p}\\b`).join("|")),
  };
  MATCHERS.set(catalog, m);
  return m;
}

function ids(s: Scan, catalog: UnderstandingCatalog): void {
  const m = matchersOf(catalog);
  if (m.offers)
    for (const hit of s.matches(m.offers)) {
      const id = m.offerByKey.get(hit[0].replace(/[-\s]/g, ""));
      if (id) s.add("offer", id, hit.index, hit.index + hit[0].length);
    }
  for (const hit of s.matches(m.plans)) {
    const id = m.planByLower.get(hit[0]);
    if (id) s.add("plan", id, hit.index, hit.index + hit[0].length);
  }
}

type Product = "fibra" | "mobile_pos" | "mobile_controle" | "mobile_pre" | "combo" | "tv" | "mobile";

const PRODUCT_WORDS: Record<string, Product> = {
  fibra: "fibra",
  fiber: "fibra",
  fibre: "fibra",
  broadband: "fibra",
  pos: "mobile_pos",
  pospago: "mobile_pos",
  postpaid: "mobile_pos",
  controle: "mobile_controle",
  control: "mobile_controle",
  pre: "mobile_pre",
  prepago: "mobile_pre",
  prepaid: "mobile_pre",
  combo: "combo",
  tv: "tv",
  televisao: "tv",
};
const SPEED_UNITS = new Set(["mega", "megas", "mb", "mbps", "mbit", "megabits", "mbits"]);
const GIGA_UNITS = new Set(["giga", "gigas", "gb", "g", "gbps", "gigabit", "gigabyte", "gigabytes"]);
const LINK_WORDS = new Set([
  "de",
  "do",
  "da",
  "com",
  "of",
  "with",
  "plan",
  "plano",
  "the",
  "o",
  "a",
  "+",
  "e",
  "and",
]);

/** Words around a plan mention that make it the plan the customer has now. */
const CURRENT_BEFORE = new Set([
  "meu",
  "minha",
  "atual",
  "tenho",
  "no",
  "pago",
  "contratei",
  "assinei",
  "my",
  "current",
  "have",
  "on",
  "from",
  "do",
  "sair",
]);
const CURRENT_AFTER =
  /^(?:nao (?:da|esta dando|ta dando|aguenta|chega|serve)|e pouco|ta pouco|isn t enough|is not enough|not enough|doesn t)/;

interface Quantity {
  value: number;
  unit: "speed" | "giga" | "gbps" | "none";
  from: number;
  to: number;
}

/** A number (digits, "1gb", "500mega", or words) with its unit at tokens[i], if any. */
function quantityAt(words: string[], i: number): Quantity | undefined {
  const w = words[i];
  const attached = /^(\d+)(mega|megas|mb|mbps|giga|gigas|gb|gbps|g)$/.exec(w);
  if (attached) return { value: Number(attached[1]), unit: unitOf(attached[2]), from: i, to: i };
  let value: number | undefined;
  let to = i;
  if (/^\d+$/.test(w)) value = Number(w);
  else {
    const n = parseNumberWords(words, i);
    if (n) {
      value = n.value;
      to = i + n.length - 1;
    }
  }
  if (value === undefined) return undefined;
  const next = words[to + 1];
  if (next && (SPEED_UNITS.has(next) || GIGA_UNITS.has(next)))
    return { value, unit: unitOf(next), from: i, to: to + 1 };
  return { value, unit: "none", from: i, to };
}

function unitOf(u: string): Quantity["unit"] {
  if (SPEED_UNITS.has(u)) return "speed";
  if (u === "gbps") return "gbps";
  return "giga";
}

function plans(s: Scan, catalog: UnderstandingCatalog): void {
  const tokens = s.freeTokens();
  // Multi-word products become one token ("pos pago", "banda larga", "pre-pago").
  const words = tokens.map((t) => t.raw);
  for (let i = 0; i + 1 < words.length; i++) {
    const pair = `${words[i]} ${words[i + 1]}`;
    if (pair === "pos pago" || pair === "pre pago" || pair === "banda larga") {
      words[i] = pair === "banda larga" ? "fibra" : pair === "pos pago" ? "pospago" : "prepago";
      words[i + 1] = "pago";
    }
  }
  const used = new Set<number>();
  for (let i = 0; i < words.length; i++) {
    if (used.has(i)) continue;
    const product = PRODUCT_WORDS[words[i]];
    const q = product ? undefined : quantityAt(words, i);
    if (!product && !q) continue;
    // A bare number is a plan only after "o de", "pro de", "plano de" ("o de 500").
    if (
      q &&
      q.unit === "none" &&
      !(
        words[i - 1] === "de" && ["o", "a", "pro", "plano", "para", "pelo", "no"].includes(words[i - 2] ?? "")
      )
    )
      continue;
    const mention = { products: new Set<Product>(), quantities: [] as Quantity[], from: i, to: i };
    if (product) mention.products.add(product);
    if (q) {
      mention.quantities.push(q);
      mention.to = q.to;
    }
    // Extend over link words, more products and quantities ("combo fibra 1 giga + pós 100gb + tv").
    let j = mention.to + 1;
    let gap = 0;
    while (j < words.length && gap <= 1) {
      const p = PRODUCT_WORDS[words[j]];
      const qq = p ? undefined : quantityAt(words, j);
      if (p) {
        mention.products.add(p);
        mention.to = j;
        j++;
        gap = 0;
      } else if (qq && (qq.unit !== "none" || mention.products.size > 0) && mention.quantities.length < 3) {
        mention.quantities.push(qq);
        mention.to = qq.to;
        j = qq.to + 1;
        gap = 0;
      } else if (LINK_WORDS.has(words[j]) || words[j] === "pago" || words[j] === "essencial") {
        j++;
        if (words[j - 1] !== "pago" && words[j - 1] !== "essencial") gap++;
        else mention.to = j - 1;
      } else break;
    }
    for (let k = mention.from; k <= mention.to; k++) used.add(k);
    const planId = resolvePlan(catalog, mention.products, mention.quantities);
    if (!planId) continue;
    s.add("plan", planId, tokens[mention.from].start, tokens[mention.to].end);
    const before = words.slice(Math.max(0, mention.from - 3), mention.from);
    const after = words.slice(mention.to + 1, mention.to + 5).join(" ");
    if (before.some((w) => CURRENT_BEFORE.has(w)) || CURRENT_AFTER.test(after))
      s.entities[s.entities.length - 1].role = "current";
  }
}

/** The one catalog plan that fits the products and quantities named, or undefined. */
function resolvePlan(
  catalog: UnderstandingCatalog,
  products: Set<Product>,
  quantities: Quantity[],
): string | undefined {
  let candidates = catalog.plans;
  const isCombo = products.has("combo") || (products.has("tv") && products.size > 1);
  const wantsTv = products.has("tv");
  if (isCombo) {
    candidates = candidates.filter((p) => p.product === "combo");
    if (wantsTv) candidates = candidates.filter((p) => /\btv\b/i.test(p.name));
  } else if (products.size > 0) {
    const wanted: string[] = [...products].filter((p) => p !== "mobile");
    if (wanted.length > 0) candidates = candidates.filter((p) => wanted.includes(p.product));
  } else candidates = candidates.filter((p) => p.product !== "combo");
  const mobileOnly = candidates.every((p) => p.product.startsWith("mobile"));
  for (const q of quantities) {
    if (q.unit === "speed") candidates = candidates.filter((p) => p.speed_mbps === q.value);
    else if (q.unit === "gbps") candidates = candidates.filter((p) => p.speed_mbps === q.value * 1000);
    else if (q.unit === "giga")
      candidates = candidates.filter((p) =>
        q.value <= 10 && !mobileOnly ? p.speed_mbps === q.value * 1000 : p.data_gb === q.value,
      );
    else candidates = candidates.filter((p) => p.speed_mbps === q.value || p.data_gb === q.value);
  }
  if (candidates.length > 1 && quantities.length > 0) {
    const single = candidates.filter((p) => p.product !== "combo");
    if (single.length === 1) return single[0].plan_id;
    if (isCombo && quantities.length === 1 && !wantsTv) {
      const noTv = candidates.filter((p) => !/\btv\b/i.test(p.name));
      if (noTv.length === 1) return noTv[0].plan_id;
    }
  }
  return candidates.length === 1 ? candidates[0].plan_id : undefined;
}

// --- ordinals, yes/no, cancel reason --------------------------------------------------------------

const ORDINAL_WORDS: Record<string, number> = {
  primeiro: 1,
  primeira: 1,
  segundo: 2,
  segunda: 2,
  terceiro: 3,
  terceira: 3,
  ultimo: -1,
  ultima: -1,
  penultimo: -2,
  penultima: -2,
  first: 1,
  second: 2,
  third: 3,
  fourth: 4,
  fifth: 5,
  last: -1,
};
/** Also weekdays (quarta-feira…): ordinals only next to a noun such as "opção". */
const WEAK_ORDINALS: Record<string, number> = {
  quarto: 4,
  quarta: 4,
  quinto: 5,
  quinta: 5,
  sexto: 6,
  sexta: 6,
};
const OPTION_NOUNS =
  "opcao|opcoes|opc|op|alternativa|oferta|horario|plano|data|option|choice|number|numero|item|n";

const NOUN_NUMBER_RE = new RegExp(
  `\\b(?:${OPTION_NOUNS})\\s*(?:n[o.º]?\\s*)?#?\\s*([1-9])(?![\\d.,/]|\\s*(?:mega|giga|gb|mb|reais|mes|dia|hora|x))`,
  "g",
);
const OPTION_NOUN_RE = new RegExp(`^(?:${OPTION_NOUNS})$`);
const OPTION_NOUN_OR_ONE_RE = new RegExp(`^(?:${OPTION_NOUNS}|one|opcao)$`);
function ordinals(s: Scan): void {
  const nounThenNumber = NOUN_NUMBER_RE;
  for (const m of s.matches(nounThenNumber)) s.add("ordinal", Number(m[1]), m.index, m.index + m[0].length);
  const hash = /(?<![\w])#([1-9])(?!\d)/g;
  for (const m of s.matches(hash)) s.add("ordinal", Number(m[1]), m.index, m.index + m[0].length);
  const numbered = /(?<![\d\w])([1-9])\s?(?:a|o|º|ª|st|nd|rd|th)(?![\w])(?!\s*(?:via|-?\s*feira))/g;
  for (const m of s.matches(numbered)) s.add("ordinal", Number(m[1]), m.index, m.index + m[0].length);
  const article =
    /\b(?:a|o|the)\s+([1-9])(?![\w.,/:]|\s*(?:mega|megas|giga|gigas|gb|mb|reais|real|mes|meses|dia|dias|hora|horas|x|vez|vezes)\b)/g;
  for (const m of s.matches(article)) s.add("ordinal", Number(m[1]), m.index, m.index + m[0].length);
  const bare = /^\s*([1-9])\s*[.!]?\s*$/g;
  for (const m of s.matches(bare)) s.add("ordinal", Number(m[1]), m.index, m.index + m[0].length);

  const tokens = s.freeTokens();
  for (let i = 0; i < tokens.length; i++) {
    const w = tokens[i].raw;
    const next = tokens[i + 1]?.raw;
    let value = ORDINAL_WORDS[w];
    if (value === undefined) {
      const weak = WEAK_ORDINALS[w];
      if (weak !== undefined && next && OPTION_NOUN_RE.test(next)) value = weak;
    }
    if (value === undefined) continue;
    if (next === "via" || next === "feira" || next === "vez" || next === "time" || next === "copy") continue;
    if ((w === "segunda" || w === "segundo") && s.f.slice(tokens[i].end, tokens[i].end + 1) === "-") continue;
    let end = tokens[i].end;
    if (next && (OPTION_NOUN_OR_ONE_RE.test(next) || next === "one")) end = tokens[i + 1].end;
    s.add("ordinal", value, tokens[i].start, end);
  }
}

const NO_FULL = [
  "nao",
  "n",
  "no",
  "nope",
  "nah",
  "nops",
  "negativo",
  "nem pensar",
  "de jeito nenhum",
  "nao quero",
  "nao obrigado",
  "nao obrigada",
  "no thanks",
  "no thank you",
  "nao valeu",
  "agora nao",
  "not now",
  "nao precisa",
  "nada disso",
  "jamais",
  "nunca",
  "never",
  "claro que nao",
  "nem a pau",
  "nao mesmo",
  "acho que nao",
  "prefiro nao",
  "i d rather not",
  "absolutely not",
  "no way",
  "not really",
  "nao aceito",
  "recuso",
  "nao tenho interesse",
  "not interested",
  "sem interesse",
  "nao nao",
  "negado",
  "nao rola",
  "to fora",
  "nem vem",
  "dispenso",
  "i decline",
  "nao e",
  "nao e isso",
  "nao e esse",
  "nao e essa",
  "errado",
  "esta errado",
  "ta errado",
  "incorreto",
  "incorrect",
  "that s wrong",
  "that s not right",
  "wrong",
];
const NO_PREFIX = [
  "nao",
  "no",
  "nope",
  "n",
  "negativo",
  "nem pensar",
  "de jeito nenhum",
  "claro que nao",
  "nah",
];
const YES_FULL = [
  "sim",
  "s",
  "ss",
  "isso",
  "isso mesmo",
  "isso ai",
  "e isso",
  "e isso ai",
  "e esse",
  "e esse mesmo",
  "e essa",
  "pode ser",
  "pode",
  "claro",
  "com certeza",
  "bora",
  "bora la",
  "ok",
  "okay",
  "beleza",
  "blz",
  "fechado",
  "fechou",
  "quero",
  "quero sim",
  "pode sim",
  "aham",
  "uhum",
  "exato",
  "correto",
  "confirmo",
  "confirma",
  "pode fazer",
  "manda ver",
  "positivo",
  "ta bom",
  "ta certo",
  "esta certo",
  "certo",
  "pode agendar",
  "claro que sim",
  "vamos",
  "aceito",
  "pode confirmar",
  "topo",
  "demorou",
  "ta ok",
  "yes",
  "yeah",
  "yep",
  "yup",
  "sure",
  "of course",
  "go ahead",
  "sounds good",
  "correct",
  "that s right",
  "absolutely",
  "definitely",
  "please do",
  "sure thing",
  "i agree",
  "affirmative",
  "confirm",
];
/** Yes words that keep their meaning whatever follows ("sim, e a segunda via também"). */
const YES_PREFIX = [
  "sim",
  "ss",
  "pode ser",
  "claro",
  "com certeza",
  "bora",
  "ok",
  "okay",
  "beleza",
  "fechado",
  "isso mesmo",
  "quero sim",
  "pode sim",
  "aceito",
  "confirmo",
  "yes",
  "yeah",
  "yep",
  "yup",
  "sure",
  "of course",
  "absolutely",
];
const POLITE_TAIL = /^(?:por favor|please|obrigad[oa]|valeu|thanks|thank you|sure|pode ser)?$/;

const NO_FULL_SET = new Set(NO_FULL);
const NO_PREFIX_SET = new Set(NO_PREFIX);
const YES_FULL_SET = new Set(YES_FULL);
const YES_PREFIX_SET = new Set(YES_PREFIX);
const LONGEST_PHRASE = Math.max(...[...NO_FULL, ...YES_FULL].map((p) => p.split(" ").length));

function yesNo(s: Scan): void {
  const tokens = s.tokens();
  if (tokens.length === 0) return;
  const words = tokens.map((t) => collapseRepeats(t.raw));
  // prefixes[n - 1] = the first n words joined by spaces.
  const prefixes: string[] = [];
  for (let i = 0; i < Math.min(words.length, LONGEST_PHRASE); i++)
    prefixes.push(i === 0 ? words[0] : `${prefixes[i - 1]} ${words[i]}`);
  const matchAtStart = (phrases: Set<string>, full: boolean): number => {
    for (let n = prefixes.length; n >= 1; n--) {
      if (!phrases.has(prefixes[n - 1])) continue;
      if (full && !POLITE_TAIL.test(words.slice(n).join(" "))) continue;
      return n;
    }
    return 0;
  };
  const claim = (value: boolean, n: number): void => {
    const start = tokens[0].start;
    const end = tokens[n - 1].end;
    if (s.free(start, end)) s.add("yes_no", value, start, end);
  };
  let n = matchAtStart(NO_FULL_SET, true);
  if (n > 0) {
    claim(false, n);
    return;
  }
  n = matchAtStart(NO_PREFIX_SET, false);
  // "não, é a de março": the no stands alone before punctuation; "não sei" is not a no.
  if (n > 0 && n < words.length && /[,.;!:-]/.test(s.f.slice(tokens[n - 1].end, tokens[n].start))) {
    claim(false, n);
    return;
  }
  n = matchAtStart(YES_FULL_SET, true);
  if (n > 0) {
    claim(true, n);
    return;
  }
  if (/\bque nao\b/.test(s.f)) return;
  n = matchAtStart(YES_PREFIX_SET, false);
  if (n > 0) claim(true, n);
}

const GENERIC_COMPETITOR_RE =
  /\b(?:outra operadora|outra empresa|concorrente|concorrencia|another (?:provider|carrier|operator|company)|other (?:provider|carrier|operator)|competitor)\b/;

const REASON_PATTERNS: [CancelReason, RegExp][] = [
  [
    "moving",
    /\b(?:me mudar|me mudando|mudar de (?:casa|cidade|estado|endereco|pais)|de mudanca|mudando de (?:casa|cidade|estado|endereco|pais)|mudanca de (?:casa|cidade|estado|endereco|pais)|vou morar|outra cidade|outro estado|outro pais|mudei de (?:casa|cidade|estado)|moving|relocat\w*|move (?:out|abroad|to another))\b/,
  ],
  // "tô mudando, vou ficar sem net": a bare "mudando"/"mudar" (no "de casa") is moving when the message
  // also says a loss to come; "mudar de plano/operadora …" is not (the classifier reads those).
  [
    "moving",
    /\b(?:mudando|mudar|mudei|mudo)\b(?!\s+(?:de|o|a|do|da|meu|minha|pra|para)\s+(?:plano|pacote|operadora|titular|titularidade|vencimento|data|numero|forma|cartao|senha|velocidade|oferta))(?:(?=.*\b(?:vou|vamos)\s+(?:ficar|estar)\s+sem\b)|(?<=\b(?:vou|vamos)\s+(?:ficar|estar)\s+sem\b.*))/,
  ],
  [
    "price",
    /\b(?:caro|cara demais|muito cara|carissim[oa]|preco|precos|valor alto|nao cabe no bolso|sem grana|sem dinheiro|nao tenho dinheiro|mais barato|mais em conta|apertado|expensive|price|prices|afford|cheaper|costs? too much)\b/,
  ],
  [
    "quality",
    /\b(?:lent[oa]|caindo|cai|caiu|porcaria|ruim|pessim[oa]|horrivel|nao funciona|sem sinal|instavel|qualidade|oscila\w*|travando|quality|slow|drops?|dropping|terrible|awful|doesn t work|unstable|bad service)\b/,
  ],
];

function cancelReason(s: Scan, catalog: UnderstandingCatalog | undefined): void {
  const competitorRe = catalog ? matchersOf(catalog).competitor : GENERIC_COMPETITOR_RE;
  const hit = competitorRe.exec(s.f);
  if (hit) {
    s.entities.push({
      kind: "cancel_reason",
      value: "competitor",
      start: hit.index,
      end: hit.index + hit[0].length,
      text: s.text.slice(hit.index, hit.index + hit[0].length),
    });
    return;
  }
  for (const [reason, re] of REASON_PATTERNS) {
    const m = re.exec(s.f);
    if (m) {
      s.entities.push({
        kind: "cancel_reason",
        value: reason,
        start: m.index,
        end: m.index + m[0].length,
        text: s.text.slice(m.index, m.index + m[0].length),
      });
      return;
    }
  }
}
