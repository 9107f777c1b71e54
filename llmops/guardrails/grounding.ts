/**
 * The grounding check of generated replies (and the golden conversations' "no invented amount" rule):
 * every amount, date, plan and offer id a reply states must appear in the facts of the turn (tool
 * results and retrieved passages). Facts are walked as JSON; amounts are compared in centavos, dates
 * as month-day (with the year when the reply gives one).
 */

export interface GroundingFacts {
  /** Amounts in centavos (absolute values). */
  amounts: Set<number>;
  /** "mm-dd" and "yyyy-mm-dd". */
  dates: Set<string>;
  /** Upper-cased ids and lower-cased names of plans and offers seen in the facts. */
  ids: Set<string>;
  text: string;
}

export interface GroundingViolation {
  kind: "amount" | "date" | "plan" | "offer";
  value: string;
}

/** Plan names of the catalog (Aurora Fibra 500 Mega…) and ids (FIB500, RET-DESC10) as written in replies. */
const OFFER_ID = /\bRET-[A-Z0-9]+(?:-[A-Z0-9]+)*\b/g;
const PLAN_ID = /\b(?:PRE|CTRL|POS|FIB|TV|COMBO)[A-Z0-9]{2,}\b/g;
const PLAN_NAME =
  /\b(?:Aurora (?:Pré|Pre|Controle|Pós|Pos|Fibra|TV) [\p{L}\d]+(?: (?:Mega|Giga|GB))?|Combo Fibra [^,.;:()\n]*?(?=[,.;:()\n]|$| por | a partir| que | e o ))/gu;

/** R$ 1.234,56 · R$ 1,234.56 · R$ 99 · 119,99 reais · BRL 12.50 */
const MONEY = /(?:R\$|BRL)\s?-?\d[\d.,]*\d|\b\d[\d.,]*\d\s?(?:reais|BRL)\b/gi;

const MONTHS: Record<string, number> = {
  janeiro: 1,
  fevereiro: 2,
  março: 3,
  marco: 3,
  abril: 4,
  maio: 5,
  junho: 6,
  julho: 7,
  agosto: 8,
  setembro: 9,
  outubro: 10,
  novembro: 11,
  dezembro: 12,
  january: 1,
  jan: 1,
  february: 2,
  feb: 2,
  march: 3,
  mar: 3,
  april: 4,
  apr: 4,
  may: 5,
  june: 6,
  jun: 6,
  july: 7,
  jul: 7,
  august: 8,
  aug: 8,
  september: 9,
  sep: 9,
  october: 10,
  oct: 10,
  november: 11,
  nov: 11,
  december: 12,
  dec: 12,
};

/** A money string as centavos: the last separator followed by exactly two digits is the decimal one. */
export function parseMoney(raw: string): number | null {
  const digits = raw.replace(/[^\d.,]/g, "");
  const m = /^(.*?)([.,](\d{2}))?$/.exec(digits);
  if (!m) return null;
  const int = (m[1] ?? "").replace(/[.,]/g, "");
  if (!int) return null;
  return Number(int) * 100 + (m[3] ? Number(m[3]) : 0);
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Dates a text states, as "mm-dd" or "yyyy-mm-dd". */
export function datesIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\b(\d{4})-(\d{2})-(\d{2})/g)) out.push(`${m[1]}-${m[2]}-${m[3]}`);
  for (const m of text.matchAll(/\b(\d{1,2})\/(\d{1,2})(?:\/(\d{4}))?\b/g)) {
    const d = Number(m[1]);
    const mo = Number(m[2]);
    if (d < 1 || d > 31 || mo < 1 || mo > 12) continue;
    out.push(m[3] ? `${m[3]}-${pad(mo)}-${pad(d)}` : `${pad(mo)}-${pad(d)}`);
  }
  for (const m of text.matchAll(/\b(\d{1,2}) de ([a-zç]+)(?: de (\d{4}))?/gi)) {
    const mo = MONTHS[m[2].toLowerCase()];
    if (!mo) continue;
    out.push(m[3] ? `${m[3]}-${pad(mo)}-${pad(Number(m[1]))}` : `${pad(mo)}-${pad(Number(m[1]))}`);
  }
  for (const m of text.matchAll(/\b([A-Z][a-z]{2,8})\.? (\d{1,2})(?:, (\d{4}))?\b/g)) {
    const mo = MONTHS[m[1].toLowerCase()];
    if (!mo) continue;
    out.push(m[3] ? `${m[3]}-${pad(mo)}-${pad(Number(m[2]))}` : `${pad(mo)}-${pad(Number(m[2]))}`);
  }
  return out;
}

/** Amounts (centavos) a text states. */
export function amountsIn(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(MONEY)) {
    const v = parseMoney(m[0]);
    if (v !== null) out.push(v);
  }
  return out;
}

/** Collects what the facts hold: every number (as an amount), date, id and name. */
export function collectFacts(values: unknown[]): GroundingFacts {
  const facts: GroundingFacts = { amounts: new Set(), dates: new Set(), ids: new Set(), text: "" };
  const texts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "number" && Number.isFinite(v)) {
      facts.amounts.add(Math.round(Math.abs(v) * 100));
    } else if (typeof v === "string") {
      texts.push(v);
      for (const d of datesIn(v)) {
        facts.dates.add(d);
        facts.dates.add(d.slice(-5));
      }
      for (const a of amountsIn(v)) facts.amounts.add(a);
      for (const m of v.matchAll(OFFER_ID)) facts.ids.add(m[0]);
      for (const m of v.matchAll(PLAN_ID)) facts.ids.add(m[0]);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  values.forEach(walk);
  facts.text = texts.join("\n").toLowerCase();
  return facts;
}

/** What a reply states that the facts do not hold. Empty: the reply is grounded. */
export function groundingViolations(reply: string, facts: GroundingFacts): GroundingViolation[] {
  const out: GroundingViolation[] = [];
  for (const m of reply.matchAll(MONEY)) {
    const v = parseMoney(m[0]);
    if (v !== null && !facts.amounts.has(Math.abs(v))) out.push({ kind: "amount", value: m[0] });
  }
  for (const d of datesIn(reply)) if (!facts.dates.has(d)) out.push({ kind: "date", value: d });
  for (const m of reply.matchAll(OFFER_ID))
    if (!facts.ids.has(m[0])) out.push({ kind: "offer", value: m[0] });
  for (const m of reply.matchAll(PLAN_ID))
    if (!facts.ids.has(m[0]) && !facts.text.includes(m[0].toLowerCase()))
      out.push({ kind: "plan", value: m[0] });
  for (const m of reply.matchAll(PLAN_NAME)) {
    const name = m[0].trim().toLowerCase();
    if (!facts.text.includes(name)) out.push({ kind: "plan", value: m[0].trim() });
  }
  return out;
}
