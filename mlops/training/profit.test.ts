import { describe, expect, it } from "vitest";
import { bestThreshold, profitAt, profitCurve } from "./profit.ts";

const assumptions = { offerCostBrl: 10, monthlyMarginBrl: 10, horizonMonths: 10, acceptanceRate: 0.5 };
// value per save = 100, expected gain per targeted churner = 50, cost 10 → break-even p = 0.2

describe("profitCurve", () => {
  const y = [1, 0, 1, 0, 0];
  const p = [0.9, 0.8, 0.6, 0.3, 0.1];

  it("computes realised profit by hand at each threshold", () => {
    const curve = profitCurve(y, p, assumptions);
    expect(curve.break_even_probability).toBeCloseTo(0.2, 12);
    expect(curve.value_per_save_brl).toBe(100);
    // targeted 0..5: 0, 40, 30, 70, 60, 50
    expect(curve.points.map((pt) => pt.profit_brl)).toEqual([0, 40, 30, 70, 60, 50]);
    expect(curve.points[1].expected_profit_brl).toBeCloseTo(0.9 * 50 - 10, 12);
    const best = bestThreshold(curve);
    expect(best.threshold).toBe(0.6);
    expect(best.targeted).toBe(3);
  });

  it("agrees with profitAt at the chosen threshold", () => {
    expect(profitAt(y, p, 0.6, assumptions)).toMatchObject({
      targeted: 3,
      churners_reached: 2,
      profit_brl: 70,
    });
  });

  it("rejects an acceptance rate above 1, naming the setting", () => {
    expect(() => profitCurve(y, p, { ...assumptions, acceptanceRate: 1.5 })).toThrow(/acceptanceRate/);
  });
});
