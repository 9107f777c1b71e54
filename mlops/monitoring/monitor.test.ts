import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalModelRegistry } from "../../platform/adapters/local/file-model-registry.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { buildTrainingSet } from "../features/offline.ts";
import { ingestSynthetic } from "../ingestion/sources.ts";
import { scoreBatch } from "../serving/batch.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { trainGbdt } from "../training/gbdt/index.ts";
import { loadTrainingData } from "../training/load.ts";
import {
  lastMonitorRunPath,
  loadReferenceProfile,
  runMonitor,
  storeReferenceProfile,
  windowDays,
} from "./monitor.ts";

/**
 * The end-to-end drift demo: a champion trained on an undrifted delivery (cutoffs before the
 * drift months), then batch scoring + `monitor run` on (a) the same undrifted delivery at its end
 * and (b) a delivery of the same customers with the price-increase scenario.
 */
const PRICE_FEATURES = ["monthly_price_brl", "price_change_pct_3m", "arpu_brl", "arpu_trend_pct_3m"];
// Campaign-driven market features and bursty regional outages move with the calendar even without
// drift (a single scoring date sees whichever campaigns run that day); their limits are raised the
// way an operator would after watching undrifted weeks. See docs/mlops/monitoring.md.
const MONITORING = {
  features: {
    competitor_offer_active: { js: 0.45 },
    competitor_max_discount_pct: { psi: 1 },
    outage_minutes_90d: { psi: 0.4 },
    outages_90d: { psi: 0.4 },
  },
};

let base: string;
let train: AppContext;
let drifted: AppContext;

async function workspace(name: string, drift: "none" | "price-increase"): Promise<AppContext> {
  const home = join(base, name);
  const gen = await generateOperatorData({
    customers: 1500,
    seed: 21,
    months: 9,
    start: "2025-01",
    drift,
    outDir: join(home, "delivery"),
  });
  const app = contextFromConfig(configSchema.parse({ monitoring: MONITORING }), home);
  await ingestSynthetic(app, gen.outDir);
  return app;
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), "telco-monitor-e2e-"));
  train = await workspace("undrifted", "none");
  await buildTrainingSet(await train.warehouse(), train.config.features, { asOf: "2025-08-01" });
  const loaded = await loadTrainingData(await train.warehouse(), "synthetic");
  const model = await trainGbdt(loaded.data, { numTrees: 80, seed: 3 });
  const registry = new LocalModelRegistry(train.paths.registry);
  const v = await registry.register({
    name: "churn",
    format: "telco-gbdt",
    artifact: Buffer.from(JSON.stringify(model.toJSON())),
    card: {
      metrics: { auc: { value: 0.8 } },
      trainingDataset: { name: "synthetic", version: loaded.contentHash },
    },
  });
  await registry.setAlias("churn", "champion", v.version, { action: "auto-first", reason: "e2e" });
  await storeReferenceProfile(train, "churn@champion");
  drifted = await workspace("price-increase", "price-increase");
  // The second delivery reaches the same registry (as production would): copy it over.
  cpSync(train.paths.registry, drifted.paths.registry, { recursive: true });
}, 300_000);

afterAll(async () => {
  await train?.close();
  await drifted?.close();
  rmSync(base, { recursive: true, force: true });
});

