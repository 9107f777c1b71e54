import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { detectPii, MASK_STYLES, maskObject, maskPii, maskUrl, maskUrlFull, PII_KINDS } from "./index.ts";

describe("maskPii", () => {
  it.each([
    ["CPF 123.456.789-09", "CPF ***.***.***-**"],
    ["CNPJ 11.222.333/0001-81", "CNPJ **.***.***/****-**"],
    ["cel +55 (11) 98765-4321", "cel (**) *****-****"],
    ["CEP 01310-100", "CEP *****-***"],
    ["cartão 4111 1111 1111 1111 12/27 123", "cartão **** **** **** 1111 **/** ***"],
    ["email ana@exemplo.com.br.", "email ***@***."],
    ["IMEI 352099001761481", "IMEI ***************"],
    ["ICCID 8955031234567890129", "ICCID *******************"],
    ["/x?nome=Maria%20Silva&uf=SP", "/x?nome=***&uf=SP"],
  ])("%s → %s (the documented style of each kind)", (input, expected) => {
    expect(maskPii(input)).toBe(expected);
  });

  it("every kind has a style that hides all digits but a card's last four", () => {
    expect(Object.keys(MASK_STYLES).sort()).toEqual([...PII_KINDS].sort());
    for (const kind of PII_KINDS) {
      const masked = MASK_STYLES[kind]("4111 1111 1111 1111");
      expect(masked.replace(/[^0-9]/g, "")).toBe(kind === "card" ? "1111" : "");
    }
    // Too short to keep anything: a card value under a "card" key that is not a card number.
    expect(MASK_STYLES.card("12")).toBe("**** **** **** ****");
  });

  it("takes one replacement for everything, or a function of the match", () => {
    const text = "cpf 123.456.789-09, tel 11 98765-4321";
    expect(maskPii(text, { replacement: "[masked]" })).toBe("cpf [masked], tel [masked]");
    expect(maskPii(text, { replacement: (m) => `<${m.kind}>` })).toBe("cpf <cpf>, tel <phone>");
  });

  it("keeps what the caller says to keep (the session customer's own verified data)", () => {
    const own = "11987654321";
    const text = "meu número é 11 98765-4321, o da minha mãe 21 99876-5432";
    const out = maskPii(text, { keep: (m) => m.value.replace(/[^0-9]/g, "") === own });
    expect(out).toBe("meu número é 11 98765-4321, o da minha mãe (**) *****-****");
  });

  it("returns non-strings untouched and text without PII identical", () => {
    expect(maskPii(undefined as unknown as string)).toBeUndefined();
    const s = "Fibra 500 Mega por R$ 99,90 desde 01/12/2026";
    expect(maskPii(s)).toBe(s);
  });
});

describe("maskObject", () => {
  it("masks values under personal keys whole, whatever they hold, and strings everywhere", () => {
    const out = maskObject({
      customer_id: "AUR-00000001",
      nome: "João da Silva",
      customerName: "Ana",
      cpf: "123.456.789-00", // invalid check digits: still personal by its key
      telefone: 11987654321,
      email: "ana@exemplo.com",
      plan: "Fibra 500 Mega",
      amount_brl: 129.9,
      notes: ["ligar em (21) 3456-7890", { text: "cpf 529.982.247-25" }],
      optin: true,
      cep: null,
      nested: { deeper: { card: "4111111111111111" } },
    });
    expect(out).toEqual({
      customer_id: "AUR-00000001",
      nome: "***",
      customerName: "***",
      cpf: "***.***.***-**",
      telefone: "(**) *****-****",
      email: "***@***",
      plan: "Fibra 500 Mega",
      amount_brl: 129.9,
      notes: ["ligar em (**) *****-****", { text: "cpf ***.***.***-**" }],
      optin: true,
      cep: null,
      nested: { deeper: { card: "**** **** **** 1111" } },
    });
  });

  it("checks long numbers as text and leaves short ones as numbers", () => {
    expect(maskObject({ a: 52998224725, b: 42, c: 20261207 })).toEqual({
      a: "***.***.***-**",
      b: 42,
      c: 20261207,
    });
  });

  it("replaces what is nested deeper than 8 levels instead of copying it unread", () => {
    let deep: unknown = { cpf_note: "cpf 529.982.247-25" };
    for (let i = 0; i < 12; i++) deep = { next: deep };
    expect(JSON.stringify(maskObject(deep))).not.toContain("529");
  });

  it("does not change its input", () => {
    const input = { nome: "Ana", list: ["11 98765-4321"] };
    maskObject(input);
    expect(input).toEqual({ nome: "Ana", list: ["11 98765-4321"] });
  });
});

