/**
 * PII masking for the API's access and error logs (LGPD): the platform's one detector of Brazilian
 * personal data (platform/pii, also used by the assistant's guardrails), with every value found written
 * as "[masked]". URLs are read %-decoded (`tel=%2B55…`), `+` counts as a separator (`+55+11+98765+4321`),
 * and values of name-like keys (nome, name, customer_name, …) are masked whole.
 */
import {
  maskObject as maskObjectWith,
  maskPii as maskPiiWith,
  maskUrl as maskUrlWith,
} from "../../platform/pii/index.ts";

export const MASK = "[masked]";
const AS_MASK = { replacement: MASK };

/** Masks every piece of personal data detectPii finds in a string. */
export function maskPii(text: string): string {
  return maskPiiWith(text, AS_MASK);
}

/**
 * maskPii for a request URL as written: values are read %-decoded, and a URL without any digit, "@"
 * or "%" only gets the cheap key check (the request hot path).
 */
export function maskUrl(url: string): string {
  return maskUrlWith(url, AS_MASK);
}

/** Deep copy of `value` with strings masked and values under personal keys (name, cpf, …) replaced. */
export function maskObject(value: unknown): unknown {
  return maskObjectWith(value, AS_MASK);
}
