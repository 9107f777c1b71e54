import { createHash } from "node:crypto";
import type { WhatsAppConfig } from "../../../platform/config/sections/channels.ts";
import { errorMessage, TelcoError, ValidationError } from "../../../platform/errors.ts";
import type { CrmSystem } from "../../../platform/ports/crm.ts";
import {
  type ChannelMessenger,
  type ChannelStore,
  type ContactRecord,
  MessagingError,
  type OutboundMessage,
} from "../../../platform/ports/messaging.ts";
import { logger } from "../../../platform/telemetry/logger.ts";
import type { Assistant } from "../../agent/assistant.ts";
import { type AssistantState, parseAssistantState } from "../../agent/session.ts";
import type { Language } from "../../conversation/commands.ts";
import { type InboundMessage, parseWebhook } from "./payload.ts";
import { decodeReplyId, messageForReply, questionOf, renderReply } from "./render.ts";
import { safeEqualText, verifySignature } from "./signature.ts";

/**
 * The WhatsApp channel between Meta's webhook and the assistant.
 *
 * Inbound: each message id is claimed once in the channel store (a redelivered webhook finds it and
 * stops), then queued in process — bounded, in order per number, a few numbers at a time — and
 * answered after the webhook has had its 200. One number is one conversation: the session id derives
 * from the number (and a generation, bumped when the number was silent for `conversationResetMs`).
 *
 * Identity: the number alone authenticates nobody. Every conversation starts anonymous
 * (`customer_id: null`) so the assistant's identity flow runs before any account data, unless the
 * same customer proved their identity from this number within `trustVerifiedNumberDays` and the CRM
 * still lists this number for them (see docs/llmops/whatsapp.md, "Who is writing").
 *
 * Outbound: replies go to a durable outbox first, then out through the Graph API in order; a
 * retryable failure is retried with backoff (never re-running the turn), and free text is never sent
 * outside the 24-hour customer-service window: the replies are parked, one approved template asks
 * the customer to write again, and their next message releases the parked replies.
 */

const CHANNEL = "whatsapp";

/** pino's shape, so tests can record what is logged. */
export interface ChannelLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface WhatsAppChannelDeps {
  assistant: Assistant;
  crm: Pick<CrmSystem, "findCustomer">;
  messenger: ChannelMessenger;
  store: ChannelStore;
  config: WhatsAppConfig;
  secrets: { appSecret: string; verifyToken: string };
  /** Language of the channel's own short notices before a session has one. */
  defaultLanguage: Language;
  now?: () => Date;
  log?: ChannelLog;
  /** Resources the composition opened for this channel (closed by `close()`). */
  closers?: (() => Promise<void>)[];
}

export interface AcceptResult {
  received: number;
  duplicates: number;
  statuses: number;
  skipped: number;
}

/** The in-process queue is full: the webhook answers 503 and Meta delivers again later. */
export class QueueFullError extends TelcoError {
  constructor(pending: number) {
    super("queue_full", `${pending} messages are waiting to be answered; retry later`);
    this.name = "QueueFullError";
  }
}

const NOTICES = {
  "pt-BR": {
    media: "Por enquanto eu só consigo ler mensagens de texto. Pode me escrever o que você precisa?",
    stale: "Esse botão é de uma pergunta anterior. Por favor, responda à última pergunta que eu enviei.",
    tooLong: "Sua mensagem ficou longa demais para mim. Pode resumir em até 2.000 caracteres?",
    failed: "Desculpe, tive um problema para responder agora. Pode tentar de novo daqui a pouco?",
  },
  en: {
    media: "For now I can only read text messages. Could you write what you need?",
    stale: "That button belongs to an earlier question. Please answer the last question I sent.",
    tooLong: "Your message is too long for me. Could you keep it under 2,000 characters?",
    failed: "Sorry, I had a problem answering just now. Could you try again in a moment?",
  },
} as const;
type Notice = keyof (typeof NOTICES)["en"];

/** A number in logs: a short hash, never the number itself (LGPD). */
export function contactRef(waId: string): string {
  return createHash("sha256").update(`whatsapp:${waId}`).digest("hex").slice(0, 20);
}

/** One conversation per number (and generation): the assistant session id. */
export function sessionIdFor(waId: string, generation: number): string {
  return `wa_${contactRef(waId)}_${generation}`;
}

/**
 * The CRM phone queries for a wa_id: Brazilian numbers only (+55), and for a 12-digit mobile the form
 * with the ninth digit first (WhatsApp kept the old 8-digit wa_id of accounts created before it).
 */
