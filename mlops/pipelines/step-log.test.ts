import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqlitePipelineMetadata } from "../../platform/adapters/local/sqlite-pipeline-metadata.ts";
import type { RunEvent } from "../../platform/ports/pipelines.ts";
import { artifact, definePipeline, defineStep, fromParam, fromTask, param, task } from "./dsl.ts";
import type { PipelineMetadataStore, StepLogLine } from "./metadata.ts";
import { runPipeline } from "./runner.ts";
import {
  STEP_LOG_MAX_LINE_BYTES,
  STEP_LOG_MAX_LINES,
  stepLogger,
  stepLogLevel,
  truncateUtf8,
} from "./step-log.ts";

const dirs: string[] = [];
const stores: SqlitePipelineMetadata[] = [];
const store = () => {
  const dir = mkdtempSync(join(tmpdir(), "telco-steplog-"));
  dirs.push(dir);
  const s = new SqlitePipelineMetadata(dir);
  stores.push(s);
  return s;
};
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const load = defineStep({
  name: "load",
  version: "1",
  inputs: { rows: param.int({ default: 3 }) },
  outputs: { data: artifact.dataset() },
  run({ rows }, ctx) {
    ctx.log(`loading ${rows} rows`);
    ctx.log("customer CPF 529.982.247-25 had a bad row; mail ana@example.com");
    ctx.log("warning: 1 row without a plan");
    ctx.log("fit done", "info");
    writeFileSync(ctx.outputs.data.path, "x".repeat(rows));
    return {};
  },
});
const chatty = defineStep({
  name: "chatty",
  version: "1",
  inputs: { data: artifact.dataset(), lines: param.int({ default: 0 }) },
  outputs: { n: param.int() },
  run({ lines }, ctx) {
    ctx.log("é".repeat(STEP_LOG_MAX_LINE_BYTES)); // 2 bytes each: twice the byte cap
    for (let i = 1; i < lines; i++) ctx.log(`line ${i}`);
    return { n: lines };
  },
});
const pipeline = () =>
  definePipeline({
    name: "logs",
    params: { lines: param.int({ default: 3 }) },
    tasks: {
      load: task(load, {}),
      chatty: task(chatty, { data: fromTask("load", "data"), lines: fromParam("lines") }),
    },
  });

