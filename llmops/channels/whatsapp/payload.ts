import { z } from "zod";
import { ValidationError } from "../../../platform/errors.ts";

/**
 * The Cloud API's webhook payloads (field `messages` of a WhatsApp Business Account), read leniently:
 * Meta adds fields over time, so unknown keys pass; a message or status missing what we need is
 * skipped with a reason, never a reason to drop the rest of the delivery.
 */

/** A customer message, reduced to what the channel acts on. */
export interface InboundMessage {
  /** wamid.… (the idempotency key). */
  id: string;
  /** The customer's wa_id: digits with the country code, no "+". */
  from: string;
  /** Seconds since the epoch, as Meta stamped it. */
  timestamp: number;
  /** The WhatsApp message type as sent (text, interactive, button, image, …). */
  type: string;
  /**
   * text: typed text; reply: a reply button, list row or template quick reply (`reply`);
   * media: a type the assistant cannot read (image, audio, location…); ignored: reactions, system notes.
   */
  kind: "text" | "reply" | "media" | "ignored";
  text?: string;
  reply?: { id: string; title: string; source: "button_reply" | "list_reply" | "button" };
  /** The business message this one replies to (context.id), when the customer quoted or tapped one. */
  context_id?: string;
  profile_name?: string;
}

export interface StatusEvent {
  /** The wamid of OUR message the status is about. */
  id: string;
  status: string;
  timestamp: number;
  recipient_id: string;
  errors: { code: number | null; title: string | null; details: string | null }[];
  raw: Record<string, unknown>;
}

export interface ParsedWebhook {
  messages: InboundMessage[];
  statuses: StatusEvent[];
  /** What was left out, and why (another phone number, a malformed message, another object). */
  skipped: string[];
}

const idText = z.string().min(1).max(512);
const epochSeconds = z.union([z.string().regex(/^\d{1,12}$/), z.number().int().nonnegative()]);

const messageSchema = z.looseObject({
  id: idText,
  from: z.string().regex(/^\d{6,20}$/, "must be the sender's wa_id (digits)"),
  timestamp: epochSeconds,
  type: z.string().min(1).max(64),
  text: z.looseObject({ body: z.string() }).optional(),
  interactive: z
    .looseObject({
      type: z.string(),
      button_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
      list_reply: z
        .looseObject({ id: z.string(), title: z.string(), description: z.string().optional() })
        .optional(),
    })
    .optional(),
  button: z.looseObject({ payload: z.string().optional(), text: z.string() }).optional(),
  context: z.looseObject({ id: z.string().optional() }).optional(),
});

const statusSchema = z.looseObject({
  id: idText,
  status: z.string().min(1).max(64),
  timestamp: epochSeconds,
  recipient_id: z.string().min(1).max(64),
  errors: z
    .array(
      z.looseObject({
        code: z.number().optional(),
        title: z.string().optional(),
        message: z.string().optional(),
        error_data: z.looseObject({ details: z.string().optional() }).optional(),
      }),
    )
    .optional(),
});

const envelopeSchema = z.looseObject({
  object: z.string(),
  entry: z.array(
    z.looseObject({
      id: z.string().optional(),
      changes: z.array(
        z.looseObject({
          field: z.string(),
          value: z.looseObject({
            metadata: z.looseObject({ phone_number_id: z.string().optional() }).optional(),
            contacts: z
              .array(z.looseObject({ wa_id: z.string().optional(), profile: z.unknown().optional() }))
              .optional(),
            messages: z.array(z.unknown()).optional(),
            statuses: z.array(z.unknown()).optional(),
          }),
        }),
      ),
    }),
  ),
});

const MEDIA = new Set([
  "image",
  "audio",
  "video",
  "document",
  "sticker",
  "location",
  "contacts",
  "unsupported",
]);

/**
 * Reads one webhook delivery. The envelope must have Meta's shape (else ValidationError naming the
 * path); messages for another phone number id are skipped, as are changes of other fields.
 */
