import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { DriftScenario } from "../simulator/drift.ts";
import { monitorSimulatedOperator } from "./calibration.e2e-helpers.ts";

const PRICE = ["monthly_price_brl", "price_change_pct_3m", "arpu_brl", "arpu_trend_pct_3m"];
const NETWORK = [
  "avg_latency_ms_90d",
  "avg_packet_loss_pct_90d",
  "speed_shortfall_pct_90d",
  "outages_90d",
  "outage_minutes_90d",
];
const COMPETITOR = ["competitor_offer_active", "competitor_max_discount_pct"];
// Support tickets follow a price increase (cobranca) or a degraded network (tecnico) in the simulator.
const TICKETS = ["tickets_90d", "repeat_contacts_90d", "avg_satisfaction_90d"];

/**
 * Each drift scenario of mlops/simulator/drift.ts, with the DEFAULT config, raises its own
 * features and not the other scenarios' ones.
 */
const CASES: { drift: DriftScenario; must: string[]; allowed: string[] }[] = [
  {
    drift: "price-increase",
    must: ["monthly_price_brl", "price_change_pct_3m"],
    allowed: [...PRICE, ...TICKETS],
  },
  {
    drift: "network-degradation",
    must: ["avg_latency_ms_90d", "avg_packet_loss_pct_90d"],
    // The simulator draws the extra outages from the same regional random stream as competitor
    // offers (mlops/simulator/regions.ts), so this scenario also reshuffles the offers.
    allowed: [...NETWORK, ...TICKETS, ...COMPETITOR],
  },
  { drift: "new-competitor", must: ["competitor_offer_active"], allowed: COMPETITOR },
];

describe("monitor run on each drift scenario (default config)", () => {
  for (const c of CASES) {
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
