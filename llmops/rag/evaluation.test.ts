import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import { ingestBuiltinKnowledgeBase, openWorkspaceIndex, type RagIndex } from "./api.ts";
import {
  checkThresholds,
  configuredGoldenSets,
  evaluateRetrievalSuite,
  loadGoldenSet,
  questionSlices,
  retrievalSearchOptions,
  scoreRanking,
} from "./evaluation.ts";
import { tempDir } from "./test-helpers.ts";

describe("scoreRanking", () => {
  it("computes answer recall, doc recall, reciprocal rank and nDCG", () => {
    const s = scoreRanking(["x", "a", "a", "y", "b", "z"], ["a", "b", "c"]);
    expect(s.recall_at_1).toBe(0);
    expect(s.recall_at_5).toBe(1);
    expect(s.doc_recall_at_5).toBeCloseTo(2 / 3, 10);
    expect(s.reciprocal_rank).toBe(0.5);
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(6);
    const ideal = 1 + 1 / Math.log2(3) + 1 / Math.log2(4);
    expect(s.ndcg_at_10).toBeCloseTo(dcg / ideal, 10);
    expect(scoreRanking(["q"], ["a"])).toMatchObject({ recall_at_5: 0, reciprocal_rank: 0, ndcg_at_10: 0 });
  });

  it("flags metrics below the thresholds", () => {
    const m = {
      recall_at_1: 0.5,
      recall_at_5: 0.8,
      doc_recall_at_5: 0.7,
      mrr: 0.9,
      ndcg_at_10: 0.8,
      questions: 10,
    };
    expect(checkThresholds(m, { minRecallAt5: 0.9, minMrr: 0.85 })).toEqual([
      "hybrid recall@5 0.8 < rag.eval.minRecallAt5 0.9",
    ]);
  });
});

describe("questionSlices", () => {
  it("puts a question in its language, style and id-parity half", () => {
    const q = { question: "q", relevant_doc_ids: ["d"] };
    expect(questionSlices({ ...q, id: "q007", lang: "en", style: "formal" })).toEqual([
      "lang:en",
      "style:formal",
      "half:odd",
    ]);
    expect(questionSlices({ ...q, id: "q010", lang: "pt-BR", style: "misspelled" })).toContain("half:even");
    expect(questionSlices({ ...q, id: "extra", lang: "pt-BR", style: "colloquial" })).toHaveLength(2);
  });
});

describe("loadGoldenSet", () => {
  it("names the file and line of an invalid entry", () => {
    const file = join(tempDir(), "golden.jsonl");
    writeFileSync(
      file,
      '{"id":"a","question":"q","lang":"pt-BR","style":"formal","relevant_doc_ids":["d"]}\n{"id":"b"}\n',
    );
    expect(() => loadGoldenSet(file)).toThrow(/golden\.jsonl:2: question/);
    writeFileSync(file, "not json\n");
    expect(() => loadGoldenSet(file)).toThrow(/golden\.jsonl:1: not valid JSON/);
  });
});

describe("retrieval quality on the built-in knowledge base", () => {
  const config = configSchema.parse({});
  let index: RagIndex;
  const search = (q: string, opts: Record<string, unknown> = {}) =>
    index.search(q, { ...retrievalSearchOptions(config.rag.retrieval), k: 5, ...opts });

  beforeAll(async () => {
    const app = contextFromConfig(config, join(tempDir(), ".telco"));
    const report = await ingestBuiltinKnowledgeBase(app);
    expect(report.skipped).toEqual([]);
    expect(report.documents.total).toBeGreaterThanOrEqual(40);
    index = await openWorkspaceIndex(app);
    expect(index.manifest.documents.some((d) => d.format === "pdf")).toBe(true);
  }, 180_000);

  it("meets the configured hybrid thresholds on both golden sets", async () => {
    const sets = configuredGoldenSets(config.rag.eval, join(import.meta.dirname, "..", ".."));
    expect(sets.map((s) => s.name)).toEqual(["first", "colloquial"]);
    const report = await evaluateRetrievalSuite(index, sets, retrievalSearchOptions(config.rag.retrieval));
    for (const set of report.sets)
      process.stderr.write(`retrieval eval ${set.name} ${JSON.stringify(set.metrics.hybrid)}\n`);
    expect(report.failures).toEqual([]);
    for (const set of report.sets) {
      expect(set.metrics.hybrid.questions).toBeGreaterThanOrEqual(100);
      // Fusion must not be worse than its best single retriever at recall@5.
      expect(set.metrics.hybrid.recall_at_5, set.name).toBeGreaterThanOrEqual(
        Math.max(set.metrics.bm25.recall_at_5, set.metrics.dense.recall_at_5),
      );
    }
  }, 180_000);

  it("fails a set whose thresholds are out of reach, naming the set and the config key", async () => {
    const sets = configuredGoldenSets(
      { ...config.rag.eval, colloquialMinMrr: 1, colloquialMinRecallAt5: 1 },
      join(import.meta.dirname, "..", ".."),
    );
    const report = await evaluateRetrievalSuite(
      index,
      [sets[1]],
      retrievalSearchOptions(config.rag.retrieval),
      ["hybrid"],
    );
    expect(report.failures.join("\n")).toMatch(
      /^colloquial: hybrid MRR 0\.\d+ < rag\.eval\.colloquialMinMrr 1$/m,
    );
  }, 60_000);

  it("answers the two misses of issue 14", async () => {
    const fine = await search("quanto custa a multa de fidelidade");
    expect(fine.results[0].doc_id).toBe("faq-fidelidade-multa");
    const signal = await search("meu celular ta sem sinal");
    expect(signal.results[0].doc_id).not.toBe("manual-repetidor-mesh");
    expect(["manual-chip-esim", "faq-prazos-reparo"]).toContain(signal.results[0].doc_id);
  });

  it("lets the dialogue's intent move an ambiguous question to the right product", async () => {
    const tv = await search("sem sinal", { intent: "tv_problem" });
    expect(tv.results[0].doc_id).toBe("manual-decodificador-tv");
    const mobile = await search("sem sinal", { intent: "mobile_problem" });
    expect(["manual-chip-esim", "manual-apn", "faq-prazos-reparo"]).toContain(mobile.results[0].doc_id);
    const unknown = await search("sem sinal", { intent: "greeting" });
    const none = await search("sem sinal");
    expect(unknown.results.map((r) => r.chunk_id)).toEqual(none.results.map((r) => r.chunk_id));
  });
});
