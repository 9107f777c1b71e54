import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { withFileLock } from "../../platform/adapters/local/file-lock.ts";
import { LocalModelRegistry } from "../../platform/adapters/local/file-model-registry.ts";
import { registryConfigSchema } from "../../platform/config/sections/registry.ts";
import type { ModelCard } from "../../platform/ports/registry.ts";
import { evaluatePromotion, previousHolder, promoteIfBetter, rollbackAlias } from "./policy.ts";

const policy = registryConfigSchema.parse({}).promotion;
const child = join(import.meta.dirname, "testing", "child.ts");

function tmpRegistry(): LocalModelRegistry {
  return new LocalModelRegistry(mkdtempSync(join(tmpdir(), "telco-reg-")), { lockTimeoutMs: 10_000 });
}

function card(auc: number, extra: Partial<ModelCard> = {}): ModelCard {
  return {
    metrics: { auc: { value: auc, ci: { lower: auc - 0.02, upper: auc + 0.02 } }, ece: { value: 0.03 } },
    evaluationDataset: { name: "synthetic", version: "eval-v1" },
    segmentMetrics: {
      region: {
        Sul: { n: 400, metrics: { auc: { value: auc } } },
        Norte: { n: 20, metrics: { auc: { value: auc } } },
      },
    },
    ...extra,
  };
}

async function reg(r: LocalModelRegistry, c: ModelCard, name = "churn") {
  return r.register({ name, format: "telco-gbdt", artifact: Buffer.from(JSON.stringify({ c })), card: c });
}

describe("LocalModelRegistry", () => {
  it("assigns increasing immutable versions and resolves NAME, NAME@N and NAME@alias", async () => {
    const r = tmpRegistry();
    const v1 = await reg(r, card(0.7), "churn");
    const v2 = await reg(r, card(0.75), "churn");
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect((await r.resolve("churn")).version).toBe(2);
    expect((await r.resolve("churn@1")).card.metrics.auc?.value).toBe(0.7);
    await r.setAlias("churn", "challenger", 1, { action: "promote", reason: "test" });
    expect((await r.resolve("churn@challenger")).version).toBe(1);
    await expect(r.resolve("churn@nope")).rejects.toThrow(/alias churn@nope not found/);
    await expect(r.resolve("ghost")).rejects.toThrow(/model ghost not found/);
    const bytes = await r.readArtifact(v2);
    expect(JSON.parse(Buffer.from(bytes).toString())).toEqual({ c: card(0.75) });
    expect(await r.listModels()).toEqual(["churn"]);
    const rows = await r.summaries();
    expect(rows.map((x) => [x.version, x.aliases, x.metrics.auc])).toEqual([
      [1, ["challenger"], 0.7],
      [2, [], 0.75],
    ]);
  });

  it("rejects bad names, formats, empty artifacts and non-numeric metrics naming the field", async () => {
    const r = tmpRegistry();
    await expect(reg(r, card(0.7), "../evil")).rejects.toThrow(/name/);
    await expect(
      r.register({ name: "m", format: "pickle" as "onnx", artifact: Buffer.from("x"), card: card(0.7) }),
    ).rejects.toThrow(/format/);
    await expect(
      r.register({ name: "m", format: "onnx", artifact: new Uint8Array(), card: card(0.7) }),
    ).rejects.toThrow(/artifact/);
    await expect(
      r.register({
        name: "m",
        format: "onnx",
        artifact: Buffer.from("x"),
        card: { metrics: { auc: { value: Number.NaN } } },
      }),
    ).rejects.toThrow(/card.metrics.auc/);
    expect(await r.listModels()).toEqual([]);
  });
});

