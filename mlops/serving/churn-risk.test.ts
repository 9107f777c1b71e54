import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessChurnRisk } from "./churn-risk.ts";
import { buildServer } from "./server.ts";
import { FIXTURE_SPECS, fixtureModelBytes, type ServingFixture, servingFixture } from "./testing/fixture.ts";

const KEY = "test-key-0123456789abcdef";

describe("in-process churn risk", () => {
  let fx: ServingFixture;
  let server: FastifyInstance;
  let service: InProcessChurnRisk;

  beforeAll(async () => {
    fx = await servingFixture({ config: { pollIntervalMs: 100, workerThreads: "off" } });
    server = await buildServer(fx.app, { apiKeys: [KEY] });
    service = new InProcessChurnRisk(fx.app);
  });
  afterAll(async () => {
    await service.close();
    await server.close();
    await fx.cleanup();
  });

  const api = async (id: string, lang?: string) => {
    const res = await server.inject({
      method: "POST",
      url: "/v1/churn/predict",
      headers: { authorization: `Bearer ${KEY}`, ...(lang ? { "accept-language": lang } : {}) },
      payload: { customer_ids: [id] },
    });
    expect(res.statusCode).toBe(200);
    return res.json().predictions[0];
  };

  it("gives the churn API's probability, band and reasons, with readable labels", async () => {
    for (const id of ["C000001", "C000007", "C000042"]) {
      const r = await service.risk(id);
      const p = await api(id);
      expect(r).not.toBeNull();
      expect(r?.customer_id).toBe(id);
      expect(r?.probability).toBeCloseTo(p.probability, 12);
      expect(r?.band).toBe(p.risk_band);
      expect(r?.model_name).toBe("churn");
      expect(r?.model_version).toBe("1");
      expect(r?.as_of).toBe("2026-11-01");
      expect(r?.reasons.map((x) => x.feature)).toEqual(p.reasons.map((x: { feature: string }) => x.feature));
      r?.reasons.forEach((x, i) => {
        expect(x.contribution).toBeCloseTo(p.reasons[i].contribution, 10);
        // The label is the sentence about the value when there is one (e.g. "fidelidade termina em 3 meses").
        expect(x.label).toBe(p.reasons[i].text ?? p.reasons[i].label);
      });
    }
  });

  it("labels reasons in English on request", async () => {
    const en = await service.risk("C000001", { language: "en" });
    const p = await api("C000001", "en");
    expect(en?.reasons.map((x) => x.label)).toEqual(
      p.reasons.map((x: { text?: string; label: string }) => x.text ?? x.label),
    );
    const pt = await service.risk("C000001");
    expect(en?.reasons.map((x) => x.label)).not.toEqual(pt?.reasons.map((x) => x.label));
  });

  it("returns null for a customer without features and refuses a malformed id", async () => {
    expect(await service.risk("C999999")).toBeNull();
    await expect(service.risk("../etc/passwd")).rejects.toThrow(/customer_id/);
  });

  it("follows a promotion of the champion alias, with the new card's training data version", async () => {
    const v2 = await fx.registry.register({
      name: "churn",
      format: "telco-gbdt",
      artifact: await fixtureModelBytes(99, 10),
      card: {
        metrics: { auc: { value: 0.71 } },
        features: FIXTURE_SPECS.map((f) => ({ name: f.name })),
        trainingDataset: { name: "fixture", version: "ds-v2" },
      },
    });
    const before = await service.risk("C000001");
    expect(before?.data_version).toBeNull();
    await fx.registry.setAlias("churn", "champion", v2.version, { action: "promote", reason: "test" });
    await new Promise((r) => setTimeout(r, 150));
    const after = await service.risk("C000001");
    expect(after?.model_version).toBe(String(v2.version));
    expect(after?.data_version).toBe("ds-v2");
    expect(after?.probability).not.toBeCloseTo(before?.probability ?? 0, 6);
  });

  it("says no model is ready when nothing is registered", async () => {
    const empty = await servingFixture();
    const svc = new InProcessChurnRisk(empty.app, { config: { modelName: "absent" } });
    await expect(svc.risk("C000001")).rejects.toMatchObject({ code: "not_ready" });
    await svc.close();
    await empty.cleanup();
  });
});
