/** A ranked list from one retriever: row indices best first. */
export type RankedList = ArrayLike<number>;

/**
 * Reciprocal rank fusion (Cormack et al. 2009): score(d) = Σ_lists w_l / (k + rank_d), rank from 1
 * (w_l = 1 unless weighted).
 * Rank-based, so BM25 scores and cosine similarities need no calibration against each other.
 */
export function reciprocalRankFusion(
  lists: RankedList[],
  k = 60,
  weights: number[] = [],
): { ids: number[]; scores: number[] } {
  const fused = new Map<number, number>();
  lists.forEach((list, l) => {
    const w = weights[l] ?? 1;
    for (let r = 0; r < list.length; r++) fused.set(list[r], (fused.get(list[r]) ?? 0) + w / (k + r + 1));
  });
  const ids = [...fused.keys()].sort((a, b) => fused.get(b)! - fused.get(a)! || a - b);
  return { ids, scores: ids.map((id) => fused.get(id)!) };
}

/**
 * Maximal marginal relevance (Carbonell & Goldstein 1998): greedily picks k items maximising
 * λ·relevance − (1−λ)·max similarity to already picked ones. Relevance is rescaled to [0,1]
 * so λ means the same for any score scale. λ = 1 keeps the input order. `scores` are the MMR values
 * that ordered the picks (non-increasing: a candidate's value only falls as picks accumulate);
 * `relevance` is each pick's input score.
 */
export function maximalMarginalRelevance(
  ids: number[],
  relevance: number[],
  similarity: (a: number, b: number) => number,
  k: number,
  lambda: number,
): { ids: number[]; scores: number[]; relevance: number[] } {
  const n = ids.length;
  if (n === 0) return { ids: [], scores: [], relevance: [] };
  const max = Math.max(...relevance);
  const min = Math.min(...relevance);
  // Non-negative scores (RRF, BM25) are scaled by the maximum; signed ones (cosine) min-max.
  const rel = relevance.map((r) =>
    min >= 0 ? (max > 0 ? r / max : 1) : max > min ? (r - min) / (max - min) : 1,
  );
  const picked: number[] = [];
  const values: number[] = [];
  const used = new Uint8Array(n);
  const maxSim = new Float64Array(n);
  while (picked.length < Math.min(k, n)) {
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const value = lambda * rel[i] - (picked.length ? (1 - lambda) * maxSim[i] : 0);
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    used[best] = 1;
    picked.push(best);
    values.push(bestValue);
    for (let i = 0; i < n; i++) if (!used[i]) maxSim[i] = Math.max(maxSim[i], similarity(ids[i], ids[best]));
  }
  return { ids: picked.map((i) => ids[i]), scores: values, relevance: picked.map((i) => relevance[i]) };
}
