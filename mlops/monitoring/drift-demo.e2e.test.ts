import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { buildProgram } from "../../cli/main.ts";
import { runProgram } from "../../platform/cli/runtime.ts";
import { SCENARIO_FEATURES } from "./calibration.e2e-helpers.ts";

/**
 * The user's path, command by command (docs/mlops/monitoring.md "How-to: the drift demo"), seed 1,
 * default config: `data generate` → `data ingest synthetic` → `features dataset` → `train --register`
 * → `models promote` → `features materialize` → `predict batch` → `monitor run`, in-process.
 * Without drift, seed 1 is the one a newcomer found raising `outages_90d out_of_range` on clean data
 * (a region's outage count a few above the training window is drift to watch, not broken data).
 * With `new-competitor`, seed 1 is the one the plain slice-to-slice calibration missed: its first
 * training month had no competitor offer at all, which set the bar for competitor_offer_active
 * near 1; the calibration leaves that odd month out.
 */
type MonitorJson = {
  enough_data: boolean;
  drift: boolean;
  calibration: { method: string; odd_slices: { feature: string; slice: string }[] } | null;
  features: { name: string; drift: boolean; effect?: number; effect_threshold?: number }[];
  quality: { issues: { feature: string; kind: string }[] };
  alerts: { rule: string; message: string }[];
};

const homes: string[] = [];
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

async function telco(home: string, ...args: string[]): Promise<{ status: number; json: unknown }> {
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

/** The demo's commands for one drift scenario; returns `monitor run --dry-run --json`. */
async function driftDemo(drift: string): Promise<MonitorJson> {
  const home = mkdtempSync(join(tmpdir(), `telco-drift-demo-${drift}-`));
  homes.push(home);
  const generate = [
    "data",
    "generate",
    "--customers",
    "1000",
    "--months",
    "9",
    "--start",
    "2025-01",
    "--seed",
    "1",
  ];
  const steps = [
    drift === "none" ? generate : [...generate, "--drift", drift],
    ["data", "ingest", "synthetic"],
    ["features", "dataset", "--as-of", "2025-08-01"],
    ["train", "--dataset", "synthetic", "--register", "churn"],
    ["models", "promote", "churn", "1"],
    ["features", "materialize"],
    ["predict", "batch", "--reasons", "0"],
  ];
  for (const step of steps) expect((await telco(home, ...step)).status, step.join(" ")).toBe(0);
  const { status, json } = await telco(home, "monitor", "run", "--dry-run");
  expect(status).toBe(0);
  return json as MonitorJson;
}

describe("the drift demo as a user runs it (seed 1, default config)", () => {
  it("without drift: no drift, no data-quality issue and no alert", async () => {
    const r = await driftDemo("none");
    expect(r.enough_data).toBe(true);
    expect(r.features.filter((f) => f.drift).map((f) => f.name)).toEqual([]);
    expect(r.quality.issues).toEqual([]);
    expect(r.drift).toBe(false);
    expect(r.alerts).toEqual([]);
  }, 600_000);

  for (const c of SCENARIO_FEATURES) {
    it(`${c.drift}: flags ${c.must.join(", ")} and only its own features`, async () => {
      const r = await driftDemo(c.drift);
      const flagged = r.features.filter((f) => f.drift).map((f) => f.name);
      for (const name of c.must) expect(flagged).toContain(name);
      for (const name of flagged) expect(c.allowed).toContain(name);
      expect(r.drift).toBe(true);
      expect(r.alerts.find((a) => a.rule === "feature-drift")?.message).toContain(c.must[0]);
      if (c.drift === "new-competitor") {
        // The first training month (no competitor offer) is left out of this feature's calibration,
        // so the bound sits far below the new competitor's effect size (plain pairs put it at 0.96).
        expect(r.calibration?.method).toBe("pairs-robust");
        expect(r.calibration?.odd_slices).toContainEqual({
          feature: "competitor_offer_active",
          slice: "2025-04-01",
        });
        const competitor = r.features.find((f) => f.name === "competitor_offer_active");
        expect(competitor?.effect_threshold).toBeLessThan(0.5);
        expect(competitor?.effect).toBeGreaterThan(competitor?.effect_threshold ?? 1);
      }
    }, 600_000);
  }
});
