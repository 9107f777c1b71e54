/**
 * Masking on top of detectPii: one documented replacement per kind (see docs/llmops/safety.md), or one
 * replacement chosen by the caller (the API access log writes "[masked]").
 */
import {
  type DetectOptions,
  detectPii,
  detectPiiByKey,
  type PiiKind,
  type PiiMatch,
  piiKindOfKey,
} from "./detect.ts";

export interface MaskOptions {
  /** One string for every match, or a function of the match. Default: the style of its kind (MASK_STYLES). */
  replacement?: string | ((match: PiiMatch) => string);
  /** Matches to leave in clear, e.g. the session customer's own verified phone on its way to a tool. */
  keep?: (match: PiiMatch) => boolean;
}

const lastDigits = (value: string, n: number) => {
  const d = value.replace(/[^0-9]/g, "");
  return d.length >= n + 6 ? d.slice(-n) : "*".repeat(n);
};

/**
 * The default mask of each kind. Everything is replaced in full, except a card's last 4 digits (the
 * PCI DSS display rule, so a customer can tell which card was meant).
 */
export const MASK_STYLES: Record<PiiKind, (value: string) => string> = {
  cpf: () => "***.***.***-**",
  cnpj: () => "**.***.***/****-**",
  phone: () => "(**) *****-****",
  cep: () => "*****-***",
  card: (v) => `**** **** **** ${lastDigits(v, 4)}`,
  cvv: () => "***",
  card_expiry: () => "**/**",
  email: () => "***@***",
  imei: () => "*".repeat(15),
  iccid: () => "*".repeat(19),
  name: () => "***",
};

function replacementOf(opts: MaskOptions, m: PiiMatch): string {
  const r = opts.replacement;
  if (typeof r === "string") return r;
  if (typeof r === "function") return r(m);
  return MASK_STYLES[m.kind](m.value);
}

function apply(text: string, matches: PiiMatch[], opts: MaskOptions): string {
  if (matches.length === 0) return text;
  let out = "";
  let at = 0;
  for (const m of matches) {
    if (opts.keep?.(m)) continue;
    out += text.slice(at, m.start) + replacementOf(opts, m);
    at = m.end;
  }
  return out + text.slice(at);
}

/** `text` with every detected piece of personal data replaced. */
export function maskPii(text: string, opts: MaskOptions & DetectOptions = {}): string {
  if (typeof text !== "string") return text;
  return apply(text, detectPii(text, opts), opts);
}

/**
 * Masks a URL, path or query string as written: values are read %-decoded (`tel=%2B55…`, `%40`), values of
 * name-like and other personal keys (`nome=Jo%C3%A3o+Silva`, `cpf=…`) are masked whole. The request hot
 * path: a URL with fewer than 2 digits and no "@" or "%" (`/v1/churn/predict`) gets the key check only,
 * since every other kind needs 2+ digits or an "@", and only a %XX escape could hide one.
 */
export function maskUrl(url: string, opts: MaskOptions = {}): string {
  if (typeof url !== "string") return url;
  let digits = 0;
  let eq = false;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits >= 2) return apply(url, detectPii(url, URL_MODE), opts);
    } else if (c === 64 /* @ */ || c === 37 /* % */) return apply(url, detectPii(url, URL_MODE), opts);
    else if (c === 61 /* = */) eq = true;
  }
  return eq ? apply(url, detectPiiByKey(url, URL_MODE), opts) : url;
}

const URL_MODE: DetectOptions = { mode: "url" };

/** maskUrl without the fast path (tests prove the two agree). */
export function maskUrlFull(url: string, opts: MaskOptions = {}): string {
  return apply(url, detectPii(url, { mode: "url" }), opts);
}

const MAX_DEPTH = 8;

/**
 * A deep copy of a JSON-like value with personal data masked: strings go through maskPii, values under
 * personal keys (name, nome, cpf, email, telefone, …) are masked whole whatever their type, numbers
 * with 8+ digits are checked as text, and anything nested deeper than 8 levels is replaced.
 */
export function maskObject(value: unknown, opts: MaskOptions = {}, depth = 0): unknown {
  if (typeof value === "string") return maskPii(value, opts);
  if (typeof value === "number" || typeof value === "bigint") {
    const s = String(value);
    if (s.replace(/[^0-9]/g, "").length < 8) return value;
    const masked = maskPii(s, opts);
    return masked === s ? value : masked;
  }
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return replacementOf(opts, { kind: "name", start: 0, end: 0, value: "" });
  if (Array.isArray(value)) return value.map((v) => maskObject(v, opts, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const kind = piiKindOfKey(k);
    if (kind && v !== null && v !== undefined && v !== "" && typeof v !== "boolean") {
      const text = typeof v === "object" ? JSON.stringify(v) : String(v);
      const m: PiiMatch = { kind, start: 0, end: text.length, value: text };
      out[k] = opts.keep?.(m) ? v : replacementOf(opts, m);
    } else out[k] = maskObject(v, opts, depth + 1);
  }
  return out;
}
