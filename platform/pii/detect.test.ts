import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boletoFromInvoice } from "../formats/boleto.ts";
import { cnpjCheckDigits, cpfCheckDigits, mod10CheckDigit } from "../formats/check-digits.ts";
import { pixCopiaECola } from "../formats/pix.ts";
import { detectPii, type PiiKind, percentDecode } from "./index.ts";

/** The kinds and values found, in order. */
const found = (text: string) => detectPii(text).map((m) => [m.kind, m.value]);

describe("detectPii finds", () => {
  it.each<[string, PiiKind, string]>([
    // CPF: formatted, bare, other separators, glued to letters (issue 19: "a CPF inside a longer token").
    ["meu cpf é 123.456.789-09", "cpf", "123.456.789-09"],
    ["CPF: 52998224725.", "cpf", "52998224725"],
    ["cpf 529 982 247 25 ok", "cpf", "529 982 247 25"],
    ["doc 529982247-25", "cpf", "529982247-25"],
    ["/v1/customers/cli52998224725x/predictions", "cpf", "52998224725"],
    ["token=AB12345678909CD", "cpf", "12345678909"],
    ["id_111.444.777-35_end", "cpf", "111.444.777-35"],
    // CNPJ: formatted, bare, alphanumeric (2026 format).
    ["CNPJ 11.222.333/0001-81", "cnpj", "11.222.333/0001-81"],
    ["empresa 11444777000161", "cnpj", "11444777000161"],
    ["novo cnpj 12.ABC.345/01DE-35", "cnpj", "12.ABC.345/01DE-35"],
    // Phones, in every separator style.
    ["tel +55 (11) 98765-4321.", "phone", "+55 (11) 98765-4321"],
    ["+5511987654321", "phone", "+5511987654321"],
    ["fone +55 11 98765 4321", "phone", "+55 11 98765 4321"],
    ["+55.11.98765.4321", "phone", "+55.11.98765.4321"],
    ["+55-11-98765-4321", "phone", "+55-11-98765-4321"],
    ["q=+55+11+98765+4321", "phone", "+55+11+98765+4321"],
    ["x=%2B5511987654321", "phone", "%2B5511987654321"],
    ["0055 21 3456 7890", "phone", "0055 21 3456 7890"],
    ["5511987654321", "phone", "5511987654321"],
    ["55 (11) 3456-7890", "phone", "55 (11) 3456-7890"],
    ["(11) 98765-4321", "phone", "(11) 98765-4321"],
    ["(011)987654321", "phone", "(011)987654321"],
    ["fixo (21) 3456-7890", "phone", "(21) 3456-7890"],
    ["ligar 11 987654321", "phone", "11 987654321"],
    ["11 98765-4321", "phone", "11 98765-4321"],
    ["31.3456.7890", "phone", "31.3456.7890"],
    ["11987654321", "phone", "11987654321"],
    ["011 98765 4321", "phone", "011 98765 4321"],
    ["98765-4321", "phone", "98765-4321"],
    ["meu whats 987654321", "phone", "987654321"],
    ["telefone 3456-7890", "phone", "3456-7890"],
    ["tel 1134567890", "phone", "1134567890"],
    // CEP: formatted, or bare next to a CEP cue.
    ["Rua X, 100 - 01310-100 São Paulo", "cep", "01310-100"],
    ["CEP 01310100", "cep", "01310100"],
    ["cep: 01.310-100", "cep", "01.310-100"],
    // Cards (Luhn + brand) with spaces/dashes.
    ["cartão 4111 1111 1111 1111", "card", "4111 1111 1111 1111"],
    ["4111-1111-1111-1111", "card", "4111-1111-1111-1111"],
    ["5555555555554444", "card", "5555555555554444"],
    ["amex 3782 822463 10005", "card", "3782 822463 10005"],
    ["elo 6362970000457013", "card", "6362970000457013"],
    ["diners 30569309025904", "card", "30569309025904"],
    ["visa 4222222222222", "card", "4222222222222"],
    ["mc 2223000048400011", "card", "2223000048400011"],
    // CVV and expiry with a cue.
    ["cvv: 123", "cvv", "123"],
    ["código de segurança 4567", "cvv", "4567"],
    ["CVV=987", "cvv", "987"],
    // E-mail (accents in the local part too).
    ["escreva para joão.silva+conta@gmail.com.", "email", "joão.silva+conta@gmail.com"],
    ["a@b.co", "email", "a@b.co"],
    // IMEI: 15 digits Luhn with a reporting-body prefix, or any 14–16 digits after "IMEI".
    ["aparelho 352099001761481", "imei", "352099001761481"],
    ["IMEI 35-209900-176148-1", "imei", "35-209900-176148-1"],
    ["imei: 49015420323751", "imei", "49015420323751"],
    // ICCID: 19–20 digits from 89, Luhn.
    ["chip 8955031234567890129", "iccid", "8955031234567890129"],
    ["89550312345678901232", "iccid", "89550312345678901232"],
    ["ICCID 8955 0312 3456 7890 1234", "iccid", "8955 0312 3456 7890 1234"],
    // Names only by key.
    ["/lookup?nome=Maria%20Silva&uf=SP", "name", "Maria%20Silva"],
    ['{"customer_name": "Maria Silva"}', "name", "Maria Silva"],
    ["customerName=Jo%C3%A3o+Silva", "name", "Jo%C3%A3o+Silva"],
  ])("%s → %s", (text, kind, value) => {
    expect(found(text)).toEqual([[kind, value]]);
  });

  it("the issue-19 cases, each on its own and together", () => {
    expect(found("/v1/x?tel=%2B5511987654321")).toEqual([["phone", "%2B5511987654321"]]);
    expect(found("/v1/x?phone=+55+11+98765+4321")).toEqual([["phone", "+55+11+98765+4321"]]);
    expect(found("/v1/x?name=Jo%C3%A3o+Silva")).toEqual([["name", "Jo%C3%A3o+Silva"]]);
    expect(found("/v1/x/abc12345678909def")).toEqual([["cpf", "12345678909"]]);
    // Without the telling key names, the values themselves are still found.
    expect(found("/v1/x?q=%2B5511987654321&r=+55+11+98765+4321&s=x12345678909y").map((f) => f[0])).toEqual([
      "phone",
      "phone",
      "cpf",
    ]);
  });

  it("reads %-encoded values: e-mail behind %40, digits behind %3X, double-encoded plus", () => {
    expect(found("q=joao%40gmail.com")).toEqual([["email", "joao%40gmail.com"]]);
    expect(found("q=%31%32%33%34%35%36%37%38%39%30%39")).toEqual([
      ["cpf", "%31%32%33%34%35%36%37%38%39%30%39"],
    ]);
    expect(found("q=%252B5511987654321")).toEqual([["phone", "%252B5511987654321"]]);
    expect(found("a%20b%ZZ 11987654321")).toEqual([["phone", "11987654321"]]);
  });

  it("a card with its expiry and CVV, in the usual orders", () => {
    expect(found("cartão 4111 1111 1111 1111 12/27 123").map((f) => f[0])).toEqual([
      "card",
      "card_expiry",
      "cvv",
    ]);
    expect(found("4111111111111111, validade 12/2027, cvv 123")).toEqual([
      ["card", "4111111111111111"],
      ["card_expiry", "12/2027"],
      ["cvv", "123"],
    ]);
    expect(found("5555 5555 5555 4444 cvv 321 exp 01/29")).toEqual([
      ["card", "5555 5555 5555 4444"],
      ["cvv", "321"],
      ["card_expiry", "01/29"],
    ]);
    expect(found("4111 1111 1111 1111 123")).toEqual([
      ["card", "4111 1111 1111 1111"],
      ["cvv", "123"],
    ]);
    expect(found("meu cartão de crédito vence, validade 08/28")).toEqual([["card_expiry", "08/28"]]);
  });

  it("several kinds in one customer message, with offsets into the text", () => {
    const text =
      "Oi, sou a Ana, CPF 529.982.247-25, cel (21) 99876-5432, email ana@exemplo.com.br, CEP 20040-020";
    const ms = detectPii(text);
    expect(ms.map((m) => m.kind)).toEqual(["cpf", "phone", "email", "cep"]);
    for (const m of ms) expect(text.slice(m.start, m.end)).toBe(m.value);
  });
});

