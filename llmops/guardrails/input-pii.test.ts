import { describe, expect, it } from "vitest";
import { createInputPiiGuardrail, maskForLogs } from "./input-pii.ts";

const g = createInputPiiGuardrail({ maskBeforeAssistant: ["card", "cvv", "card_expiry"] });

describe("input PII guardrail", () => {
  it("masks a card, its expiry and CVV before the assistant, and says which kinds (never the values)", () => {
    const text = "meu cartão é 4111 1111 1111 1111, validade 12/28, cvv 123. pode cadastrar?";
    const f = g.check(text);
    expect(f?.detail?.kinds).toEqual(["card", "card_expiry", "cvv"]);
    expect(f?.reason).not.toMatch(/4111|123/);
    const masked = g.mask(text, f!);
    expect(masked).toBe("meu cartão é **** **** **** 1111, validade **/**, cvv ***. pode cadastrar?");
  });

  it("finds a CVV written a few words after its cue", () => {
    expect(g.check("The security code on my card is 987, note it down")?.detail?.kinds).toEqual(["cvv"]);
    expect(g.check("o código de segurança do cartão é 987")?.detail?.kinds).toEqual(["cvv"]);
  });

  it("lets the customer's CPF, phone and CEP reach the assistant (identity and tools need them)", () => {
    for (const t of [
      "meu CPF é 529.982.247-25",
      "meu celular é (21) 99876-5432",
      "CEP 01310-100, tem fibra?",
    ])
      expect(g.check(t)).toBeNull();
  });

  it("passes card talk with no card data untouched", () => {
    for (const t of [
      "tem taxa pra pagar com cartão de crédito?",
      "débito automático no cartão tem desconto?",
      "Is there a fee for paying by card?",
    ])
      expect(g.check(t)).toBeNull();
  });

  it("masks every kind for logs, traces and metrics", () => {
    expect(maskForLogs("CPF 529.982.247-25, cel (21) 99876-5432, joao@x.com.br")).toBe(
      "CPF ***.***.***-**, cel (**) *****-****, ***@***",
    );
  });

  it("is configurable: the kinds masked before the assistant come from config", () => {
    const strict = createInputPiiGuardrail({ maskBeforeAssistant: ["email"] });
    expect(strict.check("meu email é joao@x.com.br")?.detail?.kinds).toEqual(["email"]);
    expect(strict.check("cartão 4111 1111 1111 1111")).toBeNull();
  });
});

describe("the log view and the check share one detection", () => {
  it("masks for logs exactly as maskPii does, whatever the guardrail checked before", async () => {
    const { maskPii } = await import("../../platform/pii/index.ts");
    const texts = [
      "meu cpf é 123.456.789-09 e o telefone (11) 98765-4321",
      "cartão 4111 1111 1111 1111 validade 12/28 cvv 123",
      "email joao.silva@example.com cep 01310-100",
      "sem dado pessoal nenhum aqui",
    ];
    for (const t of texts) {
      expect(maskForLogs(t)).toBe(maskPii(t));
      const f = g.check(t);
      expect(maskForLogs(t)).toBe(maskPii(t));
      if (f) expect(g.mask(t, f)).not.toContain("4111 1111 1111 1111");
    }
    expect(maskForLogs(texts[0])).not.toContain("98765-4321");
  });
});
