import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { ingestSynthetic } from "./sources.ts";
import { tempDir } from "./test-helpers.ts";
import { latestDatasetVersion } from "./versions.ts";

const child = join(import.meta.dirname, "testing", "ingest-child.ts");

/** Bronze row counts as readers see them, against the row counts the metadata records. */
async function bronzeAgreesWithMetadata(app: AppContext, tables: string[]): Promise<void> {
  const wh = await app.warehouse();
  for (const t of tables) {
    const [{ n }] = await wh.query<{ n: number }>(`SELECT count(*) AS n FROM bronze.${t}`);
    const meta = await latestDatasetVersion(wh, `bronze.${t}`);
    expect(n, `bronze.${t}`).toBe(meta?.rowCount);
  }
}

function committedBatchesOnDisk(home: string): Set<string> {
  const out = new Set<string>();
  for (const e of readdirSync(join(home, "lake"), { recursive: true, withFileTypes: true })) {
    const m = /\d{8}T\d{6}-[0-9a-f]{6}/.exec(join(e.parentPath, e.name));
    if (m && e.isFile()) out.add(m[0]);
  }
  return out;
}

describe("ingestion killed with SIGKILL at publish", () => {
  let app: AppContext;
  let home: string;
  let d1: string;
  beforeAll(async () => {
    home = tempDir("telco-crash-");
    d1 = join(home, "deliveries", "synthetic", "d1");
    await generateOperatorData({
      customers: 150,
      seed: 3,
      months: 3,
      start: "2025-01",
      dirtyRate: 0,
      outDir: d1,
    });
    app = contextFromConfig(configSchema.parse({}), home);
    await ingestSynthetic(app, d1);
    await app.close();
  });
  afterAll(() => app.close());

  it("leaves readers on the old state, and the next run removes the orphans", async () => {
    const tables = ["crm_customers", "usage_monthly", "billing_invoices"];
    const batchesBefore = committedBatchesOnDisk(home);
    // A second delivery (same population, one more month) is killed after its files were moved into the
    // lake and before the metadata transaction.
    const d2 = join(home, "deliveries", "synthetic", "d2");
    await generateOperatorData({
      customers: 150,
      seed: 3,
      months: 4,
      start: "2025-01",
      dirtyRate: 0,
      outDir: d2,
    });
    const killed = spawnSync(process.execPath, [child, home, d2], {
      env: { ...process.env, TELCO_CRASH_AT: "ingest:before-commit" },
      encoding: "utf8",
    });
    expect(killed.signal).toBe("SIGKILL");
    const orphanBatches = [...committedBatchesOnDisk(home)].filter((b) => !batchesBefore.has(b));
    expect(orphanBatches).toHaveLength(1); // the crash really left files in the lake
    expect(readdirSync(join(home, "tmp")).filter((d) => d.startsWith("ingest-"))).toHaveLength(1);

    app = contextFromConfig(configSchema.parse({}), home);
    await bronzeAgreesWithMetadata(app, tables); // readers see only committed batches
    await app.close();

    // The next run removes what the crash left and publishes normally.
    const next = spawnSync(process.execPath, [child, home, d2], { encoding: "utf8" });
    expect(next.status, next.stderr).toBe(0);
    const after = committedBatchesOnDisk(home);
    expect(after.has(orphanBatches[0])).toBe(false);
    expect(existsSync(join(home, "tmp")) ? readdirSync(join(home, "tmp")) : []).toEqual([]);
    app = contextFromConfig(configSchema.parse({}), home);
    await bronzeAgreesWithMetadata(app, tables);
  }, 120_000);
});
