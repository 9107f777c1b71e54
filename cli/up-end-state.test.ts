import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { upSteps } from "./up.ts";

const BIN = new URL("../bin/telco.ts", import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), "telco-up-end-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const env = {
  ...process.env,
  NO_COLOR: "1",
  TELCO_HOME: home,
  TELCO_LOG_LEVEL: "warn",
  TELCO_DATA__GENERATE__CUSTOMERS: "200",
  TELCO_DATA__GENERATE__MONTHS: "6",
};

function telco(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [BIN, ...args], { env, encoding: "utf8" });
}

function json<T>(...args: string[]): T {
  const r = telco(...args, "--json");
  if (r.status !== 0) throw new Error(`telco ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface UpResult {
  steps: { step: string; summary: string; duration_ms: number; thread?: boolean }[];
}
interface Champion {
  version: number;
  card: { metrics: { auc: { value: number } } };
}

describe("telco up --no-serve on an empty workspace (steps in worker threads beside the pipeline)", () => {
  let first: UpResult;

  it("reports every step once, in order, those in threads marked, and leaves the whole loop in place", () => {
    first = json<UpResult>("up", "--no-serve");
    // --no-serve skips what only serving needs (the portal build).
    const built = upSteps.filter((s) => !s.serveOnly);
    expect(first.steps.map((s) => s.step)).toEqual(built.map((s) => s.name));
    expect(first.steps.map((s) => s.step)).not.toContain("portal");
    expect(first.steps.filter((s) => s.thread).map((s) => s.step)).toEqual(
      built.filter((s) => s.thread).map((s) => s.name),
    );
    expect(first.steps.find((s) => s.step === "churn-training")?.summary).toMatch(
      /0\/10 steps cached\); champion churn@1 AUC 0\.\d{3}/,
    );

    // Champion registered and promoted, with its reference profile (written from the rows train loaded).
    const champion = json<Champion>("models", "show", "churn@champion");
    expect(champion.version).toBe(1);
    expect(champion.card.metrics.auc.value).toBeGreaterThan(0.6);
    expect(
      existsSync(join(home, "registry", "models", "churn", "versions", "1", "reference-profile.json")),
    ).toBe(true);

    // Online store serves an active customer of gold.customer_features.
    const [{ customer_id }] = json<{ customer_id: string }[]>(
      "sql",
      "select customer_id from gold.customer_features order by customer_id limit 1",
    );
    const online = json<{ customerId: string; features: Record<string, unknown> }>(
      "features",
      "get",
      customer_id,
    );
    expect(online.customerId).toBe(customer_id);
    expect(Object.keys(online.features).length).toBeGreaterThan(10);

    // Operator systems seeded from the same delivery (thread).
    const systems = json<{ seeded: boolean; rows: { customers: number } }>("systems", "status");
    expect(systems.seeded).toBe(true);
    expect(systems.rows.customers).toBe(200);

    // Knowledge base indexed (thread): a question finds its document.
    const rag = json<{ results: { doc_id: string }[] }>(
      "rag",
      "query",
      "como pedir a segunda via da fatura?",
    );
    expect(rag.results.map((r) => r.doc_id)).toContain("faq-segunda-via");

    // The assistant's understanding model is cached in the workspace (thread), so the server loads it.
    expect(existsSync(join(home, "assistant", "nlu-model.json"))).toBe(true);
  }, 300_000);

  it("a second up is served from cache with the same champion (same seed, same model)", () => {
    const before = json<Champion>("models", "show", "churn@champion");
    const second = json<UpResult>("up", "--no-serve");
    expect(second.steps.find((s) => s.step === "generate")?.summary).toMatch(/reusing synthetic delivery/);
    expect(second.steps.find((s) => s.step === "systems")?.summary).toMatch(/up to date/);
    expect(second.steps.find((s) => s.step === "knowledge-base")?.summary).toMatch(/\(0 embedded now\)/);
    const after = json<Champion>("models", "show", "churn@champion");
    expect(after.version).toBe(before.version);
    expect(after.card.metrics.auc.value).toBe(before.card.metrics.auc.value);
  }, 300_000);

  it("a step that fails in the worker thread fails up with its name and exit 1", () => {
    const broken = mkdtempSync(join(tmpdir(), "telco-up-broken-"));
    try {
      // A folder where the operator systems' SQLite file belongs: seeding cannot open it.
      mkdirSync(join(broken, "systems", "operator.sqlite"), { recursive: true });
      const r = spawnSync(process.execPath, [BIN, "up", "--no-serve"], {
        env: { ...env, TELCO_HOME: broken },
        encoding: "utf8",
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/systems: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  }, 300_000);
});
