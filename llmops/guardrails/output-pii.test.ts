import { describe, expect, it } from "vitest";
import { createOutputPiiGuardrail } from "./output-pii.ts";
import { factsOf } from "./testing/facts.ts";

const g = createOutputPiiGuardrail();
const own = factsOf([
  {
    name: "get_customer_profile",
    result: {
      customer_id: "AUR-00000001",
      phone: "+55 21 99876-5432",
      email: "ana@exemplo.com.br",
      cpf_masked: "***.982.***-**",
    },
  },
]);

describe("output PII guardrail", () => {
  it("lets the session customer's own contact data (from tool results) through", () => {
    expect(g.check("Vou enviar para (21) 99876-5432 e ana@exemplo.com.br.", own)).toBeNull();
  });

  it("masks data the tools did not return: another person's CPF, phone or e-mail", () => {
    const reply =
      "O CPF 529.982.247-25 é de outra conta; o telefone (11) 98765-4321 e joao@x.com não são seus.";
    const f = g.check(reply, own);
    expect(f?.detail?.kinds).toEqual(["cpf", "phone", "email"]);
    expect(g.mask(reply, f!, own)).toBe(
      "O CPF ***.***.***-** é de outra conta; o telefone (**) *****-**** e ***@*** não são seus.",
    );
  });

  it("never shows a card number, even the customer's own (last four digits at most)", () => {
    const facts = factsOf([{ name: "x", result: { card: "4111 1111 1111 1111" } }]);
    const reply = "Seu cartão 4111 1111 1111 1111 está cadastrado.";
    expect(g.mask(reply, g.check(reply, facts)!, facts)).toBe(
      "Seu cartão **** **** **** 1111 está cadastrado.",
    );
  });

  it("leaves protocols, amounts and the operator's numbers alone", () => {
    expect(
      g.check("Protocolo AUR2025123100000597; fatura de R$ 119,99; ligue 0800-000-1234.", factsOf([])),
    ).toBeNull();
  });
});
