import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileSystemError } from "../platform/cli/runtime.ts";

const repo = join(import.meta.dirname, "..");

function telco(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [join(repo, "bin/telco.ts"), ...args], {
    cwd: mkdtempSync(join(tmpdir(), "telco-safety-")),
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
}

describe("customer data on disk and secrets in output", () => {
  it("creates workspace files private to the user (0600 files, 0700 folders)", () => {
    const home = join(mkdtempSync(join(tmpdir(), "telco-perm-")), ".telco");
    const r = telco(["data", "generate", "--customers", "20", "--seed", "1", "--months", "2"], {
      TELCO_HOME: home,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    const customers = spawnSync("find", [home, "-name", "customers.csv"], { encoding: "utf8" }).stdout.trim();
    expect(customers).not.toBe("");
    expect(statSync(customers).mode & 0o777).toBe(0o600);
  });

  it("tightens a world-readable workspace on start, and says so", () => {
    const home = join(mkdtempSync(join(tmpdir(), "telco-perm-")), ".telco");
    mkdirSync(join(home, "lake"), { recursive: true, mode: 0o755 });
    writeFileSync(join(home, "lake", "customers.csv"), "cpf\n12345678909\n", { mode: 0o644 });
    chmodSync(home, 0o755);
    chmodSync(join(home, "lake", "customers.csv"), 0o644);
    const r = telco(["data", "versions"], { TELCO_HOME: home });
    expect(r.stderr).toMatch(/readable by other users/);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, "lake")).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, "lake", "customers.csv")).mode & 0o777).toBe(0o600);
  });

  it("never prints API keys in telco config show, text or JSON", () => {
    const key = "sk-local-0123456789abcdef0123456789";
    for (const args of [
      ["config", "show"],
      ["config", "show", "--json"],
    ]) {
      const r = telco(args, {
        TELCO_SERVING__API_KEYS: JSON.stringify([key]),
        TELCO_HOME: join(tmpdir(), "x"),
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).not.toContain(key);
      expect(r.stdout).toContain("[redacted]");
    }
  });

  it("names the path and the fix when TELCO_HOME is a file", () => {
    const file = join(mkdtempSync(join(tmpdir(), "telco-perm-")), "not-a-dir");
    writeFileSync(file, "x");
    const r = telco(["data", "generate", "--customers", "5", "--seed", "1", "--months", "1"], {
      TELCO_HOME: file,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/a file stands where a folder is needed \(ENOTDIR\)/);
    expect(r.stderr).toMatch(/hint:/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("maps permission errors to a message naming the path", () => {
    const err = Object.assign(new Error("EACCES: permission denied, mkdir '/srv/telco'"), {
      code: "EACCES",
      syscall: "mkdir",
      path: "/srv/telco",
    });
    expect(fileSystemError(err)?.message).toBe("cannot mkdir /srv/telco: permission denied (EACCES)");
    expect(fileSystemError(new Error("other"))).toBeUndefined();
  });
});

describe("bin/telco.cjs launcher", () => {
  it("runs the CLI from plain JavaScript (any Node.js), forwarding arguments and exit codes", () => {
    const ok = spawnSync(process.execPath, [join(repo, "bin/telco.cjs"), "--version"], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    expect(ok.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const bad = spawnSync(process.execPath, [join(repo, "bin/telco.cjs"), "no-such-command"], {
      encoding: "utf8",
    });
    expect(bad.status).toBe(2);
  });

  const system = ["/usr/bin/node", "/usr/local/bin/node"].find((p) => {
    const v = spawnSync(p, ["--version"], { encoding: "utf8" });
    return v.status === 0 && Number(v.stdout.slice(1).split(".")[0]) < 22;
  });
  it.runIf(system)("on a Node.js older than 22 it runs the pinned Node 24 instead of failing", () => {
    const r = spawnSync(system as string, [join(repo, "bin/telco.cjs"), "--version"], { encoding: "utf8" });
    expect(r.stderr).not.toContain("ERR_UNKNOWN_FILE_EXTENSION");
    expect(r.status).toBe(0);
  });
});
