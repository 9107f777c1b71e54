/**
 * Feature store benchmark (`npm run bench:features [-- --customers N --lookups N]`): generates
 * and ingests a synthetic operator, then measures
 *   dataset     — gold.churn_training for every monthly cutoff (rows/s);
 *   materialize — gold.customer_features + streaming load of the online store;
 *   lookup      — SqliteOnlineStore.get() of random customers (p50/p99 µs) and getMany(100);
 *   anchor      — a bare node:sqlite primary-key SELECT on the same file (no decoding).
 * Prints one JSON document with ratios against the anchor and the goal (lookup p99 < 1 ms).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { buildTrainingSet } from "../mlops/features/offline.ts";
import { materialize, openOnlineStore } from "../mlops/features/online.ts";
import { ingestSynthetic } from "../mlops/ingestion/sources.ts";
import { generateOperatorData } from "../mlops/simulator/generate.ts";
import { configSchema } from "../platform/config/schema.ts";
import { contextFromConfig } from "../platform/context.ts";

const args = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
};
const customers = arg("customers", 5000);
const lookups = arg("lookups", 20000);
const LOOKUP_GOAL_US = 1000;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const home = mkdtempSync(join(tmpdir(), "bench-features-"));
try {
  const gen = await generateOperatorData({
    customers,
    seed: 42,
    months: 12,
    start: "2025-01",
    outDir: join(home, "delivery"),
    dirtyRate: 0,
  });
  const app = contextFromConfig(configSchema.parse({}), home);
  await ingestSynthetic(app, gen.outDir);
  const wh = await app.warehouse();

  let t = performance.now();
  const dataset = await buildTrainingSet(wh, app.config.features);
  const datasetSeconds = (performance.now() - t) / 1000;

  const store = openOnlineStore(app);
  t = performance.now();
  const mat = await materialize(wh, store, app.config.features);
  const materializeSeconds = (performance.now() - t) / 1000;

  const ids = (await wh.query<{ id: string }>("select customer_id as id from gold.customer_features")).map(
    (r) => r.id,
  );
  for (let i = 0; i < 1000; i++) await store.get(ids[i % ids.length]); // warm-up
  const times = new Float64Array(lookups);
  for (let i = 0; i < lookups; i++) {
    const id = ids[(i * 7919) % ids.length];
    const s = performance.now();
    await store.get(id);
    times[i] = (performance.now() - s) * 1000;
  }
  times.sort();
  const batch = ids.slice(0, 100);
  const batchRuns = 200;
  t = performance.now();
  for (let i = 0; i < batchRuns; i++) await store.getMany(batch);
  const getManyUsPerCustomer = ((performance.now() - t) * 1000) / (batchRuns * batch.length);
  await store.close();
  const bare = new DatabaseSync(app.paths.onlineStore, { readOnly: true });
  const bareStmt = bare.prepare("select v from features where customer_id = ?");
  const bareTimes = new Float64Array(lookups);
  for (let i = 0; i < lookups; i++) {
    const id = ids[(i * 7919) % ids.length];
    const s = performance.now();
    bareStmt.get(id);
    bareTimes[i] = (performance.now() - s) * 1000;
  }
  bare.close();
  bareTimes.sort();
  await app.close();

  const p50 = percentile(times, 0.5);
  const p99 = percentile(times, 0.99);
  process.stdout.write(
    `${JSON.stringify(
      {
        customers,
        dataset: {
          rows: dataset.rows,
          cutoffs: dataset.cutoffs.length,
          positiveRate: Number(dataset.positiveRate.toFixed(4)),
          seconds: Number(datasetSeconds.toFixed(2)),
          rowsPerSecond: Math.round(dataset.rows / datasetSeconds),
        },
        materialize: { rows: mat.rows, batches: mat.batches, seconds: Number(materializeSeconds.toFixed(2)) },
        lookup: {
          n: lookups,
          p50Us: Number(p50.toFixed(1)),
          p99Us: Number(p99.toFixed(1)),
          getManyUsPerCustomer: Number(getManyUsPerCustomer.toFixed(1)),
          anchorBareSqliteP50Us: Number(percentile(bareTimes, 0.5).toFixed(1)),
          p50VsAnchor: Number((p50 / percentile(bareTimes, 0.5)).toFixed(2)),
          goalUs: LOOKUP_GOAL_US,
          p99VsGoal: Number((p99 / LOOKUP_GOAL_US).toFixed(3)),
        },
      },
      null,
      2,
    )}\n`,
  );
} finally {
  rmSync(home, { recursive: true, force: true });
}
