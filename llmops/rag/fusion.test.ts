import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Bm25Index } from "./bm25.ts";
import { DenseIndex } from "./dense.ts";
import { maximalMarginalRelevance, reciprocalRankFusion } from "./fusion.ts";
import { topK } from "./topk.ts";

describe("reciprocalRankFusion", () => {
  it("sums 1/(k+rank) over lists", () => {
    const { ids, scores } = reciprocalRankFusion(
      [
        [1, 2, 3],
        [3, 1],
      ],
      60,
    );
    expect(ids).toEqual([1, 3, 2]);
    expect(scores[0]).toBeCloseTo(1 / 61 + 1 / 62, 12);
    expect(scores[1]).toBeCloseTo(1 / 63 + 1 / 61, 12);
    expect(scores[2]).toBeCloseTo(1 / 62, 12);
  });

  it("rewards agreement over a single first place", () => {
    const { ids } = reciprocalRankFusion(
      [
        [7, 5],
        [8, 5],
      ],
      60,
    );
    expect(ids[0]).toBe(5);
  });
});

describe("maximalMarginalRelevance", () => {
  const sim = (a: number, b: number) => (Math.floor(a / 10) === Math.floor(b / 10) ? 1 : 0);

  it("keeps the input order when lambda = 1", () => {
    expect(maximalMarginalRelevance([10, 11, 20], [3, 2, 1], sim, 3, 1).ids).toEqual([10, 11, 20]);
  });

  it("promotes a different item over a near-duplicate", () => {
    // 10 and 11 are duplicates (same group); 20 is less relevant but new.
    expect(maximalMarginalRelevance([10, 11, 20], [1, 0.95, 0.8], sim, 2, 0.7).ids).toEqual([10, 20]);
  });

  it("returns the MMR values that ordered the picks (non-increasing) and each pick's relevance", () => {
    const r = maximalMarginalRelevance([10, 11, 20], [1, 0.95, 0.8], sim, 3, 0.7);
    expect(r.ids).toEqual([10, 20, 11]);
    expect(r.relevance).toEqual([1, 0.8, 0.95]);
    // 0.7·1; 0.7·0.8 − 0.3·0 ; 0.7·0.95 − 0.3·1
    expect(r.scores[0]).toBeCloseTo(0.7, 12);
    expect(r.scores[1]).toBeCloseTo(0.56, 12);
    expect(r.scores[2]).toBeCloseTo(0.365, 12);
  });

  it("never lets a later pick score above an earlier one", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true })), {
          minLength: 1,
          maxLength: 25,
        }),
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (items, k, lambda) => {
          const ids = items.map((_, i) => i * 7 + (items[i][0] % 7));
          const groupSim = (a: number, b: number) =>
            items[Math.floor(a / 7)][0] % 3 === items[Math.floor(b / 7)][0] % 3 ? 0.9 : 0.1;
          const r = maximalMarginalRelevance(
            ids,
            items.map((x) => x[1]),
            groupSim,
            k,
            lambda,
          );
          for (let i = 1; i < r.scores.length; i++)
            expect(r.scores[i]).toBeLessThanOrEqual(r.scores[i - 1] + 1e-12);
        },
      ),
    );
  });
});

describe("topK", () => {
  it("returns the k best indices in order, honouring the mask", () => {
    const scores = Float32Array.from([0.1, 0.9, 0.5, 0.7, 0.3]);
    expect(Array.from(topK(scores, 3))).toEqual([1, 3, 2]);
    expect(Array.from(topK(scores, 2, undefined, 5, Uint8Array.from([1, 0, 1, 1, 1])))).toEqual([3, 2]);
    expect(Array.from(topK(scores, 10))).toEqual([1, 3, 2, 4, 0]);
  });
});

