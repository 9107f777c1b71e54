import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../config/schema.ts";
import { SystemRejectedError, SystemUnavailableError } from "../../ports/operator-systems.ts";
import { CircuitBreaker, SystemHttpClient } from "./http-client.ts";
import { httpOperatorSystems } from "./systems.ts";

/** A fake operator system: records requests and answers what the test sets. */
let server: Server;
let base = "";
const seen: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
let answer: { status: number; body: string; type?: string } = { status: 200, body: "{}" };
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      res.writeHead(answer.status, { "content-type": answer.type ?? "application/json" });
      res.end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const opts = { timeoutMs: 500, retries: 2, backoffMs: 1, breakerFailures: 3, breakerResetMs: 1000 };

describe("SystemHttpClient", () => {
  it("sends the bearer token from the variable the config names, and the idempotency key on writes", async () => {
    const config = configSchema.parse({
      operator: {
        systems: {
          crm: { url: `${base}/crm/`, apiKeyEnv: "CRM_TOKEN" },
          billing: { url: `${base}/billing` },
          network: { url: `${base}/network` },
          offers: { url: `${base}/offers` },
        },
      },
    });
    const sys = httpOperatorSystems(config.operator, { env: { CRM_TOKEN: "s3cret" } });
    seen.length = 0;
    answer = { status: 200, body: JSON.stringify({ protocol: "AUR2025123100000001" }) };
    await sys.crm.openProtocol(
      { customer_id: "AUR-1", kind: "k", summary: "s" },
      { idempotencyKey: "key-1" },
    );
    expect(seen[0]?.url).toBe("/crm/protocols");
    expect(seen[0]?.headers.authorization).toBe("Bearer s3cret");
    expect(seen[0]?.headers["idempotency-key"]).toBe("key-1");
    expect(JSON.parse(seen[0]?.body ?? "")).toEqual({ customer_id: "AUR-1", kind: "k", summary: "s" });
    answer = { status: 200, body: "[]" };
    await sys.billing.listInvoices("AUR 1/x", { limit: 3 });
    expect(seen[1]?.url).toBe("/billing/customers/AUR%201%2Fx/invoices?limit=3");
    expect(seen[1]?.headers.authorization).toBeUndefined();
  });

  it("maps a 4xx to SystemRejectedError with the system's code, and a 4xx without JSON to http_<status>", async () => {
    const c = new SystemHttpClient({ ...opts, system: "billing", baseUrl: base });
    answer = {
      status: 422,
      body: JSON.stringify({ error: { code: "invalid_reason", message: "reason: required" } }),
    };
    const e = await c.getOrThrow("/x").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SystemRejectedError);
    expect([(e as SystemRejectedError).status, (e as SystemRejectedError).code]).toEqual([
      422,
      "invalid_reason",
    ]);
    answer = { status: 403, body: "forbidden", type: "text/plain" };
    expect(await c.getOrThrow("/x").catch((x: SystemRejectedError) => x.code)).toBe("http_403");
  });

  it("treats a 2xx that is not JSON as a broken system (unavailable), and retries reads on it", async () => {
    const c = new SystemHttpClient({ ...opts, system: "network", baseUrl: base });
    seen.length = 0;
    answer = { status: 200, body: "<html>proxy</html>", type: "text/html" };
    const e = await c.getOrThrow("/y").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SystemUnavailableError);
    expect((e as SystemUnavailableError).reason).toBe("server_error");
    expect(seen).toHaveLength(3);
  });

  it("maps a null-able 404 to null only for the named code", async () => {
    const c = new SystemHttpClient({ ...opts, system: "crm", baseUrl: base });
    answer = { status: 404, body: JSON.stringify({ error: { code: "customer_not_found", message: "no" } }) };
    expect(await c.get("/customers/x", undefined, "customer_not_found")).toBeNull();
    answer = {
      status: 404,
      body: JSON.stringify({ error: { code: "route_not_found", message: "no route" } }),
    };
    expect(
      await c.get("/customers/x", undefined, "customer_not_found").catch((x: SystemRejectedError) => x.code),
    ).toBe("route_not_found");
  });

  it("refuses a write without an idempotency key before sending anything", async () => {
    const c = new SystemHttpClient({ ...opts, system: "crm", baseUrl: base });
    seen.length = 0;
    await expect(c.write("POST", "/x", {}, "")).rejects.toBeInstanceOf(SystemRejectedError);
    expect(seen).toHaveLength(0);
  });

  it("never retries a side-effecting POST without a key (login code check)", async () => {
    const c = new SystemHttpClient({ ...opts, system: "crm", baseUrl: base });
    seen.length = 0;
    answer = { status: 503, body: JSON.stringify({ error: { code: "x", message: "busy" } }) };
    await expect(c.postOnce("/verify", { code: "1" })).rejects.toBeInstanceOf(SystemUnavailableError);
    expect(seen).toHaveLength(1);
  });
});

describe("CircuitBreaker", () => {
  it("opens after N consecutive failures, half-opens after the reset time with one trial, and closes on success", () => {
    let now = 0;
    const b = new CircuitBreaker(3, 1000, () => now);
    b.failure();
    b.failure();
    b.success(); // a success resets the count
    b.failure();
    b.failure();
    expect(b.allow()).toBe(true);
    b.failure();
    expect(b.status).toBe("open");
    expect(b.allow()).toBe(false);
    now = 999;
    expect(b.allow()).toBe(false);
    now = 1000;
    expect(b.allow()).toBe(true); // the trial
    expect(b.allow()).toBe(false); // only one at a time
    b.failure();
    expect(b.status).toBe("open");
    now = 2000;
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.status).toBe("closed");
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(true);
  });
});
