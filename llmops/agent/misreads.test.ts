import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAssistant } from "../assistant/compose.ts";
import type { Understanding } from "../conversation/commands.ts";
import { ingestBuiltinKnowledgeBase } from "../rag/api.ts";
import { type SandboxFixture, sandboxFixture } from "../testing/sandbox-fixture.ts";
import type { Assistant } from "./assistant.ts";
import { answerFromIntents } from "./engine.ts";
import { newFrame } from "./flows/flow.ts";
import { PresetChurnRisk } from "./testing.ts";

// Messages the assistant used to misread, played through the whole assistant with the local
// understanding engine on the operator sandbox; judged on what the systems hold and where the session is.

let sb: SandboxFixture;
let a: Assistant;
const churn = new PresetChurnRisk();

beforeAll(async () => {
  sb = await sandboxFixture();
  await ingestBuiltinKnowledgeBase(sb.app);
  a = await openAssistant(sb.app, { systems: sb.systems, churn, phraser: null });
}, 120_000);
afterAll(async () => {
  await a?.close();
  await sb?.cleanup();
});

interface Row {
  contract_id: string;
  customer_id: string;
  plan_id: string;
  product: string;
  status: string;
}

function contracts(customer: string): Row[] {
  return sb.systems.store.all<Row>(
    "select contract_id, customer_id, plan_id, product, status from contracts where customer_id = ? order by contract_id",
    customer,
  );
}

/** The first active customer whose only contract has this plan (and none of `used`). */
function customerWithPlan(plan: string, used: string[] = []): string {
  const rows = sb.systems.store.all<{ customer_id: string; n: number; plan: string }>(
    "select customer_id, count(*) as n, max(plan_id) as plan from contracts where status = 'active' group by customer_id",
  );
  const hit = rows.find((r) => r.n === 1 && r.plan === plan && !used.includes(r.customer_id));
  if (!hit) throw new Error(`no customer with only ${plan} in the fixture`);
  return hit.customer_id;
}

async function talk(
  customer: string | null,
  messages: string[],
  opts: { channel?: "chat" | "whatsapp" } = {},
) {
  let session: string | undefined;
  const turns: Awaited<ReturnType<Assistant["chat"]>>[] = [];
  for (const message of messages) {
    const t = await a.chat({
      ...(session ? { session_id: session } : {}),
      customer_id: customer,
      channel: opts.channel ?? "chat",
      message,
    });
    session = t.response.session_id;
    turns.push(t);
  }
  const view = await a.session(session as string, customer ? { customerId: customer } : {});
  return { turns, last: turns[turns.length - 1], flows: view.flows, session: session as string };
}

const tools = (t: Awaited<ReturnType<Assistant["chat"]>>) => t.response.tool_calls.map((c) => c.name);

