import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAssistant } from "../assistant/compose.ts";
import type { Command } from "../conversation/commands.ts";
import { ingestBuiltinKnowledgeBase } from "../rag/api.ts";
import { type SandboxFixture, sandboxFixture } from "../testing/sandbox-fixture.ts";
import { complaintNotAnswer, complaintStartsNothing, negatedOtherClause } from "./confirmation-reading.ts";
import { newFrame } from "./flows/flow.ts";
import { PresetChurnRisk } from "./testing.ts";

// An insult or a complaint at "Confirma que quer cancelar?" is no answer: the cancellation stays pending
// and is asked again. Played through the whole assistant (guardrails included: "seu bot lixo" is masked
// before the engine, which then sees "não entende nada") with the local understanding engine on the
// operator sandbox; judged on what the CRM holds and where the session is.

let sb: SandboxFixture;
let a: Awaited<ReturnType<typeof openAssistant>>;
const churn = new PresetChurnRisk();
let pool: string[] = [];

beforeAll(async () => {
  sb = await sandboxFixture();
  await ingestBuiltinKnowledgeBase(sb.app);
  a = await openAssistant(sb.app, { systems: sb.systems, churn, phraser: null });
  pool = sb.systems.store
    .all<{ customer_id: string }>(
      "select customer_id from contracts where status = 'active' group by customer_id having count(*) = 1 order by customer_id",
    )
    .map((r) => r.customer_id);
}, 120_000);
afterAll(async () => {
  await a?.close();
  await sb?.cleanup();
});

/** A customer no other test of this file used (the store is shared within the file). */
function freshCustomer(): string {
  const id = pool.shift();
  if (!id) throw new Error("no customer with one active contract left in the fixture");
  churn.set(id, "high");
  return id;
}

async function talk(customer: string, messages: string[], session?: string) {
  const turns: Awaited<ReturnType<typeof a.chat>>[] = [];
  for (const message of messages) {
    const t = await a.chat({
      ...(session ? { session_id: session } : {}),
      customer_id: customer,
      channel: "chat",
      message,
    });
    session = t.response.session_id;
    turns.push(t);
  }
  const view = await a.session(session as string, { customerId: customer });
  return { turns, last: turns[turns.length - 1], flows: view.flows, session: session as string };
}

/** Moving house goes straight to the facts of moving and "Confirma que quer cancelar?". */
async function atConfirmation(customer: string) {
  const r = await talk(customer, ["vou me mudar, quero cancelar"]);
  expect(r.last.response.reply).toMatch(/Confirma que quer cancelar\?/);
  expect(r.flows).toEqual([{ flow: "cancellation", step: "confirm_cancel", awaiting: "confirm" }]);
  return r.session;
}

function cancellations(customer: string): number {
  return (
    sb.systems.store.get<{ n: number }>(
      "select count(*) as n from cancellations where customer_id = ?",
      customer,
    )?.n ?? 0
  );
}

function statuses(customer: string): string[] {
  return sb.systems.store
    .all<{ status: string }>("select status from contracts where customer_id = ?", customer)
    .map((c) => c.status);
}

/** Outcomes of the customer's interactions in the CRM (the seeded history included), newest first. */
async function outcomes(customer: string): Promise<string[]> {
  return (await sb.systems.crm.listInteractions(customer, { limit: 50 })).map((i) => i.outcome as string);
}

const PENDING = [{ flow: "cancellation", step: "confirm_cancel", awaiting: "confirm" }];