export function crmPhoneCandidates(waId: string): string[] {
  if (!waId.startsWith("55") || (waId.length !== 12 && waId.length !== 13)) return [];
  if (waId.length === 13) return [`+${waId}`];
  const ddd = waId.slice(2, 4);
  const local = waId.slice(4);
  return /^[6-9]/.test(local) ? [`+55${ddd}9${local}`, `+${waId}`] : [`+${waId}`];
}

export class WhatsAppChannel {
  readonly config: WhatsAppConfig;
  private readonly d: WhatsAppChannelDeps;
  private readonly now: () => Date;
  private readonly log: ChannelLog;
  /** Messages accepted and not yet processed. */
  private pending = 0;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** The last queued job per number: the next one runs after it (order per conversation). */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly flushing = new Set<string>();
  private readonly reflush = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(deps: WhatsAppChannelDeps) {
    this.d = deps;
    this.config = deps.config;
    this.now = deps.now ?? (() => new Date());
    this.log = deps.log ?? logger().child({ component: "whatsapp" });
  }

  get store(): ChannelStore {
    return this.d.store;
  }

  /** Meta's subscription handshake: the challenge to echo, or null (answered 403). */
  verifySubscription(q: { mode?: unknown; token?: unknown; challenge?: unknown }): string | null {
    if (q.mode !== "subscribe" || typeof q.token !== "string" || typeof q.challenge !== "string") return null;
    if (!q.challenge || q.challenge.length > 1024) return null;
    return safeEqualText(q.token, this.d.secrets.verifyToken) ? q.challenge : null;
  }

  /** X-Hub-Signature-256 over the raw body. */
  verifySignature(raw: Buffer, header: string | undefined): boolean {
    return verifySignature(raw, header, this.d.secrets.appSecret);
  }

  /**
   * Takes one (signed, parsed) webhook delivery: statuses are recorded, new messages claimed and
   * queued. Returns at once; the answers follow asynchronously.
   */
  async accept(json: unknown): Promise<AcceptResult> {
    const parsed = parseWebhook(json, { phoneNumberId: this.config.phoneNumberId });
    for (const reason of parsed.skipped)
      this.log.warn({ reason }, "WhatsApp webhook: part of the delivery skipped");
    const messages = [...parsed.messages].sort((a, b) => a.timestamp - b.timestamp);
    if (messages.length > 0 && (this.closed || this.pending + messages.length > this.config.queue.maxPending))
      throw new QueueFullError(this.pending);
    for (const s of parsed.statuses) {
      await this.d.store.recordStatus({
        channel: CHANNEL,
        provider_message_id: s.id,
        status: s.status,
        contact: s.recipient_id,
        at: new Date(s.timestamp * 1000).toISOString(),
        error_code: s.errors[0]?.code ?? null,
        error_title: s.errors[0]?.title ?? null,
        payload: s.raw,
      });
      if (s.status === "failed")
        this.log.warn(
          {
            provider_message_id: s.id,
            contact_ref: contactRef(s.recipient_id),
            error_code: s.errors[0]?.code ?? null,
            error: [s.errors[0]?.title, s.errors[0]?.details].filter(Boolean).join(": ") || null,
          },
          "WhatsApp reported a reply as failed",
        );
    }
    let received = 0;
    let duplicates = 0;
    const receivedAt = this.now().toISOString();
    for (const m of messages) {
      const fresh = await this.d.store.claimInbound({
        channel: CHANNEL,
        message_id: m.id,
        contact: m.from,
        sent_at: new Date(m.timestamp * 1000).toISOString(),
        received_at: receivedAt,
        payload: m as unknown as Record<string, unknown>,
      });
      if (!fresh) {
        duplicates++;
        continue;
      }
      received++;
      this.enqueue(m);
    }
    return { received, duplicates, statuses: parsed.statuses.length, skipped: parsed.skipped.length };
  }

