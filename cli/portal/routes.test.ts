import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../../mlops/serving/server.ts";
import {
  fixtureModelBytes,
  type ServingFixture,
  servingFixture,
} from "../../mlops/serving/testing/fixture.ts";
import { SqlitePipelineMetadata as PipelineMetadata } from "../../platform/adapters/local/sqlite-pipeline-metadata.ts";
import { ConfigError } from "../../platform/errors.ts";
import { portalAuditFile, portalDeps } from "./index.ts";
import { parsePortalKeys } from "./roles.ts";
import { portalRoutes } from "./routes.ts";

// The console API's role checks, audit and reads over a real registry and online store (no browser).

const SERVER_KEY = "server-key-0123456789abcdef";
const VIEWER = "viewer-key-0123456789abcdef";
const OPERATOR = "operator-key-0123456789abcd";
let fx: ServingFixture;
let server: FastifyInstance;
let dist: string;
let close: () => Promise<void>;

const as = (key: string) => ({ authorization: `Bearer ${key}` });
const audit = () =>
  readFileSync(portalAuditFile(fx.app), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  fx = await servingFixture({ customers: 12 });
  const v2 = await fx.registry.register({
    name: "churn",
    format: "telco-gbdt",
    artifact: await fixtureModelBytes(8, 10),
    card: { metrics: { auc: { value: 0.75 } } },
  });
  await fx.registry.setAlias("churn", "champion", v2.version, { action: "force", reason: "test" });
  dist = mkdtempSync(join(tmpdir(), "telco-portal-dist-"));
  const deps = portalDeps(fx.app, { TELCO_PORTAL_KEYS: `viewer:${VIEWER}, operator:${OPERATOR}` });
  close = deps.close;
  server = await buildServer(fx.app, {
    apiKeys: [SERVER_KEY],
    plugins: [
      portalRoutes({
        ...deps,
        distDir: dist,
        systems: async () => {
          throw new Error("no operator systems in this test");
        },
      }),
    ],
    accessLog: { log: { info() {} }, flush() {}, close() {} } as never,
  });
});
afterAll(async () => {
  await server?.close();
  await close?.();
  await fx.cleanup();
});

describe("console API", () => {
  it("maps keys to roles and refuses a request without a console key (audited)", async () => {
    expect((await server.inject({ url: "/v1/portal/me", headers: as(VIEWER) })).json()).toMatchObject({
      role: "viewer",
    });
    expect((await server.inject({ url: "/v1/portal/me", headers: as(OPERATOR) })).json()).toMatchObject({
      role: "operator",
    });
    expect((await server.inject({ url: "/v1/portal/me", headers: as(SERVER_KEY) })).json()).toMatchObject({
      role: "admin",
    });
    const anon = await server.inject({ url: "/v1/portal/models" });
    expect(anon.statusCode).toBe(401);
    expect(anon.json().error.code).toBe("unauthorized");
    expect(audit().some((a) => a.role === null && a.status === 401 && a.url === "/v1/portal/models")).toBe(
      true,
    );
  });

  it("lists customers by churn probability with their top reasons", async () => {
    const r = await server.inject({ url: "/v1/portal/customers/at-risk?limit=5", headers: as(VIEWER) });
    expect(r.statusCode).toBe(200);
    const rows = r.json().customers as { customer_id: string; probability: number; reasons: unknown[] }[];
    expect(rows).toHaveLength(5);
    const probs = rows.map((x) => x.probability);
    expect(probs).toEqual([...probs].sort((a, b) => b - a));
    expect(rows[0].reasons.length).toBeGreaterThan(0);
    const bad = await server.inject({ url: "/v1/portal/customers/at-risk?limit=abc", headers: as(VIEWER) });
    expect(bad.statusCode).toBe(400);
  });

  it("lets only an admin roll back a model, and audits both", async () => {
    for (const key of [VIEWER, OPERATOR]) {
      const r = await server.inject({
        method: "POST",
        url: "/v1/portal/models/churn/rollback",
        headers: as(key),
        payload: {},
      });
      expect(r.statusCode).toBe(403);
    }
    expect((await fx.registry.aliases("churn")).champion).toBe(2);
    const ok = await server.inject({
      method: "POST",
      url: "/v1/portal/models/churn/rollback",
      headers: as(SERVER_KEY),
      payload: {},
    });
    expect(ok.statusCode).toBe(200);
    expect((await fx.registry.aliases("churn")).champion).toBe(1);
    const models = (await server.inject({ url: "/v1/portal/models", headers: as(VIEWER) })).json().models;
    expect(models[0].events.map((e: { action: string }) => e.action)).toContain("rollback");
    const lines = audit().filter((a) => a.url === "/v1/portal/models/churn/rollback");
    expect(lines.map((a) => [a.role, a.status])).toEqual([
      ["viewer", 403],
      ["operator", 403],
      ["admin", 200],
    ]);
  });

  it("serves the built files at / and says so when the portal is not built", async () => {
    const missing = await server.inject({ url: "/" });
    expect(missing.statusCode).toBe(503);
    expect(missing.body).toContain("npm run build:portal");
    mkdirSync(join(dist, "assets"), { recursive: true });
    writeFileSync(join(dist, "index.html"), "<!doctype html><title>portal</title>");
    writeFileSync(join(dist, "assets", "app.js"), "console.log(1)");
    const index = await server.inject({ url: "/" });
    expect(index.statusCode).toBe(200);
    expect(index.headers["content-type"]).toMatch(/^text\/html/);
    const js = await server.inject({ url: "/assets/app.js" });
    expect(js.headers["content-type"]).toMatch(/^text\/javascript/);
    expect((await server.inject({ url: "/assets/..%2F..%2Fetc%2Fpasswd" })).statusCode).toBe(404);
  });
});

