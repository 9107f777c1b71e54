import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMonitor, writeReferenceProfile } from "../monitoring/monitor.ts";
import { PredictionLogWriter, readPredictionLog } from "../monitoring/prediction-log.ts";
import { buildReferenceProfile } from "../monitoring/reference-profile.ts";
import { datasetFromRows } from "../training/dataset.ts";
import { buildServer } from "./server.ts";
import { FIXTURE_SPECS, fixtureRows, type ServingFixture, servingFixture } from "./testing/fixture.ts";

// Issue 19, "customer data never leaks": what API callers send reaches the prediction log only as
// model features, and nothing personal reaches the monitoring report. A real server on loopback; the
// judge is what the lake and the report hold afterwards.

const KEY = "test-key-0123456789abcdef";
const CPF = "529.982.247-25"; // valid check digits
const PHONE = "+55 11 98765-4321";
const today = new Date().toISOString().slice(0, 10);

function features(i = 0): Record<string, unknown> {
  const row = fixtureRows(200, 11)[i];
  return Object.fromEntries(FIXTURE_SPECS.map((f) => [f.name, row[f.name]]));
}

/** Every byte of the prediction log, decompressed. */
function logText(home: string): string {
  const dir = join(home, "lake", "logs", "predictions");
  let text = "";
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile()) text += gunzipSync(readFileSync(join(e.parentPath, e.name))).toString("utf8");
  return text;
}

function logBytesOnDisk(home: string): number {
  const dir = join(home, "lake", "logs", "predictions");
  let n = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  return n;
}

describe("POST /v1/churn/predict request fields (LGPD)", () => {
  let fx: ServingFixture;
  let server: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    fx = await servingFixture({ customers: 50 });
    server = await buildServer(fx.app, {
      apiKeys: [KEY],
      config: { logBufferSize: 1_000_000, logFlushIntervalMs: 3_600_000 },
    });
    url = `${await server.listen({ host: "127.0.0.1", port: 0 })}/v1/churn/predict`;
  });
  afterAll(async () => {
    await server.close().catch(() => {});
    await fx.cleanup();
  });

  const post = (body: unknown) =>
    fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("rejects personal data in every request field, naming the field and never echoing the value", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...features(), cpf: CPF }, "features[0].cpf"],
      [{ ...features(), nome: "Maria da Silva" }, "features[0].nome"],
      [{ ...features(), telefone: PHONE }, "features[0].telefone"],
      [{ ...features(), customer_id: CPF }, "features[0].customer_id"],
      [{ ...features(), customer_id: "52998224725" }, "features[0].customer_id"],
      [{ ...features(), customer_id: "Maria da Silva" }, "features[0].customer_id"],
      [{ ...features(), customer_id: "x".repeat(65) }, "features[0].customer_id"],
      [{ ...features(), segment: CPF }, "features[0].segment"],
      [{ ...features(), segment: PHONE }, "features[0].segment"],
      [{ ...features(), segment: "ana@example.com" }, "features[0].segment"],
    ];
    for (const [row, field] of cases) {
      const res = await post({ features: [row] });
      const body = (await res.json()) as { error: { code: string; field: string; message: string } };
      expect(res.status, field).toBe(400);
      expect(body.error.field).toBe(field);
      expect(body.error.code).toBe("invalid_request");
      expect(JSON.stringify(body)).not.toContain("98765");
      expect(JSON.stringify(body)).not.toContain("982.247");
    }
    // customer_ids are validated against the same pattern before any lookup.
    const byId = await post({ customer_ids: ["C000001", "Maria da Silva"] });
    expect(byId.status).toBe(400);
    expect(((await byId.json()) as { error: { field: string } }).error.field).toBe("customer_ids[1]");
  });

  it("keeps forty 1 MB extra keys out of the log, which holds exactly the accepted predictions", async () => {
    const blob = "x".repeat(1_100_000);
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++) {
      // Just under and just over the 1 MiB body limit: both refused before anything is logged.
      const res = await post({
        features: [{ ...features(i), notes: blob.slice(0, 1_000_000 + (i % 2) * 60_000) }],
      });
      statuses.add(res.status);
      await res.arrayBuffer();
    }
    expect([...statuses].sort()).toEqual([400, 413]);
    const ok = await post({ features: [{ ...features(3), customer_id: "C000004" }] });
    expect(ok.status).toBe(200);
    const byId = await post({ customer_ids: ["C000005"] });
    expect(byId.status).toBe(200);

    await server.close();
    const log = await readPredictionLog(fx.app.lake(), { from: today, to: today });
    // The cases of both tests above were refused: only the two accepted predictions are logged.
    expect(log.map((r) => r.customer_id).sort()).toEqual(["C000004", "C000005"]);
    const allowed = new Set([...FIXTURE_SPECS.map((f) => f.name), "customer_id"]);
    for (const r of log) for (const k of Object.keys(r.features)) expect(allowed).toContain(k);
    const text = logText(fx.home);
    for (const leak of ["529.982", "52998224725", "98765", "Maria", "xxxxxxxxxx", "ana@"])
      expect(text).not.toContain(leak);
    expect(logBytesOnDisk(fx.home)).toBeLessThan(4 * 1024);
  });
});

describe("monitoring report (LGPD)", () => {
  it("shows no CPF or phone that an older server logged as a segment value", async () => {
    const fx = await servingFixture({ customers: 10 });
    try {
      // The reference profile of the served version (fixture training rows and their scores).
      const rows = fixtureRows(500, 11);
      const data = datasetFromRows(rows, FIXTURE_SPECS);
      await writeReferenceProfile(
        fx.registry,
        "churn",
        1,
        buildReferenceProfile(data, new Float64Array(500).fill(0.2)),
      );
      // A log written before the API refused them: CPFs and phones as segment values.
      const writer = new PredictionLogWriter(fx.app.lake());
      const leaks = [CPF, "52998224725", PHONE, "11987654321", "(11) 98765-4321"];
      for (let i = 0; i < 200; i++) {
        const row = rows[i];
        writer.append({
          prediction_id: `p${i}`,
          ts: `${today}T10:00:00.000Z`,
          source: "online",
          model_name: "churn",
          model_version: "1",
          customer_id: String(row.customer_id),
          features: {
            ...Object.fromEntries(FIXTURE_SPECS.map((f) => [f.name, row[f.name] as number | string])),
            segment: i % 4 === 0 ? leaks[(i / 4) % leaks.length] : (row.segment as string),
          },
          probability: 0.2,
          risk_band: "low",
          latency_ms: 1,
        });
      }
      await writer.close();
      const report = join(fx.home, "report.html");
      const result = await runMonitor(fx.app, { window: "1d", until: today, report, dryRun: true });
      const html = readFileSync(report, "utf8");
      // The unseen-category issue is reported, with masked examples.
      const segment = result.quality.issues.find(
        (i) => i.feature === "segment" && i.kind === "unseen_category",
      );
      expect(segment?.examples?.length).toBeGreaterThan(0);
      expect(html).toContain("***.***.***-**");
      for (const leak of ["529.982", "52998224725", "98765", "11987654321"]) {
        expect(html).not.toContain(leak);
        expect(JSON.stringify(result)).not.toContain(leak);
      }
    } finally {
      await fx.cleanup();
    }
  });
});