describe("step logs stored by the runner", () => {
  it("stores each step's ctx.log lines in the run metadata, PII masked, with level and attempt", async () => {
    const meta = store();
    const events: RunEvent[] = [];
    const r = await runPipeline(meta.root, pipeline(), { metadata: meta, onEvent: (e) => events.push(e) });
    expect(r.status).toBe("succeeded");
    const logs = await meta.stepLogs(r.run_id);
    expect(Object.keys(logs).sort()).toEqual(["chatty", "load"]);
    expect(logs.load?.map((l) => [l.level, l.attempt, l.message])).toEqual([
      [null, 1, "loading 3 rows"],
      [null, 1, "customer CPF ***.***.***-** had a bad row; mail ***@***"],
      ["warn", 1, "warning: 1 row without a plan"],
      ["info", 1, "fit done"],
    ]);
    for (const l of logs.load ?? []) expect(Number.isNaN(Date.parse(l.at))).toBe(false);
    // Nothing unmasked anywhere in the store, nor in the live events.
    const all = JSON.stringify(meta.db.prepare("SELECT * FROM step_logs").all());
    expect(all).not.toContain("529.982.247-25");
    expect(all).not.toContain("ana@example.com");
    expect(JSON.stringify(events)).not.toContain("529.982.247-25");
    // A cached re-run executes nothing, so it logs nothing.
    const again = await runPipeline(meta.root, pipeline(), { metadata: meta });
    expect(again.steps.map((s) => s.status)).toEqual(["cached", "cached"]);
    expect(await meta.stepLogs(again.run_id)).toEqual({});
  });

  it(`keeps ${STEP_LOG_MAX_LINES} lines per step then a "truncated N lines" marker, and cuts long lines`, async () => {
    const meta = store();
    const total = STEP_LOG_MAX_LINES + 37;
    const r = await runPipeline(meta.root, pipeline(), { metadata: meta, params: { lines: total } });
    expect(r.status).toBe("succeeded");
    const lines = (await meta.stepLogs(r.run_id, "chatty")).chatty ?? [];
    expect(lines).toHaveLength(STEP_LOG_MAX_LINES + 1);
    const first = lines[0]?.message ?? "";
    expect(first).toMatch(/… \[\d+ bytes cut\]$/);
    expect(Buffer.byteLength(first.replace(/… \[\d+ bytes cut\]$/, ""))).toBeLessThanOrEqual(
      STEP_LOG_MAX_LINE_BYTES,
    );
    expect(first).not.toContain("\uFFFD"); // never cut inside a character
    expect(lines[STEP_LOG_MAX_LINES - 1]?.message).toBe(`line ${STEP_LOG_MAX_LINES - 1}`);
    expect(lines.at(-1)).toMatchObject({
      level: "warn",
      message: "truncated 37 lines (the first 500 are kept)",
    });
  });

  it("keeps the lines of every attempt and the runner's retry notes", async () => {
    let calls = 0;
    const flaky = defineStep({
      name: "flaky",
      version: "1",
      inputs: {},
      outputs: { ok: param.bool() },
      retry: { maxAttempts: 3 },
      run(_in, ctx) {
        calls++;
        ctx.log(`try ${ctx.attempt}`);
        if (calls < 2) throw new Error("flaky backend for 11987654321");
        return { ok: true };
      },
    });
    const meta = store();
    const r = await runPipeline(
      meta.root,
      definePipeline({ name: "flaky", params: {}, tasks: { f: task(flaky, {}) } }),
      {
        metadata: meta,
      },
    );
    expect(r.status).toBe("succeeded");
    expect((await meta.stepLogs(r.run_id)).f?.map((l) => [l.attempt, l.level, l.message])).toEqual([
      [1, null, "try 1"],
      [1, "warn", "attempt 1 failed: flaky backend for (**) *****-****; retrying in 0 ms"],
      [2, null, "try 2"],
    ]);
  });
});

describe("step logger over a slow store", () => {
  it("stores lines in order, batching those logged while a write is out, and says which could not be stored", async () => {
    const meta = store();
    const writes: string[][] = [];
    // A store across the network: each write takes a while; the one carrying "four" fails.
    const slow = {
      async appendStepLog(runId: string, task: string, lines: StepLogLine[]) {
        writes.push(lines.map((l) => l.message));
        await new Promise((r) => setTimeout(r, 5));
        if (lines.some((l) => l.message === "four")) throw new Error("Firestore unavailable");
        await meta.appendStepLog(runId, task, lines);
      },
    } as unknown as PipelineMetadataStore;
    const logger = stepLogger(slow, "r1", "t");
    for (const m of ["one", "two", "three"]) logger.log(m, 1);
    // Lines are readable while the task runs: wait until the first three are stored.
    while (((await meta.stepLogs("r1")).t?.length ?? 0) < 3) await new Promise((r) => setTimeout(r, 2));
    logger.log("four", 2);
    await logger.close(2);
    expect(writes).toEqual([
      ["one"],
      ["two", "three"],
      ["four"],
      ["1 lines could not be stored: Firestore unavailable"],
    ]);
    expect((await meta.stepLogs("r1")).t?.map((l) => [l.attempt, l.level, l.message])).toEqual([
      [1, null, "one"],
      [1, null, "two"],
      [1, null, "three"],
      [2, "warn", "1 lines could not be stored: Firestore unavailable"],
    ]);
  });
});

describe("step log helpers", () => {
  it("reads a level from a leading warning/error word only", () => {
    expect(stepLogLevel("Warning: x")).toBe("warn");
    expect(stepLogLevel("error - y")).toBe("error");
    expect(stepLogLevel("aviso: z")).toBe("warn");
    expect(stepLogLevel("no warnings: fine")).toBeNull();
    expect(stepLogLevel("errors are fine", "info")).toBe("info");
  });
  it("cuts UTF-8 at a character boundary", () => {
    expect(truncateUtf8("abc", 3)).toBe("abc");
    expect(truncateUtf8("aé", 2)).toBe("a… [2 bytes cut]");
  });
});
