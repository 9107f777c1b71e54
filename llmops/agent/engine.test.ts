import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAssistant } from "../assistant/compose.ts";
import { ingestBuiltinKnowledgeBase } from "../rag/api.ts";
import { type SandboxFixture, sandboxFixture } from "../testing/sandbox-fixture.ts";
import type { Assistant } from "./assistant.ts";
import type { Phraser } from "./engine.ts";
import { PresetChurnRisk, ScriptedUnderstanding } from "./testing.ts";

// The dialogue engine on its own: commands in (as any understanding engine would emit them), the
// sandbox's records out. Understanding is tested by its own suite; the golden conversations run both.

let sb: SandboxFixture;
const churn = new PresetChurnRisk();

beforeAll(async () => {
  sb = await sandboxFixture();
  await ingestBuiltinKnowledgeBase(sb.app);
});
afterAll(() => sb.cleanup());

async function assistant(script: ScriptedUnderstanding): Promise<Assistant> {
  return openAssistant(sb.app, { systems: sb.systems, churn, understanding: script, phraser: null });
}

function pick(scenario: keyof SandboxFixture["scenarios"]["customers"], i = 0): string {
  const id = sb.scenarios.customers[scenario][i];
  if (!id) throw new Error(`no ${scenario} customer #${i} in the fixture`);
  return id;
}