describe("pipelines", () => {
  it("lists runs newest first with their steps, durations and cache hits", async () => {
    const empty = await server.inject({ url: "/v1/portal/pipelines/runs", headers: as(VIEWER) });
    expect(empty.json()).toEqual({ runs: [] });
    const meta = new PipelineMetadata(fx.app.paths.pipelines);
    await meta.createRun({ id: "run-1", pipeline: "demo", params: {} });
    await meta.upsertStep("run-1", { name: "a", step: "a", status: "cached", duration_ms: 5, attempts: 1 });
    await meta.upsertStep("run-1", {
      name: "b",
      step: "b",
      status: "failed",
      duration_ms: 7,
      attempts: 2,
      error: "boom",
    });
    await meta.finishRun("run-1", "failed", "b failed");
    await meta.close();
    const runs = (await server.inject({ url: "/v1/portal/pipelines/runs", headers: as(VIEWER) })).json().runs;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ run_id: "run-1", pipeline: "demo", status: "failed" });
    expect(runs[0].steps).toEqual([
      { name: "a", status: "cached", duration_ms: 5, attempts: 1, cached: true, error: null },
      { name: "b", status: "failed", duration_ms: 7, attempts: 2, cached: false, error: "boom" },
    ]);
  });
});

describe("knowledge-base pages", () => {
  it("serves a cited document with one anchor per section, and 404 for an unknown one", async () => {
    const r = await server.inject({ url: "/kb/faq-app-aurora" });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain("<h1>App Aurora");
    expect(r.body).toMatch(/<h2 id="[^"]+">/);
    expect((await server.inject({ url: "/kb/no-such-doc" })).statusCode).toBe(404);
  });
});

describe("parsePortalKeys", () => {
  it("reads ROLE:KEY pairs and names the bad item", () => {
    expect(parsePortalKeys(`admin:${SERVER_KEY}, viewer:${VIEWER}`).map((k) => k.role)).toEqual([
      "admin",
      "viewer",
    ]);
    expect(() => parsePortalKeys(`root:${VIEWER}`)).toThrow(ConfigError);
    expect(() => parsePortalKeys(`viewer:short`)).toThrow(/item 1.*shorter than 16/);
  });
});
