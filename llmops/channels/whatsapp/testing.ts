import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/**
 * Test doubles for the WhatsApp channel: a local fake of the Graph API's messages endpoint
 * (node:http on 127.0.0.1) that records every request and answers like the Cloud API, or fails
 * the way it does; and the recorded webhook payloads in ./fixtures with the fields a test changes.
 */

export interface GraphRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

/** What the fake answers: the Cloud API's success body, or one of its failures. */
export type GraphBehaviour =
  | { mode: "ok" }
  | { mode: "error"; status: number; code: number; message: string }
  /** Free text refused with #131047 (outside the 24-hour window); templates accepted. */
  | { mode: "window_closed" };

export interface FakeGraph {
  url: string;
  requests: GraphRequest[];
  /** Requests answered with success (what the customer would see), in order. */
  delivered(): GraphRequest[];
  behave(b: GraphBehaviour): void;
  close(): Promise<void>;
}

export async function startFakeGraph(): Promise<FakeGraph> {
  const requests: GraphRequest[] = [];
  const ok = new Set<GraphRequest>();
  let behaviour: GraphBehaviour = { mode: "ok" };
  let n = 0;
  const server: Server = createServer(async (req, res) => {
    const body = await readJson(req);
    const r: GraphRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      authorization: req.headers.authorization,
      body,
    };
    requests.push(r);
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    const fail = (status: number, code: number, message: string) =>
      send(status, {
        error: {
          message,
          type: "OAuthException",
          code,
          error_data: { messaging_product: "whatsapp", details: message },
          fbtrace_id: "AbCdEfGh123",
        },
      });
    if (behaviour.mode === "error") return fail(behaviour.status, behaviour.code, behaviour.message);
    if (behaviour.mode === "window_closed" && body.type !== "template")
      return fail(400, 131047, "Re-engagement message");
    n += 1;
    ok.add(r);
    send(200, {
      messaging_product: "whatsapp",
      contacts: [{ input: body.to, wa_id: body.to }],
      messages: [{ id: `wamid.FAKE${String(n).padStart(6, "0")}` }],
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    delivered: () => requests.filter((r) => ok.has(r)),
    behave(b) {
      behaviour = b;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

const FIXTURES = join(import.meta.dirname, "fixtures");

/** The raw bytes of a recorded payload. */
export function fixtureBytes(name: string): Buffer {
  return readFileSync(join(FIXTURES, `${name}.json`));
}

type Json = Record<string, unknown>;

/**
 * A recorded payload with its first message (or the whole statuses list) changed: the sender, the
 * message id, the timestamp, and the text or the tapped reply.
 */
export function fixture(
  name: string,
  patch: {
    from?: string;
    id?: string;
    timestamp?: number;
    text?: string;
    reply?: { id: string; title: string };
    phoneNumberId?: string;
  } = {},
): Json {
  const json = JSON.parse(fixtureBytes(name).toString("utf8")) as Json;
  const value = ((json.entry as Json[])[0].changes as Json[])[0].value as Json;
  if (patch.phoneNumberId) (value.metadata as Json).phone_number_id = patch.phoneNumberId;
  const m = (value.messages as Json[] | undefined)?.[0];
  if (m) {
    if (patch.from) {
      m.from = patch.from;
      const contact = (value.contacts as Json[] | undefined)?.[0];
      if (contact) contact.wa_id = patch.from;
    }
    if (patch.id) m.id = patch.id;
    if (patch.timestamp !== undefined) m.timestamp = String(patch.timestamp);
    if (patch.text !== undefined) (m.text as Json).body = patch.text;
    if (patch.reply) {
      const inter = m.interactive as Json;
      const key = inter.type === "list_reply" ? "list_reply" : "button_reply";
      inter[key] = { ...(inter[key] as Json), id: patch.reply.id, title: patch.reply.title };
    }
  }
  for (const s of (value.statuses as Json[] | undefined) ?? []) if (patch.from) s.recipient_id = patch.from;
  return json;
}