describe("monitor run (end to end)", () => {
  it("stores the reference profile next to the model version", async () => {
    const profile = await loadReferenceProfile(new LocalModelRegistry(train.paths.registry), "churn", 1);
    expect(profile.format).toBe("telco-reference-profile");
    expect(profile.features.map((f) => f.name)).toContain("monthly_price_brl");
    expect(profile.prediction?.n).toBe(profile.nRows);
  });

  it("flags nothing on an undrifted delivery", async () => {
    const scored = await scoreBatch(train, { reasons: 0 });
    expect(scored.scoringDate).toBe("2025-10-01");
    const result = await runMonitor(train, { dryRun: true });
    expect(result.n_predictions).toBe(scored.rows);
    expect(result.features.filter((f) => f.drift).map((f) => f.name)).toEqual([]);
    expect(result.drift).toBe(false);
    expect(result.alerts.filter((a) => a.when === "drift")).toEqual([]);
    expect(existsSync(result.report_path)).toBe(true);
    const snapshot = JSON.parse(readFileSync(lastMonitorRunPath(train.paths), "utf8"));
    expect(snapshot.drift).toBe(false);
  }, 120_000);

  it("flags the price features, and only them, after a price increase", async () => {
    const scored = await scoreBatch(drifted, { reasons: 0 });
    const result = await runMonitor(drifted, { dryRun: true, report: join(base, "drift-report.html") });
    expect(result.n_predictions).toBe(scored.rows);
    const flagged = result.features.filter((f) => f.drift).map((f) => f.name);
    expect(flagged.length).toBeGreaterThan(0);
    for (const name of flagged) expect(PRICE_FEATURES).toContain(name);
    expect(flagged).toContain("monthly_price_brl");
    expect(flagged).toContain("price_change_pct_3m");
    expect(result.drift).toBe(true);
    const alert = result.alerts.find((a) => a.when === "drift");
    expect(alert?.message).toContain("monthly_price_brl");
    const html = readFileSync(join(base, "drift-report.html"), "utf8");
    expect(html).toContain("monthly_price_brl");
    expect(html).toContain("<svg");
  }, 120_000);

  it("computes performance once labels have arrived (contracts cancelled within the horizon)", async () => {
    await scoreBatch(train, { asOf: "2025-07-01", reasons: 0 });
    const result = await runMonitor(train, { dryRun: true, until: "2025-07-01", window: "1d" });
    expect(result.labelled).toBe(result.n_predictions);
    expect(result.performance).toHaveLength(1);
    const [period] = result.performance;
    expect(period.positives).toBeGreaterThan(0);
    expect(period.auc).toBeGreaterThan(0.6);
  }, 120_000);
});

describe("alerts from a monitor run", () => {
  it("delivers a drift alert to a webhook and triggers retraining when the rule says so", async () => {
    const { createServer } = await import("node:http");
    const bodies: unknown[] = [];
    const hook = createServer((req, res) => {
      let b = "";
      req.on("data", (c) => {
        b += c;
      });
      req.on("end", () => {
        bodies.push(JSON.parse(b));
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    const port = (hook.address() as { port: number }).port;
    await drifted.close();
    const app = contextFromConfig(
      configSchema.parse({
        monitoring: {
          ...MONITORING,
          alerts: {
            rules: [
              {
                name: "price-drift",
                when: "drift",
                channels: ["webhook", "cloud_monitoring"],
                retrain: true,
              },
            ],
            webhookUrl: `http://127.0.0.1:${port}/alerts`,
            cloudMonitoringDryRun: true,
          },
        },
      }),
      drifted.paths.home,
    );
    try {
      const reasons: string[] = [];
      const result = await runMonitor(app, { retrain: async (why) => reasons.push(why) });
      expect(result.deliveries.map((d) => [d.channel, d.ok])).toEqual([
        ["webhook", true],
        ["cloud_monitoring", true],
      ]);
      expect(bodies).toHaveLength(1);
      expect(result.retraining.triggered).toBe(true);
      expect(reasons[0]).toContain("monthly_price_brl");
    } finally {
      await app.close();
      await new Promise<void>((r) => hook.close(() => r()));
    }
  }, 60_000);
});

describe("windows", () => {
  it("parses days and weeks and rejects the rest", () => {
    expect(windowDays("7d")).toBe(7);
    expect(windowDays("2w")).toBe(14);
    for (const bad of ["", "7", "0d", "1m", "-1d"]) expect(() => windowDays(bad)).toThrow(/--window/);
  });
});
