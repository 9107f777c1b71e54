import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import { setLogLevel } from "../../platform/telemetry/logger.ts";
import { servingPort } from "./cli.ts";
import { buildServer } from "./server.ts";
import { FIXTURE_SPECS, fixtureRows, type ServingFixture, servingFixture } from "./testing/fixture.ts";
import { vertexRoutes } from "./vertex-contract.ts";

const KEY = "test-key-0123456789abcdef";
// Vertex's default routes when the container spec names none (the predict one ends in a literal ":predict").
const HEALTH = "/v1/endpoints/123/deployedModels/456";
const PREDICT = "/v1/endpoints/123/deployedModels/456:predict";
const AIP = ["AIP_HTTP_PORT", "AIP_HEALTH_ROUTE", "AIP_PREDICT_ROUTE"] as const;

function featureRow(i: number): Record<string, unknown> {
  const row = fixtureRows(200, 11)[i];
  return Object.fromEntries(FIXTURE_SPECS.map((f) => [f.name, row[f.name]]));
}

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("Vertex AI custom-container contract (real server on loopback, AIP_* set)", () => {
  let fx: ServingFixture;
  let server: FastifyInstance;
  let base: string;
  let port: number;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    setLogLevel("silent");
    for (const k of [...AIP, "PORT"]) saved[k] = process.env[k];
    port = await freePort();
    process.env.AIP_HTTP_PORT = String(port);
    process.env.AIP_HEALTH_ROUTE = HEALTH;
    process.env.AIP_PREDICT_ROUTE = PREDICT;
    process.env.PORT = "1"; // AIP_HTTP_PORT must win
    fx = await servingFixture({ config: { maxBatch: 5 } });
    server = await buildServer(fx.app, { apiKeys: [KEY] });
    await server.listen({ host: "127.0.0.1", port: servingPort(fx.app) });
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server?.close();
    await fx?.cleanup();
    for (const k of [...AIP, "PORT"])
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
  });

  const post = (body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) =>
    fetch(`${base}${PREDICT}`, { method: "POST", headers, body: JSON.stringify(body) });

  it("listens on AIP_HTTP_PORT (over PORT) and answers the health route once the model is loaded", async () => {
    expect(servingPort(fx.app)).toBe(port);
    const res = await fetch(`${base}${HEALTH}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready" });
  });

  it("scores feature-row instances without an API key, one prediction per instance in order, equal to /v1/churn/predict", async () => {
    const instances = [featureRow(0), { ...featureRow(1), customer_id: "C000777" }, featureRow(2)];
    const res = await post({ instances, parameters: { explain: false } });
    expect(res.status).toBe(200);
    const { predictions } = (await res.json()) as { predictions: Record<string, unknown>[] };
    expect(predictions).toHaveLength(3);
    expect(predictions.map((p) => p.customer_id)).toEqual([null, "C000777", null]);
    expect(predictions.every((p) => p.model_name === "churn" && p.model_version === "1")).toBe(true);
    expect(predictions[0].reasons).toEqual([]);
    const direct = await fetch(`${base}/v1/churn/predict`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ features: instances, explain: false }),
    });
    const expected = ((await direct.json()) as { predictions: { probability: number }[] }).predictions;
    expect(predictions.map((p) => p.probability)).toEqual(expected.map((p) => p.probability));
  });

  it("scores customer-id instances from the online store, with reasons by default", async () => {
    const res = await post({ instances: ["C000002", "C000001"] });
    expect(res.status).toBe(200);
    const { predictions } = (await res.json()) as {
      predictions: { customer_id: string; reasons: unknown[] }[];
    };
    expect(predictions.map((p) => p.customer_id)).toEqual(["C000002", "C000001"]);
    expect(predictions[0].reasons.length).toBeGreaterThan(0);
  });

  it("names the bad instance in Vertex terms, and rejects bad envelopes with 4xx", async () => {
    const missing = { ...featureRow(0) } as Record<string, unknown>;
    delete missing.tenure_months;
    let res = await post({ instances: [featureRow(1), missing] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe(
      "instances[1].tenure_months",
    );

    res = await post({ instances: ["C999999"] });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe("instances[0]");

    res = await post({ instances: ["C000001", featureRow(0)] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /mixes customer ids/,
    );

    res = await post({ rows: [] });
    expect(res.status).toBe(400);
    res = await post({ instances: ["C000001", "C000002", "C000003", "C000004", "C000005", "C000006"] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("too_many_items");
    res = await post({ instances: [42] });
    expect(res.status).toBe(400);
    res = await post({ instances: ["C000001"] }, { "content-type": "text/plain" });
    expect(res.status).toBe(415);
    // The churn API keeps its API key.
    const direct = await fetch(`${base}/v1/churn/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ customer_ids: ["C000001"] }),
    });
    expect(direct.status).toBe(401);
  });

  it("health answers 503 naming why while no model is loaded", async () => {
    const home = mkdtempSync(join(tmpdir(), "telco-vertex-empty-"));
    const app = contextFromConfig(configSchema.parse({}), home);
    const empty = await buildServer(app, { apiKeys: [KEY] });
    try {
      const res = await empty.inject({ method: "GET", url: HEALTH });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe("not_ready");
      expect(res.json().error.message).toMatch(/churn/);
    } finally {
      await empty.close();
      await app.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("vertexRoutes", () => {
  it("reads nothing when Vertex is not running the image, and rejects malformed values naming the variable", () => {
    expect(vertexRoutes({})).toEqual({ port: undefined, health: undefined, predict: undefined });
    expect(() => vertexRoutes({ AIP_HTTP_PORT: "80a" })).toThrow(/AIP_HTTP_PORT/);
    expect(() => vertexRoutes({ AIP_HTTP_PORT: "70000" })).toThrow(/AIP_HTTP_PORT/);
    expect(() => vertexRoutes({ AIP_PREDICT_ROUTE: "predict" })).toThrow(/AIP_PREDICT_ROUTE/);
  });
});
