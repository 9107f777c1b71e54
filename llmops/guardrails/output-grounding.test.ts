import { describe, expect, it } from "vitest";
import { createOutputGroundingGuardrail } from "./output-grounding.ts";
import { factsOf, OFFERS_CALL, searchCall } from "./testing/facts.ts";

const g = createOutputGroundingGuardrail();

describe("output grounding guardrail", () => {
  const facts = factsOf([OFFERS_CALL]);

  it("accepts offers, prices and discounts the offers tool returned", () => {
    const reply =
      "Posso te oferecer RET-DESC10: 10% de desconto na mensalidade por 6 meses: a mensalidade passa de R$ 119,99 para R$ 107,99.";
    expect(g.check(reply, facts)).toBeNull();
  });

  it("flags an offer id the session's decision did not allow, even one the tool listed as not allowed", () => {
    const f = g.check("Apliquei RET-DESC30 na sua conta.", facts);
    expect(f?.detail?.kinds).toEqual(["offer"]);
    expect(g.check("Use o código RET-VIP100.", facts)?.category).toBe("offer");
  });

  it("flags prices and discount percentages no tool returned", () => {
    expect(g.check("Sua mensalidade fica R$ 59,90.", facts)?.detail?.kinds).toEqual(["price"]);
    expect(g.check("Consigo 50% de desconto para você.", facts)?.detail?.kinds).toEqual(["discount"]);
    expect(g.check("Your bill is R$ 1,234.56.", factsOf([]))?.category).toBe("price");
  });

  it("accepts amounts stated by a passage retrieved this turn", () => {
    const kb = factsOf([
      searchCall([
        { doc_id: "faq-fidelidade-multa", text: "Fibra 500 Mega: R$ 600,00 × 5 ÷ 12 = R$ 250,00." },
      ]),
    ]);
    expect(g.check("A multa seria de R$ 250,00.", kb)).toBeNull();
  });

  it("ignores percentages that are not discounts", () => {
    expect(g.check("A velocidade mínima garantida é 80% da contratada.", factsOf([]))).toBeNull();
  });

  it("masks by dropping the sentence that carries the ungrounded value", () => {
    const reply =
      "Entendo. Posso te oferecer RET-DESC10 por 6 meses. Também tenho RET-VIP100 com desconto total.";
    const f = g.check(reply, facts)!;
    expect(g.mask(reply, f, facts)).toBe("Entendo. Posso te oferecer RET-DESC10 por 6 meses.");
  });
});