describe("dialogue engine on the sandbox", () => {
  it("issues a second copy of the overdue invoice and registers the interaction", async () => {
    const customer = pick("overdue_invoice");
    const script = new ScriptedUnderstanding().push([{ type: "start_flow", flow: "invoice_copy" }]);
    const a = await assistant(script);
    const r = await a.chat({ customer_id: customer, channel: "cli", message: "preciso da segunda via" });
    const copy = r.response.tool_calls.find((c) => c.name === "issue_invoice_copy");
    const result = copy?.result as { linha_digitavel: string; pix_copia_e_cola: string; amount_brl: number };
    expect(result.linha_digitavel).toMatch(/^\d{5}\.\d{5} \d{5}\.\d{6} \d{5}\.\d{6} \d \d{14}$/);
    expect(r.response.reply).toContain(result.linha_digitavel);
    expect(r.response.reply).toContain(result.pix_copia_e_cola);
    expect(r.response.interaction_id).not.toBeNull();
    const [interaction] = await sb.systems.crm.listInteractions(customer, { limit: 1 });
    expect(interaction).toMatchObject({
      interaction_id: r.response.interaction_id,
      outcome: "invoice_copy_issued",
      category: "invoice_copy",
      channel: "cli",
    });
    expect(r.response.reply).toContain(interaction.protocol);
  });

  it("diagnoses an ONT in LOS, offers real slots, and books only after an explicit yes", async () => {
    const customer = pick("ont_los");
    const script = new ScriptedUnderstanding()
      .push([{ type: "start_flow", flow: "internet_diagnosis" }])
      .push([{ type: "set_slot", slot: "choice", value: 2 }])
      .push([{ type: "set_slot", slot: "confirm", value: true }]);
    const a = await assistant(script);
    const t1 = await a.chat({ customer_id: customer, channel: "cli", message: "minha internet caiu" });
    const listed = t1.response.tool_calls.find((c) => c.name === "schedule_technician")?.result as {
      slots: { slot_id: string; date: string }[];
    };
    expect(t1.response.tool_calls.map((c) => c.name).slice(0, 2)).toEqual([
      "diagnose_internet",
      "schedule_technician",
    ]);
    expect(listed.slots.length).toBeGreaterThan(1);
    expect(await sb.systems.network.listBookings(customer)).toEqual([]);

    const t2 = await a.chat({
      session_id: t1.response.session_id,
      customer_id: customer,
      channel: "cli",
      message: "a segunda",
    });
    expect(t2.response.tool_calls).toEqual([]);
    expect(await sb.systems.network.listBookings(customer)).toEqual([]);

    const t3 = await a.chat({
      session_id: t1.response.session_id,
      customer_id: customer,
      channel: "cli",
      message: "sim",
    });
    expect(t3.response.tool_calls.map((c) => c.name)).toEqual([
      "record_consent",
      "schedule_technician",
      "register_interaction",
    ]);
    const bookings = await sb.systems.network.listBookings(customer);
    expect(bookings).toHaveLength(1);
    expect(bookings[0].slot_id).toBe(listed.slots[1].slot_id);
    const [interaction] = await sb.systems.crm.listInteractions(customer, { limit: 1 });
    expect(interaction.outcome).toBe("visit_scheduled");
  });

  it("presents one allowed offer once and registers the cancellation at once when the customer insists", async () => {
    const customer = pick("fidelity_active", 1);
    churn.set(customer, "high");
    const script = new ScriptedUnderstanding()
      .push([{ type: "start_flow", flow: "cancellation" }])
      .push([]) // the reason, in the customer's words
      .push([{ type: "start_flow", flow: "cancellation" }]);
    const a = await assistant(script);
    const t1 = await a.chat({ customer_id: customer, channel: "api", message: "quero cancelar" });
    const sid = t1.response.session_id;
    expect(t1.response.tool_calls).toEqual([]);
    const t2 = await a.chat({
      session_id: sid,
      customer_id: customer,
      channel: "api",
      message: "tá muito caro",
    });
    const decision = t2.response.tool_calls.find((c) => c.name === "get_eligible_offers")?.result as {
      offers: { offer_id: string }[];
    };
    // One offer (policy-tom-de-voz §4), an allowed one, chosen for the reason given (price → a discount).
    expect(t2.response.offers).toHaveLength(1);
    const shown = t2.response.offers[0].offer_id;
    expect(decision.offers.map((o) => o.offer_id)).toContain(shown);
    expect(shown).toMatch(/^RET-DESC/);
    const t3 = await a.chat({
      session_id: sid,
      customer_id: customer,
      channel: "api",
      message: "não, quero cancelar",
    });
    expect(t3.response.tool_calls.map((c) => c.name)).not.toContain("get_eligible_offers");
    expect(t3.response.tool_calls.map((c) => c.name)).not.toContain("apply_offer");
    const [interaction] = await sb.systems.crm.listInteractions(customer, { limit: 1 });
    expect(interaction).toMatchObject({ outcome: "cancel_requested", offer_accepted: null });
    expect(interaction.summary).toContain("tá muito caro");
    expect(t3.response.reply).toContain(interaction.protocol);
    expect(await sb.systems.offers.listAppliedOffers(customer)).toEqual([]);
  });

  it("answers a knowledge question mid-flow with citations, then resumes the flow's question", async () => {
    const customer = pick("ont_los", 1);
    const script = new ScriptedUnderstanding()
      .push([{ type: "start_flow", flow: "internet_diagnosis" }])
      .push([{ type: "answer_knowledge", query: "o técnico cobra pela visita?" }]);
    const a = await assistant(script);
    const t1 = await a.chat({ customer_id: customer, channel: "cli", message: "sem internet" });
    const t2 = await a.chat({
      session_id: t1.response.session_id,
      customer_id: customer,
      channel: "cli",
      message: "o técnico cobra pela visita?",
    });
    expect(t2.response.citations.length).toBeGreaterThan(0);
    expect(t2.response.citations[0]).toEqual(
      expect.objectContaining({
        doc_id: expect.any(String),
        title: expect.any(String),
        section: expect.any(String),
      }),
    );
    expect(t2.response.reply).toContain("Voltando ao problema na sua internet:");
    expect(t2.response.reply).toContain("Qual prefere?");
    expect(t2.turn.trace.stack_after).toEqual(["internet_diagnosis"]);
  });

  it("checks identity before any account data on an anonymous channel", async () => {
    const customer = pick("overdue_invoice", 1);
    const profile = await sb.systems.crm.getCustomer(customer);
    if (!profile) throw new Error("fixture customer missing");
    const script = new ScriptedUnderstanding()
      .push([{ type: "start_flow", flow: "invoice_explanation" }])
      .push([{ type: "set_slot", slot: "cpf", value: profile.cpf.replace(/\D/g, "") }])
      .push([{ type: "set_slot", slot: "birth_date", value: profile.birth_date }]);
    const a = await assistant(script);
    const t1 = await a.chat({ channel: "chat", message: "pq minha conta veio alta?" });
    expect(t1.response.tool_calls).toEqual([]);
    expect(t1.response.reply).toMatch(/CPF/);
    const t2 = await a.chat({ session_id: t1.response.session_id, channel: "chat", message: profile.cpf });
    expect(t2.response.tool_calls).toEqual([]);
    const t3 = await a.chat({
      session_id: t1.response.session_id,
      channel: "chat",
      message: profile.birth_date,
    });
    expect(t3.response.tool_calls.map((c) => c.name)).toEqual([
      "authenticate",
      "explain_invoice",
      "register_interaction",
    ]);
    expect(JSON.stringify(t3.response.tool_calls)).not.toContain(profile.cpf.replace(/\D/g, ""));
    const session = await a.session(t1.response.session_id);
    expect(session.customer_id).toBe(customer);
  });

  it("keeps a conversation across a restart (a new assistant over the same store)", async () => {
    const customer = pick("degraded_line");
    const first = await assistant(
      new ScriptedUnderstanding().push([{ type: "start_flow", flow: "internet_diagnosis" }]),
    );
    const t1 = await first.chat({ customer_id: customer, channel: "cli", message: "internet caiu" });
    const second = await assistant(
      new ScriptedUnderstanding()
        .push([{ type: "set_slot", slot: "choice", value: 1 }])
        .push([{ type: "set_slot", slot: "confirm", value: true }]),
    );
    await second.chat({
      session_id: t1.response.session_id,
      customer_id: customer,
      channel: "cli",
      message: "1",
    });
    await second.chat({
      session_id: t1.response.session_id,
      customer_id: customer,
      channel: "cli",
      message: "sim",
    });
    expect(await sb.systems.network.listBookings(customer)).toHaveLength(1);
  });

  it("refuses to continue another customer's session", async () => {
    const a = await assistant(new ScriptedUnderstanding().push([{ type: "chitchat", kind: "greeting" }]));
    const t1 = await a.chat({ customer_id: pick("healthy_internet"), channel: "api", message: "oi" });
    await expect(
      a.chat({
        session_id: t1.response.session_id,
        customer_id: pick("healthy_internet", 1),
        channel: "api",
        message: "oi",
      }),
    ).rejects.toMatchObject({ code: "forbidden" });
  });

  it("sends a generative model's phrasing of the template, with its prompts and outcome in the trace", async () => {
    const customer = pick("healthy_internet", 2);
    const seen: { template: string; facts: unknown[] }[] = [];
    const phraser: Phraser = {
      async phrase(input) {
        seen.push({ template: input.templateReply, facts: input.facts });
        if (input.message === "falha") throw new Error("model exploded");
        return {
          reply: "Reescrito pelo modelo.",
          trace: { used: "generated", model: "mock" },
          prompts: ["phrasing@1.0.0#abc"],
        };
      },
    };
    const a = await openAssistant(sb.app, {
      systems: sb.systems,
      churn,
      understanding: new ScriptedUnderstanding()
        .push([{ type: "start_flow", flow: "invoice_explanation" }])
        .push([{ type: "chitchat", kind: "thanks" }]),
      phraser,
    });
    const t1 = await a.chat({ customer_id: customer, channel: "api", message: "minha fatura" });
    expect(t1.response.reply).toBe("Reescrito pelo modelo.");
    expect(t1.turn.trace.prompts).toEqual(["phrasing@1.0.0#abc"]);
    expect(t1.turn.trace.phrasing).toMatchObject({ used: "generated" });
    expect(seen[0].template).toMatch(/Sua fatura de/);
    expect(JSON.stringify(seen[0].facts)).toContain("invoice_id");
    const t2 = await a.chat({
      session_id: t1.response.session_id,
      customer_id: customer,
      channel: "api",
      message: "falha",
    });
    expect(t2.response.reply).toMatch(/De nada/);
    expect(t2.turn.trace.phrasing?.reason).toMatch(/model exploded/);
  });
});
