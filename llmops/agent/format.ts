import type { Language } from "../conversation/commands.ts";

/**
 * How replies write amounts, dates and lists in each language (policy-tom-de-voz: "números com unidade
 * e data"). Amounts stay in reais in both languages; only the separators change.
 */

export const PT_MONTHS = [
  "janeiro",
  "fevereiro",
  "março",
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
export const EN_MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** R$ 1.234,56 (pt-BR) or R$ 1,234.56 (en). */
export function money(n: number, lang: Language): string {
  const abs = Math.abs(n);
  const [int, cents] = abs.toFixed(2).split(".");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, lang === "en" ? "," : ".");
  const sign = n < 0 ? "-" : "";
  return `${sign}R$ ${grouped}${lang === "en" ? "." : ","}${cents}`;
}

/** 10/03/2026 (pt-BR) or Mar 10, 2026 (en), from an ISO date or timestamp. */
export function date(iso: string, lang: Language): string {
  const [y, m, d] = iso.slice(0, 10).split("-");
  if (!y || !m || !d) return iso;
  if (lang === "en") return `${EN_MONTHS[Number(m) - 1]?.slice(0, 3)} ${Number(d)}, ${y}`;
  return `${d}/${m}/${y}`;
}

/** 10/03/2026 às 14:00 (pt-BR) or Mar 10, 2026 at 14:00 (en); times are shown as stored (UTC in the sandbox). */
export function dateTime(iso: string, lang: Language): string {
  const time = iso.length >= 16 ? iso.slice(11, 16) : "";
  if (!time) return date(iso, lang);
  return lang === "en" ? `${date(iso, lang)} at ${time}` : `${date(iso, lang)} às ${time}`;
}

/** "março de 2026" / "March 2026" from yyyy-mm or yyyy-mm-dd. */
export function monthName(yyyyMm: string, lang: Language): string {
  const [y, m] = yyyyMm.split("-");
  const i = Number(m) - 1;
  if (!y || Number.isNaN(i) || i < 0 || i > 11) return yyyyMm;
  return lang === "en" ? `${EN_MONTHS[i]} ${y}` : `${PT_MONTHS[i]} de ${y}`;
}

/** "a, b e c" / "a, b and c". */
export function joinList(items: string[], lang: Language): string {
  if (items.length <= 1) return items.join("");
  const last = items[items.length - 1];
  return `${items.slice(0, -1).join(", ")} ${lang === "en" ? "and" : "e"} ${last}`;
}

/** A numbered list, one item per line (policy-tom-de-voz: lists when there are more than two steps). */
export function numbered(items: string[]): string {
  return items.map((s, i) => `${i + 1}. ${s}`).join("\n");
}

/** 12,5 (pt-BR) or 12.5 (en), at most `digits` decimals. */
export function num(n: number, lang: Language, digits = 1): string {
  const s = String(Math.round(n * 10 ** digits) / 10 ** digits);
  return lang === "en" ? s : s.replace(".", ",");
}
