import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import Fastify, { type FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openWhatsAppChannel } from "../../../cli/whatsapp.ts";
import { buildServer } from "../../../mlops/serving/server.ts";
import { SqliteChannelStore } from "../../../platform/adapters/whatsapp/sqlite-channel-store.ts";
import { configSchema } from "../../../platform/config/schema.ts";
import type { AppContext } from "../../../platform/context.ts";
import type { ChannelStore } from "../../../platform/ports/messaging.ts";
import { logger, setLogLevel } from "../../../platform/telemetry/logger.ts";
import type { Assistant } from "../../agent/assistant.ts";
import { PresetChurnRisk } from "../../agent/testing.ts";
import { openAssistant } from "../../assistant/compose.ts";
import { ingestBuiltinKnowledgeBase } from "../../rag/api.ts";
import { type SandboxFixture, sandboxFixture } from "../../testing/sandbox-fixture.ts";
import { type ChannelLog, sessionIdFor, type WhatsAppChannel } from "./channel.ts";
import { WEBHOOK_PATH, whatsappRoutes } from "./routes.ts";
import { signBody } from "./signature.ts";
import { type FakeGraph, fixture, fixtureBytes, type GraphRequest, startFakeGraph } from "./testing.ts";

// The WhatsApp channel as Meta drives it: recorded webhook payloads posted to a real Fastify server on
// loopback, the real assistant (local understanding, the built-in knowledge base) over the operator
// sandbox, and a local fake Graph API recording every reply. Judged by what the systems hold.

const APP_SECRET = "test-app-secret-9c1f";
const VERIFY_TOKEN = "test-verify-token-77";
const ACCESS_TOKEN = "EAAGtestaccesstoken";
const PHONE_NUMBER_ID = "106540352242922";
const ENV = {
  WHATSAPP_APP_SECRET: APP_SECRET,
  WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
  WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
};

let sb: SandboxFixture;
let assistant: Assistant;
const churn = new PresetChurnRisk();

beforeAll(async () => {
  sb = await sandboxFixture();
  await ingestBuiltinKnowledgeBase(sb.app);
  assistant = await openAssistant(sb.app, { systems: sb.systems, churn, phraser: null });
}, 120_000);
afterAll(async () => {
  await assistant?.close();
  await sb?.cleanup();
});

