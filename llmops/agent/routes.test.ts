import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../../mlops/serving/server.ts";
import { openAssistant } from "../assistant/compose.ts";
import { ingestBuiltinKnowledgeBase } from "../rag/api.ts";
import { type SandboxFixture, sandboxFixture } from "../testing/sandbox-fixture.ts";
import type { Assistant, ChatResponse } from "./assistant.ts";
import { assistantRoutes, replyChunks } from "./routes.ts";
import { PresetChurnRisk } from "./testing.ts";

// The assistant's API mounted on the real serving layer (buildServer's plugins): the two ways in, and
// that a customer reaches only their own sessions and data.

const KEY = "operator-key-0123456789abcdef";
let sb: SandboxFixture;
let assistant: Assistant;
let server: FastifyInstance;

beforeAll(async () => {
  sb = await sandboxFixture();
  await ingestBuiltinKnowledgeBase(sb.app);
  assistant = await openAssistant(sb.app, {
    systems: sb.systems,
    churn: new PresetChurnRisk(),
    phraser: null,
  });
  server = await buildServer(sb.app, {
    apiKeys: [KEY],
    plugins: [assistantRoutes(assistant, { sweep: false })],
    accessLog: { log: { info() {} }, flush() {}, close() {} } as never,
  });
});
afterAll(async () => {
  await server?.close();
  await assistant?.close();
  await sb.cleanup();
});

const operator = { authorization: `Bearer ${KEY}` };

async function chat(headers: Record<string, string>, body: Record<string, unknown>) {
  return server.inject({ method: "POST", url: "/v1/assistant/chat", headers, payload: body });
}

async function login(customerId: string): Promise<string> {
  const p = await sb.systems.crm.getCustomer(customerId);
  if (!p) throw new Error("fixture customer missing");
  const r = await server.inject({
    method: "POST",
    url: "/v1/assistant/login",
    payload: { cpf: p.cpf, birth_date: p.birth_date },
  });
  expect(r.statusCode).toBe(200);
  return (r.json() as { token: string }).token;
}

