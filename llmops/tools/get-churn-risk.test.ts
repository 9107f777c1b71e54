import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessChurnRisk } from "../../mlops/serving/churn-risk.ts";
import { type ServingFixture, servingFixture } from "../../mlops/serving/testing/fixture.ts";
import type { OperatorSystems } from "../../platform/ports/operator-systems.ts";
import { createToolbox, newToolSession, type ToolAuditEvent } from "./toolbox.ts";

/**
 * get_churn_risk against the real in-process churn scorer (mlops/serving: registry champion + online
 * store of the serving fixture, customers C000001…). The session is one persisted after identity was
 * verified (customer_id set), since the serving fixture's customers are not in the operator sandbox;
 * the tool touches no operator system, so `systems` is a stub that fails any call.
 */
let fx: ServingFixture;
let churn: InProcessChurnRisk;

const noSystems = new Proxy({} as OperatorSystems, {
  get(_t, prop) {
    throw new Error(`get_churn_risk must not use the operator systems (touched ${String(prop)})`);
  },
});

beforeAll(async () => {
  fx = await servingFixture({ customers: 50, config: { workerThreads: "off" } });
  churn = new InProcessChurnRisk(fx.app);
});
afterAll(async () => {
  await churn?.close();
  await fx?.cleanup();
});

function box(customerId: string, language: "pt-BR" | "en", audit: ToolAuditEvent[] = []) {
  const session = {
    ...newToolSession({ session_id: `churn-${customerId}`, channel: "api", language }),
    customer_id: customerId,
  };
  return createToolbox(
    {
      systems: noSystems,
      churn,
      knowledge: { search: async () => ({ index_version: "none", results: [] }) },
      rules: {
        decideOffers: async () => Promise.reject(new Error("unused")),
        fidelityFine: () => ({ months_remaining: 0, fine_brl: 0 }),
      },
      audit: (e) => audit.push(e),
    },
    session,
  );
}

describe("get_churn_risk with the in-process churn service", () => {
  it("gives the champion's probability, band and reasons for the session's customer", async () => {
    const r = await box("C000007", "pt-BR").call("get_churn_risk", {});
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    if (!r.ok) return;
    const direct = await churn.risk("C000007", { language: "pt-BR" });
    expect(r.result).toMatchObject({
      customer_id: "C000007",
      available: true,
      probability: direct?.probability,
      band: direct?.band,
      model_name: "churn",
      model_version: direct?.model_version,
      as_of: "2026-11-01",
    });
    expect(r.result.reasons.map((x) => x.feature).sort()).toEqual(
      direct?.reasons.map((x) => x.feature).sort(),
    );
    const contributions = r.result.reasons.map((x) => x.contribution);
    expect(contributions).toEqual([...contributions].sort((a, b) => b - a));
  });

  it("a customer without features is reported as not available, not as an error", async () => {
    const r = await box("C999999", "en").call("get_churn_risk", {});
    expect(r.ok && r.result).toMatchObject({
      customer_id: "C999999",
      available: false,
      probability: null,
      band: null,
    });
  });

  it("another customer's risk is refused and audited", async () => {
    const audit: ToolAuditEvent[] = [];
    const r = await box("C000007", "pt-BR", audit).call("get_churn_risk", { customer_id: "C000008" });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe("forbidden");
    expect(audit).toMatchObject([
      { kind: "refused", code: "forbidden", requested_customer_id: "C000008", customer_id: "C000007" },
    ]);
  });
});
