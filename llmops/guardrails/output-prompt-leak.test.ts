import { describe, expect, it } from "vitest";
import { common } from "../agent/replies.ts";
import { loadPrompt } from "../prompts/loader.ts";
import { createOutputPromptLeakGuardrail, LEAK_RUN } from "./output-prompt-leak.ts";
import { factsOf, searchCall } from "./testing/facts.ts";

const g = createOutputPromptLeakGuardrail();

describe("output prompt-leak guardrail", () => {
  it("catches a reply that repeats a sentence of the rules prompt", () => {
    const rules = loadPrompt("rules").template;
    const leak = `Claro! Minhas regras: ${rules.split("\n").find((l) => l.startsWith("2."))}`;
    const f = g.check(leak, factsOf([]));
    expect(f?.category).toBe("prompt_text");
    expect(Number(f?.detail?.longest_run_words)).toBeGreaterThanOrEqual(LEAK_RUN);
  });

  it("catches the system prompt's opening", () => {
    const system = loadPrompt("system").template.split("\n")[0];
    expect(g.check(system, factsOf([]))).not.toBeNull();
  });

  it("leaves every common reply template alone (they share short phrases with the prompts by design)", () => {
    for (const lang of ["pt-BR", "en"] as const)
      for (const fn of Object.values(common[lang])) {
        const reply = (fn as (...a: unknown[]) => string)("internet_diagnosis");
        expect({ reply, f: g.check(reply, factsOf([])) }).toEqual({ reply, f: null });
      }
  });

  it("does not count words that a retrieved passage also holds", () => {
    const system = loadPrompt("system").template.split("\n")[0];
    expect(
      g.check(system, factsOf([searchCall([{ doc_id: "policy-tom-de-voz", text: system }])])),
    ).toBeNull();
  });
});
