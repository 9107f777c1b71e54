import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import { ingestSynthetic } from "../ingestion/sources.ts";
import { contentVersion, listDatasetVersions } from "../ingestion/versions.ts";
import { buildReferenceProfile } from "../monitoring/reference-profile.ts";
import { loadSyntheticContracts } from "../simulator/contracts.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { loadTrainingData } from "../training/load.ts";
import { buildTrainingSet, TRAINING_TABLE, TRAINING_VIEW } from "./offline.ts";

/**
 * The same delivery built twice in fresh workspaces gives the same content version at every layer
 * and the same monitoring reference profile: versions are the lineage model cards cite and the
 * pipeline cache keys on. The second build is made to see its rows in other orders than the first
 * — three ingestion lanes instead of one, each silver table re-laid in another physical row order
 * (what DuckDB's threads may hand a join or an aggregate), four DuckDB threads instead of one — so
 * a result that depends on row order (a float sum feeding a round, say) shows up here every time
 * instead of once in a while on a busy machine.
 */
interface Build {
  app: AppContext;
  home: string;
}

let delivery: string;
let first: Build;
let second: Build;

async function build(
  deliveryDir: string,
  opts: { lanes: number; threads: number; reorderSilver: boolean },
): Promise<Build> {
  const home = mkdtempSync(join(tmpdir(), "telco-determinism-"));
  const app = contextFromConfig(configSchema.parse({ data: { ingestLanes: opts.lanes } }), home);
  await ingestSynthetic(app, deliveryDir);
  const wh = await app.warehouse();
  if (opts.reorderSilver) await reorderSilver(wh);
  await wh.exec(`SET threads = ${opts.threads}`);
  await buildTrainingSet(wh, app.config.features);
  return { app, home };
}

/** Rewrites every silver table as the same rows in another order (descending row hash). */
async function reorderSilver(wh: Warehouse): Promise<void> {
  await wh.exec("create schema if not exists reordered");
  for (const c of loadSyntheticContracts().values()) {
    await wh.exec(
      `create or replace table reordered.${c.name} as select * from silver.${c.name} x order by hash(x) desc`,
    );
    await wh.exec(`create or replace view silver.${c.name} as select * from reordered.${c.name}`);
  }
}

/** table → version as recorded in meta.dataset_versions (one version per table: one delivery). */
async function recordedVersions(wh: Warehouse): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const v of await listDatasetVersions(wh)) {
    if (v.layer === "raw") continue;
    expect(out[v.table], `${v.table} recorded twice`).toBeUndefined();
    out[v.table] = v.version;
  }
  return out;
}

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), "telco-determinism-delivery-"));
  delivery = (
    await generateOperatorData({ customers: 200, seed: 7, months: 9, start: "2025-01", outDir: root })
  ).outDir;
  first = await build(delivery, { lanes: 1, threads: 1, reorderSilver: false });
  second = await build(delivery, { lanes: 3, threads: 4, reorderSilver: true });
}, 180_000);

afterAll(async () => {
  for (const b of [first, second]) {
    if (!b) continue;
    await b.app.close();
    rmSync(b.home, { recursive: true, force: true });
  }
  if (delivery) rmSync(delivery, { recursive: true, force: true });
});

describe("the same delivery built twice", () => {
  it("records the same content version for every bronze, silver and gold table", async () => {
    const a = await recordedVersions(await first.app.warehouse());
    const b = await recordedVersions(await second.app.warehouse());
    const layers = new Set(Object.keys(a).map((t) => t.split(".")[0]));
    expect([...layers].sort()).toEqual(["bronze", "gold", "silver"]);
    expect(a).toHaveProperty([TRAINING_TABLE]);
    expect(a).toHaveProperty([TRAINING_VIEW]);
    expect(b).toEqual(a);
  });

  it("holds silver with the same content however its rows are laid out", async () => {
    const wa = await first.app.warehouse();
    const wb = await second.app.warehouse();
    const silver = Object.entries(await recordedVersions(wa)).filter(([t]) => t.startsWith("silver."));
    expect(silver.length).toBeGreaterThanOrEqual(10);
    for (const [table, version] of silver) {
      expect((await contentVersion(wb, table)).version, table).toBe(version);
    }
  });

  it("loads the same training rows and builds the same reference profile from them", async () => {
    const a = await loadTrainingData(await first.app.warehouse(), "synthetic");
    const b = await loadTrainingData(await second.app.warehouse(), "synthetic");
    expect(a.data.nRows).toBeGreaterThan(500);
    expect(b.contentHash).toBe(a.contentHash);
    const profile = (d: typeof a) => buildReferenceProfile(d.data, undefined, { slices: d.cutoffs });
    expect(JSON.stringify(profile(b))).toBe(JSON.stringify(profile(a)));
  });
});
