import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Meta's webhook authentication: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed
 * by the app secret>`, and the verify token of the subscription handshake. Every comparison runs in
 * constant time (hashing both sides first so unequal lengths leak nothing either).
 */

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/** The header value Meta would send for `raw` (tests, docs and the local curl recipe use it). */
export function signBody(raw: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac("sha256", appSecret).update(raw).digest("hex")}`;
}

/** True when `header` is the HMAC-SHA256 of exactly these bytes under `appSecret`. */
export function verifySignature(raw: Buffer, header: string | undefined, appSecret: string): boolean {
  if (!appSecret || typeof header !== "string") return false;
  const m = SIGNATURE.exec(header.trim());
  if (!m) return false;
  const expected = createHmac("sha256", appSecret).update(raw).digest();
  return timingSafeEqual(expected, Buffer.from(m[1], "hex"));
}

/** Constant-time equality of two texts of any length. */
export function safeEqualText(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a, "utf8").digest();
  const hb = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
