import { describe, expect, it } from "vitest";
import { configSchema } from "../../platform/config/schema.ts";
import { ConfigError } from "../../platform/errors.ts";
import { RoleVerifier, resolvePortalKeys } from "./roles.ts";

const VIEWER = "viewer-key-from-env-0123";
const ADMIN = "admin-key-from-env-012345";
const LEGACY = "operator-key-legacy-0123";

describe("portal keys from the config's portal section", () => {
  it("names environment variables in the file and resolves them, alongside TELCO_PORTAL_KEYS", () => {
    const cfg = configSchema.parse({
      portal: {
        keys: [
          { role: "viewer", keyEnv: "CONSOLE_VIEWER_KEY" },
          { role: "admin", keyEnv: "CONSOLE_ADMIN_KEY" },
        ],
      },
    });
    const keys = resolvePortalKeys(cfg.portal.keys, {
      CONSOLE_VIEWER_KEY: VIEWER,
      CONSOLE_ADMIN_KEY: ADMIN,
      TELCO_PORTAL_KEYS: `operator:${LEGACY}`,
    });
    const roles = new RoleVerifier(keys, () => undefined);
    expect(roles.verify(`Bearer ${VIEWER}`)?.role).toBe("viewer");
    expect(roles.verify(`Bearer ${ADMIN}`)?.role).toBe("admin");
    expect(roles.verify(`Bearer ${LEGACY}`)?.role).toBe("operator");
    expect(roles.verify("Bearer not-a-key-0123456789")).toBeUndefined();
  });

  it("defaults to no configured keys (TELCO_PORTAL_KEYS alone keeps working)", () => {
    const cfg = configSchema.parse({});
    expect(cfg.portal.keys).toEqual([]);
    const keys = resolvePortalKeys(cfg.portal.keys, { TELCO_PORTAL_KEYS: `admin:${ADMIN}` });
    expect(keys).toEqual([{ role: "admin", key: ADMIN }]);
  });

  it("refuses a key written in the file, a bad variable name and an unknown role", () => {
    for (const bad of [
      { keys: [{ role: "viewer", key: VIEWER }] },
      { keys: [{ role: "viewer", keyEnv: "lower_case" }] },
      { keys: [{ role: "root", keyEnv: "CONSOLE_KEY" }] },
    ])
      expect(configSchema.safeParse({ portal: bad }).success).toBe(false);
  });

  it("names the item and the variable when the variable is unset or holds a short key", () => {
    const keys = [{ role: "viewer" as const, keyEnv: "CONSOLE_VIEWER_KEY" }];
    expect(() => resolvePortalKeys(keys, {})).toThrow(ConfigError);
    expect(() => resolvePortalKeys(keys, {})).toThrow(/portal\.keys\[0\].*CONSOLE_VIEWER_KEY/);
    expect(() => resolvePortalKeys(keys, { CONSOLE_VIEWER_KEY: "short" })).toThrow(/shorter than 16/);
  });
});