describe("a complaint at the cancellation's confirmation", () => {
  it("'seu bot lixo, não entende nada' gets the calm answer and the question again; nothing cancelled or kept; then 'sim' cancels", async () => {
    const customer = freshCustomer();
    const session = await atConfirmation(customer);
    const before = await outcomes(customer);
    const r = await talk(customer, ["seu bot lixo, não entende nada"], session);
    // The abuse guardrail masked the insult; the engine saw "não entende nada" (read as deny 0.69).
    expect(r.last.response.guardrails.map((g) => g.guardrail)).toContain("abuse");
    expect(r.last.response.reply).toMatch(/quero resolver/);
    expect(r.last.response.reply).toMatch(/Confirma que quer cancelar\?/);
    expect(r.last.response.reply).not.toMatch(/não registrei nenhum cancelamento/);
    expect(r.flows).toEqual(PENDING);
    expect(cancellations(customer)).toBe(0);
    expect(statuses(customer)).toEqual(["active"]);
    expect(await outcomes(customer)).toEqual(before);

    const yes = await talk(customer, ["sim"], session);
    expect(yes.flows).toEqual([]);
    expect(cancellations(customer)).toBe(1);
    expect(statuses(customer)).toEqual(["cancel_requested"]);
    const [interaction] = await sb.systems.crm.listInteractions(customer, { limit: 1 });
    expect(interaction).toMatchObject({ outcome: "cancel_requested", category: "cancellation" });
    expect(yes.last.response.reply).toContain(interaction.protocol as string);
  });

  it.each(["não resolve nada isso", "vocês não prestam", "isso não funciona"])(
    "'%s' leaves the cancellation pending, asked again; ending the contact records no 'kept'",
    async (message) => {
      const customer = freshCustomer();
      const session = await atConfirmation(customer);
      const r = await talk(customer, [message], session);
      expect(r.last.response.reply).toMatch(/Confirma que quer cancelar\?/);
      expect(r.flows).toEqual(PENDING);
      expect(cancellations(customer)).toBe(0);
      expect(statuses(customer)).toEqual(["active"]);
      const retained = (await outcomes(customer)).filter((o) => o === "retained").length;
      await a.end(session);
      expect((await outcomes(customer)).filter((o) => o === "retained").length).toBe(retained);
    },
  );

  it("an acknowledgement next to a complaint ('ok, vocês não prestam') is no yes: nothing is cancelled", async () => {
    const customer = freshCustomer();
    const session = await atConfirmation(customer);
    const r = await talk(customer, ["ok, vocês não prestam"], session);
    expect(r.flows).toEqual(PENDING);
    expect(cancellations(customer)).toBe(0);
    expect(statuses(customer)).toEqual(["active"]);
  });

  it("'sim, seu lixo' (only a yes left after the insult) decides nothing: the guardrail answers, the question stays", async () => {
    const customer = freshCustomer();
    const session = await atConfirmation(customer);
    const r = await talk(customer, ["sim, seu lixo"], session);
    expect(r.flows).toEqual(PENDING);
    expect(cancellations(customer)).toBe(0);
    expect(statuses(customer)).toEqual(["active"]);
  });

  it("an insult with a clear request ('seu bot lixo, pode cancelar') cancels", async () => {
    const customer = freshCustomer();
    const session = await atConfirmation(customer);
    const r = await talk(customer, ["seu bot lixo, pode cancelar"], session);
    expect(r.flows).toEqual([]);
    expect(cancellations(customer)).toBe(1);
    expect(statuses(customer)).toEqual(["cancel_requested"]);
  });
});

describe("a complaint at the cancellation's confirmation starts no unrelated journey", () => {
  it.each([
    ["it doesn't work, you don't understand", /Do you confirm you want to cancel\?/],
    ["não funciona, você não entende", /Confirma que quer cancelar\?/],
  ])(
    "'%s' explains no bill and diagnoses nothing: no interaction recorded, the question again",
    async (message, asked) => {
      const customer = freshCustomer();
      const session = await atConfirmation(customer);
      const before = await outcomes(customer);
      const r = await talk(customer, [message], session);
      const tools = r.last.response.tool_calls.map((c) => c.name);
      expect(tools).not.toContain("explain_invoice");
      expect(tools).not.toContain("diagnose_internet");
      expect(r.last.response.reply).toMatch(asked);
      expect(r.flows).toEqual(PENDING);
      expect(await outcomes(customer)).toEqual(before);
      expect(cancellations(customer)).toBe(0);
      expect(statuses(customer)).toEqual(["active"]);
    },
  );

  it("complaintStartsNothing keeps a start the complaint names ('não entendi a conta'), the flow asked about, and non-complaints", () => {
    const top = newFrame("cancellation", "confirm_cancel");
    top.awaiting = "confirm";
    const invoice: Command[] = [{ type: "start_flow", flow: "invoice_explanation" }];
    expect(complaintStartsNothing(invoice, "you don't understand", top)).toEqual([
      { type: "chitchat", kind: "abuse" },
    ]);
    expect(complaintStartsNothing(invoice, "não entendi a conta, ela não fecha", top)).toEqual(invoice);
    expect(complaintStartsNothing(invoice, "I don't understand my bill", top)).toEqual(invoice);
    const fault: Command[] = [{ type: "start_flow", flow: "internet_diagnosis" }];
    expect(complaintStartsNothing(fault, "a internet não funciona", top)).toEqual(fault);
    // Not a complaint (no negated clause), or no confirmation pending: left to the flow.
    expect(complaintStartsNothing(invoice, "explica minha conta", top)).toEqual(invoice);
    const idle = newFrame("cancellation", "ask_reason");
    expect(complaintStartsNothing(invoice, "you don't understand", idle)).toEqual(invoice);
    const cancel: Command[] = [{ type: "start_flow", flow: "cancellation" }];
    expect(complaintStartsNothing(cancel, "não entende, cancela logo", top)).toEqual(cancel);
  });
});

