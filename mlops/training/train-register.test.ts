import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { moduleRegistrars } from "../../cli/main.ts";
import { cliHarness } from "../registry/testing/cli-harness.ts";

/** A small churn CSV: churn follows plan × usage, no id column. */
function churnCsv(path: string, rows: number): void {
  let s = 11;
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
    lines.push(`${plan},${minutes},${calls},${rnd() < risk ? "Yes" : "No"}`);
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
}

describe("telco train --register NAME", () => {
  it("trains, registers the run with its card, dataset version and reference profile, and monitor profile works", async () => {
    const { home, telco } = cliHarness(
      // As `telco` wires them (cli/main.ts): training gets registerRun, the registry the profile writer.
      await moduleRegistrars(["ingestion", "training", "registry", "monitoring"]),
    );
    const csv = join(home, "churn.csv");
    churnCsv(csv, 500);
    expect((await telco(["data", "ingest", "csv", csv, "--name", "acme", "--target", "Churn"])).status).toBe(
      0,
    );

    const run = await telco(["train", "--dataset", "acme", "--model", "logreg", "--register", "acme-churn"]);
    expect(run.status).toBe(0);
    expect(run.json.registered).toMatchObject({ name: "acme-churn", version: 1, format: "telco-logreg" });
    expect(existsSync(run.json.registered.profile)).toBe(true);

    // What the registry holds is the run: its metrics, dataset version and lineage.
    const shown = await telco(["models", "show", "acme-churn@1"]);
    expect(shown.status).toBe(0);
    const version = shown.json;
    expect(version.lineage).toEqual({ trainingRunId: run.json.run_id });
    expect(version.card.metrics.auc.value).toBeCloseTo(run.json.metrics.auc, 10);
    expect(version.card.trainingDataset).toEqual({ name: "acme", version: run.json.dataset_version });
    expect(version.card.riskBands.medium).toBeLessThan(version.card.riskBands.high);

    expect((await telco(["monitor", "profile", "--model", "acme-churn@1"])).status).toBe(0);

    // A second run registers the next version.
    const again = await telco([
      "train",
      "--dataset",
      "acme",
      "--model",
      "logreg",
      "--register",
      "acme-churn",
    ]);
    expect(again.json.registered.version).toBe(2);
  }, 120_000);
});
