import type { AppContext } from "../../../platform/context.ts";
import type { CrmSystem } from "../../../platform/ports/crm.ts";
import type { ChannelMessenger, ChannelStore } from "../../../platform/ports/messaging.ts";
import type { Assistant } from "../../agent/assistant.ts";
import { type ChannelLog, WhatsAppChannel } from "./channel.ts";

/**
 * Assembles the WhatsApp channel from the ports the composition root built (cli/whatsapp.ts picks the
 * Graph API client and the channel store and reads the secrets): the assistant, the CRM its systems
 * use, the config (`channels.whatsapp`) and the reply language. Starts the channel (its delivery loop).
 */
export interface WhatsAppParts {
  messenger: ChannelMessenger;
  store: ChannelStore;
  /** The webhook's secrets (the Graph access token went into the messenger). */
  secrets: { appSecret: string; verifyToken: string };
  crm?: Pick<CrmSystem, "findCustomer">;
  now?: () => Date;
  log?: ChannelLog;
  /** Run when the channel closes (the resources the composition root opened for it). */
  closers?: (() => Promise<void>)[];
}

export async function startWhatsAppChannel(
  app: AppContext,
  assistant: Assistant,
  parts: WhatsAppParts,
): Promise<WhatsAppChannel> {
  const cfg = app.config.channels.whatsapp;
  const crm = parts.crm ?? (await app.operator()).crm;
  const channel = new WhatsAppChannel({
    assistant,
    crm,
    messenger: parts.messenger,
    store: parts.store,
    config: cfg,
    secrets: parts.secrets,
    defaultLanguage: app.config.assistant.defaultLanguage,
    now: parts.now,
    log: parts.log,
    closers: parts.closers ?? [],
  });
  await channel.start();
  return channel;
}
