import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { monitorSimulatedOperator, SCENARIO_FEATURES } from "./calibration.e2e-helpers.ts";

/**
 * Each drift scenario of mlops/simulator/drift.ts, with the DEFAULT config, raises its own
 * features and not the other scenarios' ones (SCENARIO_FEATURES).
 */
describe("monitor run on each drift scenario (default config)", () => {
  for (const c of SCENARIO_FEATURES) {
    it(`${c.drift}: raises ${c.must.join(", ")}`, async () => {
      const { app, result, home } = await monitorSimulatedOperator({ seed: 5, drift: c.drift });
      try {
        const flagged = result.features.filter((f) => f.drift).map((f) => f.name);
        for (const name of c.must) expect(flagged).toContain(name);
        for (const name of flagged) expect(c.allowed).toContain(name);
        expect(result.drift).toBe(true);
        const alert = result.alerts.find((a) => a.when === "drift");
        expect(alert?.message).toContain(c.must[0]);
      } finally {
        await app.close();
        rmSync(home, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
