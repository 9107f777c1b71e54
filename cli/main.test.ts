import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram, commandName } from "./main.ts";

const repo = join(import.meta.dirname, "..");

function telco(args: string[], env: Record<string, string> = {}) {
  const home = mkdtempSync(join(tmpdir(), "telco-cli-"));
  return spawnSync(process.execPath, [join(repo, "bin/telco.ts"), ...args], {
    cwd: home,
    env: { ...process.env, TELCO_HOME: join(home, ".telco"), ...env },
    encoding: "utf8",
  });
}

function allCommands(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return cmd.commands.flatMap((sub) => {
    const p = [...path, sub.name()];
    return [{ path: p, cmd: sub }, ...allCommands(sub, p)];
  });
}

describe("telco CLI", () => {
  it("gives every command a description", async () => {
    const commands = allCommands(await buildProgram());
    expect(commands.length).toBeGreaterThan(1);
    for (const { path, cmd } of commands) {
      expect(cmd.description(), `telco ${path.join(" ")} has no description`).not.toBe("");
    }
  });

  it("loads, for each top-level command, the module that defines it (lazy loading loses nothing)", async () => {
    const full = await buildProgram();
    for (const top of full.commands) {
      const name = top.name();
      const lazy = await buildProgram(["node", "telco", name, "--help"]);
      const found = lazy.commands.find((c) => c.name() === name);
      expect(found, `telco ${name} missing when loaded lazily`).toBeDefined();
      expect(allCommands(found as Command).length, `subcommands of ${name}`).toBe(allCommands(top).length);
    }
  });

  it("finds the command name after global options", () => {
    expect(commandName(["node", "telco", "--json", "-c", "x.yaml", "sql", "select 1"])).toBe("sql");
    expect(commandName(["node", "telco", "--help"])).toBeUndefined();
  });

  it("prints --help for the root and exits 0", () => {
    const r = telco(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Usage: telco");
    expect(r.stdout).toContain("--json");
  });

  it("exits 2 with a hint on an unknown command or option", () => {
    const r = telco(["no-such-command"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
    const o = telco(["config", "show", "--no-such-flag"]);
    expect(o.status).toBe(2);
  });

  it("prints no colour codes when output is not a terminal, even on CI", () => {
    const r = telco(["config", "show"], { CI: "true", TELCO_PROFILE: "azure" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error:/);
    expect(r.stderr).not.toContain("\u001b[");
  });

  it("reports usage errors as JSON with --json", () => {
    const r = telco(["no-such-command", "--json"]);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "usage" } });
  });

  it("exits 1 and names the key on invalid configuration", () => {
    const r = telco(["config", "show"], { TELCO_PROFILE: "azure" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/profile/);
    expect(r.stderr).toMatch(/TELCO_PROFILE/);
  });

  it("prints the effective configuration as JSON", () => {
    const r = telco(["config", "show", "--json"]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { config: { profile: string }; home: string };
    expect(out.config.profile).toBe("local");
    expect(out.home).toMatch(/\.telco$/);
  });
});
