import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import { NotFoundError } from "../../platform/errors.ts";
import type { NewInteraction } from "../../platform/ports/crm.ts";
import { SystemRejectedError, SystemUnavailableError } from "../../platform/ports/operator-systems.ts";
import { type SandboxFixture, sandboxFixture } from "./sandbox-fixture.ts";

/** Reliability of the HTTP connectors against the sandbox server with injected faults. */
let sb: SandboxFixture;
beforeAll(async () => {
  sb = await sandboxFixture();
});
afterEach(() => sb.http.clearFaults());
afterAll(async () => {
  await sb.cleanup();
});

async function unavailable(p: Promise<unknown>): Promise<SystemUnavailableError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SystemUnavailableError) return err;
    throw err;
  }
  throw new Error("expected a SystemUnavailableError, the call succeeded");
}

let n = 0;
function interaction(customerId: string): NewInteraction {
  return {
    customer_id: customerId,
    channel: "api",
    category: "cobranca",
    summary: `connector test ${++n} ${Date.now()}`,
    sentiment: "neutral",
    outcome: "resolved",
    offers_made: [],
    offer_accepted: null,
    session_id: null,
  };
}

/** How many interactions with this summary the store holds (the end state, not the answer). */
async function stored(customerId: string, summary: string): Promise<number> {
  return (await sb.systems.crm.listInteractions(customerId, { limit: 1000 })).filter(
    (i) => i.summary === summary,
  ).length;
}

const customer = () => sb.scenarios.customers.mobile_postpaid[0] as string;

