import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteOnlineStore } from "../../platform/adapters/local/sqlite-online-store.ts";
import { logger, setLogLevel } from "../../platform/telemetry/logger.ts";
import { lastMonitorRunPath } from "../monitoring/last-run.ts";
import { readPredictionLog } from "../monitoring/prediction-log.ts";
import { GbdtModel } from "../training/gbdt/index.ts";
import type { ChurnModel } from "../training/model.ts";
import { createAccessLog } from "./access-log.ts";
import type { ExplainThread } from "./explain-thread.ts";
import { type Reason, reasonsFor, toDataset } from "./scoring.ts";
import { buildServer, servingContext } from "./server.ts";
import {
  FIXTURE_SPECS,
  fixtureModelBytes,
  fixtureRows,
  type ServingFixture,
  servingFixture,
} from "./testing/fixture.ts";

const KEY = "test-key-0123456789abcdef";
const auth = { authorization: `Bearer ${KEY}` };
const today = new Date().toISOString().slice(0, 10);

function featurePayload(customer = 0): Record<string, unknown> {
  const row = fixtureRows(200, 11)[customer];
  return Object.fromEntries(FIXTURE_SPECS.map((f) => [f.name, row[f.name]]));
}

describe("churn prediction server", () => {
  let fx: ServingFixture;
  let server: FastifyInstance;

  beforeAll(async () => {
    fx = await servingFixture({ config: { maxBatch: 10, bodyLimitBytes: 4096, shadowAlias: "challenger" } });
    server = await buildServer(fx.app, { apiKeys: [KEY], config: { tracing: "memory" } });
  });
  afterAll(async () => {
    await server.close();
    await fx.cleanup();
  });

  const predict = (payload: unknown, headers: Record<string, string> = auth) =>
    server.inject({ method: "POST", url: "/v1/churn/predict", headers, payload: payload as object });

  it("scores a customer by id with reasons labelled in pt-BR by default and English on request", async () => {
    const res = await predict({ customer_ids: ["C000001"] });
    expect(res.statusCode).toBe(200);
    const [p] = res.json().predictions;
    expect(p).toMatchObject({ customer_id: "C000001", model_name: "churn", model_version: "1" });
    expect(p.probability).toBeGreaterThan(0);
    expect(p.probability).toBeLessThan(1);
    expect(p.risk_band).toBe(p.probability >= 0.6 ? "high" : p.probability >= 0.3 ? "medium" : "low");
    expect(p.prediction_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.reasons).toHaveLength(3);
    const fidelity = p.reasons.find((r: { feature: string }) => r.feature === "fidelity_months_left");
    expect(fidelity?.label).toBe("Meses de fidelidade restantes");
    expect(fidelity?.text).toContain("fidelidade termina em");
    const en = await predict({ customer_ids: ["C000001"] }, { ...auth, "accept-language": "en-US,en;q=0.9" });
    const enFidelity = en
      .json()
      .predictions[0].reasons.find((r: { feature: string }) => r.feature === "fidelity_months_left");
    expect(enFidelity?.label).toBe("Loyalty months left");
    // Reasons are sorted by absolute contribution.
    const mags = p.reasons.map((r: { contribution: number }) => Math.abs(r.contribution));
    expect([...mags].sort((a, b) => b - a)).toEqual(mags);
  });

  it("scores full feature payloads exactly like the same customer read from the online store", async () => {
    const byId = (await predict({ customer_ids: ["C000003"] })).json().predictions[0];
    const res = await predict({
      features: [{ ...featurePayload(2), customer_id: "C000003" }],
      explain: false,
    });
    expect(res.statusCode).toBe(200);
    const p = res.json().predictions[0];
    expect(p.probability).toBeCloseTo(byId.probability, 12);
    expect(p.customer_id).toBe("C000003");
    expect(p.reasons).toEqual([]);
  });

  it("scores several ids in request order", async () => {
    const res = await predict({ customer_ids: ["C000005", "C000002", "C000005"] });
    expect(res.statusCode).toBe(200);
    const ids = res.json().predictions.map((p: { customer_id: string }) => p.customer_id);
    expect(ids).toEqual(["C000005", "C000002", "C000005"]);
  });

  it("rejects missing or wrong API keys with 401", async () => {
    expect((await predict({ customer_ids: ["C000001"] }, {})).statusCode).toBe(401);
    const wrong = await predict(
      { customer_ids: ["C000001"] },
      { authorization: "Bearer not-the-key-0000000000" },
    );
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe("unauthorized");
  });

  it.each([
    [
      "an unknown customer",
      { customer_ids: ["C000001", "NOPE"] },
      404,
      "unknown_customer",
      "customer_ids[1]",
    ],
    [
      "too many ids",
      { customer_ids: Array.from({ length: 11 }, (_, i) => `C${i}`) },
      400,
      "too_many_items",
      "customer_ids",
    ],
    [
      "both inputs",
      { customer_ids: ["C000001"], features: [featurePayload()] },
      400,
      "invalid_request",
      "body",
    ],
    ["neither input", { explain: false }, 400, "invalid_request", "body"],
    ["an unknown field", { customer_ids: ["C000001"], foo: 1 }, 400, "invalid_request", "foo"],
    [
      "a missing feature",
      { features: [{ ...featurePayload(), tenure_months: undefined }] },
      400,
      "invalid_request",
      "features[0].tenure_months",
    ],
    [
      "a string in a numeric field",
      { features: [{ ...featurePayload(), monthly_price_brl: "NaN" }] },
      400,
      "invalid_request",
      "features[0].monthly_price_brl",
    ],
    [
      "a number in a categorical field",
      { features: [{ ...featurePayload(), segment: 3 }] },
      400,
      "invalid_request",
      "features[0].segment",
    ],
    [
      "a nested object as a value",
      { features: [{ ...featurePayload(), segment: { a: 1 } }] },
      400,
      "invalid_request",
      "features[0].segment",
    ],
    ["an unknown model", { customer_ids: ["C000001"], model: "99" }, 404, "not_found", undefined],
    [
      "a mistyped explain flag",
      { customer_ids: ["C000001"], explain: "no" },
      400,
      "invalid_request",
      "explain",
    ],
  ])("answers %s with a machine-readable error", async (_name, payload, status, code, field) => {
    const res = await predict(payload);
    expect(res.statusCode).toBe(status);
    const err = res.json().error;
    expect(err.code).toBe(code);
    expect(typeof err.message).toBe("string");
    if (field !== undefined) expect(err.field).toBe(field);
  });

  it("rejects malformed JSON (400), Infinity literals (400) and bodies over the limit (413)", async () => {
    const bad = await server.inject({
      method: "POST",
      url: "/v1/churn/predict",
      headers: { ...auth, "content-type": "application/json" },
      payload: '{"customer_ids": [',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("invalid_request");
    const huge = await server.inject({
      method: "POST",
      url: "/v1/churn/predict",
      headers: { ...auth, "content-type": "application/json" },
      payload: `{"features":[${JSON.stringify(featurePayload()).replace(/"tenure_months":[0-9.]+/, '"tenure_months":1e999')}]}`,
    });
    expect(huge.statusCode).toBe(400);
    expect(huge.json().error.field).toBe("features[0].tenure_months");
    const big = await server.inject({
      method: "POST",
      url: "/v1/churn/predict",
      headers: { ...auth, "content-type": "application/json" },
      payload: JSON.stringify({ customer_ids: ["x".repeat(5000)] }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe("payload_too_large");
  });

  it("serves a named version and the ONNX export of the same model (no reasons, with a note)", async () => {
    const native = GbdtModel.fromJSON(JSON.parse(Buffer.from(await fixtureModelBytes(7)).toString("utf8")));
    const onnx = await fx.registry.register({
      name: "churn",
      format: "onnx",
      artifact: native.toOnnx(),
      card: { metrics: { auc: { value: 0.7 } } },
    });
    const res = await predict({ customer_ids: ["C000004"], model: String(onnx.version) });
    expect(res.statusCode).toBe(200);
    const p = res.json().predictions[0];
    expect(p.model_version).toBe(String(onnx.version));
    expect(p.reasons).toEqual([]);
    expect(p.reasons_note).toMatch(/onnx/);
    const ref = (await predict({ customer_ids: ["C000004"], model: "champion" })).json().predictions[0];
    expect(p.probability).toBeCloseTo(ref.probability, 5);
  });

  it("exposes probes, OpenAPI, docs, Prometheus metrics with drift gauges, and one span per request", async () => {
    expect((await server.inject("/healthz")).statusCode).toBe(200);
    const ready = await server.inject("/readyz");
    expect(ready.statusCode).toBe(200);
    expect(ready.json().model).toMatchObject({ name: "churn", version: 1 });
    const spec = (await server.inject("/openapi.json")).json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(spec.paths["/v1/churn/predict"].post.requestBody).toBeDefined();
    expect((await server.inject("/docs/")).statusCode).toBe(200);

    const driftFile = lastMonitorRunPath(fx.app.paths);
    mkdirSync(dirname(driftFile), { recursive: true });
    writeFileSync(
      driftFile,
      JSON.stringify({
        at: "x",
        drift: true,
        features: [{ name: "monthly_price_brl", test: "psi", score: 0.42, drift: true }],
        prediction_drift: null,
      }),
    );
    const text = (await server.inject("/metrics")).body;
    expect(text).toMatch(
      /http_requests_total\{method="POST",route="\/v1\/churn\/predict",status="200"\} \d+/,
    );
    expect(text).toMatch(
      /http_requests_total\{method="POST",route="\/v1\/churn\/predict",status="401"\} \d+/,
    );
    expect(text).toContain("http_request_duration_seconds_bucket");
    expect(text).toMatch(/churn_model_info\{model="churn",version="1",alias="champion"\} 1/);
    expect(text).toMatch(/churn_prediction_probability_count\{model_version="1",shadow="false"\} \d+/);
    expect(text).toContain('churn_feature_drift_score{feature="monthly_price_brl",test="psi"} 0.42');
    expect(text).toContain('churn_feature_drift_detected{feature="_any"} 1');

    const spans = servingContext(server).tracing.memory?.getFinishedSpans() ?? [];
    const predictSpans = spans.filter((s) => s.attributes["http.route"] === "/v1/churn/predict");
    expect(predictSpans.length).toBeGreaterThan(5);
    expect(predictSpans[0].name).toBe("POST /v1/churn/predict");
  });

  it("shadow-scores the challenger: logged with shadow: true, never returned", async () => {
    const v2 = await fx.registry.register({
      name: "churn",
      format: "telco-gbdt",
      artifact: await fixtureModelBytes(99, 20),
      card: { metrics: { auc: { value: 0.71 } } },
    });
    await fx.registry.setAlias("churn", "challenger", v2.version, { action: "promote", reason: "test" });
    await servingContext(server).holder.refresh();
    const res = await predict({ customer_ids: ["C000010"] });
    expect(res.json().predictions).toHaveLength(1);
    expect(res.json().predictions[0].model_version).toBe("1");
    await servingContext(server).logWriter.flush();
    const log = await readPredictionLog(fx.app.lake(), { from: today, to: today });
    const shadow = log.filter((r) => r.shadow && r.customer_id === "C000010");
    expect(shadow).toHaveLength(1);
    expect(shadow[0].model_version).toBe(String(v2.version));
    // Both lines carry the store's features as served (the vector path writes the same object).
    const reader = SqliteOnlineStore.open(fx.app.paths.onlineStore, { readOnly: true });
    const stored = (await reader.get("C000010"))?.features;
    await reader.close();
    const served = log.filter((r) => !r.shadow && r.customer_id === "C000010");
    expect(stored).toBeDefined();
    expect(served.at(-1)?.features).toEqual(stored);
    expect(shadow[0].features).toEqual(stored);
  });
});

describe("server lifecycle", () => {
  it("reports not ready (503) with no registered model, and stays up", async () => {
    const fx = await servingFixture();
    const server = await buildServer(fx.app, { apiKeys: [KEY], config: { modelName: "other" } });
    try {
      const ready = await server.inject("/readyz");
      expect(ready.statusCode).toBe(503);
      expect(ready.json().model).toBeNull();
      const res = await server.inject({
        method: "POST",
        url: "/v1/churn/predict",
        headers: auth,
        payload: { customer_ids: ["C000001"] },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe("not_ready");
    } finally {
      await server.close();
      await fx.cleanup();
    }
  });

  it("rate-limits per API key (429) without affecting other keys", async () => {
    const fx = await servingFixture();
    const other = "other-key-0123456789abcdef";
    const server = await buildServer(fx.app, {
      apiKeys: [KEY, other],
      config: { rateLimit: { max: 3, timeWindowMs: 60_000 } },
    });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++)
        codes.push(
          (
            await server.inject({
              method: "POST",
              url: "/v1/churn/predict",
              headers: auth,
              payload: { customer_ids: ["C000001"] },
            })
          ).statusCode,
        );
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      const res = await server.inject({
        method: "POST",
        url: "/v1/churn/predict",
        headers: { authorization: `Bearer ${other}` },
        payload: { customer_ids: ["C000001"] },
      });
      expect(res.statusCode).toBe(200);
    } finally {
      await server.close();
      await fx.cleanup();
    }
  });

  it("loses no prediction-log line on graceful shutdown", async () => {
    const fx = await servingFixture();
    const server = await buildServer(fx.app, {
      apiKeys: [KEY],
      config: { logBufferSize: 1_000_000, logFlushIntervalMs: 3_600_000 },
    });
    try {
      const n = 60;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          server.inject({
            method: "POST",
            url: "/v1/churn/predict",
            headers: auth,
            payload: { customer_ids: [`C${String((i % 200) + 1).padStart(6, "0")}`] },
          }),
        ),
      );
      expect(results.every((r) => r.statusCode === 200)).toBe(true);
      expect(await readPredictionLog(fx.app.lake(), { from: today, to: today })).toHaveLength(0);
      await server.close();
      const log = await readPredictionLog(fx.app.lake(), { from: today, to: today });
      expect(log).toHaveLength(n);
      expect(new Set(log.map((r) => r.prediction_id)).size).toBe(n);
      expect(log[0].features).toHaveProperty("monthly_price_brl");
      expect(log[0].source).toBe("online");
    } finally {
      await fx.cleanup();
    }
  });

  it("computes reasons of concurrent uncached customers on the explain thread, equal to the direct ones", async () => {
    const fx = await servingFixture();
    const server = await buildServer(fx.app, { apiKeys: [KEY], config: { workerThreads: "on" } });
    try {
      const ctx = servingContext(server);
      const thread = ctx.explainThread as ExplainThread;
      expect(thread).toBeDefined();
      const ask = (i: number) =>
        server.inject({
          method: "POST",
          url: "/v1/churn/predict",
          headers: { ...auth, "accept-language": "en" },
          payload: { customer_ids: [`C${String(i + 1).padStart(6, "0")}`] },
        });
      // The thread builds its tables after the first request; then uncached rows go to it.
      const deadline = Date.now() + 10_000;
      for (let i = 0; thread.rowsExplained === 0 && Date.now() < deadline; i++) {
        expect((await ask(i)).statusCode).toBe(200);
        await new Promise((r) => setTimeout(r, 20));
      }
      const before = thread.rowsExplained;
      expect(before).toBeGreaterThan(0);
      const ids = Array.from({ length: 40 }, (_, k) => 150 + k);
      const responses = await Promise.all(ids.map(ask));
      expect(thread.rowsExplained).toBeGreaterThan(before);
      await ctx.logWriter.flush();
      const metrics = (await server.inject("/metrics")).body;
      expect(metrics).toContain('churn_worker_thread_up{thread="explain"} 1');
      expect(metrics).toContain('churn_worker_thread_up{thread="prediction_log"} 1');
      expect(metrics).toContain(`churn_explain_thread_rows_total ${thread.rowsExplained}`);
      expect(ctx.logWriter.persisted).toBeGreaterThan(40);
      expect(metrics).toContain(`churn_prediction_log_records_total ${ctx.logWriter.persisted}`);
      const model = ctx.holder.current()?.model as ChurnModel;
      const rows = fixtureRows(200, 11);
      responses.forEach((res, k) => {
        expect(res.statusCode).toBe(200);
        const got = res.json().predictions[0].reasons as Reason[];
        const expected = reasonsFor(model, toDataset(model, [rows[ids[k]]]), 0, 3, "en");
        expect(got.map((r) => r.feature)).toEqual(expected.map((r) => r.feature));
        expect(got.map((r) => r.text)).toEqual(expected.map((r) => r.text));
        got.forEach((r, j) => {
          expect(r.contribution).toBeCloseTo(expected[j].contribution, 10);
        });
      });
    } finally {
      await server.close();
      await fx.cleanup();
    }
  });

  it("with workerThreads off, explains and logs on the request thread", async () => {
    const fx = await servingFixture();
    const server = await buildServer(fx.app, { apiKeys: [KEY], config: { workerThreads: "off" } });
    try {
      expect(servingContext(server).explainThread).toBeUndefined();
      const res = await server.inject({
        method: "POST",
        url: "/v1/churn/predict",
        headers: auth,
        payload: { customer_ids: ["C000001", "C000002"] },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().predictions.map((p: { reasons: unknown[] }) => p.reasons.length)).toEqual([3, 3]);
      const metrics = (await server.inject("/metrics")).body;
      expect(metrics).toContain('churn_worker_thread_up{thread="explain"} 0');
      expect(metrics).toContain('churn_worker_thread_up{thread="prediction_log"} 0');
      expect(metrics).toContain("churn_explain_thread_rows_total 0");
    } finally {
      await server.close();
    }
    const today = new Date().toISOString().slice(0, 10);
    expect(await readPredictionLog(fx.app.lake(), { from: today, to: today })).toHaveLength(2);
    await fx.cleanup();
  });

  it("follows the champion alias under load: no failed request, both versions served, then only the new one", async () => {
    const fx = await servingFixture();
    const server = await buildServer(fx.app, { apiKeys: [KEY], config: { pollIntervalMs: 100 } });
    try {
      let stop = false;
      const seen: string[] = [];
      /** Versions answered to requests sent after the server had switched (in-flight ones may be older). */
      const after: string[] = [];
      let switched = false;
      const statuses: number[] = [];
      const worker = async () => {
        let i = 0;
        while (!stop) {
          const sentAfterSwitch = switched;
          const res = await server.inject({
            method: "POST",
            url: "/v1/churn/predict",
            headers: auth,
            payload: { customer_ids: [`C${String((i++ % 200) + 1).padStart(6, "0")}`] },
          });
          statuses.push(res.statusCode);
          if (res.statusCode === 200) {
            seen.push(res.json().predictions[0].model_version);
            if (sentAfterSwitch) after.push(res.json().predictions[0].model_version);
          }
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      await new Promise((r) => setTimeout(r, 150));
      const v2 = await fx.registry.register({
        name: "churn",
        format: "telco-gbdt",
        artifact: await fixtureModelBytes(5, 40),
        card: { metrics: { auc: { value: 0.75 } } },
      });
      await fx.registry.setAlias("churn", "champion", v2.version, { action: "promote", reason: "test" });
      const deadline = Date.now() + 5000;
      while (servingContext(server).holder.current()?.version !== v2.version && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      switched = servingContext(server).holder.current()?.version === v2.version;
      await new Promise((r) => setTimeout(r, 200));
      stop = true;
      await Promise.all(workers);
      expect(switched).toBe(true);
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(new Set(seen)).toEqual(new Set(["1", "2"]));
      expect(after.length).toBeGreaterThan(0);
      expect(after).not.toContain("1");
    } finally {
      await server.close();
      await fx.cleanup();
    }
  });

  it("writes one masked access-log line per request, flushed on close, never the API key", async () => {
    const fx = await servingFixture();
    const path = join(fx.home, "access.log");
    const fd = openSync(path, "w");
    const level = logger().level;
    setLogLevel("info");
    const server = await buildServer(fx.app, {
      apiKeys: [KEY],
      accessLog: createAccessLog(fd),
      config: { rateLimit: { max: 2, timeWindowMs: 60_000 } },
    });
    try {
      const ok = {
        method: "POST" as const,
        url: "/v1/churn/predict",
        payload: { customer_ids: ["C000001"] },
      };
      expect((await server.inject({ ...ok, headers: auth })).statusCode).toBe(200);
      expect(
        (await server.inject({ ...ok, headers: { authorization: "Bearer wrong-key-0123456789" } }))
          .statusCode,
      ).toBe(401);
      expect((await server.inject("/v1/customers/123.456.789-09?nome=Maria")).statusCode).toBe(404);
      expect((await server.inject({ ...ok, headers: auth })).statusCode).toBe(200);
      const limited = await server.inject({ ...ok, headers: auth });
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
      await server.close();
      const lines = readFileSync(path, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.log, l.method, l.status])).toEqual([
        ["access", "POST", 200],
        ["access", "POST", 401],
        ["access", "GET", 404],
        ["access", "POST", 200],
        ["access", "POST", 429],
      ]);
      expect(lines[0].key).toMatch(/^[0-9a-f]{8}$/);
      expect(lines[1].key).toBeUndefined();
      expect(lines[2].url).toBe("/v1/customers/[masked]?nome=[masked]");
      const text = readFileSync(path, "utf8");
      expect(text).not.toContain(KEY);
      expect(text).not.toContain("Maria");
    } finally {
      setLogLevel(level);
      closeSync(fd);
      await fx.cleanup();
    }
  });
});