describe("partial cancellation (the CRM cancels whole contracts)", () => {
  it("'quero cancela a tv mas deixar a net' with a TV contract of its own cancels only the TV; the internet stays", async () => {
    const customer = customerWithPlan("FIB500");
    // Precondition: the customer also has Aurora TV on a contract of its own (the synthetic delivery
    // gives each customer one contract; the CRM supports several).
    sb.systems.store.run(
      `insert into contracts (contract_id, customer_id, plan_id, product, start_date, fidelity_months,
         fidelity_end_date, fidelity_fine_brl, monthly_price_brl, status, cancel_date, cancel_reason)
       values (?, ?, 'TVESS', 'tv', '2024-01-10', 12, '2025-01-10', 360, 79.9, 'active', null, null)`,
      `CTR-TV-${customer}`,
      customer,
    );
    const before = contracts(customer);
    expect(before.map((c) => [c.product, c.status])).toEqual([
      ["fibra", "active"],
      ["tv", "active"],
    ]);
    const r = await talk(customer, ["quero cancela a tv mas deixar a net", "não assisto mais", "sim"]);
    // No fault report about the internet kept, no retention offer for the whole account.
    expect(r.turns.flatMap(tools)).not.toContain("diagnose_internet");
    expect(r.turns.flatMap(tools)).not.toContain("get_eligible_offers");
    expect(r.turns[1].response.reply).toMatch(
      /cancelar só Aurora TV Essencial; Aurora Fibra 500 Mega continua ativo/,
    );
    const after = contracts(customer);
    expect(after.find((c) => c.product === "tv")?.status).toBe("cancel_requested");
    expect(after.find((c) => c.product === "fibra")?.status).toBe("active");
    const cancellation = sb.systems.store.get<{ contract_ids: string }>(
      "select contract_ids from cancellations where customer_id = ?",
      customer,
    );
    expect(JSON.parse(cancellation?.contract_ids ?? "[]")).toEqual([`CTR-TV-${customer}`]);
    const [interaction] = await sb.systems.crm.listInteractions(customer, { limit: 1 });
    expect(interaction).toMatchObject({ outcome: "cancel_requested", category: "cancellation" });
    expect(r.last.response.reply).toContain(interaction.protocol as string);
    expect(r.flows).toEqual([]);
  });

  it("the TV inside a combo cannot be cancelled apart here: it says so and hands off, cancelling nothing", async () => {
    const customer = customerWithPlan("COMBO1000TV");
    const r = await talk(customer, ["quero cancela a tv mas deixar a net"]);
    expect(tools(r.last)).toContain("escalate_to_human");
    expect(
      r.last.response.tool_calls.filter(
        (c) =>
          c.name === "register_interaction" &&
          (c.args as { outcome?: string }).outcome === "cancel_requested",
      ),
    ).toEqual([]);
    expect(r.last.response.reply).toMatch(/contrato só/);
    expect(contracts(customer).map((c) => c.status)).toEqual(["active"]);
    expect(
      sb.systems.store.get<{ n: number }>(
        "select count(*) as n from cancellations where customer_id = ?",
        customer,
      )?.n,
    ).toBe(0);
    const [interaction] = await sb.systems.crm.listInteractions(customer, { limit: 1 });
    expect(interaction).toMatchObject({ outcome: "escalated" });
    expect(interaction.summary).toMatch(/cancel only the tv of combo COMBO1000TV/);
  });

  it("a service the customer does not have is said so; nothing is cancelled", async () => {
    const customer = customerWithPlan("POS50");
    const r = await talk(customer, ["quero cancela a tv mas deixar a net"]);
    expect(r.last.response.reply).toMatch(/Não encontrei a tv entre os seus serviços ativos/);
    expect(contracts(customer).map((c) => c.status)).toEqual(["active"]);
    expect(r.flows).toEqual([]);
  });
});

