import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type KnowledgeBaseDocument,
  listKnowledgeBaseDocuments,
} from "../../../data/knowledge-base/documents.ts";

const GOLDEN_FILE = new URL("./retrieval.jsonl", import.meta.url);

const goldenQuestionSchema = z.strictObject({
  id: z.string().regex(/^q\d{3}$/),
  question: z.string().min(8),
  lang: z.enum(["pt-BR", "en"]),
  style: z.enum(["formal", "colloquial", "misspelled"]),
  relevant_doc_ids: z.array(z.string().min(1)).min(1),
});
type GoldenQuestion = z.infer<typeof goldenQuestionSchema>;

/** Lower-cased words without accents, ignoring very short function words. */
const contentWords = (text: string) =>
  new Set(
    text
      .normalize("NFD")
      .replace(/\p{Diacritic}/gu, "")
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 3),
  );

let questions: GoldenQuestion[] = [];
let docs: KnowledgeBaseDocument[] = [];
beforeAll(async () => {
  const lines = (await readFile(GOLDEN_FILE, "utf8")).split("\n").filter((l) => l.trim() !== "");
  questions = lines.map((line, i) => {
    const parsed = goldenQuestionSchema.safeParse(JSON.parse(line));
    if (!parsed.success) throw new Error(`retrieval.jsonl line ${i + 1}: ${parsed.error.message}`);
    return parsed.data;
  });
  docs = await listKnowledgeBaseDocuments();
});

describe("retrieval golden set", () => {
  it("has at least 90 questions with sequential unique ids and no duplicate questions", () => {
    expect(questions.length).toBeGreaterThanOrEqual(90);
    expect(questions.map((q) => q.id)).toEqual(questions.map((_, i) => `q${String(i + 1).padStart(3, "0")}`));
    const normalized = questions.map((q) => q.question.toLowerCase().trim());
    expect(new Set(normalized).size).toBe(normalized.length);
  });

  it("is mostly informal pt-BR with roughly 15% English", () => {
    const en = questions.filter((q) => q.lang === "en").length / questions.length;
    expect(en).toBeGreaterThanOrEqual(0.1);
    expect(en).toBeLessThanOrEqual(0.2);
    const pt = questions.filter((q) => q.lang === "pt-BR");
    const informal = pt.filter((q) => q.style !== "formal").length;
    expect(informal / pt.length).toBeGreaterThan(0.6);
    expect(pt.filter((q) => q.style === "misspelled").length).toBeGreaterThanOrEqual(15);
    for (const q of questions.filter((x) => x.lang === "en")) {
      expect(q.question, q.id).not.toMatch(/[ãõçáéíóúâêô]/i);
    }
  });

  it("points only at existing documents and covers every document", () => {
    const ids = new Set(docs.map((d) => d.meta.id));
    const targeted = new Set<string>();
    for (const q of questions) {
      expect(new Set(q.relevant_doc_ids).size, q.id).toBe(q.relevant_doc_ids.length);
      for (const id of q.relevant_doc_ids) {
        expect(ids.has(id), `${q.id} -> ${id}`).toBe(true);
        targeted.add(id);
      }
    }
    expect([...ids].filter((id) => !targeted.has(id))).toEqual([]);
  });

  it("does not phrase questions by copying the target document's title", () => {
    const titleOf = new Map(docs.map((d) => [d.meta.id, d.meta.title]));
    for (const q of questions) {
      const title = contentWords(titleOf.get(q.relevant_doc_ids[0]) ?? "");
      const words = contentWords(q.question);
      const shared = [...words].filter((w) => title.has(w)).length;
      expect(shared / Math.max(1, title.size), `${q.id}: ${q.question}`).toBeLessThan(0.5);
    }
  });
});
