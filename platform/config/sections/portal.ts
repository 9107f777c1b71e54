import { z } from "zod";

/**
 * The operator console (`/v1/portal/*`): which keys sign in with which role. The file names
 * environment variables only, never keys (`keyEnv`); TELCO_PORTAL_KEYS ("ROLE:KEY,…") still adds keys.
 */
export const portalConfigSchema = z
  .object({
    keys: z
      .array(
        z
          .object({
            role: z.enum(["viewer", "operator", "admin"]),
            keyEnv: z
              .string()
              .regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name (A-Z, 0-9, _)")
              .describe("Variable holding the console key (never the key itself)"),
          })
          .strict(),
      )
      .default([])
      .describe("Console keys by role, each read from the environment variable it names"),
  })
  .strict();

export type PortalConfig = z.infer<typeof portalConfigSchema>;
