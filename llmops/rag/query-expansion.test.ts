import { describe, expect, it } from "vitest";
import { expandQuery } from "./query-expansion.ts";

describe("expandQuery", () => {
  it("spells out chat abbreviations in Portuguese questions", () => {
    const q = expandQuery("vc sabe pq a net ta lenta?");
    expect(q.language).toBe("pt");
    expect(q.added.split(" ")).toEqual(expect.arrayContaining(["você", "porque", "internet", "está"]));
    expect(q.embedText.startsWith("vc sabe pq a net ta lenta?")).toBe(true);
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
    expect(expandQuery("segunda via da fatura")).toEqual({
      language: "pt",
      added: "",
      related: "",
      embedText: "segunda via da fatura",
    });
  });
});
