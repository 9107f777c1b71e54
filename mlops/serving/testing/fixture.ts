import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalModelRegistry } from "../../../platform/adapters/local/file-model-registry.ts";
import { SqliteOnlineStore } from "../../../platform/adapters/local/sqlite-online-store.ts";
import { configSchema } from "../../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../../platform/context.ts";
import { type FeatureValue, replaceOnlineStore } from "../../../platform/ports/online-store.ts";
import type { ModelVersion } from "../../../platform/ports/registry.ts";
import { datasetFromRows, type FeatureSpec } from "../../training/dataset.ts";
import { mulberry32, trainGbdt } from "../../training/gbdt/index.ts";

/** A handful of real feature-store features (so labels and explanations resolve). */
export const FIXTURE_SPECS: FeatureSpec[] = [
  { name: "tenure_months", kind: "numeric" },
  { name: "monthly_price_brl", kind: "numeric" },
  { name: "fidelity_months_left", kind: "numeric" },
  { name: "segment", kind: "categorical" },
  { name: "competitor_offer_active", kind: "categorical" },
];

/** Deterministic customers whose churn depends on price, loyalty period and competitor offers. */
export function fixtureRows(n: number, seed = 7, priceShift = 0): Record<string, FeatureValue>[] {
  const rng = mulberry32(seed);
  const rows: Record<string, FeatureValue>[] = [];
  for (let i = 0; i < n; i++) {
    const tenure = Math.floor(rng() * 72);
    const price = Math.round((59 + rng() * 140 + priceShift) * 100) / 100;
    const fidelity = rng() < 0.5 ? 0 : Math.floor(rng() * 12);
    const segment = rng() < 0.8 ? "consumer" : "smb";
    const competitor = rng() < 0.3;
    const z =
      -2 + 0.015 * (price - 120) + (fidelity === 0 ? 1.2 : -0.5) + (competitor ? 0.8 : 0) - 0.02 * tenure;
    rows.push({
      customer_id: `C${String(i + 1).padStart(6, "0")}`,
      tenure_months: tenure,
      monthly_price_brl: price,
      fidelity_months_left: fidelity,
      segment,
      competitor_offer_active: competitor,
      label: rng() < 1 / (1 + Math.exp(-z)) ? 1 : 0,
    });
  }
  return rows;
}

/** Trains a small GBDT on fixture rows and returns its JSON artifact bytes. */
export async function fixtureModelBytes(seed = 7, numTrees = 30): Promise<Uint8Array> {
  const data = datasetFromRows(fixtureRows(3000, seed), FIXTURE_SPECS, { label: "label" });
  const model = await trainGbdt(data, { numTrees, numLeaves: 15, seed });
  return Buffer.from(JSON.stringify(model.toJSON()));
}

export interface ServingFixture {
  app: AppContext;
  home: string;
  registry: LocalModelRegistry;
  v1: ModelVersion;
  cleanup(): Promise<void>;
}

/**
 * A temporary workspace with model "churn" v1 at champion and an online store of `customers`
 * fixture customers (ids C000001…).
 */
export async function servingFixture(
  opts: { customers?: number; config?: Record<string, unknown> } = {},
): Promise<ServingFixture> {
  const home = mkdtempSync(join(tmpdir(), "telco-serving-"));
  const config = configSchema.parse({ serving: { pollIntervalMs: 200, ...opts.config } });
  const app = contextFromConfig(config, home);
  const registry = new LocalModelRegistry(app.paths.registry);
  const v1 = await registry.register({
    name: "churn",
    format: "telco-gbdt",
    artifact: await fixtureModelBytes(7),
    card: { metrics: { auc: { value: 0.7 } }, features: FIXTURE_SPECS.map((f) => ({ name: f.name })) },
  });
  await registry.setAlias("churn", "champion", v1.version, { action: "auto-first", reason: "fixture" });
  const store = SqliteOnlineStore.open(app.paths.onlineStore);
  const names = FIXTURE_SPECS.map((f) => f.name);
  const rows = fixtureRows(opts.customers ?? 200, 11);
  await replaceOnlineStore(store, { featureNames: names, featureVersion: "fixture", asOf: "2026-11-01" }, [
    rows.map((r) => ({ customerId: String(r.customer_id), values: names.map((n) => r[n] ?? null) })),
  ]);
  await store.close();
  return {
    app,
    home,
    registry,
    v1,
    async cleanup() {
      await app.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
