import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.ts";
import { loadConfig } from "./load.ts";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "telco-config-"));
}

describe("loadConfig", () => {
  it("uses defaults when there is no file and no environment", () => {
    const cwd = tempDir();
    const { config, file, home } = loadConfig({ env: {}, cwd });
    expect(file).toBeUndefined();
    expect(config.profile).toBe("local");
    expect(config.serving.port).toBe(8080);
    expect(home).toBe(join(cwd, ".telco"));
  });

  it("reads telco.config.yaml and applies TELCO_* overrides on top", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "telco.config.yaml"), "serving:\n  port: 9000\ntraining:\n  seed: 7\n");
    const { config, file } = loadConfig({ env: { TELCO_SERVING__PORT: "9100", TELCO_HOME: "/tmp/x" }, cwd });
    expect(file).toBe(join(cwd, "telco.config.yaml"));
    expect(config.serving.port).toBe(9100);
    expect(config.training.seed).toBe(7);
  });

  it("maps snake_case environment names to camelCase keys", () => {
    const { config } = loadConfig({ env: { TELCO_TRAINING__TEST_FRACTION: "0.3" }, cwd: tempDir() });
    expect(config.training.testFraction).toBe(0.3);
  });

  it("moves the workspace with TELCO_HOME", () => {
    const { home } = loadConfig({ env: { TELCO_HOME: "/var/tmp/telco-home" }, cwd: tempDir() });
    expect(home).toBe("/var/tmp/telco-home");
  });

  it("names the key and the variable when an override is invalid", () => {
    expect(() => loadConfig({ env: { TELCO_SERVING__PORT: "eighty" }, cwd: tempDir() })).toThrowError(
      /serving\.port.*TELCO_SERVING__PORT/,
    );
  });

  it("names unknown keys in the file", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "telco.config.yaml"), "servng:\n  port: 1\n");
    try {
      loadConfig({ env: {}, cwd });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/servng/);
    }
  });

  it("rejects a file that is not a mapping or not YAML", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "a.yaml"), "- 1\n- 2\n");
    writeFileSync(join(cwd, "b.yaml"), "a: [\n");
    expect(() => loadConfig({ file: "a.yaml", env: {}, cwd })).toThrowError(/mapping/);
    expect(() => loadConfig({ file: "b.yaml", env: {}, cwd })).toThrowError(/not valid YAML/);
    expect(() => loadConfig({ file: "missing.yaml", env: {}, cwd })).toThrowError(/does not exist/);
  });
});

describe("loadConfig: project folder and stray variables", () => {
  it("finds the project's workspace and config from a subfolder, the way git finds its repository", () => {
    const project = tempDir();
    mkdirSync(join(project, ".telco"));
    writeFileSync(join(project, "telco.config.yaml"), "serving:\n  port: 9200\n");
    const sub = join(project, "notebooks", "deep");
    mkdirSync(sub, { recursive: true });
    const { config, file, home } = loadConfig({ env: {}, cwd: sub });
    expect(home).toBe(join(project, ".telco"));
    expect(file).toBe(join(project, "telco.config.yaml"));
    expect(config.serving.port).toBe(9200);
    // TELCO_HOME still wins, relative to where the command runs.
    expect(loadConfig({ env: { TELCO_HOME: "ws" }, cwd: sub }).home).toBe(join(sub, "ws"));
  });

  it("names a stray TELCO_ variable that is not a configuration key", () => {
    expect(() => loadConfig({ env: { TELCO_FOO: "1" }, cwd: tempDir() })).toThrow(/foo \(from TELCO_FOO\)/);
    expect(() => loadConfig({ env: { TELCO_SERVING__NOPE: "1" }, cwd: tempDir() })).toThrow(
      /serving: unknown key\(s\) nope \(from TELCO_SERVING__NOPE\)/,
    );
  });
});
