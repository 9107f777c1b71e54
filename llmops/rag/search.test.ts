import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze } from "./analyzer.ts";
import { LocalHashEmbedder } from "./embeddings/local.ts";
import { parseFilter } from "./filters.ts";
import { ingestDocuments } from "./ingest.ts";
import { expandQuery } from "./query-expansion.ts";
import { openIndex, type RagIndex } from "./search.ts";
import { CountingEmbedder, tempDir } from "./test-helpers.ts";

const fixtures = join(import.meta.dirname, "fixtures", "kb");
let index: RagIndex;
let ragRoot: string;

beforeAll(async () => {
  ragRoot = join(tempDir(), "rag");
  const embedder = new CountingEmbedder();
  await ingestDocuments({
    ragRoot,
    paths: [fixtures],
    embedder,
    chunker: { maxTokens: 120, overlapTokens: 10 },
  });
  index = await openIndex(ragRoot, "default", embedder);
});

describe("RagIndex.search", () => {
  it("answers in every mode with the index version and citations", async () => {
    for (const mode of ["hybrid", "bm25", "dense"] as const) {
      const r = await index.search("como cancelar a portabilidade do número", { mode, k: 3 });
      expect(r.index_version).toBe(index.version);
      expect(r.results[0].doc_id).toBe("faq-portabilidade");
      expect(Object.keys(r.results[0]).sort()).toEqual([
        "chunk_id",
        "doc_id",
        "fused_score",
        "score",
        "section",
        "source",
        "text",
        "title",
      ]);
      expect(r.results[0].source).toBe(join(fixtures, "faq", "portabilidade.md"));
    }
  });

  it("finds accent-less, misspelled and English questions", async () => {
    expect((await index.search("multa por atrazo na fatura")).results[0].doc_id).toBe("faq-fatura");
    expect((await index.search("senha do wifi")).results[0].doc_id).toBe("manual-roteador");
    expect((await index.search("how much do roaming packages cost")).results[0].doc_id).toBe(
      "policy-roaming-en",
    );
  });

  it("applies type, product and date filters", async () => {
    const q = "portabilidade fatura roteador roaming atendimento";
    const byType = await index.search(q, { k: 10, filters: [parseFilter("type=manual")] });
    expect(new Set(byType.results.map((r) => r.doc_id))).toEqual(new Set(["manual-roteador"]));
    const byProduct = await index.search(q, { k: 10, filters: [parseFilter("product=movel")] });
    expect(new Set(byProduct.results.map((r) => r.doc_id))).toEqual(
      new Set(["faq-portabilidade", "policy-roaming-en"]),
    );
    const recent = await index.search(q, { k: 10, filters: [parseFilter("date>=2025-03-01")] });
    expect(new Set(recent.results.map((r) => r.doc_id))).toEqual(
      new Set(["faq-portabilidade", "manual-roteador"]),
    );
    const notFaq = await index.search(q, {
      k: 10,
      filters: [parseFilter("type!=faq"), parseFilter("type!=policy")],
    });
    expect(notFaq.results.every((r) => r.doc_id === "manual-roteador" || r.doc_id === "atendimento")).toBe(
      true,
    );
    const none = await index.search(q, { filters: [parseFilter("product=tv")] });
    expect(none.results).toEqual([]);
  });

  it("rejects malformed filters naming the problem", () => {
    expect(() => parseFilter("color=red")).toThrow(/unknown field "color"/);
    expect(() => parseFilter("date>=ontem")).toThrow(/YYYY-MM-DD/);
    expect(() => parseFilter("type>faq")).toThrow(/only = and !=/);
    expect(() => parseFilter("nonsense")).toThrow(/FIELD=VALUE/);
  });

  it("diversifies with MMR and can rerank by term coverage", async () => {
    const plain = await index.search("portabilidade", { k: 3, mmrLambda: 1 });
    const diverse = await index.search("portabilidade", { k: 3, mmrLambda: 0.3 });
    expect(new Set(diverse.results.map((r) => r.chunk_id)).size).toBe(3);
    expect(diverse.results[0].chunk_id).toBe(plain.results[0].chunk_id);
    const reranked = await index.search("pagamento atraso multa fatura", { k: 3, rerank: "coverage" });
    expect(reranked.results[0].section).toBe("Pagamento em atraso");
  });

  it("returns results in the order of the score it reports, whatever reordered them", async () => {
    for (const opts of [
      { mode: "hybrid" as const, mmrLambda: 0.7 },
      { mode: "hybrid" as const, mmrLambda: 0.3, rerank: "features" as const },
      { mode: "hybrid" as const, rerank: "coverage" as const },
      { mode: "bm25" as const, mmrLambda: 0.5 },
      { mode: "dense" as const },
    ]) {
      const r = await index.search("portabilidade fatura roteador atraso", { k: 5, ...opts });
      expect(r.results.length, JSON.stringify(opts)).toBe(5);
      for (let i = 1; i < r.results.length; i++)
        expect(r.results[i].score, JSON.stringify(opts)).toBeLessThanOrEqual(r.results[i - 1].score);
    }
    // MMR reorders by its own value; the retrieval stage's score is kept beside it.
    const mmr = await index.search("portabilidade", { k: 3, mmrLambda: 0.3 });
    expect(mmr.results[0].score).toBeCloseTo(0.3, 6);
    expect(mmr.results.every((x) => x.fused_score > 0 && x.fused_score !== x.score)).toBe(true);
  });

  it("features rerank: a question about the phone does not get the router manual first", async () => {
    const q = "luz vermelha no celular";
    const off = await index.search(q, { k: 3, rerank: "features", productWeight: 0 });
    expect(off.results[0].doc_id).toBe("manual-roteador");
    const on = await index.search(q, { k: 3, rerank: "features", productWeight: 1 });
    expect(on.results[0].doc_id).not.toBe("manual-roteador");
    // The intent prior moves it back for an internet problem.
    const internet = await index.search(q, {
      k: 3,
      rerank: "features",
      productWeight: 1,
      intent: "internet_problem",
      intentWeight: 2,
    });
    expect(internet.results[0].doc_id).toBe("manual-roteador");
    const doubtful = await index.search(q, {
      k: 3,
      rerank: "features",
      productWeight: 1,
      intent: "internet_problem",
      intentWeight: 2,
      intentConfidence: 0,
    });
    expect(doubtful.results[0].doc_id).toBe(on.results[0].doc_id);
  });

  it("weights expansion words and resolves misspellings through the corpus's own words", () => {
    const [aplicativo] = analyze("aplicativo");
    const pt = index.queryTerms("emite no aplicatvo?", expandQuery("emite no aplicatvo?"), 0.5);
    // "aplicatvo" stems to something the index lacks; its one-edit neighbour word gives the term.
    expect(pt).toContainEqual({ term: aplicativo, weight: 0.7, fuzzy: false });
    const wifi = index.queryTerms("senha do wifi", expandQuery("senha do wifi"), 0.5);
    const [senha] = analyze("senha");
    expect(wifi[0]).toEqual({ term: senha, weight: 1, fuzzy: false }); // the question's own word
    for (const term of analyze("wi-fi")) expect(wifi).toContainEqual({ term, weight: 0.5, fuzzy: false });
  });

  it("matches the words of an English question exactly, never as Portuguese typos", () => {
    const q = "how do I activate roamnig";
    const terms = index.queryTerms(q, expandQuery(q), 0.5);
    const own = terms.filter((t) => t.weight === 1);
    expect(own.map((t) => t.term)).toEqual(analyze("activate roamnig", "en"));
    expect(own.every((t) => !t.fuzzy)).toBe(true);
  });

  it("refuses an embedder whose vector space differs from the index", async () => {
    await expect(openIndex(ragRoot, "default", new LocalHashEmbedder(128))).rejects.toThrow(
      /was embedded with local:hash-ngram-v1:64/,
    );
  });
});
