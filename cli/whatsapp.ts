import type { Assistant } from "../llmops/agent/assistant.ts";
import type { ChannelLog, WhatsAppChannel } from "../llmops/channels/whatsapp/channel.ts";
import { startWhatsAppChannel } from "../llmops/channels/whatsapp/compose.ts";
import { whatsappRoutes } from "../llmops/channels/whatsapp/routes.ts";
import type { AppContext } from "../platform/context.ts";
import type { CrmSystem } from "../platform/ports/crm.ts";
import type { ChannelMessenger, ChannelStore } from "../platform/ports/messaging.ts";

/**
 * Composition of the WhatsApp channel (`channels.whatsapp`): the secrets from the variables the config
 * names, the Graph API client and the channel store beside the assistant sessions (adapters picked
 * here, never in llmops/), then the domain channel over them. Null when the channel is disabled.
 * Tests override any part.
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
  // Loaded only when the channel is on.
  const adapters = await import("../platform/adapters/whatsapp/index.ts");
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
  return startWhatsAppChannel(app, assistant, {
    messenger,
    store,
    secrets: { appSecret: secrets.appSecret, verifyToken: secrets.verifyToken },
    crm: o.crm,
    now: o.now,
    log: o.log,
    closers,
  });
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
