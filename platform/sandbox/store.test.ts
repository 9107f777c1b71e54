import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { NotFoundError } from "../errors.ts";
import { openSandbox, seedSandbox } from "./index.ts";
import { SandboxStore } from "./store.ts";
import { miniSeed } from "./test-support/mini-seed.ts";

function seeded(clock?: () => Date) {
  const path = join(mkdtempSync(join(tmpdir(), "telco-store-")), "operator.sqlite");
  seedSandbox(path, miniSeed());
  return { path, sb: openSandbox(path, { clock }) };
}

function run(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, "test-support", "wal-writer.ts"), ...args],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    child.on("error", reject);
    child.on("exit", (code) => resolve(code ?? -1));
  });
}

describe("sandbox store", () => {
  it("is a WAL database that two processes write at once without losing or doubling a write", async () => {
    const { path, sb } = seeded();
    const mode = new DatabaseSync(path).prepare("pragma journal_mode").get() as { journal_mode: string };
    expect(mode.journal_mode).toBe("wal");
    // Two writer processes plus this one, all at once: own keys and keys they share.
    const writers = Promise.all([run([path, "a", "120", "60"]), run([path, "b", "120", "60"])]);
    for (let i = 0; i < 40; i++) {
      await sb.crm.recordInteraction(
        {
          customer_id: "AUR-00000001",
          channel: "api",
          category: "wal",
          summary: `main-${i}`,
          sentiment: "neutral",
          outcome: "resolved",
          offers_made: [],
          offer_accepted: null,
          session_id: null,
        },
        { idempotencyKey: `main-${i}` },
      );
    }
    expect(await writers).toEqual([0, 0]);
    const rows = (await sb.crm.listInteractions("AUR-00000001", { limit: 1000 })).filter(
      (i) => i.category === "wal",
    );
    expect(rows).toHaveLength(120 + 120 + 60 + 40);
    const shared = rows.filter((r) => r.summary.startsWith("shared-"));
    expect(new Set(shared.map((r) => r.summary)).size).toBe(60);
    expect(new Set(rows.map((r) => r.interaction_id)).size).toBe(rows.length);
    expect(new Set(rows.map((r) => r.protocol)).size).toBe(rows.length);
    await sb.close();
  });

  it("reseeds in place while another connection holds the store open", async () => {
    const { path, sb } = seeded();
    await sb.crm.openProtocol(
      { customer_id: "AUR-00000001", kind: "x", summary: "y" },
      { idempotencyKey: "k" },
    );
    const before = sb.store.counts().protocols;
    seedSandbox(path, miniSeed());
    expect(sb.store.counts().protocols).toBe(before - 1);
    expect((await sb.crm.getCustomer("AUR-00000001"))?.name).toBe("Ana Souza");
    await sb.close();
  });

  it("refuses to open a store that was never seeded, with the command that seeds it", () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-store-"));
    expect(() => openSandbox(join(dir, "none.sqlite"))).toThrowError(NotFoundError);
    const empty = join(dir, "empty.sqlite");
    SandboxStore.open(empty, { create: true }).close();
    try {
      openSandbox(empty);
      expect.unreachable();
    } catch (err) {
      expect((err as NotFoundError).hint).toMatch(/telco up|telco systems reset/);
    }
  });

  it("takes the time of day from the clock and the date from the delivery", async () => {
    const { sb } = seeded(() => new Date("2030-06-01T14:30:00.000Z"));
    expect(await sb.businessDate()).toBe("2025-12-31");
    expect(sb.store.now()).toBe("2025-12-31T14:30:00.000Z");
    const p = await sb.crm.openProtocol(
      { customer_id: "AUR-00000001", kind: "x", summary: "y" },
      { idempotencyKey: "k" },
    );
    expect(p.created_at).toBe("2025-12-31T14:30:00.000Z");
    expect(p.protocol).toMatch(/^AUR20251231\d{8}$/);
    await sb.close();
  });

  it("lets a login code expire after 10 minutes and burns it after 5 wrong tries", async () => {
    let now = Date.parse("2030-06-01T10:00:00Z");
    const { sb } = seeded(() => new Date(now));
    const a = await sb.crm.issueLoginCode("AUR-00000002", { idempotencyKey: "c1" });
    expect(a.expires_at).toBe("2025-12-31T10:10:00.000Z");
    now += 10 * 60_000 + 1;
    expect(await sb.crm.verifyLoginCode("AUR-00000002", a.code)).toBe(false);
    const b = await sb.crm.issueLoginCode("AUR-00000002", { idempotencyKey: "c2" });
    const wrong = b.code === "111111" ? "222222" : "111111";
    for (let i = 0; i < 5; i++) expect(await sb.crm.verifyLoginCode("AUR-00000002", wrong)).toBe(false);
    expect(await sb.crm.verifyLoginCode("AUR-00000002", b.code)).toBe(false);
    const c = await sb.crm.issueLoginCode("AUR-00000002", { idempotencyKey: "c3" });
    expect(await sb.crm.verifyLoginCode("AUR-00000002", c.code)).toBe(true);
    await sb.close();
  });

  it("refuses writes without an idempotency key", async () => {
    const { sb } = seeded();
    await expect(sb.network.runLineTest("AUR-00000001", { idempotencyKey: "" })).rejects.toMatchObject({
      status: 400,
      code: "invalid_idempotency_key",
    });
    await sb.close();
  });
});