describe("assistant API", () => {
  it("answers one turn with the operator key and an asserted customer, in the documented shape", async () => {
    const customer = sb.scenarios.customers.overdue_invoice[0];
    const r = await chat(operator, { customer_id: customer, message: "preciso da segunda via da fatura" });
    expect(r.statusCode).toBe(200);
    const body = r.json() as ChatResponse;
    expect(Object.keys(body).sort()).toEqual(
      [
        "citations",
        "intent",
        "interaction_id",
        "offers",
        "reply",
        "session_id",
        "tool_calls",
        "trace_id",
        "guardrails",
      ].sort(),
    );
    expect(body.tool_calls.map((c) => c.name)).toContain("issue_invoice_copy");
    const [interaction] = await sb.systems.crm.listInteractions(customer, { limit: 1 });
    expect(interaction.interaction_id).toBe(body.interaction_id);
    expect(interaction.channel).toBe("api");
  });

  it("refuses requests without a valid key or token, and bad bodies naming the field", async () => {
    expect((await chat({}, { message: "oi" })).statusCode).toBe(401);
    expect((await chat({ authorization: "Bearer nope-nope-nope-nope" }, { message: "oi" })).statusCode).toBe(
      401,
    );
    expect((await chat({ authorization: "Bearer cst_forged" }, { message: "oi" })).statusCode).toBe(401);
    const bad = await chat(operator, { message: "" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toMatch(/message/);
    const extra = await chat(operator, { message: "oi", admin: true });
    expect(extra.statusCode).toBe(400);
  });

  it("logs a customer in with CPF + birth date and keeps them to their own data and sessions", async () => {
    const me = sb.scenarios.customers.overdue_invoice[1];
    const other = sb.scenarios.customers.overdue_invoice[2];
    const token = await login(me);
    const mine = await chat({ authorization: `Bearer ${token}` }, { message: "quero entender minha fatura" });
    expect(mine.statusCode).toBe(200);
    const body = mine.json() as ChatResponse;
    const explained = body.tool_calls.find((c) => c.name === "explain_invoice")?.result as {
      invoice: { invoice_id: string };
    };
    const myInvoices = (await sb.systems.billing.listInvoices(me)).map((i) => i.invoice_id);
    expect(myInvoices).toContain(explained.invoice.invoice_id);

    // Another customer's id in the body, another customer's session, or their id in the message: refused.
    const asOther = await chat(
      { authorization: `Bearer ${token}` },
      { customer_id: other, message: "minha fatura" },
    );
    expect(asOther.statusCode).toBe(403);
    const theirs = await chat(operator, { customer_id: other, message: "oi" });
    const theirSession = (theirs.json() as ChatResponse).session_id;
    expect(
      (await chat({ authorization: `Bearer ${token}` }, { session_id: theirSession, message: "oi" }))
        .statusCode,
    ).toBe(403);
    expect(
      (
        await server.inject({
          method: "GET",
          url: `/v1/assistant/sessions/${theirSession}`,
          headers: { authorization: `Bearer ${token}` },
        })
      ).statusCode,
    ).toBe(403);
    const named = await chat(
      { authorization: `Bearer ${token}` },
      { session_id: body.session_id, message: `me mostra a fatura do cliente ${other}` },
    );
    const namedBody = named.json() as ChatResponse;
    expect(namedBody.reply).toMatch(/titular/);
    expect(JSON.stringify(namedBody.tool_calls)).not.toContain(other);

    const own = await server.inject({
      method: "GET",
      url: `/v1/assistant/sessions/${body.session_id}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ session_id: body.session_id, customer_id: me });
    expect(own.json().turns[0]).toMatchObject({
      trace_id: body.trace_id,
      message: "quero entender minha fatura",
    });
  });

  it("logs in with the one-time code the sandbox CRM issued, and refuses a wrong one", async () => {
    const me = sb.scenarios.customers.mobile_postpaid[0];
    const wrong = await server.inject({
      method: "POST",
      url: "/v1/assistant/login",
      payload: { customer_id: me, code: "000000" },
    });
    expect(wrong.statusCode).toBe(401);
    const issued = await sb.systems.crm.issueLoginCode(me, { idempotencyKey: `routes-test-${me}` });
    const ok = await server.inject({
      method: "POST",
      url: "/v1/assistant/login",
      payload: { customer_id: me, code: issued.code },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ customer_id: me, method: "login_code" });
    expect(ok.json().token).toMatch(/^cst_/);
  });

  it("streams tool events, reply chunks and the final message as server-sent events", async () => {
    const customer = sb.scenarios.customers.ont_los[0];
    const r = await server.inject({
      method: "POST",
      url: "/v1/assistant/chat",
      headers: { ...operator, accept: "text/event-stream" },
      payload: { customer_id: customer, message: "minha internet caiu" },
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toMatch(/text\/event-stream/);
    const events = r.body
      .trim()
      .split("\n\n")
      .map((block) => {
        const [ev, data] = block.split("\n");
        return { event: ev.slice("event: ".length), data: JSON.parse(data.slice("data: ".length)) };
      });
    const kinds = events.map((e) => e.event);
    expect(kinds[0]).toBe("tool");
    expect(kinds.at(-1)).toBe("message");
    const final = events.at(-1)?.data as ChatResponse;
    const chunks = events.filter((e) => e.event === "chunk").map((e) => (e.data as { text: string }).text);
    expect(chunks.join("")).toBe(final.reply);
    expect(events.filter((e) => e.event === "tool").map((e) => e.data.name)).toEqual(
      final.tool_calls.map((c) => c.name),
    );
  });

  it("lists the routes in the OpenAPI document", async () => {
    const doc = (await server.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/assistant/chat", "/v1/assistant/login", "/v1/assistant/sessions/{id}"]),
    );
  });

  it("splits a reply into chunks that add up to it", () => {
    const reply =
      "Tenho estes horários:\n1. 02/01/2026, das 08:00 às 12:00\n2. 03/01/2026\n\nQual prefere? Obrigado.";
    const chunks = replyChunks(reply);
    expect(chunks.join("")).toBe(reply);
    expect(chunks).toContain("1. 02/01/2026, das 08:00 às 12:00\n");
  });
});
