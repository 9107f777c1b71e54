import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { buildProgram } from "../../cli/main.ts";
import { runProgram } from "../../platform/cli/runtime.ts";

/**
 * The user's path, command by command (docs/mlops/monitoring.md "How-to: the drift demo") without a
 * drift scenario: `data generate` → `data ingest synthetic` → `features dataset` → `train --register`
 * → `models promote` → `features materialize` → `predict batch` → `monitor run`, in-process.
 * Seed 1 is the one a newcomer found raising `outages_90d out_of_range` on clean data: a region's
 * outage count a few above anything in the training window is drift to watch, not broken data.
 */
describe("the drift demo without drift, as a user runs it (seed 1, default config)", () => {
  const home = mkdtempSync(join(tmpdir(), "telco-drift-demo-"));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  async function telco(...args: string[]): Promise<{ status: number; json: unknown }> {
    const saved = process.env.TELCO_HOME;
    process.env.TELCO_HOME = join(home, ".telco");
    let out = "";
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      return true;
    });
    try {
      const argv = ["node", "telco", ...args, "--json"];
      const status = await runProgram(await buildProgram(argv), argv);
      return { status, json: out.trim() ? JSON.parse(out) : undefined };
    } finally {
      spy.mockRestore();
      process.exitCode = undefined;
      if (saved === undefined) delete process.env.TELCO_HOME;
      else process.env.TELCO_HOME = saved;
    }
  }

  it("raises no drift, no data-quality issue and no alert", async () => {
    const steps = [
      ["data", "generate", "--customers", "1000", "--months", "9", "--start", "2025-01", "--seed", "1"],
      ["data", "ingest", "synthetic"],
      ["features", "dataset", "--as-of", "2025-08-01"],
      ["train", "--dataset", "synthetic", "--register", "churn"],
      ["models", "promote", "churn", "1"],
      ["features", "materialize"],
      ["predict", "batch", "--reasons", "0"],
    ];
    for (const step of steps) expect((await telco(...step)).status, step.join(" ")).toBe(0);
    const { status, json } = await telco("monitor", "run", "--dry-run");
    expect(status).toBe(0);
    const r = json as {
      enough_data: boolean;
      drift: boolean;
      features: { name: string; drift: boolean }[];
      quality: { issues: { feature: string; kind: string }[] };
      alerts: unknown[];
    };
    expect(r.enough_data).toBe(true);
    expect(r.features.filter((f) => f.drift).map((f) => f.name)).toEqual([]);
    expect(r.quality.issues).toEqual([]);
    expect(r.drift).toBe(false);
    expect(r.alerts).toEqual([]);
  }, 600_000);
});