describe("Bm25Index", () => {
  it("ranks by term rarity and frequency, length-normalised", () => {
    const idx = new Bm25Index([
      ["fatura", "segunda", "via"],
      ["fatura", "atraso", "multa", "fatura"],
      ["roteador", "senha"],
      ["fatura", "atraso"],
    ]);
    const r = idx.search(["multa"], 5);
    expect(Array.from(r.ids)).toEqual([1]);
    const f = idx.search(["fatura", "atraso"], 5);
    expect(Array.from(f.ids).slice(0, 2).sort()).toEqual([1, 3]);
    expect(Array.from(f.ids)).not.toContain(2);
    // Scores are reset between queries.
    expect(idx.search(["multa"], 5).scores[0]).toBeCloseTo(r.scores[0], 6);
  });

  it("weights query terms and matches typos only where allowed", () => {
    const idx = new Bm25Index([["cancelamento", "linha"], ["fatura", "atraso"], ["roteador"]]);
    const full = idx.search([{ term: "fatura", weight: 1, fuzzy: false }], 3);
    const half = idx.search([{ term: "fatura", weight: 0.5, fuzzy: false }], 3);
    expect(half.scores[0]).toBeCloseTo(full.scores[0] / 2, 6);
    // A weaker term no longer outranks a stronger one.
    const mixed = idx.search(
      [
        { term: "roteador", weight: 1, fuzzy: false },
        { term: "fatura", weight: 0.2, fuzzy: false },
      ],
      3,
    );
    expect(Array.from(mixed.ids)).toEqual([2, 1]);
    // "cancelameto" is one edit from "cancelamento": matched at 0.7 only when fuzzy.
    const typo = idx.search([{ term: "cancelameto", weight: 1, fuzzy: true }], 3);
    expect(Array.from(typo.ids)).toEqual([0]);
    expect(typo.scores[0]).toBeCloseTo(0.7 * idx.search(["cancelamento"], 1).scores[0], 6);
    expect(idx.search([{ term: "cancelameto", weight: 1, fuzzy: false }], 3).ids.length).toBe(0);
    // A term given twice counts once, at its first weight.
    const twice = idx.search(
      [
        { term: "fatura", weight: 1, fuzzy: false },
        { term: "fatura", weight: 0.5, fuzzy: false },
      ],
      3,
    );
    expect(twice.scores[0]).toBeCloseTo(full.scores[0], 6);
  });
});

describe("DenseIndex", () => {
  it("finds the nearest rows by inner product, two-stage on large indexes", () => {
    const dim = 128;
    const n = 30_000;
    const vectors = new Float32Array(n * dim);
    let seed = 7;
    const rand = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed / 2147483647) * 2 - 1;
    };
    for (let i = 0; i < vectors.length; i++) vectors[i] = rand();
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let x = 0; x < dim; x++) s += vectors[r * dim + x] ** 2;
      for (let x = 0; x < dim; x++) vectors[r * dim + x] /= Math.sqrt(s);
    }
    // Plant 5 near neighbours of row 1234 (small perturbations) among random rows.
    for (const [j, r] of [500, 9000, 17000, 25000, 29999].entries()) {
      let s = 0;
      for (let x = 0; x < dim; x++) {
        vectors[r * dim + x] = vectors[1234 * dim + x] + (j + 1) * 0.02 * rand();
        s += vectors[r * dim + x] ** 2;
      }
      for (let x = 0; x < dim; x++) vectors[r * dim + x] /= Math.sqrt(s);
    }
    const exact = new DenseIndex(vectors, dim);
    const twoStage = new DenseIndex(vectors, dim, { prefixDims: 64 });
    const query = vectors.slice(1234 * dim, 1235 * dim);
    expect(exact.search(query, 1).ids[0]).toBe(1234);
    expect(twoStage.search(query, 1).ids[0]).toBe(1234);
    expect(Array.from(exact.search(query, 6).ids)).toEqual([1234, 500, 9000, 17000, 25000, 29999]);
    expect(Array.from(twoStage.search(query, 6).ids)).toEqual(Array.from(exact.search(query, 6).ids));
  });
});
