import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import { ingestBuiltinKnowledgeBase, openWorkspaceIndex } from "../rag/api.ts";
import { tempDir } from "../rag/test-helpers.ts";
import {
  checkThresholds,
  evaluateRetrieval,
  loadGoldenSet,
  questionSlices,
  scoreRanking,
} from "./retrieval.ts";

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
  it("meets the configured hybrid thresholds on the golden set", async () => {
    const config = configSchema.parse({});
    const app = contextFromConfig(config, join(tempDir(), ".telco"));
    const report = await ingestBuiltinKnowledgeBase(app);
    expect(report.skipped).toEqual([]);
    expect(report.documents.total).toBeGreaterThanOrEqual(40);
    const index = await openWorkspaceIndex(app);
    expect(index.manifest.documents.some((d) => d.format === "pdf")).toBe(true);
    const golden = loadGoldenSet(join(import.meta.dirname, "golden", "retrieval.jsonl"));
    const r = config.rag.retrieval;
    const result = await evaluateRetrieval(index, golden, ["bm25", "dense", "hybrid"], {
      candidates: r.candidates,
      rrfK: r.rrfK,
      denseWeight: r.denseWeight,
      latentWeight: r.latentWeight,
      documentWeight: r.documentWeight,
      expansionWeight: r.expansionWeight,
      mmrLambda: r.mmrLambda,
    });
    process.stderr.write(`retrieval eval ${JSON.stringify(result.metrics)}\n`);
    expect(checkThresholds(result.metrics.hybrid, config.rag.eval)).toEqual([]);
    // Fusion must not be worse than its best single retriever at recall@5.
    expect(result.metrics.hybrid.recall_at_5).toBeGreaterThanOrEqual(
      Math.max(result.metrics.bm25.recall_at_5, result.metrics.dense.recall_at_5),
    );
  }, 180_000);
});
