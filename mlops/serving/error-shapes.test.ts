import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Assistant } from "../../llmops/agent/assistant.ts";
import { assistantRoutes } from "../../llmops/agent/routes.ts";
import { WhatsAppChannel } from "../../llmops/channels/whatsapp/channel.ts";
import { WEBHOOK_PATH, whatsappRoutes } from "../../llmops/channels/whatsapp/routes.ts";
import { signBody } from "../../llmops/channels/whatsapp/signature.ts";
import { fixtureBytes } from "../../llmops/channels/whatsapp/testing.ts";
import { SqliteChannelStore } from "../../platform/adapters/whatsapp/sqlite-channel-store.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { NotFoundError } from "../../platform/errors.ts";
import type { ChannelMessenger } from "../../platform/ports/messaging.ts";
import { buildServer } from "./server.ts";
import { type ServingFixture, servingFixture } from "./testing/fixture.ts";

// Issue 19, "API error shapes": every answer the server gives, including Fastify's and Node's own
// rejections, is the documented { error: { code, message } }; the routes other modules mount (the
// assistant's, the WhatsApp webhook that signs its raw body) keep working beside the churn API.

const KEY = "test-key-0123456789abcdef";
const APP_SECRET = "test-app-secret-9c1f";

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection after answering. */
  closed: boolean;
}

/** Sends raw bytes on a new connection and reads one response (fetch would normalise what we send). */
function raw(port: number, request: string | Buffer, waitCloseMs = 1000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    let closed = false;
    const done = () => {
      const [head, ...rest] = data.split("\r\n\r\n");
      const [statusLine, ...lines] = head.split("\r\n");
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
      );
      socket.destroy();
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n"), closed });
    };
    const timer = setTimeout(done, waitCloseMs);
    socket.on("data", (c) => {
      data += c.toString("latin1");
    });
    socket.on("close", () => {
      closed = true;
      clearTimeout(timer);
      done();
    });
    socket.on("error", (err) => {
      if (!data) reject(err);
    });
    socket.write(request);
  });
}

const errorShape = (body: string) => {
  const parsed = JSON.parse(body) as { error: { code: string; message: string } };
  expect(Object.keys(parsed)).toEqual(["error"]);
  expect(typeof parsed.error.code).toBe("string");
  expect(typeof parsed.error.message).toBe("string");
  return parsed.error;
};

