import { ValidationError } from "../../platform/errors.ts";
import { orderByScoreDesc } from "./metrics.ts";

/**
 * Expected-profit curve of a retention campaign. Assumptions (documented in
 * docs/mlops/training.md): every targeted customer costs `offerCostBrl` (the discount and the
 * contact, paid whether or not they would have churned); a targeted customer who would have
 * churned stays with probability `acceptanceRate`, keeping `monthlyMarginBrl × horizonMonths`
 * of margin. Untargeted customers cost and earn nothing extra.
 */
export interface ProfitAssumptions {
  offerCostBrl: number;
  monthlyMarginBrl: number;
  horizonMonths: number;
  acceptanceRate: number;
}

export interface ProfitPoint {
  threshold: number;
  targeted: number;
  targeted_fraction: number;
  /** Realised profit on the labelled rows (churners targeted × acceptance × value − cost). */
  profit_brl: number;
  /** Profit the model's own probabilities expect (Σ p·acceptance·value − cost over targeted rows). */
  expected_profit_brl: number;
}

export interface ProfitCurve {
  assumptions: ProfitAssumptions;
  /** Value of retaining one churner: monthly margin × horizon. */
  value_per_save_brl: number;
  /** Probability above which targeting pays off on average: cost / (acceptance × value). */
  break_even_probability: number;
  points: ProfitPoint[];
}

function validate(a: ProfitAssumptions): void {
  for (const [k, v] of Object.entries(a)) {
    if (!Number.isFinite(v) || v < 0)
      throw new ValidationError(`training.profit.${k}`, `must be ≥ 0, got ${v}`);
  }
  if (a.acceptanceRate > 1) {
    throw new ValidationError("training.profit.acceptanceRate", `must be ≤ 1, got ${a.acceptanceRate}`);
  }
}

/**
 * Profit when targeting every row with p ≥ threshold, at each distinct score (plus "target
 * nobody"), highest threshold first. At most `maxPoints` points are kept, evenly by rank, always
 * including the best one.
 */
export function profitCurve(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  assumptions: ProfitAssumptions,
  maxPoints = 200,
): ProfitCurve {
  validate(assumptions);
  if (y.length !== p.length) throw new ValidationError("scores", "labels and scores differ in length");
  const value = assumptions.monthlyMarginBrl * assumptions.horizonMonths;
  const gain = assumptions.acceptanceRate * value;
  const cost = assumptions.offerCostBrl;
  const order = orderByScoreDesc(p);
  const n = y.length;
  const all: ProfitPoint[] = [
    {
      threshold: Number.POSITIVE_INFINITY,
      targeted: 0,
      targeted_fraction: 0,
      profit_brl: 0,
      expected_profit_brl: 0,
    },
  ];
  let profit = 0;
  let expected = 0;
  let k = 0;
  while (k < n) {
    const s = p[order[k]];
    while (k < n && p[order[k]] === s) {
      const i = order[k];
      profit += (y[i] === 1 ? gain : 0) - cost;
      expected += p[i] * gain - cost;
      k++;
    }
    all.push({
      threshold: s,
      targeted: k,
      targeted_fraction: k / n,
      profit_brl: profit,
      expected_profit_brl: expected,
    });
  }
  let bestIndex = 0;
  for (let j = 1; j < all.length; j++) if (all[j].profit_brl > all[bestIndex].profit_brl) bestIndex = j;
  const stride = Math.max(1, Math.ceil(all.length / maxPoints));
  const points = all.filter((_, j) => j % stride === 0 || j === bestIndex || j === all.length - 1);
  return {
    assumptions,
    value_per_save_brl: value,
    break_even_probability: gain > 0 ? Math.min(1, cost / gain) : 1,
    points,
  };
}

/** The point of a curve with the highest realised profit (ties: the higher threshold, i.e. fewer offers). */
export function bestThreshold(curve: ProfitCurve): ProfitPoint {
  let best = curve.points[0];
  for (const pt of curve.points) if (pt.profit_brl > best.profit_brl) best = pt;
  return best;
}

/** Realised profit and reach when targeting rows with p ≥ threshold. */
export function profitAt(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold: number,
  assumptions: ProfitAssumptions,
): {
  threshold: number;
  targeted: number;
  targeted_fraction: number;
  churners_reached: number;
  profit_brl: number;
} {
  validate(assumptions);
  const gain = assumptions.acceptanceRate * assumptions.monthlyMarginBrl * assumptions.horizonMonths;
  let targeted = 0;
  let reached = 0;
  for (let i = 0; i < y.length; i++) {
    if (p[i] >= threshold) {
      targeted++;
      if (y[i] === 1) reached++;
    }
  }
  return {
    threshold,
    targeted,
    targeted_fraction: y.length ? targeted / y.length : 0,
    churners_reached: reached,
    profit_brl: reached * gain - targeted * assumptions.offerCostBrl,
  };
}
