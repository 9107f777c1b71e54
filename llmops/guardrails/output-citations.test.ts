import { describe, expect, it } from "vitest";
import { createOutputCitationsGuardrail } from "./output-citations.ts";
import { factsOf, searchCall } from "./testing/facts.ts";

const g = createOutputCitationsGuardrail();
const passage = {
  doc_id: "faq-segunda-via",
  title: "Como emitir a segunda via da fatura",
  section: "Canais disponíveis",
  text: "| Canal | Como fazer | Prazo | | App Aurora | Menu **Faturas** > escolha o mês > **Baixar PDF** | Imediato | A segunda via é [gratuita](https://x) e pode ser emitida a qualquer momento.",
};
const citation = {
  doc_id: passage.doc_id,
  title: passage.title,
  section: passage.section,
  source: "faq-segunda-via.md",
};
const extractive = (citations = [citation], passages = [passage]) =>
  factsOf([searchCall(passages)], { citations, templates: ["knowledge.extractive"] });

const answer = (lines: string[]) =>
  `Veja o que diz a nossa documentação:\n${lines.map((l) => `- ${l}`).join("\n")}\n(Fonte: ${passage.title} › ${passage.section})`;

describe("output citations guardrail", () => {
  it("accepts quoted lines found in the cited passage (table rows and links as the answer writes them)", () => {
    const reply = answer([
      "App Aurora: Menu Faturas > escolha o mês > Baixar PDF; Imediato",
      "A segunda via é gratuita e pode ser emitida a qualquer momento.",
    ]);
    expect(g.check(reply, extractive())).toBeNull();
  });

  it("flags a quote the cited passage does not hold, and masks just that line", () => {
    const reply = answer([
      "A segunda via é gratuita e pode ser emitida a qualquer momento.",
      "A multa de fidelidade foi isentada em 2026.",
    ]);
    const facts = extractive();
    const f = g.check(reply, facts);
    expect(f?.category).toBe("unsupported_quote");
    const masked = g.mask(reply, f!, facts);
    expect(masked).toContain("qualquer momento");
    expect(masked).not.toContain("isentada");
  });

  it("flags a citation of a document that was not retrieved", () => {
    const other = { ...citation, doc_id: "policy-inventada" };
    const f = g.check(
      answer(["A segunda via é gratuita e pode ser emitida a qualquer momento."]),
      extractive([citation, other]),
    );
    expect(f?.category).toBe("unknown_document");
    expect(g.mask("x", f!, extractive())).toBe("");
  });

  it("checks [doc-id] references and quotations of generated replies", () => {
    const facts = factsOf([searchCall([passage])], { citations: [citation] });
    expect(g.check("A segunda via é gratuita [faq-segunda-via].", facts)).toBeNull();
    expect(g.check("Veja [faq-inexistente] para detalhes.", facts)?.category).toBe("unknown_document");
    expect(
      g.check('Diz o documento: "a segunda via custa R$ 10,00 por emissão" [faq-segunda-via].', facts)
        ?.category,
    ).toBe("unsupported_quote");
  });

  it("has nothing to check in a reply without citations", () => {
    expect(g.check("Sua fatura vence dia 10.", factsOf([]))).toBeNull();
  });
});