describe("a genuine no at the cancellation's confirmation keeps its reading", () => {
  it.each(["não, deixa", "não quero mais cancelar", "acho que não"])(
    "'%s' keeps the customer: nothing cancelled, 'retained' recorded when the contact ends",
    async (message) => {
      const customer = freshCustomer();
      const session = await atConfirmation(customer);
      const r = await talk(customer, [message], session);
      expect(r.last.response.reply).toMatch(/não registrei nenhum cancelamento/);
      expect(r.flows).toEqual([]);
      expect(cancellations(customer)).toBe(0);
      expect(statuses(customer)).toEqual(["active"]);
      const retained = (await outcomes(customer)).filter((o) => o === "retained").length;
      await a.end(session);
      expect((await outcomes(customer)).filter((o) => o === "retained").length).toBe(retained + 1);
    },
  );
});

describe("complaintNotAnswer (any understanding engine)", () => {
  const frame = (flow: "cancellation" | "internet_diagnosis" | "plan_recommendation") => {
    const f = newFrame(flow, "confirm");
    f.awaiting = "confirm";
    return f;
  };
  const no: Command = { type: "set_slot", slot: "confirm", value: false };
  const yes: Command = { type: "set_slot", slot: "confirm", value: true };

  it("names the negated clause that is not the proposition asked", () => {
    expect(negatedOtherClause("não entende nada")).toBe("entende");
    expect(negatedOtherClause("vocês não prestam")).toBe("prestam");
    expect(negatedOtherClause("it doesn't work")).toBe("work");
    expect(negatedOtherClause("não quero mais cancelar")).toBeNull();
    expect(negatedOtherClause("não, deixa")).toBeNull();
    expect(negatedOtherClause("acho que não")).toBeNull();
    expect(negatedOtherClause("I don't want to cancel anymore")).toBeNull();
  });

  it("drops a confirm read from a complaint (a no or a yes) and answers it as abuse", () => {
    expect(complaintNotAnswer([no], "não entende nada", frame("cancellation"))).toEqual([
      { type: "chitchat", kind: "abuse" },
    ]);
    expect(
      complaintNotAnswer(
        [yes, { type: "chitchat", kind: "smalltalk" }],
        "vocês não prestam",
        frame("cancellation"),
      ),
    ).toEqual([{ type: "chitchat", kind: "abuse" }]);
    expect(complaintNotAnswer([no], "não resolve nada isso", frame("plan_recommendation"))).toEqual([
      { type: "chitchat", kind: "abuse" },
    ]);
  });

  it("keeps a yes or a no said first, a no about the proposition, and the diagnosis's 'voltou?'", () => {
    expect(complaintNotAnswer([no], "não, vocês não resolvem nada", frame("cancellation"))).toEqual([no]);
    expect(complaintNotAnswer([yes], "sim, não aguento mais", frame("cancellation"))).toEqual([yes]);
    expect(complaintNotAnswer([no], "não quero mais cancelar", frame("cancellation"))).toEqual([no]);
    expect(complaintNotAnswer([no], "ainda não funciona", frame("internet_diagnosis"))).toEqual([no]);
    // Nothing awaited: nothing to answer.
    const idle = newFrame("cancellation", "start");
    expect(complaintNotAnswer([no], "não entende nada", idle)).toEqual([no]);
  });
});
