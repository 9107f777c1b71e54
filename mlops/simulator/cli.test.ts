import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createProgram, runProgram } from "../../platform/cli/runtime.ts";
import { registerSimulatorCommands } from "./cli.ts";

const home = mkdtempSync(join(tmpdir(), "aurora-cli-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function telco(args: string[]): Promise<{ code: number; stdout: string }> {
  const previous = process.env.TELCO_HOME;
  process.env.TELCO_HOME = home;
  let stdout = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    // Only this module's commands: the test does not depend on other modules' state.
    const program = createProgram("0.0.0-test");
    registerSimulatorCommands(program);
    const code = await runProgram(program, ["node", "telco", ...args]);
    return { code, stdout };
  } finally {
    out.mockRestore();
    err.mockRestore();
    if (previous === undefined) delete process.env.TELCO_HOME;
    else process.env.TELCO_HOME = previous;
  }
}

describe("telco data generate", () => {
  it("writes a delivery under the workspace and prints one JSON document", async () => {
    const { code, stdout } = await telco([
      "--json",
      "data",
      "generate",
      "--customers",
      "40",
      "--months",
      "3",
      "--seed",
      "5",
    ]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.out_dir).toBe(join(home, "deliveries", "synthetic", "aurora-c40-m3-s5"));
    expect(existsSync(join(result.out_dir, "manifest.json"))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(result.out_dir, "manifest.json"), "utf8"));
    expect(manifest.params).toMatchObject({ customers: 40, months: 3, drift: "none" });
    expect(manifest.seed).toBe(5);
    expect(result.files.find((f: { table: string }) => f.table === "crm_customers").rows).toBe(40);
  });

  it("rejects bad options with a usage error naming the option", async () => {
    const bad = await telco(["--json", "data", "generate", "--customers", "0"]);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.message).toMatch(/--customers/);
    const badStart = await telco(["--json", "data", "generate", "--customers", "5", "--start", "2025-13"]);
    expect(badStart.code).toBe(2);
    expect(JSON.parse(badStart.stdout).error.message).toMatch(/--start/);
    const badDrift = await telco(["--json", "data", "generate", "--drift", "meteor"]);
    expect(badDrift.code).toBe(2);
  });
});
