import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import { crc16ccitt, PIX_GUI, parsePix, pixCopiaECola, pixKeyKind, validatePix } from "./pix.ts";

describe("CRC16-CCITT-FALSE", () => {
  it("gives the catalogued check value for '123456789'", () => {
    expect(crc16ccitt("123456789")).toBe(0x29b1);
  });
  it("is 0xFFFF (the initial value) for no input", () => {
    expect(crc16ccitt("")).toBe(0xffff);
  });
});

describe("pixCopiaECola", () => {
  it("reproduces the Banco Central manual's static example byte for byte", () => {
    const code = pixCopiaECola({
      key: "123e4567-e12b-12d1-a456-426655440000",
      merchantName: "Fulano de Tal",
      merchantCity: "BRASILIA",
    });
    expect(code).toBe(
      "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D",
    );
  });

  it("builds a payload field by field as written out here by hand", () => {
    const expected =
      "000201" + // 00 payload format "01"
      "2654" + // 26 merchant account, 54 characters:
      "0014br.gov.bcb.pix" + //   00 GUI
      "0114+5511987654321" + //   01 key (+55 phone)
      "0214Fatura 12/2026" + //   02 description
      "52040000" + // 52 merchant category code
      "5303986" + // 53 currency BRL
      "5406129.90" + // 54 amount
      "5802BR" + // 58 country
      "5914Aurora Telecom" + // 59 merchant name
      "6009SAO PAULO" + // 60 city
      "6218" + // 62 additional data, 18 characters:
      "0514INV20261200001" + //   05 txid
      "6304" + // 63 CRC, 4 characters:
      "8E75"; // CRC16-CCITT-FALSE of everything before, computed with an independent implementation
    expect(
      pixCopiaECola({
        key: "+5511987654321",
        amountBrl: 129.9,
        merchantName: "Aurora Telecom",
        merchantCity: "SAO PAULO",
        txid: "INV20261200001",
        description: "Fatura 12/2026",
      }),
    ).toBe(expected);
    expect(parsePix(expected)).toMatchObject({
      key: "+5511987654321",
      description: "Fatura 12/2026",
      amountBrl: 129.9,
      merchantName: "Aurora Telecom",
      merchantCity: "SAO PAULO",
      txid: "INV20261200001",
      crc: "8E75",
    });
  });

  it("drops accents and cuts name (25) and city (15); omits a zero amount; *** for no txid", () => {
    const code = pixCopiaECola({
      key: "financeiro@aurora.com.br",
      amountBrl: 0,
      merchantName: "Aurora Telecomunicações Ltda",
      merchantCity: "São José dos Campos",
    });
    const p = parsePix(code);
    expect(p.merchantName).toBe("Aurora Telecomunicacoes L");
    expect(p.merchantCity).toBe("Sao Jose dos Ca");
    expect(p.amountBrl).toBeNull();
    expect(code).not.toContain("5404");
    expect(p.txid).toBe("***");
  });

  it.each([
    [{ key: "not a key" }, /^key:/],
    [{ key: "12345678900" }, /^key:/], // CPF with wrong check digits
    [{ txid: "has space" }, /^txid:/],
    [{ txid: "A".repeat(26) }, /^txid:/],
    [{ amountBrl: -1 }, /^amountBrl:/],
    [{ amountBrl: Number.POSITIVE_INFINITY }, /^amountBrl:/],
    [{ merchantName: "  " }, /^merchantName:/],
    [{ merchantCity: "😀" }, /^merchantCity:/],
    [{ description: "x".repeat(80) }, /^description:/],
  ])("rejects %j naming the field", (patch, message) => {
    const base = { key: "11222333000181", amountBrl: 10, merchantName: "Aurora", merchantCity: "Recife" };
    expect(() => pixCopiaECola({ ...base, ...patch })).toThrow(ValidationError);
    expect(() => pixCopiaECola({ ...base, ...patch })).toThrow(message);
  });

  it("recognises the five key kinds", () => {
    expect(pixKeyKind("12345678909")).toBe("cpf");
    expect(pixKeyKind("11222333000181")).toBe("cnpj");
    expect(pixKeyKind("+5521912345678")).toBe("phone");
    expect(pixKeyKind("cobranca@aurora.com.br")).toBe("email");
    expect(pixKeyKind("123e4567-e12b-12d1-a456-426655440000")).toBe("evp");
    expect(pixKeyKind("5521912345678")).toBeNull();
  });
});

