import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { FsLake } from "../../platform/adapters/local/fs-lake.ts";
import {
  MAX_LOGGED_CHARS,
  PredictionLogWriter,
  type PredictionRecord,
  predictionLine,
  readPredictionLog,
  replayPredictionJournals,
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

describe.each([
  ["in-thread", false],
  ["on its log thread", true],
])("PredictionLogWriter %s", (_mode, thread) => {
  it("buffers, flushes immutable day partitions and reads them back", async () => {
    const lake = new FsLake(mkdtempSync(join(tmpdir(), "telco-plog-")));
    const log = new PredictionLogWriter(lake, { maxBuffer: 1000, writerId: "w1", thread });
    for (let i = 0; i < 10; i++) log.append(record(i, i < 6 ? "2026-11-20" : "2026-11-21"));
    expect(log.persisted).toBe(0);
    await log.close();
    expect(log.persisted).toBe(10);
    expect(await lake.list("logs/predictions")).toEqual([
      "logs/predictions/dt=2026-11-20/w1-000000.jsonl.gz",
      // One part per day and flush, named after the flush (the name a journal replay would write).
      "logs/predictions/dt=2026-11-21/w1-000000.jsonl.gz",
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
    const log = new PredictionLogWriter(lake, { maxBuffer: 7, thread });
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
    const log = new PredictionLogWriter(lake, { maxBuffer: 300, thread });
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
    const log = new PredictionLogWriter(lake, { writerId: "w1", thread });
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

describe("PredictionLogWriter on its log thread", () => {
  it("mixes vector and object records, across many batches, in append order per day", async () => {
    const lake = new FsLake(mkdtempSync(join(tmpdir(), "telco-plog-")));
    const log = new PredictionLogWriter(lake, { maxBuffer: 2500, thread: true });
    const names = Array.from({ length: 31 }, (_, k) => `feature_${k}`);
    const expected: PredictionRecord[] = [];
    for (let i = 0; i < 6000; i++) {
      const r = record(i, i % 3 === 0 ? "2026-11-21" : "2026-11-20");
      if (i % 4 === 0) {
        log.append(r);
        expected.push(r);
      } else {
        const values = names.map((_, k) => (k % 5 === 0 ? `plan ç${i % 7}` : i * 0.25 + k));
        const { features: _f, ...rest } = r;
        log.appendVector(rest, names, values, JSON.stringify(values));
        expected.push({ ...r, features: Object.fromEntries(names.map((n, k) => [n, values[k]])) });
      }
    }
    await log.close();
    expect(log.persisted).toBe(6000);
    const back = await readPredictionLog(lake, { from: "2026-11-20", to: "2026-11-21" });
    const byDay = (rs: PredictionRecord[], day: string) => rs.filter((r) => r.ts.startsWith(day));
    for (const day of ["2026-11-20", "2026-11-21"]) expect(byDay(back, day)).toEqual(byDay(expected, day));
  });

  it("keeps logging in-thread when the log thread fails", async () => {
    const lake = new FsLake(mkdtempSync(join(tmpdir(), "telco-plog-")));
    const log = new PredictionLogWriter(lake, { thread: true });
    const { features: _f, ...rest } = record(0);
    // Text that is neither the names' values nor JSON: the thread throws on it and dies.
    log.appendVector(rest, ["a", "b"], [1, 2], '["unterminated');
    await log.flush();
    log.append(record(1));
    log.append(record(2));
    await log.close();
    const back = await readPredictionLog(lake, { from: "2026-11-20", to: "2026-11-20" });
    expect(back.map((r) => r.prediction_id)).toEqual(["p1", "p2"]);
    expect(log.persisted).toBe(2);
  });
});

describe.each([
  ["in-thread", false],
  ["on its log thread", true],
])("PredictionLogWriter with a journal, %s", (_mode, thread) => {
  const journaled = (lake: FsLake, dir: string) =>
    new PredictionLogWriter(lake, {
      writerId: `${process.pid}-w`,
      thread,
      journal: { dir, durability: "journal" },
    });

  it("writes every committed record to the journal before any flush; a replay restores them under the flush's part names", async () => {
    const root = mkdtempSync(join(tmpdir(), "telco-plog-"));
    const dir = join(root, "journal");
    const lake = new FsLake(join(root, "lake"));
    const log = journaled(lake, dir);
    const names = ["monthly_price", "plan"];
    for (let i = 0; i < 5; i++) log.append(record(i));
    log.commit();
    for (let i = 5; i < 8; i++) {
      const { features: _f, ...rest } = record(i, "2026-11-21");
      log.appendVector(rest, names, [i, "FIB300"], JSON.stringify([i, "FIB300"]));
    }
    log.commit();
    expect(await lake.list("logs/predictions")).toEqual([]); // nothing flushed: only the journal has them
    // What a kill -9 now would leave on disk.
    const crashed = join(root, "crashed");
    const crashedCopy = join(root, "crashed-copy");
    cpSync(dir, crashed, { recursive: true });
    cpSync(dir, crashedCopy, { recursive: true });
    await log.close();
    expect(readdirSync(dir)).toEqual([]); // a flushed segment is deleted
    const flushed = await readPredictionLog(lake, { from: "2026-11-01", to: "2026-11-30" });
    expect(flushed).toHaveLength(8);

    const lake2 = new FsLake(join(root, "lake2"));
    const replay = await replayPredictionJournals(lake2, crashed);
    expect(replay).toEqual({ segments: 1, records: 8, torn: 0 });
    expect(readdirSync(crashed)).toEqual([]);
    expect(await lake2.list("logs/predictions")).toEqual(await lake.list("logs/predictions"));
    expect(await readPredictionLog(lake2, { from: "2026-11-01", to: "2026-11-30" })).toEqual(flushed);

    // Replaying into the lake the flush already reached (a crash after the lake write, before the
    // segment's delete) overwrites the same parts: nothing is counted twice.
    expect(await replayPredictionJournals(lake, crashedCopy)).toEqual({ segments: 1, records: 8, torn: 0 });
    expect(await readPredictionLog(lake, { from: "2026-11-01", to: "2026-11-30" })).toEqual(flushed);
  });

  it("keeps the frames before a torn last frame, and leaves the segments of a live writer alone", async () => {
    const root = mkdtempSync(join(tmpdir(), "telco-plog-"));
    const dir = join(root, "journal");
    const log = journaled(new FsLake(join(root, "lake")), dir);
    for (let i = 0; i < 3; i++) {
      log.append(record(i));
      log.commit();
    }
    const [segment] = readdirSync(dir);
    const crashed = join(root, "crashed");
    mkdirSync(crashed);
    // A frame announcing 1,000 bytes of which the crash wrote 3.
    writeFileSync(
      join(crashed, segment),
      Buffer.concat([readFileSync(join(dir, segment)), Buffer.from([232, 3, 0, 0, 1, 2, 3])]),
    );
    // A segment of another live process (this test's parent) on the same workspace.
    const live = `${process.ppid}-other-000000.journal`;
    copyFileSync(join(dir, segment), join(crashed, live));
    await log.close();
    const lake2 = new FsLake(join(root, "lake2"));
    expect(await replayPredictionJournals(lake2, crashed)).toEqual({ segments: 1, records: 3, torn: 1 });
    expect(readdirSync(crashed)).toEqual([live]);
    const back = await readPredictionLog(lake2, { from: "2026-11-20", to: "2026-11-20" });
    expect(back.map((r) => r.prediction_id)).toEqual(["p0", "p1", "p2"]);
  });
});

describe("PredictionLogWriter with a journal, when the log thread fails", () => {
  it("rebuilds the flush from the journal segment instead of losing the thread's records", async () => {
    const root = mkdtempSync(join(tmpdir(), "telco-plog-"));
    const lake = new FsLake(join(root, "lake"));
    const log = new PredictionLogWriter(lake, {
      thread: true,
      journal: { dir: join(root, "journal"), durability: "journal" },
    });
    log.append(record(1));
    log.commit();
    const { features: _f, ...rest } = record(0);
    // Text that is neither the names' values nor JSON: the thread throws on it and dies with p1.
    log.appendVector(rest, ["a", "b"], [1, 2], '["unterminated');
    log.commit();
    await log.flush();
    log.append(record(2));
    await log.close();
    const back = await readPredictionLog(lake, { from: "2026-11-20", to: "2026-11-20" });
    expect(back.map((r) => r.prediction_id)).toEqual(["p1", "p2"]);
  });
});

describe("PredictionLogWriter field caps", () => {
  it("cuts every logged string field to MAX_LOGGED_CHARS, whatever the caller passes", async () => {
    const lake = new FsLake(mkdtempSync(join(tmpdir(), "telco-plog-")));
    const log = new PredictionLogWriter(lake, { thread: true });
    const huge = "x".repeat(1_000_000);
    log.append({ ...record(0), customer_id: huge, features: { plan: huge, price: 1 } });
    const { features: _f, ...rest } = record(1);
    log.appendVector(rest, ["plan", "price"], [huge, 2], JSON.stringify([huge, 2]));
    log.appendVector(rest, ["plan", "price"], [huge, 3]);
    await log.close();
    const parts = await lake.list("logs/predictions");
    const bytes = parts.reduce((n, k) => n + gunzipSync(readFileSync(lake.uri(k))).length, 0);
    expect(bytes).toBeLessThan(4 * 1024);
    const back = await readPredictionLog(lake, { from: "2026-11-20", to: "2026-11-20" });
    expect(back).toHaveLength(3);
    for (const r of back) {
      expect(String(r.features.plan)).toMatch(
        new RegExp(`^x{${MAX_LOGGED_CHARS}}…\\[${1_000_000 - MAX_LOGGED_CHARS} chars cut\\]$`),
      );
      expect(r.features.price).toBeTypeOf("number");
    }
    expect(back[0].customer_id?.length).toBeLessThan(MAX_LOGGED_CHARS + 40);
  });
});
