import { describe, expect, it } from "vitest";
import { expandQuery } from "./query-expansion.ts";

describe("expandQuery", () => {
  it("spells out chat abbreviations in Portuguese questions", () => {
    const q = expandQuery("vc sabe pq a net ta lenta?");
    expect(q.language).toBe("pt");
    expect(q.added.split(" ")).toEqual(expect.arrayContaining(["você", "porque", "internet", "está"]));
    expect(q.text).toBe("vc sabe pq a net ta lenta");
    expect(q.embedText.startsWith(q.text)).toBe(true);
  });

  it("adds Portuguese glossary words to English questions only", () => {
    const en = expandQuery("How do I cancel my plan and get a refund?");
    expect(en.language).toBe("en");
    expect(en.added).toContain("cancelar");
    expect(en.added).toContain("reembolso");
    expect(en.added).toContain("plano");
    // "plano" in a Portuguese question is not "translated" again.
    expect(expandQuery("quero cancelar o plano").added).toBe("");
  });

  it("keeps telecom synonyms apart from what the question literally says", () => {
    const q = expandQuery("a net ta caindo e o modem pisca");
    expect(q.added.split(" ")).toEqual(["internet", "está"]);
    expect(q.related).toContain("instabilidade");
    expect(q.related).toContain("roteador");
    expect(q.added).not.toContain("roteador");
    // The dense retrievers see everything.
    expect(q.embedText).toContain("internet");
    expect(q.embedText).toContain("instabilidade");
  });

  it("leaves a plain question unchanged", () => {
    expect(expandQuery("como funciona o plano controle")).toEqual({
      language: "pt",
      text: "como funciona o plano controle",
      products: [],
      added: "",
      related: "",
      embedText: "como funciona o plano controle",
    });
  });

  it("reads colloquial Portuguese: the bill, question frames, expressions and products", () => {
    const bill = expandQuery("a conta veio alta");
    expect(bill.text).toBe("a fatura veio alta");
    expect(bill.related).toContain("reajuste");
    expect(bill.related.split(" ")).toContain("conta");
    const price = expandQuery("quanto custa a multa de fidelidade?");
    // "quanto custa" says a price is wanted; it is not what the question is about.
    expect(price.text).toBe("a multa de fidelidade");
    expect(price.related).toContain("valor");
    const phone = expandQuery("meu celular ta sem sinal");
    expect(phone.products).toEqual(["mobile"]);
    expect(phone.related).toContain("serviço");
    expect(phone.embedText).toContain("cobertura");
  });

  it("gives English questions product hints and no Portuguese rewriting", () => {
    const q = expandQuery("my phone has no signal");
    expect(q.language).toBe("en");
    expect(q.text).toBe("my phone has no signal");
    expect(q.products).toEqual(["mobile"]);
    expect(q.added).toContain("sinal");
  });
});
