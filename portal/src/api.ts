/** The portal's only way to the platform: the HTTP API (same origin). */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api<T>(path: string, token: string | null, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { ...init, headers: { ...headers, ...(init.headers as object) } });
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const e = body?.error ?? {};
    throw new ApiError(res.status, e.code ?? "http_error", e.message ?? `HTTP ${res.status}`);
  }
  return body as T;
}

export interface Citation {
  doc_id: string;
  title: string;
  section: string;
  source: string;
}
export interface ToolCall {
  name: string;
  args?: unknown;
  result?: unknown;
}
export interface Offer {
  offer_id: string;
  discount_pct?: number;
  months?: number;
  approval?: string;
  terms?: Record<string, unknown>;
}
export interface ChatResponse {
  session_id: string;
  reply: string;
  intent: string | null;
  citations: Citation[];
  tool_calls: ToolCall[];
  offers: Offer[];
  trace_id: string;
}

/**
 * One chat turn over server-sent events (fetch + a stream reader: EventSource cannot POST).
 * Calls `onChunk` per piece of the reply and resolves with the final `message` event.
 */
export async function chatStream(
  token: string,
  body: { message: string; session_id?: string; language: string; channel: "chat" },
  onChunk: (text: string) => void,
): Promise<ChatResponse> {
  const res = await fetch("/v1/assistant/chat", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "text/event-stream",
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ ...body, stream: true }),
  });
  if (!res.ok || !res.body) {
    const e = (await res.json().catch(() => ({})))?.error ?? {};
    throw new ApiError(res.status, e.code ?? "http_error", e.message ?? `HTTP ${res.status}`);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let final: ChatResponse | undefined;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let i = buffer.indexOf("\n\n");
    while (i >= 0) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data !== undefined) {
        const parsed = JSON.parse(data);
        if (event === "chunk") onChunk(parsed.text);
        else if (event === "message") final = parsed;
        else if (event === "error")
          throw new ApiError(500, parsed.code ?? "stream_error", parsed.message ?? "error");
      }
      i = buffer.indexOf("\n\n");
    }
  }
  if (!final) throw new ApiError(500, "stream_error", "the stream ended without a message");
  return final;
}