describe("moving, keeping the plan, porting", () => {
  it("'to de mudança, vou ficar sem a net' is the cancellation for moving: no discount, the facts of moving, a confirmation", async () => {
    const customer = customerWithPlan("FIB1000");
    churn.set(customer, "high");
    const r = await talk(customer, ["to de mudança, vou ficar sem a net"]);
    expect(tools(r.last)).not.toContain("diagnose_internet");
    expect(r.last.response.offers).toEqual([]);
    expect(r.last.response.reply).toMatch(/novo endereço/);
    expect(r.flows).toEqual([{ flow: "cancellation", step: "confirm_cancel", awaiting: "confirm" }]);
    expect(contracts(customer).map((c) => c.status)).toEqual(["active"]);
  });

  it("'tô mudando, vou ficar sem net' (bare 'mudando', no 'de casa') is the moving cancellation too: no discount, no diagnosis", async () => {
    const customer = customerWithPlan("FIB1000", [customerWithPlan("FIB1000")]);
    churn.set(customer, "high");
    const r = await talk(customer, ["tô mudando, vou ficar sem net"]);
    expect(tools(r.last)).not.toContain("diagnose_internet");
    expect(r.last.response.offers).toEqual([]);
    expect(r.last.response.reply).toMatch(/novo endereço/);
    expect(r.flows).toEqual([{ flow: "cancellation", step: "confirm_cancel", awaiting: "confirm" }]);
    expect(contracts(customer).map((c) => c.status)).toEqual(["active"]);
    // "Mudando de plano" is no move: nothing of the moving journey.
    const other = await talk(customer, ["to mudando de plano, vou ficar sem net?"]);
    expect(other.last.response.reply).not.toMatch(/novo endereço/);
  });

  it("'fine, i will keep my plan as it is' after the offer keeps the plan, with no question sent to the knowledge base", async () => {
    const customer = sb.scenarios.customers.fidelity_active.find(
      (id) => contracts(id).length === 1,
    ) as string;
    churn.set(customer, "high");
    const r = await talk(customer, [
      "i want to cancel",
      "it is too expensive",
      "fine, i will keep my plan as it is",
    ]);
    expect(r.turns[1].response.offers.length).toBe(1);
    expect(tools(r.last)).toEqual([]);
    expect(r.last.response.reply).toMatch(/haven't registered any cancellation/);
    expect(r.last.response.reply).not.toMatch(/couldn't find that/);
    expect(r.flows).toEqual([]);
    expect(contracts(customer).every((c) => c.status === "active")).toBe(true);
    expect(await sb.systems.offers.listAppliedOffers(customer)).toEqual([]);
  });

  it("'quero portar meu número' gets how porting out works (the line ends by itself), cited; nothing is cancelled", async () => {
    const customer = customerWithPlan("POS100");
    const r = await talk(customer, ["quero portar meu número"]);
    expect(tools(r.last)).toEqual(["search_knowledge_base"]);
    expect(r.last.response.citations.map((c) => c.doc_id)).toContain("faq-portabilidade");
    expect(r.last.response.reply).toMatch(/encerrada automaticamente/);
    expect(r.flows).toEqual([]);
    expect(contracts(customer).map((c) => c.status)).toEqual(["active"]);
  });
});

describe("the login code again", () => {
  it("an identified customer whose code did not arrive gets a new one at the phone on file, never the CPF question", async () => {
    const customer = customerWithPlan("CTRL25");
    const r = await talk(customer, ["o código não chegou"]);
    expect(tools(r.last)).toEqual(["request_login_code"]);
    expect(r.last.response.reply).toMatch(/um novo código/);
    expect(r.last.response.reply).not.toMatch(/CPF/);
    expect(r.flows).toEqual([{ flow: "identity", step: "await_code", awaiting: "login_code" }]);
    const code = /\b(\d{6})\b/.exec(r.last.turn.notices.map((n) => n.text).join(" "))?.[1];
    expect(code).toBeDefined();
    const t = await a.chat({
      session_id: r.session,
      customer_id: customer,
      channel: "chat",
      message: code as string,
    });
    expect(t.response.tool_calls.find((c) => c.name === "authenticate")?.result).toMatchObject({
      customer_id: customer,
    });
  });

  it("on an anonymous channel, a resend says 'um novo código' and the first send does not", async () => {
    const customer = sb.scenarios.customers.overdue_invoice[0];
    const cpf = (await sb.systems.crm.getCustomer(customer))?.cpf as string;
    const r = await talk(null, ["quero a segunda via", cpf, "me manda um código", "o código não chegou"], {
      channel: "whatsapp",
    });
    expect(r.turns[2].response.reply).toMatch(/Enviei um código/);
    expect(tools(r.last)).toEqual(["request_login_code"]);
    expect(r.last.response.reply).toMatch(/Enviei um novo código/);
  });
});

describe("a yes or a no read from the ranked intents (answerFromIntents)", () => {
  const confirm = (flow: "cancellation" | "internet_diagnosis") => {
    const f = newFrame(flow, "confirm_cancel");
    f.awaiting = "confirm";
    return f;
  };
  const u = (intents: [string, number][]): Understanding => ({
    language: "pt-BR",
    intents: intents.map(([intent, confidence]) => ({ intent, confidence })),
    commands: [],
    engine: "local",
  });
  const reading = (x: Understanding, flow: "cancellation" | "internet_diagnosis") =>
    answerFromIntents(x, confirm(flow)).find((c) => c.type === "set_slot" && c.slot === "confirm");

  it("is taken when more likely than not, with the answer, thanks or the journey asked about restated", () => {
    expect(
      reading(
        u([
          ["internet_problem", 0.6],
          ["affirm", 0.55],
        ]),
        "internet_diagnosis",
      ),
    ).toEqual({
      type: "set_slot",
      slot: "confirm",
      value: true,
    });
    expect(
      reading(
        u([
          ["thanks", 0.7],
          ["affirm", 0.6],
        ]),
        "cancellation",
      ),
    ).toMatchObject({ value: true });
  });

  it("is not taken below even odds, nor from a statement next to another intent", () => {
    // The old floor (0.25) read these as answers.
    expect(
      reading(
        u([
          ["stop", 0.4],
          ["deny", 0.3],
        ]),
        "cancellation",
      ),
    ).toBeUndefined();
    // "seu bot lixo, não entende nada": the "não" is about the bot, not the question.
    expect(
      reading(
        u([
          ["abuse", 0.99],
          ["deny", 0.7],
        ]),
        "cancellation",
      ),
    ).toBeUndefined();
    // "voltou sim" while asked to confirm the cancellation: another journey's yes is no yes to cancelling.
    expect(
      reading(
        u([
          ["internet_problem", 0.9],
          ["affirm", 0.8],
        ]),
        "cancellation",
      ),
    ).toBeUndefined();
  });
});
