/**
 * Pix "copia e cola" static payload: the EMV QRCPS-MPM "BR Code" of the Banco Central's Pix manual
 * (written by hand: a TLV string and a CRC; the npm packages for it are small unmaintained wrappers).
 *
 *   00 "01" payload format · 26 merchant account {00 "br.gov.bcb.pix", 01 key, 02 description?} ·
 *   52 "0000" · 53 "986" (BRL) · 54 amount "0.00" (omitted when 0: the payer types it) · 58 "BR" ·
 *   59 merchant name (≤ 25) · 60 city (≤ 15) · 62 {05 txid (≤ 25 alphanumerics, "***" for none)} ·
 *   63 CRC16-CCITT-FALSE over everything before it, "6304" included, as 4 uppercase hex digits.
 * Each field is ID (2 digits) + length (2 digits) + value. Name, city and description are written without
 * accents (plain ASCII), so lengths in characters and in bytes agree.
 */
import { ValidationError } from "../errors.ts";
import { isValidCnpj, isValidCpf } from "./check-digits.ts";

export const PIX_GUI = "br.gov.bcb.pix";

export interface PixInput {
  /** The receiver's Pix key: CPF, CNPJ, e-mail, +55 phone or random key (EVP, a UUID). */
  key: string;
  /** Amount in reais; 0 or absent leaves it for the payer to type. */
  amountBrl?: number;
  /** Up to 25 characters after accents are removed (longer names are cut). */
  merchantName: string;
  /** Up to 15 characters after accents are removed (longer names are cut). */
  merchantCity: string;
  /** Up to 25 letters and digits; "***" when absent. */
  txid?: string;
  /** Free text shown to the payer (ASCII after accents are removed). */
  description?: string;
}

export interface TlvField {
  id: string;
  value: string;
}

export interface ParsedPix {
  payloadFormat: string;
  /** "11" static / "12" dynamic, when the payload carries field 01. */
  pointOfInitiation: string | null;
  key: string | null;
  description: string | null;
  /** Dynamic payloads carry a location URL (field 25) instead of a key. */
  url: string | null;
  merchantCategoryCode: string;
  currency: string;
  amountBrl: number | null;
  countryCode: string;
  merchantName: string;
  merchantCity: string;
  txid: string;
  /** The 4 hex digits of field 63. */
  crc: string;
  fields: TlvField[];
}

export type PixCheck = { ok: true; pix: ParsedPix } | { ok: false; errors: string[] };

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR) of the UTF-8 bytes of `text`. */
export function crc16ccitt(text: string): number {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, "utf8")) {
    crc ^= byte << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

const crcHex = (text: string) => crc16ccitt(text).toString(16).toUpperCase().padStart(4, "0");

/** Removes accents and anything outside printable ASCII, collapsing spaces. */
export function pixText(s: string): string {
  return s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\x20-\x7e]/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

function tlv(id: string, value: string): string {
  if (value.length > 99)
    throw new ValidationError(`field ${id}`, `value of ${value.length} characters exceeds 99`);
  return id + String(value.length).padStart(2, "0") + value;
}

const EVP = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;

/** The kind of a Pix key, or null when it is none of the five the Banco Central defines. */
export function pixKeyKind(key: string): "cpf" | "cnpj" | "email" | "phone" | "evp" | null {
  if (/^[0-9]{11}$/.test(key) && isValidCpf(key)) return "cpf";
  if (/^[0-9]{14}$/.test(key) && isValidCnpj(key)) return "cnpj";
  if (/^\+55[0-9]{10,11}$/.test(key)) return "phone";
  if (EVP.test(key)) return "evp";
  if (key.length <= 77 && EMAIL.test(key)) return "email";
  return null;
}

/** The static BR Code payload ("Pix copia e cola"). Throws ValidationError naming the bad field. */
export function pixCopiaECola(input: PixInput): string {
  if (input === null || typeof input !== "object") throw new ValidationError("pix", "expected an object");
  const key = typeof input.key === "string" ? input.key.trim() : "";
  if (!pixKeyKind(key))
    throw new ValidationError(
      "key",
      "expected a CPF, CNPJ (digits only), e-mail, +55 phone or random (EVP) key",
    );
  const name = pixText(String(input.merchantName ?? ""))
    .slice(0, 25)
    .trim();
  const city = pixText(String(input.merchantCity ?? ""))
    .slice(0, 15)
    .trim();
  if (!name) throw new ValidationError("merchantName", "must not be empty");
  if (!city) throw new ValidationError("merchantCity", "must not be empty");
  const txid = input.txid === undefined || input.txid === "" ? "***" : input.txid;
  if (txid !== "***" && !/^[A-Za-z0-9]{1,25}$/.test(txid))
    throw new ValidationError("txid", "expected 1–25 letters and digits");
  const amount = input.amountBrl ?? 0;
  if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0)
    throw new ValidationError("amountBrl", `expected a non-negative amount, got ${String(input.amountBrl)}`);
  const amountText = (Math.round(amount * 100) / 100).toFixed(2);
  if (amountText.length > 13) throw new ValidationError("amountBrl", "exceeds the 13 characters of field 54");
  const description = input.description === undefined ? "" : pixText(String(input.description));
  const account = tlv("00", PIX_GUI) + tlv("01", key) + (description ? tlv("02", description) : "");
  if (account.length > 99)
    throw new ValidationError(
      description ? "description" : "key",
      `the merchant account field would be ${account.length} characters (max 99)`,
    );
  const body =
    tlv("00", "01") +
    tlv("26", account) +
    tlv("52", "0000") +
    tlv("53", "986") +
    (Math.round(amount * 100) > 0 ? tlv("54", amountText) : "") +
    tlv("58", "BR") +
    tlv("59", name) +
    tlv("60", city) +
    tlv("62", tlv("05", txid)) +
    "6304";
  return body + crcHex(body);
}

