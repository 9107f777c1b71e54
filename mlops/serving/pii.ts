/**
 * PII masking for access and error logs: CPF numbers, Brazilian phone numbers and person names
 * must never reach a log line (LGPD). Text patterns catch values anywhere in a string; names can
 * only be recognised by their key (name, nome, …), in objects and in query strings.
 */
const CPF = /\b\d{3}\.?\d{3}\.?\d{3}-?\d{2}\b/g;
// +55 (11) 98765-4321, 11 987654321, (21) 3456-7890 …: optional country code, DDD, 8–9 digits.
const PHONE = /(?:\+?55[\s-]?)?\(?\b\d{2}\)?[\s-]?9?\d{4}[\s-]?\d{4}\b/g;
const NAME_KEYS = /^(name|nome|full_?name|nome_?completo|customer_?name|first_?name|last_?name|sobrenome)$/i;
const NAME_IN_QUERY =
  /([?&;](?:name|nome|full_?name|nome_?completo|customer_?name|first_?name|last_?name|sobrenome)=)[^&#]*/gi;

export const MASK = "[masked]";

/** Masks CPFs, phone numbers and `name=` query values in a string. */
export function maskPii(text: string): string {
  return text.replace(CPF, MASK).replace(PHONE, MASK).replace(NAME_IN_QUERY, `$1${MASK}`);
}

/**
 * maskPii for a request URL, skipping the regexes when no PII can be present: a CPF has 11 digits, a
 * phone number at least 8, and a name only arrives as a `name=`-style query value.
 */
export function maskUrl(url: string): string {
  let digits = 0;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 61 /* = */) return maskPii(url);
    if (c >= 48 && c <= 57 && ++digits >= 8) return maskPii(url);
  }
  return url;
}

/** Deep copy of `value` with strings masked and name-like keys replaced. */
export function maskObject(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return maskPii(value);
  if (value === null || typeof value !== "object" || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => maskObject(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = NAME_KEYS.test(k) ? MASK : maskObject(v, depth + 1);
  return out;
}
