import { appendFileSync, existsSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withFileLock } from "../../platform/adapters/local/file-lock.ts";
import { LocalModelRegistry } from "../../platform/adapters/local/file-model-registry.ts";

function tmpRegistry(): { root: string; registry: LocalModelRegistry } {
  const root = mkdtempSync(join(tmpdir(), "telco-reg-crash-"));
  return { root, registry: new LocalModelRegistry(root, { lockTimeoutMs: 5_000 }) };
}

async function registerTwo(registry: LocalModelRegistry) {
  const card = { metrics: { auc: { value: 0.7 } } };
  await registry.register({ name: "churn", format: "onnx", artifact: Buffer.from("a"), card });
  await registry.register({ name: "churn", format: "onnx", artifact: Buffer.from("b"), card });
  await registry.setAlias("churn", "champion", 1, { action: "auto-first", reason: "first" });
}

describe("registry crash safety", () => {
  it("breaks an empty lock file (a crash between creating and writing it) instead of blocking for good", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-lock-"));
    const lock = join(dir, ".lock");
    writeFileSync(lock, "");
    const old = new Date(Date.now() - 10_000);
    utimesSync(lock, old, old);
    const started = Date.now();
    expect(await withFileLock(lock, async () => "acquired", { timeoutMs: 5_000 })).toBe("acquired");
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(readdirSync(dir)).toEqual([]); // no lock, no private owner file, nothing moved aside
  });

  it("never leaves an unreadable lock while held", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-lock-"));
    const lock = join(dir, ".lock");
    await withFileLock(lock, async () => {
      const owner = JSON.parse((await import("node:fs")).readFileSync(lock, "utf8")) as { pid: number };
      expect(owner.pid).toBe(process.pid);
    });
  });

  it("rolls forward a logged alias move whose alias file was never written (crash between the two)", async () => {
    const { root, registry } = tmpRegistry();
    await registerTwo(registry);
    const dir = join(root, "models", "churn");
    // What a crash right after the audit append leaves: the promotion is logged, the alias did not move.
    appendFileSync(
      join(dir, "audit.jsonl"),
      `${JSON.stringify({ at: new Date().toISOString(), by: "t", model: "churn", alias: "champion", from: 1, to: 2, action: "promote", reason: "crash" })}\n`,
    );
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "aliases.json"), past, past);
    writeFileSync(join(dir, ".aliases.4242.tmp"), "{"); // the torn temp file of the crashed writer
    expect(await registry.aliases("churn")).toEqual({ champion: 2 });
    const audit = await registry.audit("churn");
    expect(audit.at(-1)?.to).toBe(2);
    expect(existsSync(join(dir, ".aliases.4242.tmp"))).toBe(false);
    // Aliases equal the audit log's last move per alias from now on.
    await registry.setAlias("churn", "challenger", 1, { action: "force", reason: "x" });
    const last = new Map((await registry.audit("churn")).map((e) => [e.alias, e.to]));
    expect(await registry.aliases("churn")).toEqual(Object.fromEntries(last));
  });

  it("cleans stray .aliases.*.tmp files on the next alias move", async () => {
    const { root, registry } = tmpRegistry();
    await registerTwo(registry);
    const dir = join(root, "models", "churn");
    writeFileSync(join(dir, ".aliases.999999.tmp"), "{}");
    await registry.setAlias("churn", "champion", 2, { action: "force", reason: "x" });
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});
