import { describe, expect, it } from "vitest";
import { type LabelledPrediction, performanceOverTime } from "./performance.ts";

describe("performanceOverTime", () => {
  const rows: LabelledPrediction[] = [
    // 2026-11-16 (Mon) and 2026-11-22 (Sun) share ISO week 47; perfect ranking there.
    { ts: "2026-11-16T08:00:00Z", probability: 0.9, label: 1 },
    { ts: "2026-11-22T08:00:00Z", probability: 0.1, label: 0 },
    // Week 48: reversed ranking → AUC 0.
    { ts: "2026-11-23T08:00:00Z", probability: 0.2, label: 1 },
    { ts: "2026-11-24T08:00:00Z", probability: 0.8, label: 0 },
    // Week 49: one class only → AUC undefined.
    { ts: "2026-12-01T08:00:00Z", probability: 0.3, label: 0 },
  ];

  it("groups by ISO week and computes AUC per period", () => {
    const weeks = performanceOverTime(rows, "week");
    expect(weeks.map((w) => w.period)).toEqual(["2026-W47", "2026-W48", "2026-W49"]);
    expect(weeks.map((w) => w.auc)).toEqual([1, 0, null]);
    expect(weeks[0]).toMatchObject({ n: 2, positives: 1, positiveRate: 0.5, meanProbability: 0.5 });
  });

  it("handles the ISO week that belongs to the previous year", () => {
    // 2027-01-01 is a Friday: ISO week 53 of 2026.
    expect(
      performanceOverTime([{ ts: "2027-01-01T00:00:00Z", probability: 0.5, label: 0 }], "week")[0].period,
    ).toBe("2026-W53");
  });

  it("groups by day and month", () => {
    expect(performanceOverTime(rows, "month").map((m) => [m.period, m.n])).toEqual([
      ["2026-11", 4],
      ["2026-12", 1],
    ]);
    expect(performanceOverTime(rows, "day")).toHaveLength(5);
  });
});
