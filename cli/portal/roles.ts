import { ApiKeyVerifier } from "../../mlops/serving/auth.ts";
import { ConfigError } from "../../platform/errors.ts";

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** What each role may do: viewers read, operators also act on customers, admins also move models and rules. */
export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * The console's keys and their roles: `TELCO_PORTAL_KEYS="viewer:KEY,operator:KEY,admin:KEY"`. The
 * server's own API keys (TELCO_API_KEYS / serving.apiKeys) are admin keys.
 */
export function parsePortalKeys(text: string | undefined): { role: Role; key: string }[] {
  const out: { role: Role; key: string }[] = [];
  for (const [i, item] of (text ?? "").split(",").entries()) {
    const t = item.trim();
    if (!t) continue;
    const at = t.indexOf(":");
    const role = t.slice(0, at) as Role;
    const key = t.slice(at + 1).trim();
    if (at < 0 || !ROLES.includes(role))
      throw new ConfigError(
        `TELCO_PORTAL_KEYS item ${i + 1}: write ROLE:KEY with ROLE one of ${ROLES.join(", ")}`,
      );
    if (key.length < 16)
      throw new ConfigError(`TELCO_PORTAL_KEYS item ${i + 1}: the key is shorter than 16 characters`);
    out.push({ role, key });
  }
  return out;
}

/**
 * The console keys of the config's `portal.keys` (each read from the environment variable it names)
 * plus those of TELCO_PORTAL_KEYS. A named variable that is unset or too short is a config error
 * naming the item and the variable.
 */
export function resolvePortalKeys(
  configured: readonly { role: Role; keyEnv: string }[],
  env: NodeJS.ProcessEnv,
): { role: Role; key: string }[] {
  const out = configured.map(({ role, keyEnv }, i) => {
    const key = env[keyEnv]?.trim() ?? "";
    if (!key) throw new ConfigError(`portal.keys[${i}]: the environment variable ${keyEnv} is not set`);
    if (key.length < 16)
      throw new ConfigError(`portal.keys[${i}]: the key in ${keyEnv} is shorter than 16 characters`);
    return { role, key };
  });
  return [...out, ...parsePortalKeys(env.TELCO_PORTAL_KEYS)];
}

/** Resolves an Authorization header to a role and a key id (safe to log), or undefined. */
export class RoleVerifier {
  private readonly byRole: [Role, ApiKeyVerifier][];
  private readonly serverKeys: (authorization: string | undefined) => string | undefined;

  constructor(
    keys: { role: Role; key: string }[],
    serverKeys: (authorization: string | undefined) => string | undefined,
  ) {
    this.byRole = ROLES.map((r) => [
      r,
      new ApiKeyVerifier(keys.filter((k) => k.role === r).map((k) => k.key)),
    ]);
    this.serverKeys = serverKeys;
  }

  verify(authorization: string | undefined): { role: Role; keyId: string } | undefined {
    for (const [role, v] of this.byRole) {
      const keyId = v.verify(authorization);
      if (keyId) return { role, keyId };
    }
    const keyId = this.serverKeys(authorization);
    return keyId ? { role: "admin", keyId } : undefined;
  }
}
