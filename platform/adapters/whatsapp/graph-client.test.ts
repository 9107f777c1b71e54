import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessagingError, type OutboundMessage } from "../../ports/messaging.ts";
import { GraphApiMessenger } from "./graph-client.ts";

// The Graph API client against a local server answering as the Cloud API does (recorded bodies).

interface Seen {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}
let server: Server;
let url: string;
const seen: Seen[] = [];
let answer: { status: number; body: unknown } | "hang" = { status: 200, body: {} };

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push({
      path: req.url ?? "",
      authorization: req.headers.authorization,
      body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
    });
    if (answer === "hang") return; // never answers: the client's timeout fires
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(
  () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
);

function client(timeoutMs = 2000, baseUrl = url) {
  return new GraphApiMessenger({
    baseUrl: `${baseUrl}/`,
    version: "v23.0",
    phoneNumberId: "106540352242922",
    accessToken: "EAAGtoken",
    timeoutMs,
  });
}

const OK = {
  status: 200,
  body: {
    messaging_product: "whatsapp",
    contacts: [{ input: "5561973551475", wa_id: "5561973551475" }],
    messages: [{ id: "wamid.HBgNNTU2MTk3MzU1MTQ3NRUCABEYEjQyNzM3NjE2QzYxRTdGQjc1MgA=" }],
  },
};

function graphError(status: number, code: number, message: string) {
  return {
    status,
    body: {
      error: {
        message,
        type: "OAuthException",
        code,
        error_data: { messaging_product: "whatsapp", details: `${message} (details)` },
        fbtrace_id: "Az8or2yhqkZfEZ-_4Qn_Bam",
      },
    },
  };
}

async function failure(p: Promise<unknown>): Promise<MessagingError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MessagingError) return err;
    throw err;
  }
  throw new Error("expected a MessagingError");
}

describe("GraphApiMessenger", () => {
  it("posts each kind of message in the Cloud API's format, with the bearer token", async () => {
    answer = OK;
    seen.length = 0;
    const to = "5561973551475";
    const messages: OutboundMessage[] = [
      { kind: "text", to, text: "Olá" },
      { kind: "buttons", to, body: "Confirma?", buttons: [{ id: "cnf:yes:3", title: "Sim" }] },
      {
        kind: "list",
        to,
        body: "Qual prefere?",
        button: "Ver opções",
        rows: [{ id: "opt:S1", title: "1. 05/01", description: "manhã" }],
      },
      { kind: "template", to, name: "aurora_retomar_atendimento", language: "pt_BR" },
      { kind: "template", to, name: "aurora_aviso", language: "pt_BR", parameters: ["Maria"] },
    ];
    for (const m of messages) expect(await client().send(m)).toEqual({ message_id: OK.body.messages[0].id });
    expect(seen.map((s) => s.path)).toEqual(Array(5).fill("/v23.0/106540352242922/messages"));
    expect(seen.every((s) => s.authorization === "Bearer EAAGtoken")).toBe(true);
    const base = { messaging_product: "whatsapp", recipient_type: "individual", to };
    expect(seen.map((s) => s.body)).toEqual([
      { ...base, type: "text", text: { preview_url: false, body: "Olá" } },
      {
        ...base,
        type: "interactive",
        interactive: {
          type: "button",
          body: { text: "Confirma?" },
          action: { buttons: [{ type: "reply", reply: { id: "cnf:yes:3", title: "Sim" } }] },
        },
      },
      {
        ...base,
        type: "interactive",
        interactive: {
          type: "list",
          body: { text: "Qual prefere?" },
          action: {
            button: "Ver opções",
            sections: [{ rows: [{ id: "opt:S1", title: "1. 05/01", description: "manhã" }] }],
          },
        },
      },
      {
        ...base,
        type: "template",
        template: { name: "aurora_retomar_atendimento", language: { code: "pt_BR" } },
      },
      {
        ...base,
        type: "template",
        template: {
          name: "aurora_aviso",
          language: { code: "pt_BR" },
          components: [{ type: "body", parameters: [{ type: "text", text: "Maria" }] }],
        },
      },
    ]);
  });

  it("classifies failures: 5xx and throttling retry, #131047 means the window is closed, 4xx do not retry", async () => {
    const m: OutboundMessage = { kind: "text", to: "5561973551475", text: "oi" };
    answer = graphError(503, 131016, "Service unavailable");
    expect(await failure(client().send(m))).toMatchObject({
      retryable: true,
      windowClosed: false,
      status: 503,
    });
    answer = graphError(400, 130429, "Rate limit hit");
    expect(await failure(client().send(m))).toMatchObject({ retryable: true, providerCode: 130429 });
    answer = graphError(400, 131047, "Re-engagement message");
    const closed = await failure(client().send(m));
    expect(closed).toMatchObject({ retryable: false, windowClosed: true, providerCode: 131047 });
    expect(closed.message).toBe(
      "Graph API 400 (#131047): Re-engagement message: Re-engagement message (details)",
    );
    answer = graphError(401, 190, "Invalid OAuth access token");
    expect(await failure(client().send(m))).toMatchObject({
      retryable: false,
      windowClosed: false,
      status: 401,
    });
    answer = { status: 200, body: { messaging_product: "whatsapp" } };
    expect(await failure(client().send(m))).toMatchObject({ retryable: false });
    answer = { status: 502, body: "<html>Bad gateway</html>" };
    expect(await failure(client().send(m))).toMatchObject({ retryable: true, status: 502 });
  });

  it("treats an unreachable or silent server as retryable", async () => {
    const m: OutboundMessage = { kind: "text", to: "5561973551475", text: "oi" };
    answer = "hang";
    const slow = await failure(client(150).send(m));
    expect(slow).toMatchObject({ retryable: true });
    expect(slow.message).toMatch(/did not answer within 150 ms/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const down = await failure(client(1000, `http://127.0.0.1:${port}`).send(m));
    expect(down).toMatchObject({ retryable: true });
    expect(down.message).toMatch(/unreachable/);
    answer = OK;
  });
});
