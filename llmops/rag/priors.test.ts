import { describe, expect, it } from "vitest";
import { hasIntentPrior, intentPrior, KNOWN_INTENTS, normaliseIntent } from "./priors.ts";

describe("intentPrior", () => {
  it("favours fibre manuals for an internet problem and disfavours mobile documents", () => {
    expect(intentPrior("internet_problem", "manual", "fibra")).toBe(1);
    expect(intentPrior("internet_problem", "policy", "fibra")).toBe(1);
    expect(intentPrior("internet_problem", "manual", "mobile")).toBe(-0.5);
    expect(intentPrior("internet_problem", "faq", "all")).toBe(0);
  });

  it("favours FAQ and policies over manuals for questions about the bill or fines", () => {
    expect(intentPrior("invoice_explanation", "faq", "all")).toBe(1);
    expect(intentPrior("invoice_explanation", "manual", "fibra")).toBe(-1);
    expect(intentPrior("knowledge_question", "faq", "all")).toBeGreaterThan(
      intentPrior("knowledge_question", "manual", "fibra"),
    );
  });

  it("accepts spelling variants and ignores unknown intents, prototype names included", () => {
    expect(normaliseIntent(" Internet-Problem ")).toBe("internet_problem");
    expect(intentPrior("Internet Problem", "manual", "fibra")).toBe(1);
    for (const unknown of ["greeting", "constructor", "toString", "__proto__", ""]) {
      expect(intentPrior(unknown, "manual", "fibra"), unknown).toBe(0);
      expect(hasIntentPrior(unknown), unknown).toBe(false);
    }
    expect(intentPrior(undefined, "manual", "fibra")).toBe(0);
  });

  it("covers the dialogue's flow names and keeps every prior within [-1, 1]", () => {
    for (const flow of ["internet_diagnosis", "invoice_explanation", "invoice_copy", "cancellation"])
      expect(hasIntentPrior(flow), flow).toBe(true);
    for (const intent of KNOWN_INTENTS)
      for (const type of ["faq", "manual", "policy", "catalog", "regulation"])
        for (const product of ["all", "fibra", "mobile", "tv", "combo"]) {
          const v = intentPrior(intent, type, product);
          expect(v).toBeGreaterThanOrEqual(-1);
          expect(v).toBeLessThanOrEqual(1);
        }
  });
});
