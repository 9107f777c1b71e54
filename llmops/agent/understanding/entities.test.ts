import { describe, expect, it } from "vitest";
import { loadUnderstandingCatalog } from "./catalog.ts";
import {
  type EntityKind,
  extractEntities,
  isValidCpf,
  parseAmount,
  resolveMonth,
  shiftMonth,
} from "./entities.ts";
import { loadEntitySet } from "./utterances.ts";

const catalog = loadUnderstandingCatalog();
const TODAY = "2026-05-15";

/** kind → value of every entity found (first of each kind). */
function found(text: string, opts: { today?: string; awaiting?: string } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of extractEntities(text, {
    businessDate: opts.today ?? TODAY,
    catalog,
    awaitingSlot: (opts.awaiting ?? null) as never,
  }).entities)
    if (!(e.kind in out)) out[e.kind] = e.value;
  return out;
}

function one(text: string, kind: EntityKind, opts: { today?: string; awaiting?: string } = {}): unknown {
  return found(text, opts)[kind];
}

describe("CPF", () => {
  it("checks the two check digits and rejects repeated digits", () => {
    expect(isValidCpf("52998224725")).toBe(true);
    expect(isValidCpf("11144477735")).toBe(true);
    expect(isValidCpf("52998224726")).toBe(false);
    expect(isValidCpf("11111111111")).toBe(false);
    expect(isValidCpf("5299822472")).toBe(false);
  });

  it("finds it with dots and dash, spaces or nothing; a formatted one with wrong digits is rejected, not a phone", () => {
    expect(one("meu cpf é 529.982.247-25", "cpf")).toBe("52998224725");
    expect(one("cpf 11144477735 por favor", "cpf")).toBe("11144477735");
    expect(one("o cpf é 123 456 789 09", "cpf")).toBe("12345678909");
    expect(one("my cpf is 921.903.006-30", "cpf")).toBe("92190300630");
    const bad = extractEntities("cpf 123.456.789-00", { businessDate: TODAY, catalog });
    expect(bad.entities).toEqual([]);
    expect(bad.rejected).toEqual([
      { kind: "cpf", text: "123.456.789-00", reason: "check digits do not match" },
    ]);
  });
});

describe("phone", () => {
  it("normalises +55, DDD in parentheses, bare digits and landlines to E.164", () => {
    expect(one("meu numero é (11) 98765-4321", "phone")).toBe("+5511987654321");
    expect(one("liga no +55 21 99876-5432", "phone")).toBe("+5521998765432");
    expect(one("tel 31991234567", "phone")).toBe("+5531991234567");
    expect(one("my phone is +55 (11) 3456-7890", "phone")).toBe("+551134567890");
    expect(one("fixo 11 3456 7890", "phone")).toBe("+551134567890");
  });

  it("is not a foreign number, nor 11 digits that are a valid CPF (unless a phone is awaited)", () => {
    expect(one("call +1 415 555 0100", "phone")).toBeUndefined();
    expect(found("52998224725")).toEqual({ cpf: "52998224725" });
    expect(found("31991234567", { awaiting: "phone" })).toEqual({ phone: "+5531991234567" });
  });
});

describe("CEP and dates", () => {
  it("finds a CEP formatted or as 8 digits next to the word cep", () => {
    expect(one("meu cep é 01310-100", "cep")).toBe("01310100");
    expect(one("cep 20040020", "cep")).toBe("20040020");
    expect(one("zip code 04567-000", "cep")).toBe("04567000");
  });

  it("reads numeric dates (dd/mm, two-digit years, US order when the month cannot be first) and ISO", () => {
    expect(one("nasci em 05/11/1990", "date")).toBe("1990-11-05");
    expect(one("nasci em 7.9.83", "date")).toBe("1983-09-07");
    expect(one("born 12/25/1980", "date")).toBe("1980-12-25");
    expect(one("my date of birth is 1985-03-12", "date")).toBe("1985-03-12");
    expect(found("nasci em 31/02/1985")).toEqual({});
  });

  it("reads dates in words, with typos and without accents, pt-BR and English", () => {
    expect(one("data de nascimento 1 de abril de 1979", "date")).toBe("1979-04-01");
    expect(one("nasci dia 15 de maio de 92", "date")).toBe("1992-05-15");
    expect(one("nasci 12 de marco de 1985", "date")).toBe("1985-03-12");
    expect(one("born on march 3rd 1988", "date")).toBe("1988-03-03");
    expect(one("dob 12 march 1985", "date")).toBe("1985-03-12");
    expect(one("nasci em 1985, dia 12 de marco", "date")).toBe("1985-03-12");
    expect(one("8 digits as a birth date: nasci 12031985", "date")).toBe("1985-03-12");
  });
});

