import { describe, expect, it } from "vitest";
import { analyze, detectLanguage, foldAccents, restoreNasalEndings } from "./analyzer.ts";

describe("analyzer", () => {
  it("folds accents and lower-cases", () => {
    expect(foldAccents("Ligações À Vista")).toBe("Ligacoes A Vista");
    expect(analyze("FATURA")).toEqual(analyze("fatura"));
  });

  it("drops Portuguese and English stop words", () => {
    expect(analyze("como eu faço para a portabilidade")).toEqual(analyze("faço portabilidade"));
    expect(analyze("how do I activate the roaming", "en")).toEqual(analyze("activate roaming", "en"));
  });

  it("stems Portuguese inflections to one term", () => {
    const [cancelar] = analyze("cancelar");
    expect(analyze("cancelamento cancelei cancelado")).toEqual([cancelar, cancelar, cancelar]);
    expect(analyze("faturas")).toEqual(analyze("fatura"));
    expect(analyze("reembolsos")).toEqual(analyze("reembolso"));
  });

  it("matches queries typed without accents to accented text", () => {
    expect(analyze("ligacoes")).toEqual(analyze("ligações"));
    expect(analyze("ligacao")).toEqual(analyze("ligação"));
    expect(analyze("informacao")).toEqual(analyze("informações"));
    expect(analyze("cartao")).toEqual(analyze("cartões"));
    expect(restoreNasalEndings("promocoes")).toBe("promoção");
  });

  it("stems English with the English stemmer", () => {
    expect(analyze("charges", "en")).toEqual(analyze("charging", "en"));
    expect(analyze("refunds", "en")).toEqual(analyze("refund", "en"));
  });

  it("guesses the language of a query", () => {
    expect(detectLanguage("how can I cancel my plan")).toBe("en");
    expect(detectLanguage("como cancelo meu plano")).toBe("pt");
    expect(detectLanguage("portabilidade")).toBe("pt");
  });

  it("keeps numbers and short codes", () => {
    expect(analyze("plano 5G de 100 GB")).toEqual(expect.arrayContaining(["5g", "100", "gb"]));
  });
});