interface Harness {
  channel: WhatsAppChannel;
  server: FastifyInstance;
  url: string;
  graph: FakeGraph;
  store: ChannelStore;
  logs: { level: string; obj: Record<string, unknown>; msg: string }[];
  /** URLs as a server-wide access log sees them after each response. */
  accessLog: string[];
  post(body: unknown, opts?: { signature?: string | null; raw?: Buffer }): Promise<Response>;
  /** Posts a payload and waits until every reply it causes has been delivered or given up. */
  deliver(body: unknown): Promise<Response>;
  close(): Promise<void>;
}

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function harness(
  opts: { now?: () => Date; graph?: FakeGraph; storeDir?: string; whatsapp?: Record<string, unknown> } = {},
): Promise<Harness> {
  const graph = opts.graph ?? (await startFakeGraph());
  const dir = opts.storeDir ?? mkdtempSync(join(tmpdir(), "telco-wa-"));
  const store = SqliteChannelStore.open(dir);
  const config = configSchema.parse({
    channels: {
      whatsapp: {
        enabled: true,
        phoneNumberId: PHONE_NUMBER_ID,
        graph: { baseUrl: graph.url, timeoutMs: 2000 },
        delivery: { maxAttempts: 4, backoffMs: 5, maxBackoffMs: 20 },
        ...opts.whatsapp,
      },
    },
  });
  const app: AppContext = { ...sb.app, config: { ...sb.app.config, channels: config.channels } };
  const logs: Harness["logs"] = [];
  const accessLog: string[] = [];
  const log: ChannelLog = {
    info: (obj, msg) => logs.push({ level: "info", obj, msg }),
    warn: (obj, msg) => logs.push({ level: "warn", obj, msg }),
    error: (obj, msg) => logs.push({ level: "error", obj, msg }),
  };
  const channel = await openWhatsAppChannel(app, assistant, {
    env: ENV,
    store,
    crm: sb.systems.crm,
    log,
    now: opts.now,
  });
  if (!channel) throw new Error("channel not built");
  const server = Fastify({ logger: false });
  server.addHook("onResponse", (req, _reply, done) => {
    accessLog.push(req.url);
    done();
  });
  await server.register(whatsappRoutes(channel));
  const url = await server.listen({ host: "127.0.0.1", port: 0 });
  const post: Harness["post"] = (body, o = {}) => {
    const raw = o.raw ?? Buffer.from(JSON.stringify(body));
    const signature = o.signature === undefined ? signBody(raw, APP_SECRET) : o.signature;
    return fetch(`${url}${WEBHOOK_PATH}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(signature === null ? {} : { "x-hub-signature-256": signature }),
      },
      body: raw,
    });
  };
  const h: Harness = {
    channel,
    server,
    url,
    graph,
    store,
    logs,
    accessLog,
    post,
    async deliver(body) {
      const res = await post(body);
      await channel.idle();
      return res;
    },
    async close() {
      await server.close();
      await store.close();
      if (!opts.graph) await graph.close();
      if (!opts.storeDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  open.push(h);
  return h;
}

/** A sandbox customer's number as WhatsApp writes it (wa_id: 55 + area code + number). */
async function waIdOf(customerId: string): Promise<string> {
  const p = await sb.systems.crm.getCustomer(customerId);
  if (!p) throw new Error(`no customer ${customerId}`);
  return `55${p.phone.replace(/\D/g, "")}`;
}

async function profile(customerId: string) {
  const p = await sb.systems.crm.getCustomer(customerId);
  if (!p) throw new Error(`no customer ${customerId}`);
  return p;
}

function pick(scenario: keyof SandboxFixture["scenarios"]["customers"], i = 0): string {
  const id = sb.scenarios.customers[scenario][i];
  if (!id) throw new Error(`no ${scenario} customer #${i} in the fixture`);
  return id;
}

let seq = 0;
/** A text message as Meta delivers it (recorded payload, new id, the customer's number and words). */
function text(from: string, body: string, timestamp = Math.floor(Date.now() / 1000)) {
  seq += 1;
  return fixture("text-message", { from, id: `wamid.TEST${Date.now()}${seq}`, timestamp, text: body });
}

function tap(from: string, button: { id: string; title: string }, timestamp = Math.floor(Date.now() / 1000)) {
  seq += 1;
  return fixture("button-reply", { from, id: `wamid.TAP${Date.now()}${seq}`, timestamp, reply: button });
}

/** What the customer saw: the text of every delivered message to `to` (bodies of interactive ones). */
function seen(graph: FakeGraph, to: string): string[] {
  return graph
    .delivered()
    .filter((r) => r.body.to === to)
    .map((r) => {
      const b = r.body as { type: string; text?: { body: string }; interactive?: { body: { text: string } } };
      return b.type === "text"
        ? (b.text?.body ?? "")
        : b.type === "interactive"
          ? (b.interactive?.body.text ?? "")
          : `[${b.type}]`;
    });
}

function lastInteractive(
  graph: FakeGraph,
  to: string,
): GraphRequest["body"] & {
  interactive: {
    type: string;
    body: { text: string };
    action: {
      buttons?: { reply: { id: string; title: string } }[];
      sections?: { rows: { id: string; title: string }[] }[];
    };
  };
} {
  const r = graph
    .delivered()
    .filter((x) => x.body.to === to && x.body.type === "interactive")
    .at(-1);
  if (!r)
    throw new Error(`no interactive message to ${to}; the customer saw: ${JSON.stringify(seen(graph, to))}`);
  return r.body as ReturnType<typeof lastInteractive>;
}

async function turnsOf(waId: string, generation = 1) {
  return assistant.store.listTurns(sessionIdFor(waId, generation));
}

describe("WhatsApp webhook: Meta's handshake and signatures", () => {
  it("answers the verification handshake only with the configured token", async () => {
    const h = await harness();
    const get = (q: string) => fetch(`${h.url}${WEBHOOK_PATH}?${q}`);
    const ok = await get(`hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await ok.text()).toBe("1158201444");
    for (const q of [
      "hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=1158201444",
      `hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`,
      `hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN.slice(0, -1)}&hub.challenge=1`,
      "hub.challenge=1158201444",
    ]) {
      const res = await get(q);
      expect(res.status, q).toBe(403);
      expect(await res.text()).not.toContain("1158201444");
    }
    // The verify token never reaches an access log.
    expect(h.accessLog.length).toBe(5);
    for (const url of h.accessLog) expect(url).not.toMatch(/test-verify-token|wrong-token/);
  });

  it("rejects a bad or missing signature with 401 before parsing, and checks the raw bytes", async () => {
    const h = await harness();
    const raw = fixtureBytes("text-message"); // as recorded: \u-escaped accents, compact
    const from = "5511987650001";

    const missing = await h.post(undefined, { raw, signature: null });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { code: "invalid_signature" } });
    const wrongKey = await h.post(undefined, { raw, signature: signBody(raw, "another-secret") });
    expect(wrongKey.status).toBe(401);
    // The same JSON re-serialized is other bytes: a signature over those must not pass for these.
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(raw.toString("utf8"))));
    expect(reserialized.equals(raw)).toBe(false);
    const other = await h.post(undefined, { raw, signature: signBody(reserialized, APP_SECRET) });
    expect(other.status).toBe(401);
    // A bad signature on a body that is not even JSON: still 401 (nothing is parsed before the check).
    const garbage = await h.post(undefined, { raw: Buffer.from("{not json"), signature: "sha256=00" });
    expect(garbage.status).toBe(401);
    await h.channel.idle();
    expect(await h.store.listInbound("whatsapp", "received")).toEqual([]);
    expect(await h.store.getContact("whatsapp", from)).toBeNull();
    expect(h.graph.requests).toEqual([]);

    const good = await h.post(undefined, { raw });
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ received: 1, duplicates: 0, statuses: 0, skipped: 0 });
    await h.channel.idle();
    expect(h.graph.delivered().map((r) => r.body.to)).toContain(from);

    const signedGarbage = await h.post(undefined, { raw: Buffer.from("{not json") });
    expect(signedGarbage.status).toBe(400);
  });
});

describe("WhatsApp conversations", () => {
  it("answers a text message through the Graph API, asynchronously, with the bearer token", async () => {
    const h = await harness();
    const from = "5511900000101";
    const res = await h.post(text(from, "oi, tudo bem?"));
    expect(res.status).toBe(200);
    await h.channel.idle();
    const [reply] = h.graph.delivered();
    expect(reply.method).toBe("POST");
    expect(reply.path).toBe(`/v23.0/${PHONE_NUMBER_ID}/messages`);
    expect(reply.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(reply.body).toMatchObject({ messaging_product: "whatsapp", to: from, type: "text" });
    const turns = await turnsOf(from);
    expect(turns).toHaveLength(1);
    expect((reply.body.text as { body: string }).body).toBe(String(turns[0].record.reply));
    const sent = await h.store.listOutbox("whatsapp", from, ["sent"]);
    expect(sent.map((o) => o.provider_message_id)).toEqual(["wamid.FAKE000001"]);
  });

  it("is idempotent on the message id: a redelivered webhook makes no second turn and no second reply", async () => {
    const h = await harness();
    const from = "5511900000102";
    const payload = text(from, "qual o horário de atendimento da loja?");
    const first = await h.post(payload);
    const second = await h.post(payload);
    expect(await first.json()).toMatchObject({ received: 1, duplicates: 0 });
    expect(await second.json()).toMatchObject({ received: 0, duplicates: 1 });
    await h.channel.idle();
    const third = await h.deliver(payload);
    expect(await third.json()).toMatchObject({ received: 0, duplicates: 1 });
    expect(await turnsOf(from)).toHaveLength(1);
    expect(h.graph.delivered().filter((r) => r.body.to === from)).toHaveLength(1);
  });

  it("runs the identity flow first for an unknown number, and shows account data only after it", async () => {
    const h = await harness();
    const from = "5511900000103"; // on no customer's record
    expect(await sb.systems.crm.findCustomer({ phone: `+${from}` })).toBeNull();
    const customer = pick("overdue_invoice", 2);
    const p = await profile(customer);

    await h.deliver(text(from, "preciso da segunda via da minha fatura"));
    const [ask] = seen(h.graph, from);
    expect(ask).toMatch(/CPF/);
    const t1 = await turnsOf(from);
    expect(t1[0].record.tool_calls).toEqual([]);
    expect((await assistant.store.get(sessionIdFor(from, 1)))?.customer_id).toBeNull();

    await h.deliver(text(from, p.cpf));
    await h.deliver(text(from, p.birth_date.split("-").reverse().join("/")));
    const replies = seen(h.graph, from);
    expect(replies).toHaveLength(3);
    // Nothing of the account before the identity was confirmed...
    for (const r of replies.slice(0, 2)) {
      expect(r).not.toContain(p.name.split(" ")[0]);
      expect(r).not.toMatch(/\d{5}\.\d{5} \d{5}\.\d{6}/);
    }
    // ...and the second copy right after it.
    expect(replies[2]).toContain(p.name.split(" ")[0]);
    expect(replies[2]).toMatch(/\d{5}\.\d{5} \d{5}\.\d{6} \d{5}\.\d{6} \d \d{14}/);
    const session = await assistant.store.get(sessionIdFor(from, 1));
    expect(session?.customer_id).toBe(customer);
    const [interaction] = await sb.systems.crm.listInteractions(customer, { limit: 1 });
    expect(interaction).toMatchObject({ channel: "whatsapp", outcome: "invoice_copy_issued" });
    // The number is not this customer's on file: it is not remembered as theirs.
    expect((await h.store.getContact("whatsapp", from))?.verified_customer_id).toBeNull();
  });

  it("never forwards the sandbox's simulated SMS code into the chat", async () => {
    const h = await harness();
    const from = "5511900000104"; // someone who knows a customer's CPF, writing from another number
    const p = await profile(pick("overdue_invoice", 4));
    await h.deliver(text(from, "quero a segunda via da fatura"));
    await h.deliver(text(from, p.cpf));
    await h.deliver(text(from, "não lembro, prefiro receber um código"));
    const last = seen(h.graph, from).at(-1) ?? "";
    expect(last).toMatch(/código de 6 dígitos por SMS/);
    const turns = await turnsOf(from);
    expect(turns.at(-1)?.record.tool_calls).toEqual([
      expect.objectContaining({ name: "request_login_code", ok: true }),
    ]);
    for (const m of seen(h.graph, from)) expect(m).not.toMatch(/\b\d{6}\b/);
    expect(h.graph.delivered().filter((r) => r.body.to === from)).toHaveLength(3);
  });

  it("does not trust a number just because the CRM has it: the identity flow still runs", async () => {
    const h = await harness();
    const customer = pick("overdue_invoice", 3);
    const from = await waIdOf(customer);
    expect((await sb.systems.crm.findCustomer({ phone: `+${from}` }))?.customer_id).toBe(customer);
    await h.deliver(text(from, "quero a segunda via do boleto"));
    expect(seen(h.graph, from)[0]).toMatch(/CPF/);
    expect((await turnsOf(from))[0].record.tool_calls).toEqual([]);
  });

  it("cancellation with retention: offers as buttons, a tap picks one, a yes-button applies it", async () => {
    const h = await harness();
    const customer = pick("fidelity_active", 1);
    churn.set(customer, "high");
    const p = await profile(customer);
    const from = await waIdOf(customer);

    await h.deliver(text(from, "oi, quero cancelar minha internet"));
    await h.deliver(text(from, p.cpf));
    await h.deliver(text(from, p.birth_date.split("-").reverse().join("/")));
    await h.deliver(text(from, "tá muito caro"));

    const offers = lastInteractive(h.graph, from);
    expect(offers.interactive.type).toBe("button");
    const buttons = offers.interactive.action.buttons ?? [];
    expect(buttons.length).toBeGreaterThanOrEqual(1);
    expect(buttons.length).toBeLessThanOrEqual(3);
    for (const b of buttons) expect(Array.from(b.reply.title).length).toBeLessThanOrEqual(20);
    const decision = (await turnsOf(from)).at(-1)?.record.offers as string[];
    expect(buttons.map((b) => b.reply.id)).toEqual(decision.map((id) => `opt:${id}`));
    expect(offers.interactive.body.text).toMatch(/R\$ \d+,\d{2}|Mega|GB/); // the offers' terms, as the flow wrote them
    expect(await sb.systems.offers.listAppliedOffers(customer)).toEqual([]);

    // The customer taps the last offer: the assistant asks for an explicit yes, as two buttons.
    const chosen = buttons.at(-1)!.reply;
    const turnsBefore = (await turnsOf(from)).length;
    await h.deliver(tap(from, chosen));
    const confirm = lastInteractive(h.graph, from);
    expect(confirm.interactive.body.text).toMatch(/Confirma/);
    const [yes, no] = confirm.interactive.action.buttons ?? [];
    expect([yes.reply.title, no.reply.title]).toEqual(["Sim", "Não"]);
    expect(await sb.systems.offers.listAppliedOffers(customer)).toEqual([]);

    await h.deliver(tap(from, yes.reply));
    const applied = await sb.systems.offers.listAppliedOffers(customer);
    expect(applied).toHaveLength(1);
    expect(`opt:${applied[0].offer_id}`).toBe(chosen.id);
    expect(applied[0].status).toBe("applied");
    const consent = await sb.systems.crm.getConsent(applied[0].consent_id);
    expect(consent).toMatchObject({
      customer_id: customer,
      action: "apply_offer",
      subject: applied[0].offer_id,
    });
    const [interaction] = await sb.systems.crm.listInteractions(customer, { limit: 1 });
    expect(interaction).toMatchObject({
      channel: "whatsapp",
      outcome: "retained",
      offer_accepted: applied[0].offer_id,
    });
    expect(await turnsOf(from)).toHaveLength(turnsBefore + 2);

    // Old buttons tapped again later: no turn, nothing applied twice, the customer is told why.
    await h.deliver(tap(from, yes.reply));
    await h.deliver(tap(from, chosen));
    expect(await turnsOf(from)).toHaveLength(turnsBefore + 2);
    expect(await sb.systems.offers.listAppliedOffers(customer)).toHaveLength(1);
    expect(seen(h.graph, from).slice(-2)).toEqual([
      "Esse botão é de uma pergunta anterior. Por favor, responda à última pergunta que eu enviei.",
      "Esse botão é de uma pergunta anterior. Por favor, responda à última pergunta que eu enviei.",
    ]);
  });

  it("records status callbacks and never answers them", async () => {
    const h = await harness();
    const res = await h.deliver(fixture("statuses"));
    expect(await res.json()).toEqual({ received: 0, duplicates: 0, statuses: 4, skipped: 0 });
    const statuses = await h.store.listStatuses("whatsapp");
    expect(statuses.map((s) => s.status)).toEqual(["sent", "delivered", "read", "failed"]);
    expect(statuses[3]).toMatchObject({ error_code: 131026, error_title: "Message undeliverable" });
    expect(h.graph.requests).toEqual([]);
    expect(await h.store.listInbound("whatsapp", "received")).toEqual([]);
    expect(h.logs.find((l) => l.level === "warn" && l.obj.error_code === 131026)).toBeDefined();
    // Meta redelivers: the same callbacks are one record each.
    await h.deliver(fixture("statuses"));
    expect(await h.store.listStatuses("whatsapp")).toHaveLength(4);
  });

  it("marks delivery statuses on the replies they are about", async () => {
    const h = await harness();
    const from = "5511900000106";
    await h.deliver(text(from, "bom dia"));
    const [sent] = await h.store.listOutbox("whatsapp", from, ["sent"]);
    const statuses = fixture("statuses", { from });
    const value = (statuses.entry as { changes: { value: { statuses: { id: string }[] } }[] }[])[0].changes[0]
      .value;
    for (const s of value.statuses) s.id = String(sent.provider_message_id);
    value.statuses.pop(); // sent, delivered, read
    await h.deliver(statuses);
    const [after] = await h.store.listOutbox("whatsapp", from, ["sent"]);
    expect(after.delivery_status).toBe("read");
    expect(h.graph.requests.filter((r) => r.body.to === from)).toHaveLength(1);
  });

  it("answers media with a short note and ignores reactions, without a turn", async () => {
    const h = await harness();
    const from = "5511900000107";
    await h.deliver(
      fixture("image-message", { from, id: "wamid.IMG1", timestamp: Math.floor(Date.now() / 1000) }),
    );
    await h.deliver(
      fixture("reaction", { from, id: "wamid.REACT1", timestamp: Math.floor(Date.now() / 1000) }),
    );
    expect(seen(h.graph, from)).toEqual([
      "Por enquanto eu só consigo ler mensagens de texto. Pode me escrever o que você precisa?",
    ]);
    expect(await turnsOf(from)).toEqual([]);
    expect((await h.store.getInbound("whatsapp", "wamid.REACT1"))?.status).toBe("skipped");
    // Longer than the assistant reads (WhatsApp allows 4096): asked to shorten, logged, no turn.
    await h.deliver(text(from, "minha internet ".repeat(200)));
    expect(seen(h.graph, from).at(-1)).toBe(
      "Sua mensagem ficou longa demais para mim. Pode resumir em até 2.000 caracteres?",
    );
    expect(await turnsOf(from)).toEqual([]);
    expect(h.logs.some((l) => l.level === "error" && /message/.test(String(l.obj.err)))).toBe(true);
  });
});

describe("WhatsApp: the 24-hour customer-service window", () => {
  it("sends the template instead of free text when the last message is older than 24 h, then the reply once they write", async () => {
    let clock = Date.parse("2026-01-10T12:00:00Z");
    const h = await harness({
      now: () => new Date(clock),
      whatsapp: { template: { name: "retomar_atendimento", language: "pt_BR" } },
    });
    const from = "5511900000108";
    // A message Meta delivers 30 hours late (a webhook redelivered after an outage).
    const late = Math.floor(clock / 1000) - 30 * 3600;
    await h.deliver(text(from, "oi, vocês têm fibra no meu bairro?", late));
    const first = h.graph.delivered().filter((r) => r.body.to === from);
    expect(first.map((r) => r.body.type)).toEqual(["template"]);
    expect(first[0].body.template).toEqual({ name: "retomar_atendimento", language: { code: "pt_BR" } });
    const parked = await h.store.listOutbox("whatsapp", from, ["parked"]);
    expect(parked.length).toBeGreaterThan(0);
    expect(await turnsOf(from)).toHaveLength(1);

    // A second late message in the same silence: still no free text, and no second template.
    await h.deliver(text(from, "alô?", late + 60));
    expect(
      h.graph
        .delivered()
        .filter((r) => r.body.to === from)
        .map((r) => r.body.type),
    ).toEqual(["template"]);
    const held = await h.store.listOutbox("whatsapp", from, ["parked"]);
    expect(held.slice(0, parked.length).map((o) => o.outbox_id)).toEqual(parked.map((o) => o.outbox_id));
    expect(held.length).toBeGreaterThan(parked.length);

    // The customer answers the template: the window reopens and the parked replies go out, in order.
    clock += 60_000;
    await h.deliver(
      fixture("template-quick-reply", { from, id: "wamid.TPLREPLY1", timestamp: Math.floor(clock / 1000) }),
    );
    const all = h.graph.delivered().filter((r) => r.body.to === from);
    expect(all.map((r) => r.body.type)).toEqual(["template", ...held.map(() => "text")]);
    const turnReplies = (await turnsOf(from)).map((t) => String(t.record.reply));
    expect(all.slice(1).map((r) => (r.body.text as { body: string }).body)).toEqual(turnReplies);
    expect(await h.store.listOutbox("whatsapp", from, ["parked"])).toEqual([]);
    expect(turnReplies).toHaveLength(2); // the two late messages; the reopening tap ran no turn

    // Inside the window, free text straight away.
    await h.deliver(text(from, "obrigado", Math.floor(clock / 1000) + 5));
    expect(h.graph.delivered().at(-1)?.body.type).toBe("text");
  });

  it("falls back to the template when the Graph API says the window is closed (#131047)", async () => {
    const h = await harness();
    h.graph.behave({ mode: "window_closed" });
    const from = "5511900000109";
    await h.deliver(text(from, "oi"));
    const to = h.graph.requests.filter((r) => r.body.to === from).map((r) => r.body.type);
    expect(to).toEqual(["text", "template"]);
    expect(h.graph.delivered().map((r) => r.body.type)).toEqual(["template"]);
    expect((await h.store.listOutbox("whatsapp", from, ["parked"])).length).toBe(1);
  });
});

describe("WhatsApp: the Graph API down", () => {
  it("logs the failure with the message id, keeps serving, retries without a second turn or reply", async () => {
    const h = await harness({ whatsapp: { delivery: { maxAttempts: 50, backoffMs: 5, maxBackoffMs: 10 } } });
    h.graph.behave({ mode: "error", status: 503, code: 131016, message: "Service temporarily unavailable" });
    const from = "5511900000110";
    const payload = text(from, "minha internet está lenta");
    const messageId = (payload.entry as { changes: { value: { messages: { id: string }[] } }[] }[])[0]
      .changes[0].value.messages[0].id;
    expect((await h.post(payload)).status).toBe(200);
    await waitFor(() => h.graph.requests.filter((r) => r.body.to === from).length >= 3);
    // Meta redelivers while the Graph API is down: no second turn.
    expect(await (await h.post(payload)).json()).toMatchObject({ duplicates: 1 });
    // The server still answers.
    const probe = await fetch(
      `${h.url}${WEBHOOK_PATH}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=42`,
    );
    expect(await probe.text()).toBe("42");
    const warn = h.logs.find((l) => l.level === "warn" && l.obj.message_id === messageId);
    expect(warn?.msg).toMatch(/retry/);
    expect(String(warn?.obj.err)).toMatch(/503.*131016/);

    h.graph.behave({ mode: "ok" });
    await h.channel.idle();
    expect(await turnsOf(from)).toHaveLength(1);
    const delivered = h.graph.delivered().filter((r) => r.body.to === from);
    const outbox = await h.store.listOutbox("whatsapp", from, ["sent", "pending", "failed", "parked"]);
    expect(outbox.every((o) => o.status === "sent")).toBe(true);
    expect(delivered).toHaveLength(outbox.length);
    expect(new Set(delivered.map((r) => JSON.stringify(r.body))).size).toBe(delivered.length);
  });

  it("answers 503 when the queue is full, claiming nothing, so Meta's redelivery is answered later", async () => {
    const h = await harness({ whatsapp: { queue: { maxPending: 1, concurrency: 1 } } });
    const from = "5511900000113";
    const payload = text(from, "oi");
    const value = (payload.entry as { changes: { value: { messages: Record<string, unknown>[] } }[] }[])[0]
      .changes[0].value;
    value.messages.push({
      ...value.messages[0],
      id: `${String(value.messages[0].id)}-2`,
      text: { body: "tudo bem?" },
    });
    const full = await h.post(payload);
    expect(full.status).toBe(503);
    expect(full.headers.get("retry-after")).toBe("30");
    expect(await h.store.getContact("whatsapp", from)).toBeNull();
    expect(await h.store.getInbound("whatsapp", String(value.messages[0].id))).toBeNull();

    const roomy = await harness({ whatsapp: { queue: { maxPending: 2, concurrency: 1 } } });
    expect(await (await roomy.deliver(payload)).json()).toMatchObject({ received: 2, duplicates: 0 });
    expect(await turnsOf(from)).toHaveLength(2);
    expect(seen(roomy.graph, from)).toHaveLength(2);
  });

  it("gives up after the configured attempts with an error naming the message id", async () => {
    const h = await harness({ whatsapp: { delivery: { maxAttempts: 3, backoffMs: 2, maxBackoffMs: 4 } } });
    h.graph.behave({ mode: "error", status: 500, code: 131000, message: "Something went wrong" });
    const from = "5511900000111";
    const payload = text(from, "oi");
    await h.deliver(payload);
    const id = (payload.entry as { changes: { value: { messages: { id: string }[] } }[] }[])[0].changes[0]
      .value.messages[0].id;
    expect(h.graph.requests.filter((r) => r.body.to === from)).toHaveLength(3);
    const [failed] = await h.store.listOutbox("whatsapp", from, ["failed"]);
    expect(failed).toMatchObject({ attempts: 3, inbound_id: id });
    expect(h.logs.find((l) => l.level === "error" && l.obj.message_id === id)).toBeDefined();
  });

  it("survives a restart: seen ids stay seen and pending replies go out from the new process", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-wa-restart-"));
    const graph = await startFakeGraph();
    try {
      graph.behave({ mode: "error", status: 503, code: 131016, message: "Service temporarily unavailable" });
      const before = await harness({
        graph,
        storeDir: dir,
        whatsapp: { delivery: { maxAttempts: 50, backoffMs: 50, maxBackoffMs: 50 } },
      });
      const from = "5511900000112";
      const payload = text(from, "quero falar sobre meu plano");
      await before.post(payload);
      await waitFor(() => graph.requests.some((r) => r.body.to === from));
      await before.channel.close();
      await before.close();
      open.splice(open.indexOf(before), 1);

      graph.behave({ mode: "ok" });
      const after = await harness({ graph, storeDir: dir });
      await after.channel.idle();
      expect(await (await after.post(payload)).json()).toMatchObject({ received: 0, duplicates: 1 });
      await after.channel.idle();
      expect(await turnsOf(from)).toHaveLength(1);
      const sent = await after.store.listOutbox("whatsapp", from, ["sent"]);
      expect(sent.length).toBeGreaterThan(0);
      expect(graph.delivered().filter((r) => r.body.to === from)).toHaveLength(sent.length);
    } finally {
      await graph.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("WhatsApp: after a crash", () => {
  it("answers accepted messages that never started, and does not re-run one that was mid-turn", async () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-wa-crash-"));
    try {
      const store = SqliteChannelStore.open(dir);
      const now = Math.floor(Date.now() / 1000);
      const waiting = {
        id: "wamid.CRASH-WAITING",
        from: "5511900000130",
        timestamp: now,
        type: "text",
        kind: "text",
        text: "oi",
      };
      const midTurn = { ...waiting, id: "wamid.CRASH-MIDTURN", from: "5511900000131" };
      for (const m of [waiting, midTurn])
        await store.claimInbound({
          channel: "whatsapp",
          message_id: m.id,
          contact: m.from,
          sent_at: new Date(now * 1000).toISOString(),
          received_at: new Date().toISOString(),
          payload: m,
        });
      await store.setInboundStatus("whatsapp", midTurn.id, "processing");
      await store.close();

      const h = await harness({ storeDir: dir });
      await h.channel.idle();
      expect((await h.store.getInbound("whatsapp", waiting.id))?.status).toBe("done");
      expect(seen(h.graph, waiting.from)).toHaveLength(1);
      expect(await turnsOf(waiting.from)).toHaveLength(1);
      expect((await h.store.getInbound("whatsapp", midTurn.id))?.status).toBe("interrupted");
      expect(seen(h.graph, midTurn.from)).toEqual([]);
      expect(await turnsOf(midTurn.from)).toEqual([]);
      expect(h.logs.some((l) => l.level === "warn" && l.obj.message_id === midTurn.id)).toBe(true);
    } finally {
      for (const x of open.splice(0)) await x.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("WhatsApp: a number verified earlier", () => {
  it("is trusted in a later conversation while the CRM still lists it for that customer", async () => {
    let clock = Date.parse("2026-02-01T09:00:00Z");
    const h = await harness({ now: () => new Date(clock) });
    const customer = pick("overdue_invoice", 0);
    const p = await profile(customer);
    const from = await waIdOf(customer);
    const ts = () => Math.floor(clock / 1000);

    await h.deliver(text(from, "preciso da segunda via da fatura", ts()));
    await h.deliver(text(from, p.cpf, ts()));
    await h.deliver(text(from, p.birth_date.split("-").reverse().join("/"), ts()));
    const contact = await h.store.getContact("whatsapp", from);
    expect(contact).toMatchObject({
      verified_customer_id: customer,
      generation: 1,
      trusted_customer_id: null,
    });

    // Two days later: a new conversation (new session), opened as this customer's.
    clock += 2 * 86_400_000;
    await h.deliver(text(from, "me manda a segunda via de novo", ts()));
    const reply = seen(h.graph, from).at(-1) ?? "";
    expect(reply).not.toMatch(/CPF/);
    expect(reply).toMatch(/\d{5}\.\d{5} \d{5}\.\d{6}/);
    expect((await assistant.store.get(sessionIdFor(from, 2)))?.customer_id).toBe(customer);

    // The customer moves to another number in the CRM: this one is no longer trusted.
    await sb.systems.crm.updateContactData(
      customer,
      { phone: "(11) 90000-0999" },
      { idempotencyKey: "wa-test-phone-change" },
    );
    try {
      clock += 2 * 86_400_000;
      await h.deliver(text(from, "segunda via, por favor", ts()));
      expect(seen(h.graph, from).at(-1)).toMatch(/CPF/);
      expect((await h.store.getContact("whatsapp", from))?.generation).toBe(3);
    } finally {
      await sb.systems.crm.updateContactData(
        customer,
        { phone: p.phone },
        { idempotencyKey: "wa-test-phone-back" },
      );
    }
  });
});

describe("WhatsApp webhook on the API server", () => {
  it("is mounted by buildServer beside the churn API, without an API key, and keeps the verify token out of the access log", async () => {
    const h = await harness();
    let logged = "";
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged += chunk.toString();
        done();
      },
    });
    const accessLog = { log: pino({ level: "info" }, sink), flush: () => {}, close: () => {} };
    const level = logger().level;
    setLogLevel("info");
    const server = await buildServer(sb.app, {
      apiKeys: ["operator-key-0123456789abcdef"],
      accessLog,
      config: { workerThreads: "off" },
      plugins: [whatsappRoutes(h.channel)],
    });
    try {
      const url = await server.listen({ host: "127.0.0.1", port: 0 });
      const hs = await fetch(
        `${url}${WEBHOOK_PATH}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=777`,
      );
      expect(await hs.text()).toBe("777");
      const from = "5511900000120";
      const raw = Buffer.from(JSON.stringify(text(from, "oi")));
      const ok = await fetch(`${url}${WEBHOOK_PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": signBody(raw, APP_SECRET) },
        body: raw,
      });
      expect(ok.status).toBe(200);
      const unsigned = await fetch(`${url}${WEBHOOK_PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: raw,
      });
      expect(unsigned.status).toBe(401);
      // The churn API still wants its key.
      const churn = await fetch(`${url}/v1/churn/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(churn.status).toBe(401);
      await h.channel.idle();
      expect(seen(h.graph, from)).toHaveLength(1);
      const spec = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(spec.paths)).toContain(WEBHOOK_PATH);
    } finally {
      await server.close();
      setLogLevel(level);
    }
    const lines = logged
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { url: string; status: number });
    expect(lines.some((l) => l.url.startsWith(WEBHOOK_PATH) && l.status === 200)).toBe(true);
    expect(logged).not.toContain(VERIFY_TOKEN);
  });
});