export function parseWebhook(json: unknown, opts: { phoneNumberId?: string } = {}): ParsedWebhook {
  const out: ParsedWebhook = { messages: [], statuses: [], skipped: [] };
  const env = envelopeSchema.safeParse(json);
  if (!env.success) {
    const issue = env.error.issues[0];
    throw new ValidationError(
      issue?.path.length ? `body.${issue.path.join(".")}` : "body",
      issue?.message ?? "is not a WhatsApp webhook payload",
    );
  }
  if (env.data.object !== "whatsapp_business_account") {
    out.skipped.push(`object ${env.data.object} is not whatsapp_business_account`);
    return out;
  }
  env.data.entry.forEach((entry, e) => {
    entry.changes.forEach((change, c) => {
      const where = `entry[${e}].changes[${c}]`;
      if (change.field !== "messages") {
        out.skipped.push(`${where}: field ${change.field}`);
        return;
      }
      const value = change.value;
      const pid = value.metadata?.phone_number_id;
      if (opts.phoneNumberId && pid !== opts.phoneNumberId) {
        out.skipped.push(`${where}: phone_number_id ${pid ?? "(none)"} is not this channel's`);
        return;
      }
      const names = new Map<string, string>();
      for (const ct of value.contacts ?? []) {
        const name = (ct.profile as { name?: unknown } | undefined)?.name;
        if (ct.wa_id && typeof name === "string") names.set(ct.wa_id, name);
      }
      (value.messages ?? []).forEach((raw, i) => {
        const m = messageSchema.safeParse(raw);
        if (!m.success) {
          const issue = m.error.issues[0];
          out.skipped.push(`${where}.value.messages[${i}].${issue?.path.join(".")}: ${issue?.message}`);
          return;
        }
        out.messages.push(toInbound(m.data, names.get(m.data.from)));
      });
      (value.statuses ?? []).forEach((raw, i) => {
        const s = statusSchema.safeParse(raw);
        if (!s.success) {
          const issue = s.error.issues[0];
          out.skipped.push(`${where}.value.statuses[${i}].${issue?.path.join(".")}: ${issue?.message}`);
          return;
        }
        out.statuses.push({
          id: s.data.id,
          status: s.data.status,
          timestamp: Number(s.data.timestamp),
          recipient_id: s.data.recipient_id,
          errors: (s.data.errors ?? []).map((x) => ({
            code: x.code ?? null,
            title: x.title ?? x.message ?? null,
            details: x.error_data?.details ?? null,
          })),
          raw: s.data as Record<string, unknown>,
        });
      });
    });
  });
  return out;
}

function toInbound(m: z.infer<typeof messageSchema>, profileName: string | undefined): InboundMessage {
  const base = {
    id: m.id,
    from: m.from,
    timestamp: Number(m.timestamp),
    type: m.type,
    ...(m.context?.id ? { context_id: m.context.id } : {}),
    ...(profileName ? { profile_name: profileName } : {}),
  };
  if (m.type === "text" && m.text) return { ...base, kind: "text", text: m.text.body };
  if (m.type === "interactive" && m.interactive?.button_reply)
    return {
      ...base,
      kind: "reply",
      reply: { ...pick(m.interactive.button_reply), source: "button_reply" },
    };
  if (m.type === "interactive" && m.interactive?.list_reply)
    return { ...base, kind: "reply", reply: { ...pick(m.interactive.list_reply), source: "list_reply" } };
  if (m.type === "button" && m.button)
    return {
      ...base,
      kind: "reply",
      reply: { id: m.button.payload ?? "", title: m.button.text, source: "button" },
    };
  if (MEDIA.has(m.type) || m.type === "interactive") return { ...base, kind: "media" };
  return { ...base, kind: "ignored" };
}

function pick(r: { id: string; title: string }): { id: string; title: string } {
  return { id: r.id, title: r.title };
}