  /**
   * After a restart: messages accepted but never started are queued again; a message whose turn was
   * running when the process stopped is marked interrupted and NOT run again (its turn may have been
   * saved: running it twice could apply a second write); replies still in the outbox are delivered.
   */
  async start(): Promise<{ resumed: number; interrupted: number; outbox: number }> {
    const stuck = await this.d.store.listInbound(CHANNEL, "processing");
    for (const r of stuck) {
      await this.d.store.setInboundStatus(
        CHANNEL,
        r.message_id,
        "interrupted",
        "the server stopped during this turn; not run again",
      );
      this.log.warn(
        { message_id: r.message_id, contact_ref: contactRef(r.contact) },
        "WhatsApp message interrupted by a restart",
      );
    }
    const waiting = await this.d.store.listInbound(CHANNEL, "received");
    for (const r of waiting) this.enqueue(r.payload as unknown as InboundMessage);
    const contacts = await this.d.store.contactsWithOutbox(CHANNEL, "pending");
    for (const c of contacts) this.flush(c);
    return { resumed: waiting.length, interrupted: stuck.length, outbox: contacts.length };
  }

  /** Resolves when nothing is queued, running, or waiting for a retry (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0 || (!this.closed && this.timers.size > 0)) {
      if (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
      else await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Stops taking work, cancels scheduled retries (the outbox keeps them for the next start). */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.idle();
    for (const c of (this.d.closers ?? []).splice(0)) await c().catch(() => {});
  }

  // ---- inbound ------------------------------------------------------------------------------------

  private track<T>(p: Promise<T>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private enqueue(m: InboundMessage): void {
    this.pending++;
    const prev = this.chains.get(m.from) ?? Promise.resolve();
    const run: Promise<void> = prev
      .then(() => this.withSlot(() => this.process(m)))
      .catch((err) => this.log.error({ message_id: m.id, err: errorMessage(err) }, "WhatsApp message failed"))
      .finally(() => {
        this.pending--;
        if (this.chains.get(m.from) === run) this.chains.delete(m.from);
      });
    this.chains.set(m.from, run);
    this.track(run);
  }

  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.config.queue.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  private async process(m: InboundMessage): Promise<void> {
    const store = this.d.store;
    await store.setInboundStatus(CHANNEL, m.id, "processing");
    try {
      const contact = await this.openConversation(m);
      if (m.kind === "ignored") {
        await store.setInboundStatus(CHANNEL, m.id, "skipped", `type ${m.type}`);
        return;
      }
      // The customer wrote again after a re-engagement template: the parked replies go out now, and
      // this message only reopened the window (it is not an answer to a question they had not seen).
      if (!this.windowClosed(contact)) {
        const parked = await store.listOutbox(CHANNEL, m.from, ["parked"]);
        if (parked.length > 0) {
          const at = this.now().toISOString();
          for (const p of parked) await store.updateOutbox(p.outbox_id, { status: "pending" }, at);
          await store.setInboundStatus(CHANNEL, m.id, "done", `released ${parked.length} parked replies`);
          this.flush(m.from);
          return;
        }
      }
      const sessionId = contact.session_id ?? sessionIdFor(m.from, contact.generation);
      const before = await this.sessionState(sessionId);
      const language = before?.language ?? this.d.defaultLanguage;
      let message: string | null = null;
      let notice: Notice | null = null;
      if (m.kind === "text") message = m.text ?? "";
      else if (m.kind === "media") notice = "media";
      else if (m.reply) {
        const decoded = decodeReplyId(m.reply.id);
        if (!decoded) message = m.reply.title;
        else {
          const r = before ? messageForReply(decoded, before) : ({ stale: true } as const);
          if ("stale" in r) notice = "stale";
          else message = r.message;
        }
      }
      if (notice || !message?.trim()) {
        await this.queue(m, [{ kind: "text", to: m.from, text: NOTICES[language][notice ?? "media"] }]);
        await store.setInboundStatus(CHANNEL, m.id, "done", notice ?? "empty");
        this.flush(m.from);
        return;
      }
      let outcome: Awaited<ReturnType<Assistant["chat"]>>;
      try {
        outcome = await this.d.assistant.chat({
          session_id: sessionId,
          customer_id: contact.trusted_customer_id,
          channel: "whatsapp",
          message,
        });
      } catch (err) {
        const tooLong = err instanceof ValidationError && err.field === "message";
        this.log.error(
          { message_id: m.id, contact_ref: contactRef(m.from), err: errorMessage(err) },
          "assistant turn failed for a WhatsApp message",
        );
        await this.queue(m, [
          { kind: "text", to: m.from, text: NOTICES[language][tooLong ? "tooLong" : "failed"] },
        ]);
        await store.setInboundStatus(CHANNEL, m.id, "failed", errorMessage(err).slice(0, 500));
        this.flush(m.from);
        return;
      }
      const after = await this.sessionState(sessionId);
      const replies = renderReply({
        to: m.from,
        reply: outcome.response.reply,
        question: after ? questionOf(after, outcome.response.offers) : null,
        language: after?.language ?? language,
      });
      await this.queue(m, replies);
      await this.rememberVerification(contact, outcome.response.tool_calls);
      await store.setInboundStatus(CHANNEL, m.id, "done", `trace ${outcome.response.trace_id}`);
      this.flush(m.from);
    } catch (err) {
      await store.setInboundStatus(CHANNEL, m.id, "failed", errorMessage(err).slice(0, 500)).catch(() => {});
      throw err;
    }
  }

  /** Updates the contact for this message: the window, the conversation (session) and its trust. */
  private async openConversation(m: InboundMessage): Promise<ContactRecord> {
    const now = this.now();
    const sentAt = new Date(m.timestamp * 1000).toISOString();
    const c: ContactRecord = (await this.d.store.getContact(CHANNEL, m.from)) ?? {
      channel: CHANNEL,
      contact: m.from,
      last_inbound_at: null,
      generation: 0,
      session_id: null,
      trusted_customer_id: null,
      verified_customer_id: null,
      verified_at: null,
      template_for: null,
      updated_at: now.toISOString(),
    };
    const previous = c.last_inbound_at;
    const fresh =
      c.generation === 0 ||
      (previous !== null && m.timestamp * 1000 - Date.parse(previous) > this.config.conversationResetMs);
    if (previous === null || sentAt > previous) c.last_inbound_at = sentAt;
    // A message inside the window ends the silence a re-engagement template was sent for.
    if (!this.windowClosed(c)) c.template_for = null;
    if (fresh) {
      c.generation += 1;
      c.session_id = sessionIdFor(m.from, c.generation);
      c.trusted_customer_id = await this.trustedCustomer(c);
      if (c.trusted_customer_id)
        this.log.info(
          { message_id: m.id, contact_ref: contactRef(m.from) },
          "WhatsApp conversation opened for a number verified earlier",
        );
    }
    c.updated_at = now.toISOString();
    await this.d.store.saveContact(c);
    return c;
  }

  /** The customer this number may act for without a new check, or null (see the class comment). */
  private async trustedCustomer(c: ContactRecord): Promise<string | null> {
    const days = this.config.trustVerifiedNumberDays;
    if (days === 0 || !c.verified_customer_id || !c.verified_at) return null;
    if (this.now().getTime() - Date.parse(c.verified_at) > days * 86_400_000) return null;
    const match = await this.crmCustomerFor(c.contact);
    return match === c.verified_customer_id ? match : null;
  }

  /** The CRM customer whose phone on file is this number, or null (also when the CRM is down). */
  private async crmCustomerFor(waId: string): Promise<string | null> {
    for (const phone of crmPhoneCandidates(waId)) {
      try {
        const found = await this.d.crm.findCustomer({ phone });
        if (found) return found.customer_id;
      } catch (err) {
        this.log.warn(
          { contact_ref: contactRef(waId), err: errorMessage(err) },
          "CRM lookup by phone failed",
        );
        return null;
      }
    }
    return null;
  }

  /**
   * After the identity flow verified a customer on this number: when the CRM lists this number for
   * that same customer, the number is remembered as theirs (trusted for later conversations).
   */
  private async rememberVerification(
    c: ContactRecord,
    calls: { name: string; result: unknown }[],
  ): Promise<void> {
    const verified = calls
      .filter((x) => x.name === "authenticate")
      .map((x) => (x.result as { customer_id?: unknown } | null)?.customer_id)
      .find((id): id is string => typeof id === "string");
    if (!verified || this.config.trustVerifiedNumberDays === 0) return;
    if ((await this.crmCustomerFor(c.contact)) !== verified) return;
    const latest = (await this.d.store.getContact(CHANNEL, c.contact)) ?? c;
    await this.d.store.saveContact({
      ...latest,
      verified_customer_id: verified,
      verified_at: this.now().toISOString(),
      updated_at: this.now().toISOString(),
    });
  }

  private async sessionState(sessionId: string): Promise<AssistantState | null> {
    const stored = await this.d.assistant.store.get(sessionId);
    return stored ? parseAssistantState(stored.state, sessionId) : null;
  }

  // ---- outbound -----------------------------------------------------------------------------------

  private async queue(m: InboundMessage, messages: OutboundMessage[]): Promise<void> {
    await this.d.store.addOutbox(
      messages.map((message, i) => ({
        outbox_id: `${m.id}#${i}`,
        channel: CHANNEL,
        contact: m.from,
        inbound_id: m.id,
        message,
      })),
      this.now().toISOString(),
    );
  }

  private windowClosed(c: ContactRecord | null): boolean {
    if (!c?.last_inbound_at) return true;
    return this.now().getTime() - Date.parse(c.last_inbound_at) > this.config.serviceWindowMs;
  }

  /** Delivers a number's pending outbox in order (one delivery loop per number at a time). */
  private flush(contact: string): void {
    if (this.closed) return;
    if (this.flushing.has(contact)) {
      this.reflush.add(contact);
      return;
    }
    this.flushing.add(contact);
    const run = this.deliver(contact)
      .catch((err) =>
        this.log.error(
          { contact_ref: contactRef(contact), err: errorMessage(err) },
          "WhatsApp delivery loop failed",
        ),
      )
      .finally(() => {
        this.flushing.delete(contact);
        if (this.reflush.delete(contact)) this.flush(contact);
      });
    this.track(run);
  }

  private async deliver(contact: string): Promise<void> {
    const store = this.d.store;
    const cfg = this.config.delivery;
    for (;;) {
      if (this.closed) return;
      const [item] = await store.listOutbox(CHANNEL, contact, ["pending"]);
      if (!item) return;
      const c = await store.getContact(CHANNEL, contact);
      if (item.message.kind !== "template" && this.windowClosed(c)) {
        await this.parkAndReengage(contact);
        continue;
      }
      const attempts = item.attempts + 1;
      try {
        const sent = await this.d.messenger.send(item.message);
        await store.updateOutbox(
          item.outbox_id,
          { status: "sent", attempts, provider_message_id: sent.message_id, last_error: null },
          this.now().toISOString(),
        );
      } catch (err) {
        const e = err instanceof MessagingError ? err : null;
        const what = {
          message_id: item.inbound_id,
          outbox_id: item.outbox_id,
          contact_ref: contactRef(contact),
          attempts,
          err: errorMessage(err),
        };
        if (e?.windowClosed && item.message.kind !== "template") {
          this.log.warn(what, "WhatsApp refused free text outside the service window; sending the template");
          await this.parkAndReengage(contact);
          continue;
        }
        if (e?.retryable && attempts < cfg.maxAttempts) {
          const delay = Math.min(cfg.maxBackoffMs, cfg.backoffMs * 2 ** (attempts - 1));
          await store.updateOutbox(
            item.outbox_id,
            { attempts, last_error: errorMessage(err) },
            this.now().toISOString(),
          );
          this.log.warn({ ...what, retry_in_ms: delay }, "WhatsApp reply not sent; will retry");
          this.retryLater(contact, delay);
          return;
        }
        await store.updateOutbox(
          item.outbox_id,
          { status: "failed", attempts, last_error: errorMessage(err) },
          this.now().toISOString(),
        );
        this.log.error(what, "WhatsApp reply not delivered; giving up on it");
      }
    }
  }

  /** Outside the window: holds the pending replies and queues one template for this silence. */
  private async parkAndReengage(contact: string): Promise<void> {
    const store = this.d.store;
    const at = this.now().toISOString();
    const pending = await store.listOutbox(CHANNEL, contact, ["pending"]);
    for (const p of pending)
      if (p.message.kind !== "template") await store.updateOutbox(p.outbox_id, { status: "parked" }, at);
    const c = await store.getContact(CHANNEL, contact);
    if (!c || c.template_for !== null) return; // one template per silence
    const tpl = this.config.template;
    await store.addOutbox(
      [
        {
          outbox_id: `tpl:${contact}:${c.last_inbound_at ?? "never"}`,
          channel: CHANNEL,
          contact,
          inbound_id: pending[0]?.inbound_id ?? null,
          message: { kind: "template", to: contact, name: tpl.name, language: tpl.language },
        },
      ],
      at,
    );
    await store.saveContact({ ...c, template_for: c.last_inbound_at, updated_at: at });
    this.log.info(
      {
        message_id: pending[0]?.inbound_id ?? null,
        contact_ref: contactRef(contact),
        parked: pending.length,
      },
      "WhatsApp service window closed: replies parked, re-engagement template queued",
    );
  }

  private retryLater(contact: string, delayMs: number): void {
    const old = this.timers.get(contact);
    if (old) clearTimeout(old);
    const t = setTimeout(() => {
      this.timers.delete(contact);
      this.flush(contact);
    }, delayMs);
    t.unref?.();
    this.timers.set(contact, t);
  }
}
