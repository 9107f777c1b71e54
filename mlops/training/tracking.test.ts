import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { codeVersion, compareRuns, newRunId, type RunRecord, RunStore, writeJsonAtomic } from "./tracking.ts";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "telco-runs-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function record(id: string, started: string, auc: number, params: Record<string, unknown>): RunRecord {
  return {
    run_id: id,
    status: "completed",
    command: "train",
    dataset: {
      name: "ibm-telco",
      table: "gold.ibm_telco_training",
      version: "v1",
      content_hash: "h",
      rows: 10,
      features: 2,
    },
    model: { kind: "logreg", params },
    params: { seed: 1 },
    metrics: { headline: { auc } },
    code_version: null,
    model_version: null,
    started_at: started,
    ended_at: started,
    duration_ms: 5,
    artifacts: [],
  };
}

describe("writeJsonAtomic", () => {
  it("writes the full document and leaves no temp file behind", () => {
    const d = tmp();
    writeJsonAtomic(join(d, "a", "run.json"), { x: new Float64Array([1, 2]) });
    expect(JSON.parse(readFileSync(join(d, "a", "run.json"), "utf8"))).toEqual({ x: [1, 2] });
    expect(readdirSync(join(d, "a"))).toEqual(["run.json"]);
  });
});

describe("RunStore", () => {
  it("lists newest first, finds by id, unique prefix or 'latest', and rejects ambiguity", () => {
    const store = new RunStore(tmp());
    store.save(record("20260101-000000-aaaaaa", "2026-01-01T00:00:00.000Z", 0.8, { l2: 1 }));
    store.save(record("20260102-000000-bbbbbb", "2026-01-02T00:00:00.000Z", 0.85, { l2: 2 }));
    expect(store.list().map((r) => r.run_id)).toEqual(["20260102-000000-bbbbbb", "20260101-000000-aaaaaa"]);
    expect(store.get("20260101").run_id).toBe("20260101-000000-aaaaaa");
    expect(store.get("latest").run_id).toBe("20260102-000000-bbbbbb");
    expect(() => store.get("2026")).toThrow(/matches 2 runs/);
    expect(() => store.get("nope")).toThrow(/run nope not found/);
    expect(() => store.dir("../etc")).toThrow(/run_id/);
  });

  it("returns an empty list when no run exists yet", () => {
    expect(new RunStore(join(tmp(), "missing")).list()).toEqual([]);
  });
});

describe("compareRuns", () => {
  it("diffs params and metrics side by side with numeric deltas", () => {
    const a = record("a", "2026-01-01T00:00:00.000Z", 0.8, { l2: 1 });
    const b = record("b", "2026-01-02T00:00:00.000Z", 0.85, { l2: 2 });
    const rows = Object.fromEntries(compareRuns(a, b).rows.map((r) => [r.key, r]));
    expect(rows["metrics.headline.auc"].delta).toBeCloseTo(0.05, 12);
    expect(rows["model.params.l2"]).toMatchObject({ a: 1, b: 2, same: false });
    expect(rows["dataset.version"]).toMatchObject({ same: true, delta: null });
  });
});

describe("ids and code version", () => {
  it("run ids sort by start time", () => {
    const early = newRunId(new Date("2026-01-01T00:00:00Z"));
    const late = newRunId(new Date("2026-01-01T00:00:01Z"));
    expect(early < late).toBe(true);
    expect(early).toMatch(/^20260101-000000-[0-9a-f]{6}$/);
  });
  it("code version is a commit sha or null outside git", () => {
    const v = codeVersion();
    expect(v === null || /^[0-9a-f]{40}$/.test(v)).toBe(true);
    expect(codeVersion(tmpdir())).toBeNull();
  });
});