describe("months relative to the business date", () => {
  it("names: the latest such month not after the business month; typos in long names", () => {
    expect(one("a conta de março", "month")).toBe("2026-03");
    expect(one("fatura de marco", "month")).toBe("2026-03");
    expect(one("a fatura de dezembro", "month")).toBe("2025-12");
    expect(one("fatura de fevereirro", "month")).toBe("2026-02");
    expect(one("the March bill", "month")).toBe("2026-03");
    expect(one("a de fevereiro de 2025", "month")).toBe("2025-02");
    expect(one("fatura 01/2026", "month")).toBe("2026-01");
    expect(one("the bill from november 2025", "month")).toBe("2025-11");
  });

  it("relative phrases, across a year boundary", () => {
    expect(one("boleto do mês passado", "month")).toBe("2026-04");
    expect(one("a do mes retrasado", "month")).toBe("2026-03");
    expect(one("a conta desse mes", "month")).toBe("2026-05");
    expect(one("a conta de 2 meses atras", "month")).toBe("2026-03");
    expect(one("last month's invoice", "month")).toBe("2026-04");
    expect(one("the bill from the month before last", "month")).toBe("2026-03");
    expect(one("three months ago", "month")).toBe("2026-02");
    expect(one("mês passado", "month", { today: "2026-01-10" })).toBe("2025-12");
    expect(one("a de dezembro", "month", { today: "2026-01-10" })).toBe("2025-12");
    expect(shiftMonth("2026-01-31", -13)).toBe("2024-12");
    expect(resolveMonth(6, null, "2026-05-15")).toBe("2025-06");
  });

  it("'may' is a month only where a month fits", () => {
    expect(one("my invoice for may", "month")).toBe("2026-05");
    expect(one("the may bill", "month")).toBe("2026-05");
    expect(found("may i pay later?")).toEqual({});
  });
});

describe("money", () => {
  it("R$ with comma or dot decimals, thousands, 'reais'/'conto', BRL, and numbers in words", () => {
    expect(one("veio R$ 129,90 na conta", "money")).toBe(129.9);
    expect(one("cobraram R$129.90", "money")).toBe(129.9);
    expect(one("pago 129 reais", "money")).toBe(129);
    expect(one("a conta veio 1.234,56", "money")).toBe(1234.56);
    expect(one("uns 80 conto", "money")).toBe(80);
    expect(one("cento e vinte reais", "money")).toBe(120);
    expect(one("duzentos e cinquenta reais por mes", "money")).toBe(250);
    expect(one("a charge of 35 reais", "money")).toBe(35);
    expect(one("BRL 200", "money")).toBe(200);
    expect(parseAmount("1,234")).toBe(1234);
    expect(parseAmount("59.99")).toBe(59.99);
  });
});

describe("plans from the catalog", () => {
  it("by product and speed or data, with typos of form ('pos', '1gbps', 'o de 1 giga')", () => {
    expect(one("quero o fibra 500", "plan")).toBe("FIB500");
    expect(one("o de 1 giga", "plan")).toBe("FIB1000");
    expect(one("pós 100", "plan")).toBe("POS100");
    expect(one("quero o pos 50gb", "plan")).toBe("POS50");
    expect(one("o plano controle", "plan")).toBe("CTRL25");
    expect(one("passa pro de 300 mega", "plan")).toBe("FIB300");
    expect(one("fibra 1gbps", "plan")).toBe("FIB1000");
    expect(one("combo com tv", "plan")).toBe("COMBO1000TV");
    expect(one("o combo 500", "plan")).toBe("COMBO500");
    expect(one("fibra quinhentos", "plan")).toBe("FIB500");
    expect(one("the 500 mega fiber", "plan")).toBe("FIB500");
    expect(one("postpaid 100", "plan")).toBe("POS100");
    expect(one("FIB1000", "plan")).toBe("FIB1000");
  });

  it("marks the plan the customer has now, and names no plan for an ambiguous mention", () => {
    const e = extractEntities("to no fibra 300 e quero o de 1 giga", {
      businessDate: TODAY,
      catalog,
    }).entities;
    expect(e.map((x) => [x.value, x.role ?? null])).toEqual([
      ["FIB300", "current"],
      ["FIB1000", null],
    ]);
    expect(
      extractEntities("meu plano de 15gb nao da", { businessDate: TODAY, catalog }).entities[0],
    ).toMatchObject({
      value: "PRE15",
      role: "current",
    });
    expect(one("quero fibra", "plan")).toBeUndefined();
    expect(one("o 5g funciona aqui?", "plan")).toBeUndefined();
  });

  it("offer ids as written or spaced", () => {
    expect(one("quero a RET-DESC10", "offer")).toBe("RET-DESC10");
    expect(one("ret desc 20 serve", "offer")).toBe("RET-DESC20");
  });
});

