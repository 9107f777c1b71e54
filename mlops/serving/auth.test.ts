import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../platform/errors.ts";
import { ApiKeyVerifier, resolveApiKeys } from "./auth.ts";

describe("API keys", () => {
  it("accepts exactly the configured keys as Bearer tokens and returns a loggable key id", () => {
    const v = new ApiKeyVerifier(["alpha-key-0123456789", "beta-key-0123456789x"]);
    const a = v.verify("Bearer alpha-key-0123456789");
    const b = v.verify("bearer beta-key-0123456789x");
    expect(a).toMatch(/^[0-9a-f]{8}$/);
    expect(b).toMatch(/^[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    for (const bad of [
      undefined,
      "",
      "Bearer",
      "Bearer alpha-key-012345678",
      "Basic alpha-key-0123456789",
      "alpha-key-0123456789",
      "Bearer alpha-key-0123456789 extra",
    ])
      expect(v.verify(bad)).toBeUndefined();
  });

  it("merges TELCO_API_KEYS with config and rejects short keys", () => {
    const r = resolveApiKeys({
      env: { TELCO_API_KEYS: " k1-0123456789abcdef , k2-0123456789abcdef" },
      configured: ["k3-0123456789abcdef"],
      profile: "gcp",
      secretsDir: "/nonexistent",
    });
    expect(r.keys).toEqual(["k1-0123456789abcdef", "k2-0123456789abcdef", "k3-0123456789abcdef"]);
    expect(() =>
      resolveApiKeys({
        env: { TELCO_API_KEYS: "short" },
        configured: [],
        profile: "local",
        secretsDir: "/x",
      }),
    ).toThrow(ConfigError);
    expect(() => resolveApiKeys({ env: {}, configured: [], profile: "gcp", secretsDir: "/x" })).toThrow(
      /no API key/,
    );
  });

  it("generates a local key once into secrets/api-key with mode 0600 and reuses it", () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-auth-"));
    try {
      const secrets = join(dir, "secrets");
      const first = resolveApiKeys({ env: {}, configured: [], profile: "local", secretsDir: secrets });
      expect(first.generated).toBe(true);
      expect(first.keyFile).toBe(join(secrets, "api-key"));
      expect(statSync(first.keyFile as string).mode & 0o777).toBe(0o600);
      expect(readFileSync(first.keyFile as string, "utf8").trim()).toBe(first.keys[0]);
      expect(first.keys[0].length).toBeGreaterThanOrEqual(40);
      const second = resolveApiKeys({ env: {}, configured: [], profile: "local", secretsDir: secrets });
      expect(second.generated).toBe(false);
      expect(second.keys).toEqual(first.keys);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
