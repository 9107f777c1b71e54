import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { monitorSimulatedOperator } from "./calibration.e2e-helpers.ts";

/**
 * No false alarms with the DEFAULT config: a simulated operator without drift, scored two months
 * after its last training cutoff (customers aged, campaigns changed), raises nothing.
 */
describe("monitor run on clean data (default config)", () => {
  for (const seed of [5, 11, 23]) {
    it(`seed ${seed}: no drift, no prediction drift, no quality issue, no alert`, async () => {
      const { app, result, home } = await monitorSimulatedOperator({ seed, drift: "none" });
      try {
        expect(result.enough_data).toBe(true);
        expect(result.sources.batch).toBe(result.n_predictions);
        expect(result.calibration?.slices).toBeGreaterThanOrEqual(2);
        expect(result.features.filter((f) => f.drift).map((f) => f.name)).toEqual([]);
        expect(result.prediction_drift?.drift).toBe(false);
        expect(result.quality.issues).toEqual([]);
        expect(result.drift).toBe(false);
        expect(result.alerts).toEqual([]);
      } finally {
        await app.close();
        rmSync(home, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