describe("promotion policy", () => {
  it("makes the first model champion automatically and logs who/why", async () => {
    const r = tmpRegistry();
    await reg(r, card(0.7));
    const d = await promoteIfBetter(r, { name: "churn", version: 1, policy });
    expect(d.promote && d.applied).toBe(true);
    expect(d.checks[0]?.check).toBe("first-model");
    const [event] = await r.audit("churn");
    expect(event).toMatchObject({ alias: "champion", from: null, to: 1, action: "auto-first" });
    expect(event?.by.length).toBeGreaterThan(0);
    expect(Date.parse(event?.at ?? "")).not.toBeNaN();
  });

  it("promotes only on a large enough gain, on the same evaluation set", async () => {
    const r = tmpRegistry();
    await reg(r, card(0.7));
    await promoteIfBetter(r, { name: "churn", version: 1, policy });
    await reg(r, card(0.7005)); // v2: below the 0.001 margin
    const small = await promoteIfBetter(r, { name: "churn", version: 2, policy });
    expect(small.promote).toBe(false);
    expect(small.reasons.join()).toMatch(/primary:auc/);
    await reg(r, card(0.9, { evaluationDataset: { name: "synthetic", version: "eval-v2" } })); // v3
    const other = await promoteIfBetter(r, { name: "churn", version: 3, policy });
    expect(other.promote).toBe(false);
    expect(other.reasons[0]).toMatch(
      /same-evaluation-set: champion was evaluated on synthetic@eval-v1, challenger on synthetic@eval-v2/,
    );
    await reg(r, card(0.72)); // v4
    const good = await promoteIfBetter(r, { name: "churn", version: 4, policy });
    expect(good.applied).toBe(true);
    expect((await r.aliases("churn")).champion).toBe(4);
    // relative margin: 0.72 → 0.73 is +1.4%, a 5% requirement refuses it
    await reg(r, card(0.73)); // v5
    const rel = await promoteIfBetter(r, {
      name: "churn",
      version: 5,
      policy: { ...policy, minRelativeGain: 0.05 },
    });
    expect(rel.promote).toBe(false);
  });

  it("gates only the champion alias; other aliases move freely but are audited", async () => {
    const r = tmpRegistry();
    await reg(r, card(0.9));
    await reg(r, card(0.5));
    await promoteIfBetter(r, { name: "churn", version: 1, policy });
    const d = await promoteIfBetter(r, { name: "churn", version: 2, alias: "challenger", policy });
    expect(d).toMatchObject({ applied: true, alias: "challenger" });
    expect(await r.aliases("churn")).toEqual({ champion: 1, challenger: 2 });
    expect((await r.audit("churn")).at(-1)).toMatchObject({ alias: "challenger", to: 2, action: "promote" });
  });

  it("refuses guardrail regressions (ECE, large segments) but not in small segments", () => {
    const champ = { name: "m", version: 1, card: card(0.7) } as never;
    const worseEce = {
      name: "m",
      version: 2,
      card: { ...card(0.8), metrics: { auc: { value: 0.8 }, ece: { value: 0.08 } } },
    } as never;
    const d1 = evaluatePromotion(champ, worseEce, policy);
    expect(d1.promote).toBe(false);
    expect(d1.reasons.join()).toMatch(/guardrail:ece/);

    const segs = (sul: number, norte: number): ModelCard["segmentMetrics"] => ({
      region: {
        Sul: { n: 400, metrics: { auc: { value: sul } } },
        Norte: { n: 20, metrics: { auc: { value: norte } } },
      },
    });
    const badSul = { name: "m", version: 3, card: { ...card(0.8), segmentMetrics: segs(0.6, 0.8) } } as never;
    const d2 = evaluatePromotion(champ, badSul, policy);
    expect(d2.promote).toBe(false);
    expect(d2.reasons.join()).toMatch(/segment:region=Sul/);

    const badNorte = {
      name: "m",
      version: 4,
      card: { ...card(0.8), segmentMetrics: segs(0.8, 0.5) },
    } as never;
    const d3 = evaluatePromotion(champ, badNorte, policy);
    expect(d3.promote).toBe(true);
    const norte = d3.checks.find((c) => c.check === "segment:region=Norte");
    expect(norte).toMatchObject({ passed: false, enforced: false });
  });

  it("--force needs a reason, is recorded, and rollback walks back through the history", async () => {
    const r = tmpRegistry();
    for (const auc of [0.7, 0.75, 0.6]) await reg(r, card(auc));
    await promoteIfBetter(r, { name: "churn", version: 1, policy });
    await promoteIfBetter(r, { name: "churn", version: 2, policy });
    await expect(promoteIfBetter(r, { name: "churn", version: 3, policy, force: true })).rejects.toThrow(
      /--reason/,
    );
    const forced = await promoteIfBetter(r, {
      name: "churn",
      version: 3,
      policy,
      force: true,
      reason: "incident 42",
    });
    expect(forced).toMatchObject({ forced: true, applied: true });
    const log = await r.audit("churn");
    expect(log.at(-1)).toMatchObject({ action: "force", reason: "incident 42", from: 2, to: 3 });
    expect(previousHolder(log, "champion")).toBe(2);
    await rollbackAlias(r, "churn");
    expect((await r.aliases("churn")).champion).toBe(2);
    await rollbackAlias(r, "churn");
    expect((await r.aliases("churn")).champion).toBe(1);
    await expect(rollbackAlias(r, "churn")).rejects.toThrow(/no previous holder/);
    expect((await r.audit("churn")).map((e) => e.action)).toEqual([
      "auto-first",
      "promote",
      "force",
      "rollback",
      "rollback",
    ]);
  });
});

