import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_SPECS, fixtureModelBytes, fixtureRows } from "../../mlops/serving/testing/fixture.ts";
import { LocalModelRegistry } from "../../platform/adapters/local/file-model-registry.ts";
import { SqliteOnlineStore } from "../../platform/adapters/local/sqlite-online-store.ts";
import { replaceOnlineStore } from "../../platform/ports/online-store.ts";
import { type SandboxFixture, sandboxFixture } from "../testing/sandbox-fixture.ts";
import { loadRules } from "./engine.ts";

const BIN = new URL("../../bin/telco.ts", import.meta.url).pathname;

/** Runs `telco …` in the fixture's workspace; the systems' URLs point where nothing answers (in-process). */
function telco(
  home: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, TELCO_HOME: home, TELCO_LOG_LEVEL: "warn", NO_COLOR: "1" };
  for (const s of ["CRM", "BILLING", "NETWORK", "OFFERS"])
    env[`TELCO_OPERATOR__SYSTEMS__${s}__URL`] = `http://127.0.0.1:1/${s.toLowerCase()}`;
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => {
    stdout += c;
  });
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stdout, stderr })));
}

describe("telco offers", () => {
  let sb: SandboxFixture;
  let customers: string[];

  beforeAll(async () => {
    sb = await sandboxFixture();
    // A champion churn model and online features for some sandbox customers, in the same workspace.
    const registry = new LocalModelRegistry(sb.app.paths.registry);
    const v1 = await registry.register({
      name: "churn",
      format: "telco-gbdt",
      artifact: await fixtureModelBytes(7),
      card: {
        metrics: { auc: { value: 0.7 } },
        features: FIXTURE_SPECS.map((f) => ({ name: f.name })),
        trainingDataset: { name: "fixture", version: "ds-cli" },
      },
    });
    await registry.setAlias("churn", "champion", v1.version, { action: "auto-first", reason: "test" });
    customers = [
      ...sb.scenarios.customers.slow_speed.slice(0, 3),
      ...sb.scenarios.customers.mobile_postpaid.slice(0, 3),
    ];
    const names = FIXTURE_SPECS.map((f) => f.name);
    const rows = fixtureRows(customers.length, 5);
    const store = SqliteOnlineStore.open(sb.app.paths.onlineStore);
    await replaceOnlineStore(
      store,
      { featureNames: names, featureVersion: "fixture", asOf: sb.businessDate },
      [customers.map((id, i) => ({ customerId: id, values: names.map((n) => rows[i][n] ?? null) }))],
    );
    await store.close();
  }, 120_000);
  afterAll(async () => {
    await sb?.cleanup();
  });

  it("explain --json: every offer with its clauses and fact values, the versions, and the recorded decision", async () => {
    const id = customers[0];
    const res = await telco(sb.home, ["offers", "explain", "--customer", id, "--json"]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.rules_version).toBe(loadRules().version);
    expect(out.churn_model_version).toBe("churn@1");
    expect(out.systems_mode).toBe("in-process");
    expect(out.facts.churn).toMatchObject({
      model_version: "1",
      data_version: "ds-cli",
      as_of: sb.businessDate,
    });
    expect(out.offers.map((o: { offer_id: string }) => o.offer_id)).toEqual([
      "RET-DESC10",
      "RET-DESC20",
      "RET-DESC30",
      "RET-UPGRADE",
      "RET-BONUS-GB",
    ]);
    for (const o of out.offers) {
      expect(o.contracts.length).toBeGreaterThan(0);
      for (const c of o.contracts[0].checks) expect(c).toHaveProperty("actual");
    }
    const desc10 = out.offers[0];
    const band = out.facts.churn.band;
    expect(desc10.allowed).toBe(band !== "low");
    const riskCheck = desc10.contracts[0].checks.find((c: { id: string }) => c.id === "risk_medium_or_high");
    expect(riskCheck).toMatchObject({ fact: "churn.band", actual: band });
    // The decision is in the offers system, with the same result.
    const stored = await sb.systems.offers.getDecision(out.decision_id);
    expect(stored).toMatchObject({
      customer_id: id,
      rules_version: out.rules_version,
      churn_model_version: "churn@1",
    });
    expect(stored?.allowed.map((a) => a.offer_id)).toEqual(
      out.allowed.map((a: { offer_id: string }) => a.offer_id),
    );
    expect(stored?.rejected).toEqual(
      out.rejected.map((r: { offer_id: string; reasons: string[] }) => ({
        offer_id: r.offer_id,
        reasons: r.reasons,
      })),
    );
  }, 60_000);

  it("explain for a person: allowed or not per offer, the failing clause with its value, the versions", async () => {
    const id = customers[3];
    const res = await telco(sb.home, ["offers", "explain", "--customer", id]);
    expect(res.code).toBe(0);
    const text = res.stdout;
    expect(text).toContain(`Retention offers for ${id}`);
    expect(text).toContain(`rules ${loadRules().version}`);
    expect(text).toContain("churn model churn@1");
    for (const offer of ["RET-DESC10", "RET-DESC20", "RET-DESC30", "RET-UPGRADE", "RET-BONUS-GB"])
      expect(text).toMatch(new RegExp(`[✓✗] ${offer} (allowed|not allowed)`));
    // A mobile customer is never eligible for the fibra upgrade: the clause shows the product.
    expect(text).toMatch(
      /✗ fibra_or_combo: contract\.product = mobile_(pos|controle) \(needs in \[fibra, combo\]\)/,
    );
  }, 60_000);

  it("a customer without features is explained without a churn score; an unknown customer fails with exit 1", async () => {
    const noScore = sb.scenarios.customers.healthy_internet.find((c) => !customers.includes(c)) as string;
    const res = await telco(sb.home, ["offers", "explain", "--customer", noScore, "--json"]);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.churn_model_version).toBeNull();
    expect(out.facts.churn_error).toMatch(/no churn score/);
    expect(out.allowed.filter((a: { terms: { discount_pct: number } }) => a.terms.discount_pct > 0)).toEqual(
      [],
    );
    const unknown = await telco(sb.home, ["offers", "explain", "--customer", "AUR-99999999", "--json"]);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout).error.code).toBe("not_found");
    const usage = await telco(sb.home, ["offers", "explain", "--json"]);
    expect(usage.code).toBe(2);
  }, 60_000);

  it("rules --json prints the rules and their version", async () => {
    const res = await telco(sb.home, ["offers", "rules", "--json"]);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    const rules = loadRules();
    expect(out.version).toBe(rules.version);
    expect(out.retention.offers.map((o: { offer_id: string }) => o.offer_id)).toEqual(
      rules.retention.offers.map((o) => o.offer_id),
    );
    expect(out.retention.cancellation.obstruct).toBe(false);
    const human = await telco(sb.home, ["offers", "rules"]);
    expect(human.stdout).toContain(`Offers rules ${rules.version}`);
    expect(human.stdout).toContain("tenure_24_months: customer.tenure_months ≥ 24");
  }, 60_000);
});
