import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logger, setLogLevel } from "../../platform/telemetry/logger.ts";
import type { AccessLog } from "./access-log.ts";
import { buildServer } from "./server.ts";
import { type ServingFixture, servingFixture } from "./testing/fixture.ts";

const KEY = "test-key-0123456789abcdef";

/** An access log held in memory: the server writes its lines through pino exactly as on stderr. */
function memoryAccessLog(): AccessLog & { lines(): Record<string, unknown>[] } {
  let text = "";
  const sink = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  const log = pino({ level: "info", base: { service: "telco", log: "access" } }, sink);
  return {
    log,
    flush: () => {},
    close: () => {},
    lines: () =>
      text
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

describe("access log masking on the request path (issue 19)", () => {
  let fx: ServingFixture;
  let server: FastifyInstance;
  let access: ReturnType<typeof memoryAccessLog>;
  let level: string;

  beforeAll(async () => {
    fx = await servingFixture({ customers: 5 });
    level = logger().level;
    setLogLevel("info");
    access = memoryAccessLog();
    server = await buildServer(fx.app, { apiKeys: [KEY], accessLog: access });
  });
  afterAll(async () => {
    setLogLevel(level);
    await server.close();
    await fx.cleanup();
  });

  // [url as requested, url as it must appear in the log, values that must not appear anywhere]
  const cases: [string, string, string[]][] = [
    ["/v1/lookup?tel=%2B5511987654321", "/v1/lookup?tel=[masked]", ["5511987654321", "98765"]],
    ["/v1/lookup?phone=+55+11+98765+4321", "/v1/lookup?phone=[masked]", ["98765+4321", "98765"]],
    ["/v1/lookup?q=%2B5511987654321&page=2", "/v1/lookup?q=[masked]&page=2", ["5511987654321"]],
    ["/v1/lookup?q=+55+11+98765+4321", "/v1/lookup?q=[masked]", ["98765"]],
    ["/v1/lookup?name=Jo%C3%A3o+Silva&uf=SP", "/v1/lookup?name=[masked]&uf=SP", ["Jo%C3%A3o", "Silva"]],
    ["/v1/lookup?nome_cliente=Maria%20Clara", "/v1/lookup?nome_cliente=[masked]", ["Maria", "Clara"]],
    ["/v1/lookup?n%61me=Jo%C3%A3o", "/v1/lookup?n%61me=[masked]", ["Jo%C3%A3o"]],
    ["/v1/customers/abc12345678909def", "/v1/customers/abc[masked]def", ["12345678909"]],
    ["/v1/customers/529.982.247-25/invoices", "/v1/customers/[masked]/invoices", ["529.982.247-25"]],
    ["/v1/lookup?email=ana%40exemplo.com", "/v1/lookup?email=[masked]", ["exemplo"]],
    ["/v1/lookup?q=ana%40exemplo.com", "/v1/lookup?q=[masked]", ["exemplo"]],
  ];

  it("logs each request once, with personal data masked in the URL and in the 404 body", async () => {
    const bodies: string[] = [];
    for (const [url] of cases) {
      const res = await server.inject({ method: "GET", url });
      expect(res.statusCode).toBe(404);
      bodies.push(res.body);
    }
    const lines = access.lines().slice(-cases.length);
    expect(lines.map((l) => l.url)).toEqual(cases.map((c) => c[1]));
    expect(lines.every((l) => l.log === "access" && l.status === 404 && l.method === "GET")).toBe(true);
    const logged = JSON.stringify(lines);
    cases.forEach(([, expected, secrets], i) => {
      expect(bodies[i]).toContain(`no route GET ${expected}`);
      for (const s of secrets) {
        expect(logged).not.toContain(s);
        expect(bodies[i]).not.toContain(s);
      }
    });
  });

  it("leaves ordinary URLs readable", async () => {
    const before = access.lines().length;
    const ok = await server.inject({
      method: "POST",
      url: "/v1/churn/predict",
      headers: { authorization: `Bearer ${KEY}` },
      payload: { customer_ids: ["C000001"] },
    });
    expect(ok.statusCode).toBe(200);
    await server.inject("/healthz");
    await server.inject("/v1/invoices/INV-202611-00000001?amount=1234.56&date=2026-12-07");
    const urls = access
      .lines()
      .slice(before)
      .map((l) => l.url);
    expect(urls).toEqual([
      "/v1/churn/predict",
      "/healthz",
      "/v1/invoices/INV-202611-00000001?amount=1234.56&date=2026-12-07",
    ]);
  });
});
