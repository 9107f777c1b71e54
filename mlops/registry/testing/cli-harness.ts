import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { vi } from "vitest";
import { createProgram, runProgram } from "../../../platform/cli/runtime.ts";

/**
 * Runs CLI commands in-process (a spawned `telco` costs seconds of start-up on a loaded
 * 2-core machine): a fresh program with only the given command groups, a private workspace
 * and config file, extra TELCO_* env for the call, stdout captured and parsed as JSON.
 */
export function cliHarness(register: Array<(program: Command) => void>) {
  const home = mkdtempSync(join(tmpdir(), "telco-cli-"));
  const configFile = join(home, "telco.config.yaml");
  writeFileSync(configFile, "profile: local\n");
  async function telco(args: string[], env: Record<string, string> = {}) {
    const program = createProgram("test");
    for (const r of register) r(program);
    const saved = new Map<string, string | undefined>();
    for (const [k, v] of Object.entries({
      TELCO_HOME: join(home, ".telco"),
      TELCO_CONFIG: configFile,
      ...env,
    })) {
      saved.set(k, process.env[k]);
      process.env[k] = v;
    }
    let out = "";
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      return true;
    });
    try {
      const status = await runProgram(program, ["node", "telco", ...args, "--json"]);
      return { status, json: out.trim() ? JSON.parse(out) : undefined };
    } finally {
      spy.mockRestore();
      process.exitCode = undefined;
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }
  return { home, telco };
}
