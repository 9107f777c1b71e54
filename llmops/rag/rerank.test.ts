import { describe, expect, it } from "vitest";
import { headingCoverage, headingQuery, productAffinity, rerankByFeatures } from "./rerank.ts";

describe("rerankByFeatures", () => {
  const none = { title: 0, product: 0, intent: 0 };

  it("keeps the fused order when no feature fires", () => {
    const r = rerankByFeatures([7, 3, 9], [0.05, 0.04, 0.04], () => none, {
      title: 1,
      product: 1,
      intent: 1,
    });
    expect(r.ids).toEqual([7, 3, 9]);
    expect(r.scores[0]).toBe(1);
    expect(r.scores[1]).toBeCloseTo(0.8, 12);
    expect(r.scores[2]).toBe(r.scores[1]);
  });

  it("lets a heading match lift a candidate over a slightly better fused one, scores non-increasing", () => {
    const features = (row: number) => (row === 3 ? { ...none, title: 1 } : none);
    const r = rerankByFeatures([7, 3, 9], [0.05, 0.048, 0.03], features, {
      title: 0.1,
      product: 0,
      intent: 0,
    });
    expect(r.ids).toEqual([3, 7, 9]);
    expect(r.scores[0]).toBeCloseTo(0.96 + 0.1, 12);
    for (let i = 1; i < r.scores.length; i++) expect(r.scores[i]).toBeLessThanOrEqual(r.scores[i - 1]);
  });

  it("moves a candidate about another product down by the product weight", () => {
    const features = (row: number) => (row === 7 ? { ...none, product: -1 } : none);
    const r = rerankByFeatures([7, 3], [0.05, 0.049], features, { title: 0, product: 0.05, intent: 0 });
    expect(r.ids).toEqual([3, 7]);
  });
});

describe("headingCoverage", () => {
  const idf = (t: string) => ({ mult: 2, fidel: 3, cust: 1 })[t];

  it("is the IDF-weighted share of distinct query terms in the heading", () => {
    const terms = [
      { term: "cust", weight: 1, fuzzy: false },
      { term: "mult", weight: 1, fuzzy: false },
      { term: "fidel", weight: 1, fuzzy: false },
      { term: "mult", weight: 0.5, fuzzy: false },
    ];
    const q = headingQuery(terms, idf);
    expect(q.terms).toEqual(["cust", "mult", "fidel"]);
    expect(headingCoverage(q, new Set(["fidel", "mult", "calcul"]))).toBeCloseTo(5 / 6, 12);
    expect(headingCoverage(q, new Set(["outra"]))).toBe(0);
  });

  it("ignores terms the index does not know and fuzzy stems", () => {
    const terms = [
      { term: "xyz", weight: 1, fuzzy: false },
      { term: "mul", weight: 1, fuzzy: true },
    ];
    expect(headingCoverage(headingQuery(terms, idf), new Set(["xyz", "mul"]))).toBe(0);
  });
});

describe("productAffinity", () => {
  it("penalises only a chunk about another product than the hinted ones", () => {
    expect(productAffinity("fibra", ["mobile"])).toBe(-1);
    expect(productAffinity("mobile", ["mobile"])).toBe(0);
    expect(productAffinity("all", ["mobile"])).toBe(0);
    expect(productAffinity("combo", ["tv"])).toBe(0);
    expect(productAffinity("fibra", [])).toBe(0);
    expect(productAffinity("tv", ["mobile", "fibra"])).toBe(-1);
  });
});
