import type { AppContext } from "../../../platform/context.ts";
import type { CrmSystem } from "../../../platform/ports/crm.ts";
import type { ChannelMessenger, ChannelStore } from "../../../platform/ports/messaging.ts";
import type { Assistant } from "../../agent/assistant.ts";
import { type ChannelLog, WhatsAppChannel } from "./channel.ts";
import { whatsappRoutes } from "./routes.ts";

/**
 * Builds the WhatsApp channel from an AppContext (`channels.whatsapp`): the secrets from the variables
 * the config names, the Graph API client, the channel store beside the assistant sessions, and the
 * CRM the assistant's systems use. Null when the channel is disabled. Tests override any part.
 *
 *   const wa = await openWhatsAppChannel(app, assistant);
 *   if (wa) plugins.push(whatsappRoutes(wa));        // or: whatsappPluginFor(app, assistant)
 */
export interface WhatsAppOverrides {
  /** Build even with `channels.whatsapp.enabled: false` (tests). */
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  messenger?: ChannelMessenger;
  store?: ChannelStore;
  crm?: Pick<CrmSystem, "findCustomer">;
  now?: () => Date;
  log?: ChannelLog;
}

export async function openWhatsAppChannel(
  app: AppContext,
  assistant: Assistant,
  o: WhatsAppOverrides = {},
): Promise<WhatsAppChannel | null> {
  const cfg = app.config.channels.whatsapp;
  if (!cfg.enabled && !o.force) return null;
  // The adapters are the composition's to choose; loaded only when the channel is on.
  const adapters = await import("../../../platform/adapters/whatsapp/index.ts");
  const secrets = adapters.readWhatsAppSecrets(cfg, o.env ?? process.env);
  const closers: (() => Promise<void>)[] = [];
  let messenger = o.messenger;
  let store = o.store;
  if (!messenger || !store) {
    const built = adapters.openWhatsAppAdapters(cfg, {
      assistantDir: app.paths.assistant,
      accessToken: secrets.accessToken,
    });
    messenger ??= built.messenger;
    if (store) await built.store.close();
    else {
      store = built.store;
      closers.push(() => built.store.close());
    }
  }
  const crm = o.crm ?? (await app.operator()).crm;
  const channel = new WhatsAppChannel({
    assistant,
    crm,
    messenger,
    store,
    config: cfg,
    secrets: { appSecret: secrets.appSecret, verifyToken: secrets.verifyToken },
    defaultLanguage: app.config.assistant.defaultLanguage,
    now: o.now,
    log: o.log,
    closers,
  });
  await channel.start();
  return channel;
}

/** The Fastify plugin for the API server, or null when the channel is disabled. */
export async function whatsappPluginFor(
  app: AppContext,
  assistant: Assistant,
  o: WhatsAppOverrides = {},
): Promise<ReturnType<typeof whatsappRoutes> | null> {
  const channel = await openWhatsAppChannel(app, assistant, o);
  return channel ? whatsappRoutes(channel) : null;
}