describe("detectPii leaves alone", () => {
  it.each([
    // Amounts, dates, times.
    "R$ 1.234,56",
    "R$ 12.345.678,90",
    "fatura de R$ 129,90 vence em 15/12/2026",
    "pagamento de 1234567,89",
    "2026-11-25T12:00:00.000Z",
    "25/11/2026 às 14:30",
    "2026-12-07 09:47:59",
    "1733572800000",
    "1733572800",
    // Operator ids and numbers.
    "INV-202611-00000001",
    "INV-202612-12345678",
    "AUR-00000001",
    "AUR-00004999",
    "CTR-00000042",
    "C000123",
    "protocolo 20261207000123",
    "protocolo 2026120712345678",
    "protocolo nº 202612071234567890",
    "pedido 31987654321",
    "fatura 52998224725",
    "boleto 11444777000161",
    "nota fiscal 4111111111111111",
    "ticket 98765-4321",
    // Plans, speeds, usage.
    "Fibra 500 Mega",
    "Plano Controle 25GB por R$ 59,99/mês",
    "velocidade 300 Mbps, latência 12 ms",
    "download 512.34 Mbps",
    "5000 clientes em 12 meses",
    "status 200 in 3.2 ms",
    "price 129.90",
    "10 GB de bônus por 3 meses",
    "/v1/churn/predict",
    "/v1/models/churn/versions/12",
    "request 123e4567-e12b-12d1-a456-426655440000",
    "8a98171a-5a61-85c9-ab0e-073909364079",
    "21b4068c-2b30-7e09-a220-b79142047145",
    "ccf23470-742d-57d3-af61-2e6f6f03e06d",
    "ce3c9b49-7569-5876-b3b9-dac6518aeeed",
    "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
    // Customer messages that talk about these things without containing them.
    "quero cancelar meu plano, qual é a multa?",
    "preciso informar meu CPF para a segunda via?",
    "vocês cobram taxa no cartão de crédito?",
    "meu cartão final 1234 foi recusado",
    "o boleto venceu dia 10, posso pagar hoje?",
    "a fatura de novembro veio R$ 30 a mais",
    "minha internet de 500 mega está entregando 50",
    "o técnico vem entre 8h e 12h?",
    "tenho 2 chips e 1 modem",
    "paguei 3x de 99,90",
    "quero o plano de 1 giga por 149,90",
    "o protocolo que me deram foi 20261207000123",
    "liguei 3 vezes no 1058 e ninguém resolveu",
    "minha fidelidade termina em 12/2026?",
    "CEP da minha rua mudou",
    "meu telefone não está funcionando desde ontem",
    "o código do pedido é PED-2026-000123",
    // Look-alikes that fail their check.
    "cpf 123.456.789-00",
    "111.111.111-11",
    "000.000.000-00",
    "CNPJ 11.222.333/0001-80",
    "cartão 4111 1111 1111 1112",
    "1234 5678 9012 3456",
    "(10) 3456-7890",
    "20 3456-7890",
    "ligue 4004-1234",
    "telefone 3003 4455",
    "0800 123 4567",
    "ligue 0800 721 1234",
    "SAC 4004-1234",
    "12345678",
    "123456789",
    "1234567890",
    "987654321",
    "01310100",
    "CEP do bairro",
    "a@b",
    "user@localhost",
    "validade da oferta 12/2026",
    "vencimento 10/12",
    "cvv",
    "3 cvv 12",
    "Caixa 5 de 10",
    "nome",
    "name=",
    "plan=Fibra+500",
    // The operator's own payment data.
    "23793.38128 60007.827136 95000.063305 9 75520000370000",
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D",
  ])("%s", (text) => {
    expect(found(text)).toEqual([]);
  });

  it("second copies produced by the formats module", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 99_999_999 }),
        fc.integer({ min: 0, max: 6000 }),
        fc.integer({ min: 0, max: 99_999_999 }),
        (cents, day, ourNumber) => {
          const dueDate = new Date(Date.UTC(2025, 1, 22) + day * 86_400_000).toISOString().slice(0, 10);
          const b = boletoFromInvoice({ bankCode: "341", amountBrl: cents / 100, dueDate, ourNumber });
          const pix = pixCopiaECola({
            key: "11444777000161",
            amountBrl: cents / 100,
            merchantName: "Aurora Telecom",
            merchantCity: "Sao Paulo",
            txid: `INV${ourNumber}`,
          });
          expect(found(`Linha digitável: ${b.linhaDigitavel}`)).toEqual([]);
          expect(found(`Pix copia e cola: ${pix}`)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("simulator-shaped ids, amounts and dates, by the thousand", () => {
    const benign = fc.oneof(
      fc.integer({ min: 1, max: 99_999_999 }).map((n) => `AUR-${String(n).padStart(8, "0")}`),
      fc
        .tuple(fc.integer({ min: 2020, max: 2030 }), fc.integer({ min: 1, max: 12 }), fc.nat(99_999_999))
        .map(([y, m, n]) => `INV-${y}${String(m).padStart(2, "0")}-${String(n).padStart(8, "0")}`),
      fc
        .integer({ min: 0, max: 9_999_999_999 })
        .map((c) => `R$ ${(c / 100).toLocaleString("pt-BR", { minimumFractionDigits: 2 })}`),
      fc
        .date({ min: new Date("2000-01-01"), max: new Date("2040-01-01"), noInvalidDate: true })
        .map((d) => d.toISOString()),
      fc
        .date({ min: new Date("2000-01-01"), max: new Date("2040-01-01"), noInvalidDate: true })
        .map((d) => d.toLocaleDateString("pt-BR", { timeZone: "UTC" })),
      fc.integer({ min: 0, max: 9_999_999 }).map(String),
      fc.float({ min: 0, max: 1e6, noNaN: true }).map((x) => x.toFixed(2)),
    );
    fc.assert(
      fc.property(fc.array(benign, { maxLength: 4 }), (parts) => {
        expect(found(parts.join(" "))).toEqual([]);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("properties of the positive side", () => {
  const cpf = fc
    .stringMatching(/^[0-9]{9}$/)
    .filter((b) => !/^(\d)\1{8}$/.test(b))
    .map((b) => b + cpfCheckDigits(b));
  const cpfFormat = fc.constantFrom(
    (d: string) => d,
    (d: string) => `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6, 9)}-${d.slice(9)}`,
    (d: string) => `${d.slice(0, 9)}-${d.slice(9)}`,
  );
  const filler = fc.constantFrom("", "meu documento ", "cpf: ", "segue ", "id=", "abc", "x_");

  it("every valid CPF, in any usual format, inside any wording", () => {
    fc.assert(
      fc.property(cpf, cpfFormat, filler, filler, (d, fmt, before, after) => {
        const written = fmt(d);
        const ms = detectPii(`${before}${written}${after ? ` ${after}` : ""}`);
        // A bare CPF can also read as a mobile number ((DDD) 9xxxx-xxxx): masked either way.
        expect(ms.map((m) => m.value)).toEqual([written]);
        expect(["cpf", "phone"]).toContain(ms[0].kind);
      }),
      { numRuns: 1000 },
    );
  });

  it("every valid CNPJ, formatted or bare", () => {
    const cnpj = fc
      .stringMatching(/^[0-9]{12}$/)
      .filter((b) => !/^(\d)\1{11}$/.test(b))
      .map((b) => b + cnpjCheckDigits(b));
    fc.assert(
      fc.property(cnpj, fc.boolean(), (d, formatted) => {
        const w = formatted
          ? `${d.slice(0, 2)}.${d.slice(2, 5)}.${d.slice(5, 8)}/${d.slice(8, 12)}-${d.slice(12)}`
          : d;
        const ms = detectPii(`CNPJ ${w}`);
        expect(ms.map((m) => m.value)).toEqual([w]);
      }),
      { numRuns: 500 },
    );
  });

  it("every +55 mobile in every separator style", () => {
    const ddd = fc.constantFrom("11", "21", "31", "41", "51", "61", "71", "81", "91", "47", "85", "98");
    const sep = fc.constantFrom("", " ", ".", "-", "+");
    fc.assert(
      fc.property(
        ddd,
        fc.stringMatching(/^9[0-9]{8}$/),
        sep,
        sep,
        fc.constantFrom("+55", "%2B55", "0055", "55"),
        fc.boolean(),
        (area, num, s1, s2, cc, paren) => {
          const a = paren ? `(${area})` : area;
          const w = `${cc}${s1}${a}${s1}${num.slice(0, 5)}${s2}${num.slice(5)}`;
          expect(detectPii(`contato: ${w} obrigado`).map((m) => [m.kind, m.value])).toEqual([["phone", w]]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("every Luhn-valid Visa/Mastercard number in groups of four", () => {
    const base = fc.tuple(
      fc.constantFrom("4", "51", "52", "53", "54", "55"),
      fc.stringMatching(/^[0-9]{14}$/),
    );
    fc.assert(
      fc.property(base, fc.constantFrom("", " ", "-"), ([p, rest], s) => {
        const body = (p + rest).slice(0, 15);
        const d = body + mod10CheckDigit(body);
        const w = [d.slice(0, 4), d.slice(4, 8), d.slice(8, 12), d.slice(12)].join(s);
        expect(detectPii(`pago com ${w} hoje`).map((m) => [m.kind, m.value])).toEqual([["card", w]]);
      }),
      { numRuns: 500 },
    );
  });

  it("offsets always point at the value, also through %-decoding", () => {
    const piece = fc.oneof(
      fc.constantFrom(
        "tel=%2B5511987654321",
        "joao%40x.com",
        "%C3%A7",
        "cpf 529.982.247-25",
        "R$ 10,00",
        "&",
        " ",
      ),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), (parts) => {
        const text = parts.join("");
        for (const m of detectPii(text)) {
          expect(m.value).toBe(text.slice(m.start, m.end));
          expect(m.end).toBeGreaterThan(m.start);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("percentDecode", () => {
  it("maps every decoded character back to its escape", () => {
    const v = percentDecode("a%C3%A3b%2B5%ZZ%");
    expect(v.text).toBe("aãb+5%ZZ%");
    expect(v.map).toEqual([0, 1, 7, 8, 11, 12, 13, 14, 15, 16]);
  });
  it("keeps invalid UTF-8 escapes as written", () => {
    expect(percentDecode("%FF%C3").text).toBe("%FF%C3");
  });
});