describe("crash and concurrency safety", () => {
  it("a registration killed with SIGKILL mid-write leaves no partial version, and the next one works", async () => {
    const r = tmpRegistry();
    const proc = spawn(process.execPath, [child, "register-big", r.root, "192"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    proc.stdout.on("data", (d) => {
      out += String(d);
    });
    const staging = join(r.root, ".staging");
    // Wait until the big artifact is being written into staging, then kill the writer.
    const deadline = Date.now() + 20_000;
    let sawPartial = false;
    while (Date.now() < deadline && proc.exitCode === null) {
      if (out.includes("small-done") && existsSync(staging)) {
        const files = readdirSync(staging).flatMap((d) =>
          existsSync(join(staging, d, "artifact.onnx"))
            ? [statSync(join(staging, d, "artifact.onnx")).size]
            : [],
        );
        if (files.length > 0) {
          sawPartial = true;
          break;
        }
      }
      await sleep(2);
    }
    proc.kill("SIGKILL");
    await new Promise((res) => proc.once("exit", res));
    expect(sawPartial).toBe(true);
    expect(out).not.toContain("big-done");
    expect((await r.listVersions("big")).map((v) => v.version)).toEqual([1]);
    const next = await r.register({
      name: "big",
      format: "onnx",
      artifact: Buffer.from("ok"),
      card: card(0.7),
    });
    expect(next.version).toBe(2);
    expect(readdirSync(staging)).toEqual([]); // the dead writer's staging folder was cleaned
  }, 30_000);

  it("a lock left by a dead process is detected as stale", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-lock-"));
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
      encoding: "utf8",
    });
    const lock = join(dir, ".lock");
    writeFileSync(
      lock,
      JSON.stringify({
        pid: Number(dead.stdout),
        host: (await import("node:os")).hostname(),
        token: "t",
        at: "x",
      }),
    );
    const value = await withFileLock(lock, async () => "acquired", { timeoutMs: 2000 });
    expect(value).toBe("acquired");
    expect(existsSync(lock)).toBe(false);
  });

  it("serialises in-process critical sections", async () => {
    const lock = join(mkdtempSync(join(tmpdir(), "telco-lock-")), ".lock");
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        withFileLock(lock, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await sleep(5);
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
  });

  it("two concurrent promotions in two processes end consistent", async () => {
    const r = tmpRegistry();
    await reg(r, card(0.7)); // v1 champion
    await promoteIfBetter(r, { name: "churn", version: 1, policy });
    await reg(r, card(0.75)); // v2
    await reg(r, card(0.8)); // v3
    const run = (version: number) =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, [child, "promote", r.root, "churn", String(version)], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        let out = "";
        p.stdout.on("data", (d) => {
          out += String(d);
        });
        p.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}`))));
      });
    await Promise.all([run(2), run(3)]);
    // Whatever the order, the best model holds the alias and the log is a consistent chain.
    expect((await r.aliases("churn")).champion).toBe(3);
    const log = await r.audit("churn");
    for (let i = 1; i < log.length; i++) expect(log[i]?.from).toBe(log[i - 1]?.to);
    expect(log.at(-1)?.to).toBe(3);
  }, 30_000);
});