/** Splits a TLV string; errors name the offset. */
function splitTlv(text: string, where: string, errors: string[]): TlvField[] {
  const fields: TlvField[] = [];
  let i = 0;
  while (i < text.length) {
    const head = text.slice(i, i + 4);
    if (!/^[0-9]{4}$/.test(head)) {
      errors.push(
        `${where}: expected a 2-digit id and a 2-digit length at offset ${i}, got ${JSON.stringify(head)}`,
      );
      return fields;
    }
    const len = Number(head.slice(2));
    if (i + 4 + len > text.length) {
      errors.push(
        `${where}: field ${head.slice(0, 2)} declares ${len} characters but only ${text.length - i - 4} remain`,
      );
      return fields;
    }
    fields.push({ id: head.slice(0, 2), value: text.slice(i + 4, i + 4 + len) });
    i += 4 + len;
  }
  return fields;
}

/** Checks a BR Code payload (every length, the mandatory fields and the CRC) and decodes it. */
export function validatePix(payload: string): PixCheck {
  if (typeof payload !== "string") return { ok: false, errors: ["pix: expected a string"] };
  const text = payload.trim();
  const errors: string[] = [];
  const fields = splitTlv(text, "pix", errors);
  if (errors.length > 0) return { ok: false, errors };
  const byId = new Map(fields.map((f) => [f.id, f.value]));
  const last = fields.at(-1);
  if (last?.id === "63" && last.value.length === 4) {
    const expected = crcHex(text.slice(0, text.length - 4));
    if (last.value !== expected) errors.push(`pix: CRC is ${last.value}, expected ${expected}`);
  } else {
    errors.push("pix: the payload must end with the CRC field 63 of 4 characters");
  }
  if (fields[0]?.id !== "00" || fields[0].value !== "01")
    errors.push('pix: field 00 (payload format) must come first and be "01"');
  if (fields.filter((f) => f.id === "63").length > 1) errors.push("pix: field 63 appears more than once");

  // The Pix merchant account may sit in any of the ids 26–51; it is the one whose GUI is br.gov.bcb.pix.
  let key: string | null = null;
  let description: string | null = null;
  let url: string | null = null;
  let found = false;
  for (const f of fields) {
    const n = Number(f.id);
    if (n < 26 || n > 51) continue;
    const sub = splitTlv(f.value, `field ${f.id}`, errors);
    const subById = new Map(sub.map((s) => [s.id, s.value]));
    if (subById.get("00")?.toLowerCase() !== PIX_GUI) continue;
    found = true;
    key = subById.get("01") ?? null;
    description = subById.get("02") ?? null;
    url = subById.get("25") ?? null;
    if (key === null && url === null) errors.push(`pix: field ${f.id} has neither a key (01) nor a URL (25)`);
  }
  if (!found) errors.push(`pix: no merchant account field (26–51) with GUI "${PIX_GUI}"`);

  const required: [string, string, (v: string) => boolean, string][] = [
    ["52", "merchant category code", (v) => /^[0-9]{4}$/.test(v), "4 digits"],
    ["53", "currency", (v) => v === "986", '"986"'],
    ["58", "country code", (v) => v === "BR", '"BR"'],
    ["59", "merchant name", (v) => v.length >= 1 && v.length <= 25, "1–25 characters"],
    ["60", "merchant city", (v) => v.length >= 1 && v.length <= 15, "1–15 characters"],
  ];
  for (const [id, label, ok, want] of required) {
    const v = byId.get(id);
    if (v === undefined) errors.push(`pix: field ${id} (${label}) is missing`);
    else if (!ok(v)) errors.push(`pix: field ${id} (${label}) must be ${want}, got ${JSON.stringify(v)}`);
  }
  const amountText = byId.get("54");
  if (amountText !== undefined && !/^[0-9]{1,10}(?:\.[0-9]{1,2})?$/.test(amountText))
    errors.push(`pix: field 54 (amount) must be a decimal like 10.50, got ${JSON.stringify(amountText)}`);
  let txid = "***";
  const additional = byId.get("62");
  if (additional === undefined) errors.push("pix: field 62 (additional data with the txid) is missing");
  else {
    const sub = splitTlv(additional, "field 62", errors);
    const t = sub.find((s) => s.id === "05")?.value;
    if (t === undefined) errors.push("pix: field 62 has no txid (05)");
    else if (t !== "***" && !/^[A-Za-z0-9]{1,25}$/.test(t))
      errors.push(`pix: txid must be 1–25 letters and digits or "***", got ${JSON.stringify(t)}`);
    else txid = t;
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    pix: {
      payloadFormat: "01",
      pointOfInitiation: byId.get("01") ?? null,
      key,
      description,
      url,
      merchantCategoryCode: byId.get("52") as string,
      currency: "986",
      amountBrl: amountText === undefined ? null : Number(amountText),
      countryCode: "BR",
      merchantName: byId.get("59") as string,
      merchantCity: byId.get("60") as string,
      txid,
      crc: (last as TlvField).value,
      fields,
    },
  };
}

/** validatePix that throws ValidationError("pix", …) listing every failed check. */
export function parsePix(payload: string): ParsedPix {
  const r = validatePix(payload);
  if (!r.ok) throw new ValidationError("pix", r.errors.map((e) => e.replace(/^pix: /, "")).join("; "));
  return r.pix;
}
