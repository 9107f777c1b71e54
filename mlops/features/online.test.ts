import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { FEATURE_NAMES, featureVersion } from "./definitions.ts";
import { materialize, openOnlineStore } from "./online.ts";
import { loadOperator, randomOperator } from "./testing/random-operator.ts";
import { createSilverTables } from "./testing/silver-fixtures.ts";

let home: string;
let app: AppContext;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "features-online-"));
  app = contextFromConfig(configSchema.parse({ features: { onlineBatchSize: 7 } }), home);
  const wh = await app.warehouse();
  await createSilverTables(wh);
  await loadOperator(wh, randomOperator(11, 40));
});
afterAll(async () => {
  await app.close();
  rmSync(home, { recursive: true, force: true });
});

describe("materialize", () => {
  it("streams gold.customer_features into the online store in batches and serves the same values", async () => {
    const wh = await app.warehouse();
    const store = openOnlineStore(app);
    try {
      const summary = await materialize(wh, store, app.config.features, { asOf: "2025-09-01" });
      const gold = await wh.query(`select * from gold.customer_features order by customer_id`);
      expect(summary.rows).toBe(gold.length);
      expect(summary.rows).toBeGreaterThan(10);
      expect(summary.batches).toBe(Math.ceil(gold.length / 7));
      expect(await store.info()).toMatchObject({
        featureNames: FEATURE_NAMES,
        featureVersion: featureVersion(),
        asOf: "2025-09-01",
        rows: gold.length,
      });
      const ids = gold.map((r) => String(r.customer_id));
      const many = await store.getMany(ids);
      expect(many.size).toBe(ids.length);
      for (const row of gold) {
        const record = many.get(String(row.customer_id))!;
        for (const f of FEATURE_NAMES) expect(record.features[f], `${row.customer_id} ${f}`).toEqual(row[f]);
      }
    } finally {
      await store.close();
    }
  });

  it("replaces the previous load: customers gone at the new date disappear", async () => {
    const wh = await app.warehouse();
    const store = openOnlineStore(app);
    try {
      await materialize(wh, store, app.config.features, { asOf: "2025-03-01" });
      const before = new Set(
        (await wh.query(`select customer_id from gold.customer_features`)).map((r) => String(r.customer_id)),
      );
      await materialize(wh, store, app.config.features, { asOf: "2025-12-01" });
      const after = new Set(
        (await wh.query(`select customer_id from gold.customer_features`)).map((r) => String(r.customer_id)),
      );
      const gone = [...before].filter((id) => !after.has(id));
      expect(gone.length).toBeGreaterThan(0);
      expect((await store.getMany(gone)).size).toBe(0);
      expect((await store.info())?.rows).toBe(after.size);
      expect((await store.info())?.asOf).toBe("2025-12-01");
    } finally {
      await store.close();
    }
  });
});
