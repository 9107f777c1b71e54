import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { listKnowledgeBaseDocuments } from "../../../data/knowledge-base/documents.ts";

const GOLDEN_FILE = new URL("./retrieval-colloquial.jsonl", import.meta.url);

const questionSchema = z.strictObject({
  id: z.string().regex(/^c\d{3}$/),
  question: z.string().min(1),
  lang: z.enum(["pt-BR", "en"]),
  style: z.enum(["formal", "colloquial", "misspelled"]),
  relevant_doc_ids: z.array(z.string().min(1)).min(1),
});
type Question = z.infer<typeof questionSchema>;

let questions: Question[] = [];
let docIds = new Set<string>();
beforeAll(async () => {
  const lines = (await readFile(GOLDEN_FILE, "utf8")).split("\n").filter((l) => l.trim() !== "");
  questions = lines.map((line, i) => {
    const parsed = questionSchema.safeParse(JSON.parse(line));
    if (!parsed.success) throw new Error(`retrieval-colloquial.jsonl line ${i + 1}: ${parsed.error.message}`);
    return parsed.data;
  });
  docIds = new Set((await listKnowledgeBaseDocuments()).map((d) => d.meta.id));
});

describe("colloquial retrieval golden set", () => {
  it("has at least 100 questions, sequential ids, no duplicates, two halves of similar size", () => {
    expect(questions.length).toBeGreaterThanOrEqual(100);
    expect(questions.map((q) => q.id)).toEqual(questions.map((_, i) => `c${String(i + 1).padStart(3, "0")}`));
    const normalized = questions.map((q) => q.question.toLowerCase().trim());
    expect(new Set(normalized).size).toBe(normalized.length);
    const odd = questions.filter((q) => Number(q.id.slice(1)) % 2 === 1).length;
    expect(Math.abs(odd - (questions.length - odd))).toBeLessThanOrEqual(1);
  });

  it("is mostly informal pt-BR, with English, misspellings, one-word and long questions", () => {
    const en = questions.filter((q) => q.lang === "en");
    expect(en.length / questions.length).toBeGreaterThanOrEqual(0.1);
    for (const q of en) expect(q.question, q.id).not.toMatch(/[ãõçáéíóúâêô]/i);
    const pt = questions.filter((q) => q.lang === "pt-BR");
    expect(pt.filter((q) => q.style !== "formal").length / pt.length).toBeGreaterThan(0.8);
    expect(pt.filter((q) => q.style === "misspelled").length).toBeGreaterThanOrEqual(15);
    const words = (q: Question) => q.question.split(/\s+/).length;
    expect(questions.filter((q) => words(q) <= 2).length).toBeGreaterThanOrEqual(10);
    expect(questions.filter((q) => words(q) >= 20).length).toBeGreaterThanOrEqual(2);
  });

  it("uses customers' words: net, conta for the bill, caiu, lenta", () => {
    const text = questions.map((q) => q.question.toLowerCase()).join("\n");
    for (const word of [/\bnet\b/, /\bconta\b/, /\bcaiu\b/, /\blenta\b/, /\bta\b/, /\bvcs?\b/])
      expect(text).toMatch(word);
  });

  it("holds the two misses issue 14 names", () => {
    const byQuestion = new Map(questions.map((q) => [q.question, q]));
    expect(byQuestion.get("quanto custa a multa de fidelidade")?.relevant_doc_ids[0]).toBe(
      "faq-fidelidade-multa",
    );
    expect(byQuestion.get("meu celular ta sem sinal")?.relevant_doc_ids).not.toContain(
      "manual-repetidor-mesh",
    );
  });

  it("points only at existing documents and covers every document", () => {
    const targeted = new Set<string>();
    for (const q of questions) {
      expect(new Set(q.relevant_doc_ids).size, q.id).toBe(q.relevant_doc_ids.length);
      for (const id of q.relevant_doc_ids) {
        expect(docIds.has(id), `${q.id} -> ${id}`).toBe(true);
        targeted.add(id);
      }
    }
    expect([...docIds].filter((id) => !targeted.has(id))).toEqual([]);
  });
});
