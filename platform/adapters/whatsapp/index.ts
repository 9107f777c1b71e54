import type { WhatsAppConfig } from "../../config/sections/channels.ts";
import { ConfigError } from "../../errors.ts";
import type { ChannelMessenger, ChannelStore } from "../../ports/messaging.ts";
import { GraphApiMessenger } from "./graph-client.ts";
import { SqliteChannelStore } from "./sqlite-channel-store.ts";

export { GraphApiMessenger, graphBody } from "./graph-client.ts";
export { SqliteChannelStore } from "./sqlite-channel-store.ts";

/** The three secrets of the WhatsApp channel, read from the variables the config names. */
export interface WhatsAppSecrets {
  appSecret: string;
  verifyToken: string;
  accessToken: string;
}

/** Reads the secrets; every missing variable is named at once (the config holds names, never values). */
export function readWhatsAppSecrets(cfg: WhatsAppConfig, env: NodeJS.ProcessEnv): WhatsAppSecrets {
  const wanted = [
    ["appSecret", cfg.appSecretEnv, "channels.whatsapp.appSecretEnv"],
    ["verifyToken", cfg.verifyTokenEnv, "channels.whatsapp.verifyTokenEnv"],
    ["accessToken", cfg.accessTokenEnv, "channels.whatsapp.accessTokenEnv"],
  ] as const;
  const missing = wanted.filter(([, name]) => !env[name]?.trim());
  if (missing.length > 0)
    throw new ConfigError(
      `the WhatsApp channel needs ${missing.map(([, name]) => name).join(", ")} (not set)`,
      {
        hint: `Export ${missing.map(([, name]) => name).join(", ")} (names from ${missing.map(([, , key]) => key).join(", ")}), or set channels.whatsapp.enabled: false.`,
        details: { missing: missing.map(([, name]) => name) },
      },
    );
  const value = (name: string) => (env[name] ?? "").trim();
  return {
    appSecret: value(cfg.appSecretEnv),
    verifyToken: value(cfg.verifyTokenEnv),
    accessToken: value(cfg.accessTokenEnv),
  };
}

/** The Graph API client and the channel store the config and workspace select. */
export function openWhatsAppAdapters(
  cfg: WhatsAppConfig,
  opts: { assistantDir: string; accessToken: string },
): { messenger: ChannelMessenger; store: ChannelStore } {
  if (!cfg.phoneNumberId)
    throw new ConfigError("the WhatsApp channel needs channels.whatsapp.phoneNumberId (not set)", {
      hint: "Copy the phone number id from WhatsApp Manager > API setup (TELCO_CHANNELS__WHATSAPP__PHONE_NUMBER_ID).",
    });
  return {
    messenger: new GraphApiMessenger({
      baseUrl: cfg.graph.baseUrl,
      version: cfg.graph.version,
      phoneNumberId: cfg.phoneNumberId,
      accessToken: opts.accessToken,
      timeoutMs: cfg.graph.timeoutMs,
    }),
    store: SqliteChannelStore.open(opts.assistantDir),
  };
}
