import { describe, expect, it } from "vitest";
import { createAbuseGuardrail, detectAbuse } from "./abuse.ts";

const g = createAbuseGuardrail();

describe("abuse guardrail", () => {
  it.each([
    ["seu robô inútil", "insult"],
    ["você é um idiota", "insult"],
    ["vcs são uns ladrões", "insult"],
    ["bando de ladrões, explica essa fatura", "insult"],
    ["palhaço!", "insult"],
    ["1d10ta", "insult"],
    ["stupid bot", "insult"],
    ["you're useless", "insult"],
    ["vai tomar no cu", "attack"],
    ["v a i  s e  f o d e r", "attack"],
    ["cala a boca", "attack"],
    ["fuck you", "attack"],
    ["vou quebrar a loja de vocês", "threat"],
    ["I'll kill you", "threat"],
    ["manda nudes", "harassment"],
  ])("catches %s", (text, cat) => {
    expect(detectAbuse(text)?.category).toBe(cat);
  });

  it.each([
    "essa internet é uma merda",
    "que porra de cobrança é essa?",
    "tá foda, caiu de novo",
    "caralho, a internet caiu de novo",
    "que merda",
    "que ridículo essa cobrança",
    "seu lixo de internet não funciona",
    "this service is shit",
    "fucking internet is down again",
    "vou quebrar esse roteador",
    "vou explodir de raiva com vocês",
    "o técnico foi um babaca",
    "quero quebrar o contrato",
  ])("leaves alone %s", (text) => {
    expect(detectAbuse(text)).toBeNull();
  });

  it("cuts the insult and keeps the request, so the assistant keeps helping", () => {
    const text = "seu robô inútil, minha internet caiu de novo";
    expect(g.mask(text, g.check(text)!)).toBe("minha internet caiu de novo");
    const en = "you're useless, my internet is down";
    expect(g.mask(en, g.check(en)!)).toBe("my internet is down");
  });

  it("leaves nothing when the message was only abuse (the polite template answers)", () => {
    const text = "você é um idiota";
    expect(g.mask(text, g.check(text)!)).toBe("");
    expect(g.template("pt-BR", g.check(text)!)).toMatch(/Entendo a sua frustração/);
  });
});