describe("maskUrl", () => {
  it.each([
    // The issue-19 cases, masked in the URL as written (the rest stays byte for byte).
    ["/v1/lookup?tel=%2B5511987654321&uf=SP", "/v1/lookup?tel=(**) *****-****&uf=SP"],
    ["/v1/lookup?phone=+55+11+98765+4321", "/v1/lookup?phone=(**) *****-****"],
    ["/v1/lookup?q=%2B5511987654321", "/v1/lookup?q=(**) *****-****"],
    ["/v1/lookup?q=+55+11+98765+4321&x=1", "/v1/lookup?q=(**) *****-****&x=1"],
    ["/v1/lookup?name=Jo%C3%A3o+Silva&uf=SP", "/v1/lookup?name=***&uf=SP"],
    ["/v1/lookup?nome_completo=Jo%C3%A3o%20da%20Silva", "/v1/lookup?nome_completo=***"],
    ["/v1/lookup?uf=SP&full_name=Maria Clara", "/v1/lookup?uf=SP&full_name=***"],
    ["/v1/customers/abc12345678909def", "/v1/customers/abc***.***.***-**def"],
    ["/v1/customers/123.456.789-09?nome=Maria", "/v1/customers/***.***.***-**?nome=***"],
    ["/v1/x?email=ana%40exemplo.com", "/v1/x?email=***@***"],
    ["/v1/x?q=ana%40exemplo.com&z", "/v1/x?q=***@***&z"],
    ["/v1/x/%31%32%33%34%35%36%37%38%39%30%39", "/v1/x/***.***.***-**"],
  ])("%s", (url, expected) => {
    expect(maskUrl(url)).toBe(expected);
  });

  it.each([
    "/v1/churn/predict",
    "/healthz",
    "/metrics",
    "/docs/static/index.html",
    "/v1/churn/predict?explain=true",
    "/v1/customers/AUR-00000001/predictions?window=7d",
    "/v1/invoices/INV-202611-00000001",
    "/v1/x?amount=1234.56&date=2026-12-07",
    "/v1/x?q=%C3%A7%C3%A3o",
  ])("leaves %s as it is", (url) => {
    expect(maskUrl(url)).toBe(url);
  });

  it("the fast path (no digit, @ or %: key check only) masks exactly what the full detector masks", () => {
    const urlish = fc.stringMatching(/^[/?&=a-z0-9 ().+%@_-]{0,60}$/);
    const withKeys = fc
      .tuple(
        fc.constantFrom("/v1/x?", "/a/b?c=d&", "?"),
        fc.constantFrom("nome", "name", "cpf", "q", "tel", "plan", "customer_name"),
        fc.stringMatching(/^[A-Za-z +%0-9C3A]{0,20}$/),
      )
      .map(([p, k, v]) => `${p}${k}=${v}`);
    fc.assert(
      fc.property(fc.oneof(fc.string(), urlish, withKeys), (u) => {
        expect(maskUrl(u)).toBe(maskUrlFull(u));
        expect(maskUrl(u, { replacement: "[masked]" })).toBe(maskUrlFull(u, { replacement: "[masked]" }));
      }),
      { numRuns: 3000 },
    );
  });

  it("never leaves the digits of a detected phone or CPF in a URL, however it is encoded", () => {
    const enc = (s: string, how: number) =>
      how === 0
        ? s
        : how === 1
          ? encodeURIComponent(s)
          : Array.from(s, (c) => `%${c.charCodeAt(0).toString(16)}`).join("");
    fc.assert(
      fc.property(
        fc.constantFrom(
          "+5511987654321",
          "+55 11 98765-4321",
          "(21) 3456-7890",
          "529.982.247-25",
          "52998224725",
        ),
        fc.integer({ min: 0, max: 2 }),
        fc.constantFrom("q", "x", "filter"),
        (value, how, key) => {
          const out = maskUrl(`/v1/search?${key}=${enc(value, how)}&page=2`);
          expect(out).toMatch(/&page=2$/);
          expect(out.replace(/[^0-9]/g, "")).toBe("12"); // "v1" and the page number only
        },
      ),
    );
  });
});

describe("hostile input", () => {
  it("never throws, and masking keeps every character outside the matches", () => {
    const hostile = fc.oneof(
      fc.string({ unit: "binary", maxLength: 80 }),
      fc.stringMatching(/^[%0-9A-Fa-f+@=&?"{}:. ()/-]{0,80}$/),
      fc.constantFrom(
        "%",
        "%%",
        "%E",
        "%C3",
        "%ED%A0%80",
        "\uD800",
        "\uDFFF%41",
        '"nome":"',
        "nome=",
        "=&=&",
      ),
    );
    fc.assert(
      fc.property(hostile, (s) => {
        const found = detectPii(s);
        const masked = maskPii(s, { replacement: "#" });
        let at = 0;
        let expected = "";
        for (const m of found) {
          expected += s.slice(at, m.start) + "#";
          at = m.end;
        }
        expect(masked).toBe(expected + s.slice(at));
        expect(() => maskUrl(s)).not.toThrow();
        expect(() => maskObject({ [s]: s, nome: s })).not.toThrow();
      }),
      { numRuns: 3000 },
    );
  });
});
