import { describe, expect, it } from "vitest";
import { createOutputPromisesGuardrail } from "./output-promises.ts";
import { factsOf, OFFERS_CALL, searchCall } from "./testing/facts.ts";

const g = createOutputPromisesGuardrail();
const none = factsOf([]);

describe("output promises guardrail", () => {
  it.each([
    ["Pode ficar tranquilo, vou isentar a multa.", "waiver"],
    ["A multa foi isentada.", "waiver"],
    ["Você não vai pagar multa nenhuma.", "waiver"],
    ["I will waive the fine.", "waiver"],
    ["The cancellation fee has been waived.", "waiver"],
    ["Vou estornar o valor na próxima fatura.", "refund"],
    ["Your refund is approved.", "refund"],
    ["Eu te garanto que vai dar tudo certo.", "guarantee"],
    ["Garanto que não terá reajuste este ano.", "no_increase"],
    ["Você não terá reajuste.", "no_increase"],
    ["Your price is locked for good.", "no_increase"],
    ["Esse desconto é vitalício.", "forever"],
    ["Vou te dar um desconto especial.", "discount"],
  ])("catches %s", (reply, kind) => {
    expect(g.check(reply, none)?.category).toBe(kind);
  });

  it.each([
    "Posso te oferecer uma destas condições (escolha uma, se quiser).",
    "Seus testes deram média de 40 Mbps: abaixo do mínimo garantido.",
    "Posso tirar a segunda via da fatura de março para você.",
    "Há multa proporcional de R$ 250,00, cobrada na última fatura.",
    "O cancelamento é processado em até 48 horas.",
    "Posso remover o débito automático pelo app.",
    "Com certeza! Vou verificar a sua fatura.",
  ])("leaves alone %s", (reply) => {
    expect(g.check(reply, none)).toBeNull();
  });

  it("lets a discount be offered when the offers tool returned offers this session", () => {
    expect(g.check("Posso aplicar um desconto: RET-DESC10.", factsOf([OFFERS_CALL]))).toBeNull();
  });

  it("treats a sentence quoted word for word from a retrieved policy as the rule, not a promise", () => {
    const quote =
      "Nesses casos, a multa é isenta e você não vai pagar multa na mudança para endereço sem cobertura.";
    const kb = factsOf(
      [searchCall([{ doc_id: "faq-fidelidade-multa", text: `Regras. ${quote} Outras regras.` }])],
      {
        templates: ["knowledge.extractive"],
      },
    );
    expect(g.check(`- ${quote}`, kb)).toBeNull();
    const generated = factsOf([searchCall([{ doc_id: "faq-fidelidade-multa", text: `Regras. ${quote}` }])]);
    expect(g.check("Você não vai pagar multa.", generated)?.category).toBe("waiver");
  });

  it("rewrites to a template that keeps helping", () => {
    const f = g.check("I will waive the fine.", none)!;
    expect(g.template("en", f)).toMatch(/I can check what is available/);
  });
});
