import {
  type ChannelMessenger,
  MessagingError,
  type OutboundMessage,
  type SentMessage,
} from "../../ports/messaging.ts";

/**
 * WhatsApp Cloud API client: `POST {baseUrl}/{version}/{phoneNumberId}/messages` with a bearer token.
 * Plain fetch, one request per message: the Graph API needs nothing an SDK adds, and Meta's official
 * Node SDK is archived. Errors are classified for the caller's retry policy (MessagingError).
 */
export interface GraphClientOptions {
  baseUrl: string;
  version: string;
  phoneNumberId: string;
  accessToken: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** Graph error codes worth retrying: throttling and Meta's own temporary failures. */
const RETRYABLE_CODES = new Set([1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131056, 133004]);
/** "Re-engagement message": free text more than 24 hours after the customer's last message. */
const WINDOW_CLOSED = 131047;

export class GraphApiMessenger implements ChannelMessenger {
  readonly url: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(o: GraphClientOptions) {
    this.url = `${o.baseUrl.replace(/\/+$/, "")}/${o.version}/${o.phoneNumberId}/messages`;
    this.token = o.accessToken;
    this.timeoutMs = o.timeoutMs;
    this.fetchFn = o.fetch ?? fetch;
  }

  async send(message: OutboundMessage): Promise<SentMessage> {
    let res: Response;
    try {
      res = await this.fetchFn(this.url, {
        method: "POST",
        headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
        body: JSON.stringify(graphBody(message)),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const timeout = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      throw new MessagingError(
        timeout
          ? `Graph API did not answer within ${this.timeoutMs} ms`
          : `Graph API unreachable: ${err instanceof Error ? err.message : String(err)}`,
        { retryable: true, cause: err },
      );
    }
    const text = await res.text().catch(() => "");
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok) {
      const id = (json as { messages?: { id?: unknown }[] } | undefined)?.messages?.[0]?.id;
      if (typeof id !== "string" || !id)
        throw new MessagingError("Graph API answered without a message id", {
          retryable: false,
          status: res.status,
        });
      return { message_id: id };
    }
    const error = (
      json as { error?: { code?: unknown; message?: unknown; error_data?: unknown } } | undefined
    )?.error;
    const code = typeof error?.code === "number" ? error.code : null;
    const details = (error?.error_data as { details?: unknown } | undefined)?.details;
    const reason = [
      typeof error?.message === "string" ? error.message : text.slice(0, 200) || res.statusText,
      typeof details === "string" ? details : "",
    ]
      .filter(Boolean)
      .join(": ");
    const retryable = res.status >= 500 || res.status === 429 || (code !== null && RETRYABLE_CODES.has(code));
    throw new MessagingError(`Graph API ${res.status}${code !== null ? ` (#${code})` : ""}: ${reason}`, {
      retryable,
      windowClosed: code === WINDOW_CLOSED,
      status: res.status,
      providerCode: code,
    });
  }
}

/** The Cloud API's JSON for one message. */
export function graphBody(m: OutboundMessage): Record<string, unknown> {
  const base = { messaging_product: "whatsapp", recipient_type: "individual", to: m.to };
  switch (m.kind) {
    case "text":
      return { ...base, type: "text", text: { preview_url: false, body: m.text } };
    case "buttons":
      return {
        ...base,
        type: "interactive",
        interactive: {
          type: "button",
          body: { text: m.body },
          ...(m.footer ? { footer: { text: m.footer } } : {}),
          action: { buttons: m.buttons.map((b) => ({ type: "reply", reply: { id: b.id, title: b.title } })) },
        },
      };
    case "list":
      return {
        ...base,
        type: "interactive",
        interactive: {
          type: "list",
          body: { text: m.body },
          ...(m.footer ? { footer: { text: m.footer } } : {}),
          action: {
            button: m.button,
            sections: [
              {
                rows: m.rows.map((r) => ({
                  id: r.id,
                  title: r.title,
                  ...(r.description ? { description: r.description } : {}),
                })),
              },
            ],
          },
        },
      };
    case "template":
      return {
        ...base,
        type: "template",
        template: {
          name: m.name,
          language: { code: m.language },
          ...(m.parameters && m.parameters.length > 0
            ? {
                components: [
                  { type: "body", parameters: m.parameters.map((text) => ({ type: "text", text })) },
                ],
              }
            : {}),
        },
      };
  }
}
