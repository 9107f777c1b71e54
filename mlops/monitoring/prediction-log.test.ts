import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FsLake } from "../../platform/adapters/local/fs-lake.ts";
import {
  PredictionLogWriter,
  type PredictionRecord,
  predictionLine,
  readPredictionLog,
} from "./prediction-log.ts";

function record(i: number, day = "2026-11-20"): PredictionRecord {
  return {
    prediction_id: `p${i}`,
    ts: `${day}T10:00:00.000Z`,
    source: "online",
    model_name: "churn",
    model_version: "1",
    customer_id: `AUR-${i}`,
    features: { monthly_price: 99.99 + i, plan: "FIB300" },
    probability: 0.1,
    risk_band: "low",
    latency_ms: 1.2,
  };
}

describe("PredictionLogWriter", () => {
  it("buffers, flushes immutable day partitions and reads them back", async () => {
    const lake = new FsLake(mkdtempSync(join(tmpdir(), "telco-plog-")));
    const log = new PredictionLogWriter(lake, { maxBuffer: 1000, writerId: "w1" });
    for (let i = 0; i < 10; i++) log.append(record(i, i < 6 ? "2026-11-20" : "2026-11-21"));
    expect(log.persisted).toBe(0);
    await log.close();
    expect(log.persisted).toBe(10);
    expect(await lake.list("logs/predictions")).toEqual([
      "logs/predictions/dt=2026-11-20/w1-000000.jsonl.gz",
      "logs/predictions/dt=2026-11-21/w1-000001.jsonl.gz",
    ]);
    const all = await readPredictionLog(lake, { from: "2026-11-01", to: "2026-11-30" });
    expect(all.map((r) => r.prediction_id)).toEqual([
      "p0",
      "p1",
      "p2",
      "p3",
      "p4",
      "p5",
      "p6",
      "p7",
      "p8",
      "p9",
    ]);
    expect(all[3].features).toEqual({ monthly_price: 102.99, plan: "FIB300" });
    const one = await readPredictionLog(lake, { from: "2026-11-21", to: "2026-11-21" });
    expect(one).toHaveLength(4);
  });

  it("loses nothing when appends race with background flushes", async () => {
    const lake = new FsLake(mkdtempSync(join(tmpdir(), "telco-plog-")));
    const log = new PredictionLogWriter(lake, { maxBuffer: 7 });
    const n = 1003;
    for (let i = 0; i < n; i++) {
      log.append(record(i));
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await log.close();
    const all = await readPredictionLog(lake, { from: "2026-11-20", to: "2026-11-20" });
    expect(all).toHaveLength(n);
    expect(new Set(all.map((r) => r.prediction_id)).size).toBe(n);
  });

  it("round-trips large and non-ASCII records across buffer growth and consecutive flushes", async () => {
    const lake = new FsLake(mkdtempSync(join(tmpdir(), "telco-plog-")));
    const log = new PredictionLogWriter(lake, { maxBuffer: 300 });
    const big = (i: number): PredictionRecord => ({
      ...record(i),
      customer_id: `Ção-${i}-😀`,
      features: Object.fromEntries(
        Array.from({ length: 80 }, (_, k) => [`f${k}`, k % 3 ? i * k + 0.5 : `válor ${k}`]),
      ),
    });
    const written = Array.from({ length: 1000 }, (_, i) => big(i));
    for (const r of written) log.append(r);
    await log.close();
    expect(log.persisted).toBe(1000);
    const back = await readPredictionLog(lake, { from: "2026-11-20", to: "2026-11-20" });
    expect(back).toEqual(written);
  });

  it("writes vector records as the same JSON line as the equivalent object record", async () => {
    const names = ["monthly_price", "plan", 'weird "name" ç', "is_5g", "tenure", "late"];
    const cases: unknown[][] = [
      [99.5, "FIB300", 'quote " and \\ and ç and \u2028', true, 0, null],
      [Number.NaN, null, "", false, -0, 1e-7],
      [Number.POSITIVE_INFINITY, "x", null, null, 123456789012345680000, undefined],
    ];
    const lake = new FsLake(mkdtempSync(join(tmpdir(), "telco-plog-")));
    const log = new PredictionLogWriter(lake, { writerId: "w1" });
    const expected: PredictionRecord[] = [];
    cases.forEach((values, i) => {
      const { features: _f, ...base } = record(i);
      const rec = i === 2 ? { ...base, customer_id: null, shadow: true } : base;
      const features = Object.fromEntries(
        names.map((n, j) => [n, values[j] ?? null]),
      ) as PredictionRecord["features"];
      const full = { ...rec, features } as PredictionRecord;
      // Key order as the object record is built by the server: features after customer_id.
      const asObject = JSON.stringify({
        prediction_id: full.prediction_id,
        ts: full.ts,
        source: full.source,
        model_name: full.model_name,
        model_version: full.model_version,
        customer_id: full.customer_id,
        features,
        probability: full.probability,
        risk_band: full.risk_band,
        latency_ms: full.latency_ms,
        ...(full.shadow === undefined ? {} : { shadow: full.shadow }),
      });
      expect(predictionLine(rec, names, values)).toBe(asObject);
      // Spliced from the values' JSON text (as the online store keeps it): the same line.
      const text = JSON.stringify(values.map((v) => v ?? null));
      expect(predictionLine(rec, names, values, text)).toBe(asObject);
      // Text that does not match the names falls back to the values.
      expect(predictionLine(rec, names, values, "[1,2]")).toBe(asObject);
      expect(predictionLine(rec, names, values, `${text.slice(0, -1)},7]`)).toBe(asObject);
      expect(predictionLine(rec, names, values, '["unterminated')).toBe(asObject);
      log.appendVector(rec, names, values, text);
      expected.push(JSON.parse(asObject) as PredictionRecord);
    });
    await log.close();
    expect(await readPredictionLog(lake, { from: "2026-11-01", to: "2026-11-30" })).toEqual(expected);
  });
});
