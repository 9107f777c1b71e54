import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { moduleRegistrars } from "../../cli/main.ts";
import { riskBandsFromScores } from "./evaluation.ts";
import { cliHarness } from "./testing/cli-harness.ts";

/** A churn CSV nobody here wrote: churn follows usage × plan, no id column. */
function churnCsv(path: string, rows: number, seed: number): void {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
  const lines = ["Plan Type,Monthly Minutes,Support Calls,Churn"];
  for (let i = 0; i < rows; i++) {
    const plan = rnd() < 0.5 ? "basic" : "premium";
    const minutes = Math.round(rnd() * 500);
    const calls = Math.floor(rnd() * 6);
    const risk = (plan === "basic" ? 0.6 : 0.1) * (minutes / 500) + 0.08 * calls;
    lines.push(`${plan},${minutes},${calls},${rnd() < risk ? "True" : "false"}`);
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
}

describe("from a training run to a registered, monitorable, comparable model", () => {
  it("models register --run carries metrics, card, dataset version, risk bands and a reference profile", async () => {
    const { home, telco } = cliHarness(
      // As `telco` wires them (cli/main.ts): training gets registerRun, the registry the profile writer.
      await moduleRegistrars(["ingestion", "training", "registry", "monitoring"]),
    );
    const csv = join(home, "churn.csv");
    churnCsv(csv, 600, 3);
    const ingested = await telco(["data", "ingest", "csv", csv, "--name", "acme", "--target", "Churn"]);
    expect(ingested.status).toBe(0);
    expect(ingested.json.labels.positives).toBeGreaterThan(50);
    const run1 = await telco(["train", "--dataset", "acme", "--model", "logreg"]);
    expect(run1.status).toBe(0);
    const reg = await telco(["models", "register", "--run", run1.json.run_id, "--name", "acme-churn"]);
    expect(reg.status).toBe(0);
    expect(reg.json.format).toBe("telco-logreg");
    expect(reg.json.lineage).toEqual({ trainingRunId: run1.json.run_id });
    const card = reg.json.card;
    expect(card.metrics.auc.value).toBeCloseTo(run1.json.metrics.auc, 10);
    expect(card.trainingDataset).toEqual({ name: "acme", version: run1.json.dataset_version });
    expect(card.evaluationDataset.name).toBe("acme/test");
    expect(card.riskBands.shares).toEqual({ high: 0.05, medium: 0.15 });
    expect(card.riskBands.medium).toBeLessThan(card.riskBands.high);
    expect(existsSync(reg.json.profile)).toBe(true);
    // monitor profile works on it (it needs the card's training dataset).
    const profile = await telco(["monitor", "profile", "--model", "acme-churn@1"]);
    expect(profile.status).toBe(0);

    // models evaluate: the same rows as the card's evaluation set give the same id.
    const ev = await telco(["models", "evaluate", "acme-churn", "1", "--dataset", "acme"]);
    expect(ev.status).toBe(0);
    expect(ev.json.evaluationDataset).toEqual(card.evaluationDataset);
    expect(ev.json.metrics.auc.value).toBeCloseTo(card.metrics.auc.value, 6);

    // A second run on a bigger delivery: different evaluation sets → refused, with the command to run.
    await telco(["models", "promote", "acme-churn", "1"]);
    const more = join(home, "churn2.csv");
    churnCsv(more, 300, 9);
    expect((await telco(["data", "ingest", "csv", more, "--name", "acme", "--target", "Churn"])).status).toBe(
      0,
    );
    const run2 = await telco(["train", "--dataset", "acme", "--model", "logreg"]);
    const reg2 = await telco(["models", "register", "--run", run2.json.run_id, "--name", "acme-churn"]);
    expect(reg2.json.version).toBe(2);
    const refused = await telco(["models", "promote", "acme-churn", "2", "--dry-run"]);
    expect(refused.status).toBe(1);
    expect(refused.json.error.hint).toMatch(
      /telco models evaluate acme-churn 2 --dataset NAME && telco models evaluate acme-churn 1/,
    );
    // After re-evaluating the champion on the challenger's set, the gate compares like with like.
    expect((await telco(["models", "evaluate", "acme-churn", "1", "--dataset", "acme"])).status).toBe(0);
    const again = await telco(["models", "promote", "acme-churn", "2", "--dry-run"]);
    const checks = again.status === 0 ? again.json.checks : again.json.error.details.decision.checks;
    expect(checks.find((c: { check: string }) => c.check === "same-evaluation-set").passed).toBe(true);
  }, 180_000);

  it("risk bands put the top 5% in high and the next 15% in medium", () => {
    const scores = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const b = riskBandsFromScores(scores, { high: 0.05, medium: 0.15 });
    expect(scores.filter((p) => p >= b.high)).toHaveLength(50);
    expect(scores.filter((p) => p >= b.medium && p < b.high)).toHaveLength(150);
  });
});
