import type { QueryTerm } from "./bm25.ts";
import type { ProductHint } from "./lexicon.ts";

/**
 * Second stage after fusion: a few cheap, deterministic features per candidate chunk, added to its
 * fused score (scaled to the best candidate = 1). A stand-in for a cross-encoder, which would need
 * downloaded weights:
 * - `title`: IDF-weighted share of the question's terms found in the chunk's title and section
 *   heading — what the document says it is about ("multa de fidelidade" → "Fidelidade e cálculo da
 *   multa"), which a long chunk's body dilutes in BM25;
 * - `product`: −1 when the question points at a product ("celular" → mobile) and the chunk is about
 *   another one ("sem sinal no celular" is not about the Wi-Fi repeater), else 0;
 * - `intent`: the prior of the chunk's type and product under the dialogue's intent (priors.ts).
 */
export interface RerankWeights {
  title: number;
  product: number;
  intent: number;
}

export interface RerankFeatures {
  title: number;
  product: number;
  intent: number;
}

/** Reorders candidates by fused/max + Σ weight × feature; ties keep the fused order. */
export function rerankByFeatures(
  ids: number[],
  scores: number[],
  features: (row: number) => RerankFeatures,
  weights: RerankWeights,
): { ids: number[]; scores: number[] } {
  if (ids.length === 0) return { ids, scores };
  const top = Math.max(...scores);
  const scale = top > 0 ? top : 1;
  const rescored = ids.map((row, i) => {
    const f = features(row);
    const score =
      scores[i] / scale + weights.title * f.title + weights.product * f.product + weights.intent * f.intent;
    return { row, score, i };
  });
  rescored.sort((a, b) => b.score - a.score || a.i - b.i);
  return { ids: rescored.map((r) => r.row), scores: rescored.map((r) => r.score) };
}

/** The question's distinct terms (each at its first weight) × IDF, prepared once per query. */
export interface HeadingQuery {
  terms: string[];
  weights: number[];
  total: number;
}

/** Terms the index does not know and fuzzy stems carry no weight. */
export function headingQuery(terms: QueryTerm[], idf: (term: string) => number | undefined): HeadingQuery {
  const seen = new Set<string>();
  const out: HeadingQuery = { terms: [], weights: [], total: 0 };
  for (const t of terms) {
    if (t.fuzzy || seen.has(t.term)) continue;
    seen.add(t.term);
    const w = t.weight * (idf(t.term) ?? 0);
    if (w <= 0) continue;
    out.terms.push(t.term);
    out.weights.push(w);
    out.total += w;
  }
  return out;
}

/** IDF-weighted share of the question's terms present in `heading` (the analysed title + section terms). */
export function headingCoverage(q: HeadingQuery, heading: ReadonlySet<string>): number {
  if (q.total <= 0) return 0;
  let hit = 0;
  for (let i = 0; i < q.terms.length; i++) if (heading.has(q.terms[i])) hit += q.weights[i];
  return hit / q.total;
}

const PRODUCTS = new Set<string>(["mobile", "fibra", "tv"]);

/**
 * −1 when the question points at products and the chunk is about another one; else 0 (no hint, the
 * chunk's product is hinted, or the document covers all products or a combo). Only a penalty: a
 * bonus for the hinted product was tried and pushed product manuals above the general FAQ that
 * answers ("cancel my fiber internet" → the fibre diagnosis policy over the cancellation FAQ).
 */
export function productAffinity(product: string, hints: readonly ProductHint[]): number {
  if (hints.length === 0) return 0;
  if (!PRODUCTS.has(product) || (hints as readonly string[]).includes(product)) return 0;
  return -1;
}
