import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalModelRegistry } from "../../platform/adapters/local/file-model-registry.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { buildTrainingSet } from "../features/offline.ts";
import { ingestSynthetic } from "../ingestion/sources.ts";
import { scoreBatch } from "../serving/batch.ts";
import type { DriftScenario } from "../simulator/drift.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { trainGbdt } from "../training/gbdt/index.ts";
import { loadTrainingData } from "../training/load.ts";
import { type MonitorResult, runMonitor, storeReferenceProfile } from "./monitor.ts";

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
 * What each drift scenario of mlops/simulator/drift.ts must flag (`must`) and may flag (`allowed`),
 * and nothing else, with the DEFAULT config.
 */
export const SCENARIO_FEATURES: {
  drift: Exclude<DriftScenario, "none">;
  must: string[];
  allowed: string[];
}[] = [
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

/**
 * Test fixture for the calibration tests: one small simulated operator with the DEFAULT config,
 * a champion trained on the cutoffs before the drift months, its calibrated reference profile,
 * one batch scoring at the end of the window, then `monitor run`.
 */
export async function monitorSimulatedOperator(opts: {
  seed: number;
  drift: DriftScenario;
  customers?: number;
}): Promise<{ app: AppContext; result: MonitorResult; home: string }> {
  const home = mkdtempSync(join(tmpdir(), `telco-monitor-${opts.drift}-${opts.seed}-`));
  const gen = await generateOperatorData({
    customers: opts.customers ?? 1000,
    seed: opts.seed,
    months: 9,
    start: "2025-01",
    drift: opts.drift,
    outDir: join(home, "delivery"),
  });
  const app = contextFromConfig(configSchema.parse({}), home);
  await ingestSynthetic(app, gen.outDir);
  // Drift covers the last two months (2025-08, 2025-09): the reference only sees cutoffs before.
  await buildTrainingSet(await app.warehouse(), app.config.features, { asOf: "2025-08-01" });
  const loaded = await loadTrainingData(await app.warehouse(), "synthetic");
  const model = await trainGbdt(loaded.data, { numTrees: 30, seed: opts.seed });
  const registry = new LocalModelRegistry(app.paths.registry);
  const v = await registry.register({
    name: "churn",
    format: "telco-gbdt",
    artifact: Buffer.from(JSON.stringify(model.toJSON())),
    card: {
      metrics: { auc: { value: 0.8 } },
      trainingDataset: { name: "synthetic", version: loaded.contentHash },
    },
  });
  await registry.setAlias("churn", "champion", v.version, { action: "auto-first", reason: "test" });
  await storeReferenceProfile(app, "churn@champion");
  await scoreBatch(app, { reasons: 0 });
  const result = await runMonitor(app, { dryRun: true, report: join(home, "report.html") });
  return { app, result, home };
}
