import { describe, expect, it } from "vitest";
import { buildServer } from "./server.ts";
import { FIXTURE_SPECS, fixtureModelBytes, servingFixture } from "./testing/fixture.ts";

const KEY = "test-key-0123456789abcdef";
const auth = { authorization: `Bearer ${KEY}` };

/** The risk bands a model's card carries (set at training) are the ones the API answers with. */
describe("risk bands from the model card", () => {
  it("bands by the champion's card cut-offs, or by config when serving.riskBandSource is config", async () => {
    const fx = await servingFixture();
    const v2 = await fx.registry.register({
      name: "churn",
      format: "telco-gbdt",
      artifact: await fixtureModelBytes(7),
      card: {
        metrics: { auc: { value: 0.7 } },
        features: FIXTURE_SPECS.map((f) => ({ name: f.name })),
        // Every probability above 0.000001 is "high" with these cut-offs.
        riskBands: { medium: 0.0000005, high: 0.000001 },
      },
    });
    await fx.registry.setAlias("churn", "champion", v2.version, { action: "force", reason: "test" });
    const ids = ["C000001", "C000002", "C000003", "C000004", "C000005"];
    const bandsOf = async (config: Record<string, unknown>) => {
      const server = await buildServer(fx.app, { apiKeys: [KEY], config });
      try {
        const res = await server.inject({
          method: "POST",
          url: "/v1/churn/predict",
          headers: auth,
          payload: { customer_ids: ids, explain: false },
        });
        expect(res.statusCode).toBe(200);
        return (res.json().predictions as { risk_band: string; probability: number }[]).map(
          (p) => p.risk_band,
        );
      } finally {
        await server.close();
      }
    };
    try {
      expect(await bandsOf({})).toEqual(ids.map(() => "high"));
      const byConfig = await bandsOf({ riskBandSource: "config", riskBands: { medium: 0.98, high: 0.99 } });
      expect(byConfig).toEqual(ids.map(() => "low"));
    } finally {
      await fx.cleanup();
    }
  });
});
