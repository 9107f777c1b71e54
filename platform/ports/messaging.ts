import { TelcoError } from "../errors.ts";

/**
 * Messaging port: sending a message to a customer on a messaging channel (WhatsApp's Cloud API today;
 * an SMS or RCS provider would fit the same shape), and the channel's own durable state — inbound
 * message ids already handled (idempotency), the outbox of replies with their delivery attempts,
 * the contacts (last inbound message, conversation, trusted customer) and delivery statuses.
 * Local adapters: the Graph API client and node:sqlite beside the assistant sessions.
 */

/** One outbound message, already within the channel's limits (the domain splits and truncates). */
export type OutboundMessage =
  | { kind: "text"; to: string; text: string }
  | {
      kind: "buttons";
      to: string;
      body: string;
      /** 1–3 reply buttons; `id` comes back in the customer's reply. */
      buttons: { id: string; title: string }[];
      footer?: string;
    }
  | {
      kind: "list";
      to: string;
      body: string;
      /** Label of the button that opens the list. */
      button: string;
      /** 1–10 rows. */
      rows: { id: string; title: string; description?: string }[];
      footer?: string;
    }
  | {
      /** A pre-approved template: the only kind allowed outside the customer-service window. */
      kind: "template";
      to: string;
      name: string;
      language: string;
      parameters?: string[];
    };

export interface SentMessage {
  /** The provider's id of the message (WhatsApp: wamid.…), which status callbacks refer to. */
  message_id: string;
}

export interface ChannelMessenger {
  send(message: OutboundMessage): Promise<SentMessage>;
}

/**
 * The provider refused or did not answer. `retryable`: try again later (network, 5xx, rate limits);
 * `windowClosed`: free text refused because the customer-service window is closed (send a template).
 */
export class MessagingError extends TelcoError {
  readonly retryable: boolean;
  readonly windowClosed: boolean;
  readonly status: number | null;
  readonly providerCode: number | null;
  constructor(
    message: string,
    opts: {
      retryable: boolean;
      windowClosed?: boolean;
      status?: number | null;
      providerCode?: number | null;
      cause?: unknown;
    },
  ) {
    super("messaging", message, {
      cause: opts.cause,
      details: { status: opts.status ?? null, provider_code: opts.providerCode ?? null },
    });
    this.name = "MessagingError";
    this.retryable = opts.retryable;
    this.windowClosed = opts.windowClosed ?? false;
    this.status = opts.status ?? null;
    this.providerCode = opts.providerCode ?? null;
  }
}

// ---- the channel's durable state ------------------------------------------------------------------

export type InboundStatus = "received" | "processing" | "done" | "failed" | "interrupted" | "skipped";

/** A customer message the webhook accepted (claimed once per provider message id). */
export interface InboundRecord {
  message_id: string;
  channel: string;
  /** The customer's address on the channel (WhatsApp: the wa_id, digits with the country code). */
  contact: string;
  /** When the customer sent it (the provider's timestamp), ISO. */
  sent_at: string;
  received_at: string;
  /** The parsed message (channel-specific JSON). */
  payload: Record<string, unknown>;
  status: InboundStatus;
  note: string | null;
}

export type OutboxStatus = "pending" | "parked" | "sent" | "failed";

/** A reply waiting to go out, or gone: delivered in `seq` order per contact. */
export interface OutboxRecord {
  /** Stable key (e.g. the inbound message id and the reply's position): inserting it twice is a no-op. */
  outbox_id: string;
  channel: string;
  contact: string;
  /** The inbound message this answers (logs name it), or null. */
  inbound_id: string | null;
  /** Global insertion order (assigned by the store). */
  seq: number;
  message: OutboundMessage;
  /** parked: held until the customer writes again (the window was closed and a template went out). */
  status: OutboxStatus;
  attempts: number;
  provider_message_id: string | null;
  /** Last delivery status callback (sent, delivered, read, failed). */
  delivery_status: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export type NewOutbox = Pick<OutboxRecord, "outbox_id" | "channel" | "contact" | "inbound_id" | "message">;

export interface ContactRecord {
  channel: string;
  contact: string;
  /** Newest inbound message time (the provider's timestamp): the customer-service window starts here. */
  last_inbound_at: string | null;
  /** Conversations started on this contact; the session id derives from it. */
  generation: number;
  session_id: string | null;
  /** The customer this conversation was opened as trusted for (null: the identity flow decides). */
  trusted_customer_id: string | null;
  /** The customer who proved their identity from this contact, and when. */
  verified_customer_id: string | null;
  verified_at: string | null;
  /** The `last_inbound_at` a re-engagement template was queued for; null again once the customer
   * writes inside the window (one template per silence). */
  template_for: string | null;
  updated_at: string;
}

/** A delivery status callback (sent, delivered, read, failed) as received. */
export interface DeliveryStatusRecord {
  channel: string;
  provider_message_id: string;
  status: string;
  contact: string;
  at: string;
  error_code: number | null;
  error_title: string | null;
  payload: Record<string, unknown>;
}

export interface ChannelStore {
  /** Records an inbound message unless its id was seen before; true when it is new. */
  claimInbound(record: Omit<InboundRecord, "status" | "note">): Promise<boolean>;
  getInbound(channel: string, messageId: string): Promise<InboundRecord | null>;
  setInboundStatus(channel: string, messageId: string, status: InboundStatus, note?: string): Promise<void>;
  /** Oldest first. */
  listInbound(channel: string, status: InboundStatus): Promise<InboundRecord[]>;
  getContact(channel: string, contact: string): Promise<ContactRecord | null>;
  saveContact(record: ContactRecord): Promise<void>;
  /** Inserts the messages in order; an `outbox_id` already present is left as it is. */
  addOutbox(records: NewOutbox[], now: string): Promise<void>;
  /** A contact's outbox entries with one of `statuses`, in `seq` order. */
  listOutbox(channel: string, contact: string, statuses: OutboxStatus[]): Promise<OutboxRecord[]>;
  /** Contacts with at least one entry in `status`. */
  contactsWithOutbox(channel: string, status: OutboxStatus): Promise<string[]>;
  updateOutbox(
    outboxId: string,
    change: Partial<Pick<OutboxRecord, "status" | "attempts" | "provider_message_id" | "last_error">>,
    now: string,
  ): Promise<void>;
  /**
   * Records a status callback (the same message, status and time twice is one record: Meta redelivers)
   * and sets `delivery_status` of the outbox entry it refers to.
   */
  recordStatus(record: DeliveryStatusRecord): Promise<void>;
  listStatuses(channel: string, providerMessageId?: string): Promise<DeliveryStatusRecord[]>;
  close(): Promise<void>;
}