describe("WhatsApp channel configuration", () => {
  it("is off by default, names every missing secret variable, and keeps secrets out of the config file", async () => {
    expect(await openWhatsAppChannel(sb.app, assistant, { env: ENV })).toBeNull();
    const config = configSchema.parse({
      channels: { whatsapp: { enabled: true, phoneNumberId: PHONE_NUMBER_ID } },
    });
    const app: AppContext = { ...sb.app, config: { ...sb.app.config, channels: config.channels } };
    await expect(
      openWhatsAppChannel(app, assistant, { env: { WHATSAPP_VERIFY_TOKEN: "x" } }),
    ).rejects.toMatchObject({
      code: "config",
      message: "the WhatsApp channel needs WHATSAPP_APP_SECRET, WHATSAPP_ACCESS_TOKEN (not set)",
    });
    const noId = configSchema.parse({ channels: { whatsapp: { enabled: true } } });
    await expect(
      openWhatsAppChannel({ ...sb.app, config: { ...sb.app.config, channels: noId.channels } }, assistant, {
        env: ENV,
      }),
    ).rejects.toMatchObject({
      code: "config",
      message: expect.stringContaining("channels.whatsapp.phoneNumberId"),
    });
    const inFile = configSchema.safeParse({ channels: { whatsapp: { appSecret: "s3cr3t" } } });
    expect(inFile.success).toBe(false);
    expect(inFile.error?.issues[0]).toMatchObject({
      code: "unrecognized_keys",
      path: ["channels", "whatsapp"],
    });
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
