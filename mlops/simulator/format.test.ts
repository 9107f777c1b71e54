import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addMonths,
  civilFromDays,
  daysFromCivil,
  isoDate,
  isoTimestamp,
  money,
  monthStart,
} from "./format.ts";
import { Rng } from "./prng.ts";

describe("format", () => {
  it("day numbers round-trip and agree with Date", () => {
    fc.assert(
      fc.property(fc.integer({ min: -30000, max: 60000 }), (day) => {
        const [y, m, d] = civilFromDays(day);
        expect(daysFromCivil(y, m, d)).toBe(day);
        expect(isoDate(day)).toBe(new Date(day * 86_400_000).toISOString().slice(0, 10));
      }),
    );
  });

  it("month arithmetic clamps to month ends and handles leap years", () => {
    expect(isoDate(addMonths(daysFromCivil(2024, 1, 31), 1))).toBe("2024-02-29");
    expect(isoDate(addMonths(daysFromCivil(2025, 1, 31), 1))).toBe("2025-02-28");
    expect(isoDate(monthStart(2025, 11, 3))).toBe("2026-02-01");
    expect(isoDate(monthStart(2025, 1, -3))).toBe("2024-10-01");
  });

  it("formats money from cents and timestamps without locale effects", () => {
    expect(money(12345)).toBe("123.45");
    expect(money(-5)).toBe("-0.05");
    expect(money(0)).toBe("0.00");
    expect(isoTimestamp(daysFromCivil(2025, 3, 4), 18 * 60 + 20)).toBe("2025-03-04T18:20:00Z");
    expect(isoTimestamp(daysFromCivil(2025, 12, 31), 1440 + 5)).toBe("2026-01-01T00:05:00Z");
  });
});

describe("Rng", () => {
  it("is reproducible per (seed, stream, index) and differs across them", () => {
    const a = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(7, 2, 10)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(7, 2, 10)),
    );
    const c = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(7, 2, 11)),
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("produces uniform floats and normals with the right moments", () => {
    const r = new Rng(1);
    let sum = 0;
    let sumN = 0;
    let sumN2 = 0;
    let min = 1;
    let max = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const u = r.float();
      min = Math.min(min, u);
      max = Math.max(max, u);
      sum += u;
      const z = r.normal();
      sumN += z;
      sumN2 += z * z;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(sum / n).toBeCloseTo(0.5, 2);
    expect(sumN / n).toBeCloseTo(0, 1);
    expect(sumN2 / n).toBeCloseTo(1, 1);
  });
});
