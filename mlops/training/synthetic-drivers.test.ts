import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { buildTrainingSet } from "../features/offline.ts";
import { ingestSynthetic } from "../ingestion/sources.ts";
import { CHURN_DRIVERS } from "../simulator/churn-model.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { rocAuc } from "./metrics.ts";
import { type TrainSummary, trainChurnModel } from "./train.ts";

/**
 * Issue 3: on synthetic data the model's top global drivers must be the generator's true churn
 * drivers. Generates a small operator, runs ingest → features → GBDT training, and checks the
 * global mean |SHAP| ranking against the causal model in mlops/simulator/churn-model.ts.
 */

/**
 * Which true driver each feature observes (feature store names → CHURN_DRIVERS names).
 * tenure_months counts months since the contract's start_date, the anchor of the loyalty
 * period (fidelity_end_date = start_date + fidelity_months), so it observes the fidelity drivers.
 */
const FEATURE_DRIVER: Readonly<Record<string, string>> = {
  price_change_pct_3m: "price_increase",
  arpu_trend_pct_3m: "price_increase",
  speed_shortfall_pct_90d: "speed_shortfall",
  avg_latency_ms_90d: "speed_shortfall",
  avg_packet_loss_pct_90d: "speed_shortfall",
  outages_90d: "regional_outages",
  outage_minutes_90d: "regional_outages",
  unresolved_tickets_90d: "unresolved_support",
  repeat_contacts_90d: "unresolved_support",
  tickets_90d: "unresolved_support",
  avg_satisfaction_90d: "unresolved_support",
  fidelity_months_left: "fidelity",
  months_since_fidelity_end: "fidelity",
  tenure_months: "fidelity",
  competitor_offer_active: "competitor_offer",
  competitor_max_discount_pct: "competitor_offer",
  late_payments_90d: "late_payments",
  max_days_late_90d: "late_payments",
  days_overdue: "late_payments",
  product: "product",
  plan_id: "product",
};
/** fidelity_ending and fidelity_lock_in are two effects of the same observable loyalty period. */
const DRIVER_NAMES = new Set([...CHURN_DRIVERS.map((d) => d.name), "fidelity"]);
/** Feature-store columns with no causal effect in the generator (see NON_DRIVERS). */
const NON_DRIVER_FEATURES = ["age_years", "segment", "sales_channel"];
const TOP_K = 6;

let home: string;
let app: AppContext;
let summary: TrainSummary;
let ranking: { feature: string; importance: number }[];
let oracleAuc: number;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "synthetic-drivers-"));
  const truth: number[] = [];
  const logit: number[] = [];
  const gen = await generateOperatorData({
    customers: 2000,
    seed: 7,
    months: 12,
    start: "2025-01",
    outDir: join(home, "delivery"),
    // months 3+ are the feature store's monthly cutoffs (the first 3 months are lookback)
    onHazard: (_customer, month, _logit, logitWithoutFrailty, cancelled) => {
      if (month < 3) return;
      logit.push(logitWithoutFrailty);
      truth.push(cancelled ? 1 : 0);
    },
  });
  oracleAuc = rocAuc(truth, logit);
  app = contextFromConfig(configSchema.parse({}), home);
  await ingestSynthetic(app, gen.outDir);
  await buildTrainingSet(await app.warehouse(), app.config.features);
  summary = await trainChurnModel(app, { dataset: "synthetic", model: "gbdt" });
  const tables = JSON.parse(readFileSync(join(summary.run_dir, "tables.json"), "utf8")) as {
    feature_importance: { measure: string; rows: { feature: string; importance: number }[] };
  };
  expect(tables.feature_importance.measure).toMatch(/SHAP/);
  ranking = [...tables.feature_importance.rows].sort((a, b) => b.importance - a.importance);
}, 180_000);

afterAll(async () => {
  await app?.close();
  rmSync(home, { recursive: true, force: true });
});

describe("GBDT on the synthetic operator recovers the generator's causal drivers", () => {
  it("every mapped feature and driver exists (the mapping cannot silently go stale)", () => {
    const features = new Set(ranking.map((r) => r.feature));
    for (const [feature, driver] of Object.entries(FEATURE_DRIVER)) {
      expect(features.has(feature), `feature ${feature}`).toBe(true);
      expect(DRIVER_NAMES.has(driver), `driver ${driver}`).toBe(true);
    }
    for (const f of NON_DRIVER_FEATURES) expect(features.has(f), `feature ${f}`).toBe(true);
  });

  it("the causal model is learnable: the true hazard ranks the 30-day labels well", () => {
    expect(oracleAuc).toBeGreaterThan(0.8);
  });

  it("reaches a realistic test AUC, not far below the oracle", () => {
    expect(summary.metrics.auc).toBeGreaterThanOrEqual(0.72);
    expect(summary.metrics.auc).toBeGreaterThan(oracleAuc - 0.1);
  });

  it(`the top ${TOP_K} features by mean |SHAP| all observe true drivers, several distinct ones`, () => {
    const top = ranking.slice(0, TOP_K);
    const unmapped = top.filter((r) => !(r.feature in FEATURE_DRIVER)).map((r) => r.feature);
    expect(unmapped, `top features: ${top.map((r) => r.feature).join(", ")}`).toEqual([]);
    const drivers = new Set(top.map((r) => FEATURE_DRIVER[r.feature]));
    expect(drivers.size).toBeGreaterThanOrEqual(4);
  });

  it("non-drivers (age, segment, sales channel) are outside the top and weigh little", () => {
    const kth = (ranking[TOP_K - 1] as { importance: number }).importance;
    for (const f of NON_DRIVER_FEATURES) {
      const rank = ranking.findIndex((r) => r.feature === f);
      expect(rank, f).toBeGreaterThanOrEqual(TOP_K);
      expect((ranking[rank] as { importance: number }).importance, f).toBeLessThan(kth / 2);
    }
  });
});