describe("parsePix", () => {
  const good = pixCopiaECola({
    key: "123e4567-e12b-12d1-a456-426655440000",
    amountBrl: 59.9,
    merchantName: "Aurora Telecom",
    merchantCity: "Recife",
    txid: "ABC123",
  });

  it.each([
    ["", /must end with the CRC/],
    ["0002", /declares 2 characters but only 0 remain/],
    [good.replace("5802BR", "5803BR"), /.+/],
    [good.slice(0, -4) + "0000", /CRC is 0000, expected/],
    [good.replace("br.gov.bcb.pix", "br.gov.bcb.pax"), /no merchant account field/],
  ])("rejects %j", (payload, message) => {
    const r = validatePix(payload);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join(" ")).toMatch(message);
  });

  it("names every missing mandatory field even when the CRC is right", () => {
    const body = "000201" + "26180014br.gov.bcb.pix" + "6304";
    const crc = crc16ccitt(body).toString(16).toUpperCase().padStart(4, "0");
    const r = validatePix(body + crc);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const text = r.errors.join("\n");
      for (const f of ["field 26 has neither a key", "52", "53", "58", "59", "60", "62"])
        expect(text).toContain(f);
    }
  });

  it("accepts surrounding whitespace and throws ValidationError on bad input", () => {
    expect(parsePix(`  ${good}\n`).key).toBe("123e4567-e12b-12d1-a456-426655440000");
    expect(() => parsePix("garbage")).toThrow(ValidationError);
  });

  it("reads an uppercase GUI (seen in the wild) but insists on an uppercase CRC", () => {
    const body = good.slice(0, -4).replace(PIX_GUI, PIX_GUI.toUpperCase());
    const upper = body + crc16ccitt(body).toString(16).toUpperCase().padStart(4, "0");
    expect(parsePix(upper).key).toBe("123e4567-e12b-12d1-a456-426655440000");
    const lowerCrc = good.slice(0, -4) + good.slice(-4).toLowerCase();
    expect(lowerCrc).not.toBe(good); // this payload's CRC (ED7F) has letters
    expect(validatePix(lowerCrc).ok).toBe(false);
  });
});

describe("properties", () => {
  const alnum = fc.stringMatching(/^[A-Za-z0-9]{1,25}$/);
  const input = fc.record({
    key: fc.oneof(
      fc.uuid().map((u) => u.toLowerCase()),
      fc.stringMatching(/^[a-z0-9._]{1,20}@[a-z0-9]{1,15}\.com\.br$/),
      fc.stringMatching(/^\+55[1-9][1-9]9[0-9]{8}$/),
    ),
    cents: fc.integer({ min: 0, max: 99_999_999 }),
    merchantName: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => /[A-Za-z0-9]/.test(s)),
    merchantCity: fc.stringMatching(/^[A-Za-zÀ-ú ]{1,30}$/).filter((s) => /[A-Za-z]/.test(s)),
    txid: fc.option(alnum, { nil: undefined }),
    description: fc.option(fc.stringMatching(/^[A-Za-z0-9 /.-]{1,20}$/), { nil: undefined }),
  });

  it("round-trips every field", () => {
    fc.assert(
      fc.property(input, (i) => {
        const code = pixCopiaECola({ ...i, amountBrl: i.cents / 100 });
        const p = parsePix(code);
        expect(p.key).toBe(i.key);
        expect(p.amountBrl).toBe(i.cents === 0 ? null : i.cents / 100);
        expect(p.txid).toBe(i.txid ?? "***");
        expect(p.merchantName.length).toBeLessThanOrEqual(25);
        expect(p.merchantCity.length).toBeLessThanOrEqual(15);
        expect(p.merchantName).toMatch(/^[\x20-\x7e]+$/);
        if (i.description?.trim()) expect(p.description).toBe(i.description.trim().replace(/\s+/g, " "));
        // The parsed fields rebuild the same payload.
        expect(
          pixCopiaECola({
            key: p.key as string,
            amountBrl: p.amountBrl ?? 0,
            merchantName: p.merchantName,
            merchantCity: p.merchantCity,
            txid: p.txid === "***" ? undefined : p.txid,
            description: p.description ?? undefined,
          }),
        ).toBe(code);
      }),
      { numRuns: 500 },
    );
  });

  it("any single corrupted character fails the check (CRC-16 catches every error within 16 bits)", () => {
    fc.assert(
      fc.property(input, fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), (i, at, code) => {
        const payload = pixCopiaECola({ ...i, amountBrl: i.cents / 100 });
        const pos = at % payload.length;
        fc.pre(payload.charCodeAt(pos) !== code);
        const corrupted = payload.slice(0, pos) + String.fromCharCode(code) + payload.slice(pos + 1);
        expect(validatePix(corrupted).ok).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });
});
