import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import { openSandbox, type SandboxSystems, sandboxSeeder } from "../../platform/sandbox/index.ts";
import { runIngestion } from "../ingestion/ingest.ts";
import { exportInteractions } from "../ingestion/interactions.ts";
import { ingestSynthetic, interactionsPlan } from "../ingestion/sources.ts";
import { generateOperatorData } from "../simulator/generate.ts";
import { seedSystemsFromDelivery } from "../simulator/systems-seed.ts";
import { buildLatestFeatures, LATEST_TABLE } from "./offline.ts";

/**
 * The loop back into the data platform: a conversation registered in the operator's CRM is exported
 * as crm_interactions, ingested, and shows up in that customer's features.
 */
let home: string;
let app: AppContext;
let systems: SandboxSystems;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "telco-loop-"));
  const delivery = join(home, "deliveries", "synthetic", "d1");
  await generateOperatorData({
    customers: 120,
    seed: 9,
    months: 6,
    start: "2025-01",
    dirtyRate: 0,
    outDir: delivery,
  });
  app = contextFromConfig(configSchema.parse({}), home);
  await ingestSynthetic(app, delivery);
  seedSystemsFromDelivery(sandboxSeeder(app.paths.systems), delivery);
  systems = openSandbox(app.paths.systems);
}, 120_000);

afterAll(async () => {
  await systems?.close();
  await app?.close();
});

describe("assistant interactions reach the feature store", () => {
  it("features exist (empty) before any interaction, and count the registered ones after export + ingest", async () => {
    const wh = await app.warehouse();
    await buildLatestFeatures(wh);
    const before = await wh.query<{ n: number }>(
      `select count(*) as n from ${LATEST_TABLE} where assistant_contacts_30d > 0 or retention_offer_accepted_90d`,
    );
    expect(before[0].n).toBe(0);

    const active = (
      await wh.query<{ customer_id: string }>(
        `select customer_id from ${LATEST_TABLE} order by customer_id limit 2`,
      )
    ).map((r) => r.customer_id);
    const [retained, other] = active;
    const base = {
      customer_id: retained,
      channel: "chat" as const,
      category: "cancellation",
      summary: "cliente pediu cancelamento; aceitou desconto",
      sentiment: "negative" as const,
      session_id: "s-loop",
    };
    await systems.crm.recordInteraction(
      { ...base, outcome: "retained", offers_made: ["RET-DESC10"], offer_accepted: "RET-DESC10" },
      { idempotencyKey: "loop-1" },
    );
    await systems.crm.recordInteraction(
      {
        ...base,
        category: "invoice_copy",
        outcome: "invoice_copy_issued",
        offers_made: [],
        offer_accepted: null,
      },
      { idempotencyKey: "loop-2" },
    );

    const out = join(home, "deliveries", "crm-interactions", "e1");
    const exported = await exportInteractions(systems.crm, out, {
      businessDate: await systems.businessDate(),
    });
    expect(exported.rows).toBe(2);
    const report = await runIngestion(app, interactionsPlan(out));
    expect(report.rows).toBe(2);
    expect(report.rejects).toBe(0);

    const built = await buildLatestFeatures(wh);
    expect(built.asOf > (await systems.businessDate())).toBe(true); // the interactions are before the cutoff
    const rows = await wh.query<{
      customer_id: string;
      assistant_contacts_30d: number;
      retention_offer_accepted_90d: boolean;
    }>(
      `select customer_id, assistant_contacts_30d, retention_offer_accepted_90d from ${LATEST_TABLE} where customer_id in (?, ?) order by customer_id`,
      [retained, other],
    );
    const byId = Object.fromEntries(rows.map((r) => [r.customer_id, r]));
    expect(byId[retained]).toMatchObject({ assistant_contacts_30d: 2, retention_offer_accepted_90d: true });
    expect(byId[other]).toMatchObject({ assistant_contacts_30d: 0, retention_offer_accepted_90d: false });
  }, 120_000);
});