describe("API error shapes and mounted routes", () => {
  let fx: ServingFixture;
  let server: FastifyInstance;
  let port: number;
  let channel: WhatsAppChannel;
  let store: SqliteChannelStore;
  const sessionsAsked: string[] = [];

  beforeAll(async () => {
    fx = await servingFixture({ customers: 5 });
    // The assistant's routes over an assistant that only knows no session (nothing else is called).
    const assistant = {
      customerForToken: async () => null,
      session: async (id: string) => {
        sessionsAsked.push(id);
        throw new NotFoundError(`session ${id}`, { details: { code: "unknown_session" } });
      },
    } as unknown as Assistant;
    // The real WhatsApp webhook over a real channel store; status callbacks never reach the assistant.
    store = SqliteChannelStore.open(mkdtempSync(join(tmpdir(), "telco-wa-")));
    const messenger: ChannelMessenger = {
      send: async () => {
        throw new Error("no reply is expected in this test");
      },
    };
    const config = configSchema.parse({
      channels: { whatsapp: { enabled: true, phoneNumberId: "106540352242922" } },
    }).channels.whatsapp;
    channel = new WhatsAppChannel({
      assistant,
      crm: { findCustomer: async () => null } as never,
      messenger,
      store,
      config,
      secrets: { appSecret: APP_SECRET, verifyToken: "verify-token" },
      defaultLanguage: "pt-BR",
    });
    server = await buildServer(fx.app, {
      apiKeys: [KEY],
      plugins: [assistantRoutes(assistant, { sweep: false }), whatsappRoutes(channel)],
    });
    const address = await server.listen({ host: "127.0.0.1", port: 0 });
    port = Number(new URL(address).port);
  });
  afterAll(async () => {
    await server.close();
    await fx.cleanup();
  });

  const post = (body: string, headers: Record<string, string>) =>
    `POST /v1/churn/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("")}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  it("answers a malformed URL (FST_ERR_BAD_URL) in the error shape", async () => {
    const res = await raw(port, "GET /v1/churn/%zz HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(res.status).toBe(400);
    expect(errorShape(res.body).code).toBe("invalid_url");
  });

  it("answers what Node's HTTP parser rejects (Fastify's 'Client Error') in the error shape, then closes", async () => {
    const bad = await raw(port, "THIS IS NOT HTTP\r\n\r\n");
    expect(bad.status).toBe(400);
    expect(bad.headers["content-type"]).toMatch(/^application\/json/);
    expect(errorShape(bad.body).code).toBe("bad_request");
    expect(bad.body).not.toContain("Client Error");
    expect(bad.closed).toBe(true);
    const big = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(big.status).toBe(431);
    expect(errorShape(big.body).code).toBe("headers_too_large");
  });

  it("answers malformed JSON 400, a body over the limit 413 (closing), text/plain 415", async () => {
    const json = await raw(port, post('{"customer_ids": [', { "Content-Type": "application/json" }));
    expect(json.status).toBe(400);
    expect(errorShape(json.body)).toMatchObject({ code: "invalid_request" });
    const big = await raw(
      port,
      post(`{"customer_ids":["${"C".repeat(1_100_000)}"]}`, { "Content-Type": "application/json" }),
    );
    expect(big.status).toBe(413);
    expect(errorShape(big.body).code).toBe("payload_too_large");
    expect(big.headers.connection).toBe("close");
    const text = await raw(port, post('{"customer_ids":["C000001"]}', { "Content-Type": "text/plain" }));
    expect(text.status).toBe(415);
    expect(errorShape(text.body)).toMatchObject({ code: "unsupported_media_type" });
    const none = await raw(
      port,
      post("customer_ids=C000001", { "Content-Type": "application/x-www-form-urlencoded" }),
    );
    expect(none.status).toBe(415);
  });

  it("answers another method on a known path 405 with Allow, an unknown path 404", async () => {
    const get = await fetch(`http://127.0.0.1:${port}/v1/churn/predict`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(errorShape(await get.text()).code).toBe("method_not_allowed");
    const del = await fetch(`http://127.0.0.1:${port}/healthz`, { method: "DELETE" });
    expect(del.status).toBe(405);
    expect(del.headers.get("allow")).toBe("GET, HEAD");
    // A parametric route of a mounted plugin.
    const put = await fetch(`http://127.0.0.1:${port}/v1/assistant/sessions/s-1`, { method: "PUT" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, HEAD");
    const missing = await fetch(`http://127.0.0.1:${port}/v1/nothing/here`);
    expect(missing.status).toBe(404);
    expect(errorShape(await missing.text()).code).toBe("route_not_found");
  });

  it("closes the connection after a 401, on the churn API and on mounted routes", async () => {
    const churn = await raw(
      port,
      post('{"customer_ids":["C000001"]}', { "Content-Type": "application/json" }).replace(
        KEY,
        "wrong-key-0123456789abc",
      ),
    );
    expect(churn.status).toBe(401);
    expect(errorShape(churn.body).code).toBe("unauthorized");
    expect(churn.headers.connection).toBe("close");
    expect(churn.closed).toBe(true);
    const assistant = await raw(port, "GET /v1/assistant/sessions/s-1 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(assistant.status).toBe(401);
    expect(assistant.closed).toBe(true);
    // An authenticated request keeps its connection open (keep-alive).
    const ok = await raw(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 300);
    expect(ok.status).toBe(200);
    expect(ok.closed).toBe(false);
  });

  it("keeps the assistant's routes working: the operator key reaches the handler through the plugin context", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/assistant/sessions/s-42`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(404);
    expect(errorShape(await res.text()).code).toBe("unknown_session");
    expect(sessionsAsked).toEqual(["s-42"]);
  });

  it("keeps the WhatsApp webhook working: its signature is checked on the raw bytes, whatever their content type", async () => {
    const bytes = fixtureBytes("statuses");
    for (const type of ["application/json", "text/plain"]) {
      const res = await fetch(`http://127.0.0.1:${port}${WEBHOOK_PATH}`, {
        method: "POST",
        headers: { "content-type": type, "x-hub-signature-256": signBody(bytes, APP_SECRET) },
        body: bytes,
      });
      expect(res.status, type).toBe(200);
      expect(((await res.json()) as { statuses: number }).statuses).toBeGreaterThan(0);
    }
    expect((await store.listStatuses("whatsapp")).length).toBeGreaterThan(0);
    // One byte changed after signing: refused, and the connection closed like every 401.
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 3] ^= 1;
    const bad = await raw(
      port,
      Buffer.concat([
        Buffer.from(
          `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Hub-Signature-256: ${signBody(bytes, APP_SECRET)}\r\nContent-Length: ${tampered.length}\r\n\r\n`,
        ),
        tampered,
      ]),
    );
    expect(bad.status).toBe(401);
    expect(errorShape(bad.body).code).toBe("invalid_signature");
    expect(bad.closed).toBe(true);
  });
});
