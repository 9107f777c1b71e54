import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_NAMES } from "../ports/operator-systems.ts";
import { seedSandbox } from "./index.ts";
import { type SandboxServer, startSandboxServer } from "./server.ts";
import { miniSeed } from "./test-support/mini-seed.ts";

let server: SandboxServer;
beforeAll(async () => {
  const path = join(mkdtempSync(join(tmpdir(), "telco-server-")), "operator.sqlite");
  seedSandbox(path, miniSeed());
  server = await startSandboxServer({ path });
});
afterAll(async () => {
  await server.close();
});

async function call(method: string, url: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${url}`, {
    method,
    body,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

describe("sandbox server", () => {
  it("answers /healthz with the business date", async () => {
    expect(await call("GET", "/healthz")).toEqual({
      status: 200,
      json: { status: "ok", business_date: "2025-12-31" },
    });
  });

  it("serves one OpenAPI document per system, with paths relative to the system", async () => {
    for (const s of SYSTEM_NAMES) {
      const { status, json } = await call("GET", `/${s}/openapi.json`);
      expect(status).toBe(200);
      expect(json?.openapi).toBe("3.0.3");
      expect(json?.servers).toEqual([{ url: `/${s}` }]);
      const paths = Object.keys(json?.paths as object);
      expect(paths.length).toBeGreaterThan(3);
      expect(paths.every((p) => !p.startsWith(`/${s}/`))).toBe(true);
    }
    const crm = (await call("GET", "/crm/openapi.json")).json as {
      paths: Record<
        string,
        Record<string, { requestBody?: unknown; parameters?: { name: string; in: string }[] }>
      >;
    };
    const post = crm.paths["/interactions"]?.post;
    expect(post?.requestBody).toBeDefined();
    expect(post?.parameters?.some((p) => p.in === "header" && p.name === "idempotency-key")).toBe(true);
  });

  it("rejects bad input with a clean 4xx JSON error naming the problem, never a crash", async () => {
    const cases: [string, string, string | undefined, Record<string, string>, number, string][] = [
      ["POST", "/crm/interactions", "{not json", { "idempotency-key": "k" }, 400, "invalid_request"],
      [
        "POST",
        "/crm/interactions",
        JSON.stringify({ customer_id: "AUR-00000001" }),
        {},
        400,
        "invalid_request",
      ],
      [
        "POST",
        "/crm/interactions",
        JSON.stringify({ customer_id: "AUR-00000001", channel: "fax" }),
        { "idempotency-key": "k" },
        400,
        "invalid_request",
      ],
      [
        "POST",
        "/crm/protocols",
        JSON.stringify({ customer_id: "AUR-00000001", kind: "x", summary: "y" }),
        {},
        400,
        "idempotency_key_required",
      ],
      ["GET", "/crm/customers/AUR-99999999", undefined, {}, 404, "customer_not_found"],
      ["GET", "/billing/customers/AUR-99999999/invoices", undefined, {}, 404, "customer_not_found"],
      ["GET", "/billing/customers/AUR-00000001/invoices?limit=abc", undefined, {}, 400, "invalid_request"],
      ["GET", "/network/outages", undefined, {}, 400, "invalid_request"],
      ["GET", "/network/outages?uf=SP&active_at=yesterday", undefined, {}, 422, "invalid_active_at"],
      ["GET", "/nope", undefined, {}, 404, "route_not_found"],
      ["POST", "/offers/applications", "[]", { "idempotency-key": "k" }, 400, "invalid_request"],
      [
        "POST",
        "/offers/decisions",
        JSON.stringify({
          customer_id: "AUR-00000001",
          rules_version: "1",
          allowed: [{ offer_id: "FREE-TV", rule_id: "r" }],
          rejected: [],
        }),
        { "idempotency-key": "k" },
        422,
        "unknown_offer",
      ],
      [
        "PATCH",
        "/crm/customers/AUR-00000001/contact",
        JSON.stringify({ cep: "12" }),
        { "idempotency-key": "k" },
        422,
        "invalid_cep",
      ],
      [
        "POST",
        "/network/bookings",
        JSON.stringify({ customer_id: "AUR-00000001", slot_id: "SLT-x", reason: "r" }),
        { "idempotency-key": "k" },
        422,
        "invalid_slot",
      ],
      [
        "POST",
        "/billing/invoices/INV-202512-00000001/copies",
        undefined,
        { "idempotency-key": "k" },
        409,
        "invoice_paid",
      ],
      [
        "POST",
        "/crm/interactions",
        JSON.stringify({ x: "y".repeat(300_000) }),
        { "idempotency-key": "k" },
        413,
        "payload_too_large",
      ],
    ];
    for (const [method, url, body, headers, status, code] of cases) {
      const r = await call(method, url, body, headers);
      expect([r.status, (r.json?.error as { code: string })?.code], `${method} ${url}`).toEqual([
        status,
        code,
      ]);
      expect(typeof (r.json?.error as { message?: string } | undefined)?.message).toBe("string");
    }
    const r = await call(
      "POST",
      "/crm/interactions",
      JSON.stringify({ customer_id: "AUR-00000001", channel: "fax" }),
      {
        "idempotency-key": "k",
      },
    );
    expect((r.json?.error as { message?: string } | undefined)?.message).toMatch(/body\.channel/);
    expect((await call("GET", "/healthz")).status).toBe(200);
  });

  it("survives garbage bodies on every write route", async () => {
    const bodies = [
      "null",
      "1",
      '"x"',
      "{}",
      '{"customer_id":123}',
      '{"customer_id":"AUR-00000001","reason":null}',
      "[{}]",
    ];
    const writes = [
      "/crm/interactions",
      "/crm/protocols",
      "/crm/consents",
      "/crm/cancellations",
      "/crm/customers/AUR-00000001/login-codes",
      "/billing/disputes",
      "/billing/invoices/INV-202512-00000002/copies",
      "/network/bookings",
      "/network/customers/AUR-00000001/line-tests",
      "/offers/decisions",
      "/offers/applications",
      "/offers/plan-changes",
    ];
    let k = 0;
    for (const url of writes) {
      for (const body of bodies) {
        const r = await call("POST", url, body, { "idempotency-key": `g${++k}` });
        expect(r.status, `${url} ${body}`).toBeLessThan(500);
      }
    }
  });

  it("injects faults per system through the test hook and the HTTP endpoint", async () => {
    server.setFault("billing", { failNext: 1 });
    expect((await call("GET", "/billing/customers/AUR-00000001/invoices")).status).toBe(503);
    expect((await call("GET", "/billing/customers/AUR-00000001/invoices")).status).toBe(200);
    const put = await call("PUT", "/_faults/network", JSON.stringify({ down: true }));
    expect(put.json?.down).toBe(true);
    await expect(fetch(`${server.url}/network/outages?uf=SP`)).rejects.toThrow();
    expect((await call("GET", "/crm/customers/AUR-00000001")).status).toBe(200);
    expect((await call("PUT", "/_faults/network", JSON.stringify({ down: "yes" }))).status).toBe(400);
    expect((await call("PUT", "/_faults/pabx", JSON.stringify({}))).status).toBe(404);
    await call("DELETE", "/_faults");
    expect((await call("GET", "/network/outages?uf=SP")).status).toBe(200);
  });

  it("takes faults from config at start", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "telco-server-")), "operator.sqlite");
    seedSandbox(path, miniSeed());
    const s = await startSandboxServer({ path, faults: { offers: { errorRate: 1 } } });
    try {
      expect((await fetch(`${s.url}/offers/catalog`)).status).toBe(503);
      expect((await fetch(`${s.url}/crm/customers/AUR-00000001`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