describe("HTTP connectors", () => {
  it("retries a write whose answer was lost and applies it once (idempotency key)", async () => {
    const sys = await sb.http.connect({ retries: 2 });
    const input = interaction(customer());
    sb.http.setFault("crm", { dropNext: 1 });
    const result = await sys.crm.recordInteraction(input, { idempotencyKey: `drop-${n}` });
    expect(sb.http.server.faults().crm.dropNext).toBe(0); // the first answer really was dropped
    expect(result.summary).toBe(input.summary);
    expect(await stored(customer(), input.summary)).toBe(1);
  });

  it("without retries reports the lost answer as unavailable; the caller's retry with the same key does not apply it twice", async () => {
    const sys = await sb.http.connect({ retries: 0 });
    const input = interaction(customer());
    const keyed = { idempotencyKey: `drop0-${n}` };
    sb.http.setFault("crm", { dropNext: 1 });
    const err = await unavailable(sys.crm.recordInteraction(input, keyed));
    expect(err.reason).toBe("down");
    expect(await stored(customer(), input.summary)).toBe(1); // applied, answer lost
    const again = await sys.crm.recordInteraction(input, keyed);
    expect(again.summary).toBe(input.summary);
    expect(await stored(customer(), input.summary)).toBe(1);
  });

  it("never resends a write that got an answer (a 5xx is not retried)", async () => {
    const sys = await sb.http.connect({ retries: 3 });
    const id = sb.scenarios.customers.overdue_invoice[0] as string;
    const inv = (await sb.systems.billing.listInvoices(id, { limit: 24 })).find(
      (i) => i.status === "overdue",
    );
    sb.http.setFault("billing", { failNext: 2 });
    const err = await unavailable(
      sys.billing.openDispute(
        { invoice_id: inv?.invoice_id as string, customer_id: id, reason: "x" },
        { idempotencyKey: `503-${n}` },
      ),
    );
    expect(err.reason).toBe("server_error");
    expect(sb.http.server.faults().billing.failNext).toBe(1); // exactly one request went out
    expect((await sb.systems.billing.listDisputes(id)).some((d) => d.invoice_id === inv?.invoice_id)).toBe(
      false,
    );
  });

  it("retries reads on 5xx with backoff and succeeds", async () => {
    const sys = await sb.http.connect({ retries: 2 });
    sb.http.setFault("billing", { failNext: 2 });
    const list = await sys.billing.listInvoices(customer());
    expect(list.length).toBeGreaterThan(0);
    expect(sb.http.server.faults().billing.failNext).toBe(0);
  });

  it("times out slow reads after the per-call timeout and each retry", async () => {
    const sys = await sb.http.connect({ timeoutMs: 100, retries: 1, backoffMs: 1 });
    sb.http.setFault("network", { latencyMs: 400 });
    const started = performance.now();
    const err = await unavailable(sys.network.getLineStatus(customer()));
    expect(err.reason).toBe("timeout");
    expect(err.system).toBe("network");
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("retries a timed-out write with the same key; the system applies it once", async () => {
    const sys = await sb.http.connect({ timeoutMs: 100, retries: 2, backoffMs: 1 });
    const input = interaction(customer());
    sb.http.setFault("crm", { latencyMs: 200 });
    const err = await unavailable(sys.crm.recordInteraction(input, { idempotencyKey: `slow-${n}` }));
    expect(err.reason).toBe("timeout");
    await new Promise((r) => setTimeout(r, 500)); // the three slow requests all reach the system
    expect(await stored(customer(), input.summary)).toBe(1);
  });

  it("reports a system that is down as unavailable while the others answer", async () => {
    const sys = await sb.http.connect({ retries: 1, backoffMs: 1 });
    sb.http.setFault("billing", { down: true });
    const err = await unavailable(sys.billing.listInvoices(customer()));
    expect([err.system, err.reason, err.code]).toEqual(["billing", "down", "system_unavailable"]);
    expect(err.message).toMatch(/billing is unavailable/);
    expect((await sys.crm.getCustomer(customer()))?.customer_id).toBe(customer());
  });

  it("opens the circuit after repeated failures, fails fast, then closes after a successful trial", async () => {
    const sys = await sb.http.connect({ retries: 0, breakerFailures: 2, breakerResetMs: 300 });
    sb.http.setFault("offers", { down: true });
    expect((await unavailable(sys.offers.catalog())).reason).toBe("down");
    expect((await unavailable(sys.offers.catalog())).reason).toBe("down");
    sb.http.clearFaults();
    // The system is back, but the open circuit does not call it yet.
    expect((await unavailable(sys.offers.catalog())).reason).toBe("circuit_open");
    await new Promise((r) => setTimeout(r, 350));
    expect((await sys.offers.catalog()).plans.length).toBeGreaterThan(0);
    expect((await sys.offers.catalog()).plans.length).toBeGreaterThan(0);
  });

  it("does not count business refusals (4xx) against the circuit", async () => {
    const sys = await sb.http.connect({ retries: 0, breakerFailures: 2 });
    for (let i = 0; i < 4; i++) {
      await expect(sys.crm.listContracts("AUR-99999999")).rejects.toBeInstanceOf(SystemRejectedError);
    }
    expect((await sys.crm.listContracts(customer())).length).toBeGreaterThan(0);
  });

  it("answers 503 at the configured error rate", async () => {
    const sys = await sb.http.connect({ retries: 1, backoffMs: 1 });
    sb.http.setFault("network", { errorRate: 1 });
    expect((await unavailable(sys.network.listSpeedTests(customer()))).reason).toBe("server_error");
  });
});

describe("AppContext.operator()", () => {
  const config = (url: string, extra: Record<string, unknown> = {}) =>
    configSchema.parse({
      operator: {
        systems: {
          crm: { url: `${url}/crm` },
          billing: { url: `${url}/billing` },
          network: { url: `${url}/network` },
          offers: { url: `${url}/offers` },
        },
        client: { retries: 0, timeoutMs: 500 },
        sandbox: extra,
      },
    });

  it("uses HTTP when the systems answer, and the workspace sandbox in-process when nothing answers", async () => {
    const up = contextFromConfig(config(sb.http.url), sb.home);
    expect((await up.operator()).mode).toBe("http");
    await up.close();
    const down = contextFromConfig(config("http://127.0.0.1:9"), sb.home);
    const sys = await down.operator();
    expect(sys.mode).toBe("in-process");
    expect(await sys.businessDate()).toBe("2025-12-31");
    expect((await sys.crm.getCustomer(customer()))?.customer_id).toBe(customer());
    await down.close();
  });

  it("keeps HTTP (and reports the system unavailable) when the fallback is off", async () => {
    const app = contextFromConfig(config("http://127.0.0.1:9", { inProcessFallback: false }), sb.home);
    const sys = await app.operator();
    expect(sys.mode).toBe("http");
    expect((await unavailable(sys.crm.getCustomer(customer()))).reason).toBe("down");
    await app.close();
  });

  it("says how to seed when the workspace sandbox was never seeded", async () => {
    const home = mkdtempSync(join(tmpdir(), "telco-noseed-"));
    const app = contextFromConfig(config("http://127.0.0.1:9"), home);
    const err = await app.operator().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).hint).toMatch(/telco up.*telco systems reset/);
    await app.close();
  });
});