describe("ordinals", () => {
  it("words, numbered forms and 'the last'", () => {
    expect(one("a primeira", "ordinal")).toBe(1);
    expect(one("segunda opção", "ordinal")).toBe(2);
    expect(one("opção 3", "ordinal")).toBe(3);
    expect(one("1a opcao", "ordinal")).toBe(1);
    expect(one("quero a 2", "ordinal")).toBe(2);
    expect(one("o terceiro", "ordinal")).toBe(3);
    expect(one("a ultima", "ordinal")).toBe(-1);
    expect(one("the second one", "ordinal")).toBe(2);
    expect(one("option 1", "ordinal")).toBe(1);
    expect(one("the last one", "ordinal")).toBe(-1);
    expect(one("2", "ordinal")).toBe(2);
  });

  it("not in 'segunda via', 'segunda-feira', 'primeira vez' or a weekday without 'opção'", () => {
    expect(found("a segunda via")).toEqual({});
    expect(one("pode ser na segunda-feira", "ordinal")).toBeUndefined();
    expect(one("é a primeira vez que ligo", "ordinal")).toBeUndefined();
    expect(one("a quarta tá boa", "ordinal")).toBeUndefined();
    expect(one("a quarta opção", "ordinal")).toBe(4);
  });
});

describe("yes / no", () => {
  it("pt-BR and English, elongated and colloquial", () => {
    for (const yes of [
      "sim",
      "pode ser",
      "bora",
      "claro",
      "siiim",
      "s",
      "yes",
      "yeah sure",
      "sure",
      "claro que sim",
    ])
      expect(one(yes, "yes_no"), yes).toBe(true);
    for (const no of ["nao", "não", "nem pensar", "não quero", "nope", "no thanks", "claro que não", "naaao"])
      expect(one(no, "yes_no"), no).toBe(false);
  });

  it("a no before a correction, a yes before more text; 'não sei' and 'não consigo' are neither", () => {
    expect(one("não, é a de março", "yes_no")).toBe(false);
    expect(one("sim, e quero a segunda via", "yes_no")).toBe(true);
    expect(one("não sei", "yes_no")).toBeUndefined();
    expect(one("nao consigo acessar", "yes_no")).toBeUndefined();
    expect(one("nao quero mais o servico", "yes_no")).toBeUndefined();
  });
});

describe("login code and cancel reason", () => {
  it("a standalone 6-digit code", () => {
    expect(one("o codigo é 482913", "login_code")).toBe("482913");
    expect(one("330918", "login_code")).toBe("330918");
    expect(one("R$ 100000", "login_code")).toBeUndefined();
  });

  it("price, quality, moving, competitor (competitor first)", () => {
    expect(one("ta muito caro", "cancel_reason")).toBe("price");
    expect(one("a internet é uma porcaria, vive caindo", "cancel_reason")).toBe("quality");
    expect(one("vou me mudar pra outra cidade", "cancel_reason")).toBe("moving");
    expect(one("a estrela net me ofereceu mais barato", "cancel_reason")).toBe("competitor");
    expect(one("it's too expensive", "cancel_reason")).toBe("price");
    expect(one("switching to another carrier", "cancel_reason")).toBe("competitor");
    expect(one("quero mudar de plano", "cancel_reason")).toBeUndefined();
  });
});

describe("the labelled entity set", () => {
  it("every message yields exactly its labelled entities", () => {
    const set = loadEntitySet();
    expect(set.items.length).toBeGreaterThanOrEqual(100);
    const misses = set.items
      .map((item) => ({
        text: item.text,
        expected: item.expect,
        got: found(item.text, { today: set.business_date, awaiting: item.awaiting }),
      }))
      .filter((r) => JSON.stringify(sorted(r.expected)) !== JSON.stringify(sorted(r.got)));
    expect(misses).toEqual([]);
  });
});

function sorted(o: Record<string, unknown>): [string, unknown][] {
  return Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
}
