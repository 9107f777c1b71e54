import { fileURLToPath } from "node:url";
import { generateText, stepCountIs } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ChurnRiskService } from "../../platform/ports/churn-risk.ts";
import type { OperatorSystems } from "../../platform/ports/operator-systems.ts";
import { SCENARIO_NAMES, type ScenarioName } from "../../platform/sandbox/index.ts";
import { ingestIntoWorkspace } from "../rag/api.ts";
import { gatherOfferFacts } from "../rules/facts.ts";
import { type SandboxFixture, sandboxFixture } from "../testing/sandbox-fixture.ts";
import { type KnowledgeSearch, knowledgeSearchFromApp } from "./knowledge.ts";
import {
  createToolbox,
  newToolSession,
  parseToolSession,
  TOOL_NAMES,
  type ToolAuditEvent,
  type Toolbox,
  type ToolSession,
} from "./toolbox.ts";

/**
 * Every tool against the operator sandbox (llmops/testing/sandbox-fixture.ts): happy path, refusal,
 * system down (fault injection on the HTTP server) and a retried call that must not write twice.
 * Outcomes are judged by what the sandbox store holds after the calls, not only by the answers.
 *
 * The churn score: a tiny deterministic ChurnRiskService built here (every customer "high", fixed
 * reasons), so the rules engine's offers are predictable; `get_churn_risk` itself is also tested
 * against the in-process service of mlops/serving (its own fixture, at the end of this file).
 */
let sb: SandboxFixture;
let knowledge: KnowledgeSearch;
const audit: ToolAuditEvent[] = [];

const testChurn: ChurnRiskService = {
  async risk(customerId) {
    return {
      customer_id: customerId,
      probability: 0.81,
      band: "high",
      reasons: [
        { feature: "tickets_90d", label: "muitos chamados recentes", contribution: 0.2 },
        { feature: "fidelity_months_left", label: "fidelidade termina em 1 mês", contribution: 0.35 },
      ],
      model_name: "churn",
      model_version: "test-1",
      data_version: null,
      as_of: sb.businessDate,
    };
  },
};

beforeAll(async () => {
  sb = await sandboxFixture();
  const kb = fileURLToPath(new URL("../rag/fixtures/kb", import.meta.url));
  await ingestIntoWorkspace(sb.app, [kb]);
  knowledge = knowledgeSearchFromApp(sb.app);
});
afterEach(() => sb.http.clearFaults());
afterAll(async () => {
  await sb?.cleanup();
});

let seq = 0;
function open(
  systems: OperatorSystems,
  opts: { churn?: ChurnRiskService; knowledge?: KnowledgeSearch; session?: ToolSession } = {},
): Toolbox {
  const session =
    opts.session ?? newToolSession({ session_id: `S${++seq}`, channel: "chat", language: "pt-BR" });
  return createToolbox(
    {
      systems,
      churn: opts.churn ?? testChurn,
      knowledge: opts.knowledge ?? knowledge,
      audit: (e) => audit.push(e),
    },
    session,
  );
}

async function login(box: Toolbox, customerId: string): Promise<void> {
  const p = await sb.systems.crm.getCustomer(customerId);
  if (!p) throw new Error(`no customer ${customerId}`);
  const r = await box.authenticate({ cpf: p.cpf, birth_date: p.birth_date });
  expect(r.ok, JSON.stringify(r.error)).toBe(true);
}

/** A row count in the sandbox store: the end state the assertions judge. */
function count(sql: string, ...args: string[]): number {
  return (sb.systems.store.db.prepare(sql).get(...args) as { n: number }).n;
}

const used = new Set<string>();
/** A customer of the scenario no other test used (tests share one store). */
function take(scenario: ScenarioName, accept: (id: string) => boolean = () => true): string {
  const id = sb.scenarios.customers[scenario].find((c) => !used.has(c) && accept(c));
  if (!id) throw new Error(`no unused customer left in scenario ${scenario}`);
  used.add(id);
  return id;
}

function inScenario(scenario: ScenarioName, id: string): boolean {
  return sb.scenarios.customers[scenario].includes(id);
}

function expectError(
  r: { ok: boolean; error?: { code: string; system?: string } },
  code: string,
  system?: string,
) {
  expect(r.ok).toBe(false);
  expect(r.error?.code).toBe(code);
  if (system) expect(r.error?.system).toBe(system);
}

describe("identity and authorisation", () => {
  it("authenticates by CPF + birth date through the CRM; a wrong date is refused and counted", async () => {
    const id = take("mobile_postpaid");
    const p = await sb.systems.crm.getCustomer(id);
    const box = open(sb.http.systems);
    const bad = await box.authenticate({ cpf: p?.cpf as string, birth_date: "1900-01-01" });
    expectError(bad, "unauthenticated");
    expect(box.session.customer_id).toBeNull();
    expect(box.session.auth_failures).toBe(1);
    const good = await box.authenticate({ cpf: p?.cpf as string, birth_date: p?.birth_date as string });
    expect(good.ok && good.result).toMatchObject({ customer_id: id, method: "cpf_birth_date" });
    expect(box.session.customer_id).toBe(id);
    expect(box.session.auth_failures).toBe(0);
  });

  it("authenticates by one-time code sent to the customer's phone", async () => {
    const id = take("mobile_postpaid");
    const p = await sb.systems.crm.getCustomer(id);
    const box = open(sb.http.systems);
    const sent = await box.requestLoginCode({ cpf: p?.cpf as string });
    expect(sent.ok).toBe(true);
    if (!sent.ok) return;
    expect(sent.result.sent_to).toMatch(/^\*\*\*\d{4}$/);
    expect(box.session.pending_login?.customer_id).toBe(id);
    expectError(
      await box.authenticate({ code: "000000" === sent.result.simulated_sms_code ? "111111" : "000000" }),
      "unauthenticated",
    );
    const ok = await box.authenticate({ code: sent.result.simulated_sms_code as string });
    expect(ok.ok && ok.result.customer_id).toBe(id);
  });

  it("locks identity checks after 5 failures", async () => {
    const box = open(sb.http.systems);
    for (let i = 0; i < 5; i++)
      expectError(
        await box.authenticate({ cpf: "00000000191", birth_date: "1990-01-01" }),
        "unauthenticated",
      );
    expectError(
      await box.authenticate({ cpf: "00000000191", birth_date: "1990-01-01" }),
      "too_many_attempts",
    );
  });

  it("every customer tool refuses to act without an authenticated customer", async () => {
    const box = open(sb.http.systems);
    const before = audit.length;
    for (const name of TOOL_NAMES) {
      if (name === "search_knowledge_base" || name === "escalate_to_human") continue;
      const args =
        name === "apply_offer"
          ? { offer_id: "RET-DESC10" }
          : name === "change_plan"
            ? { to_plan_id: "POS100" }
            : name === "register_interaction"
              ? { category: "billing", summary: "x y z", sentiment: "neutral", outcome: "resolved" }
              : {};
      const r = await box.call(name, args as never);
      expectError(r, "unauthenticated");
    }
    expect(audit.slice(before).filter((e) => e.code === "unauthenticated").length).toBe(
      TOOL_NAMES.length - 2,
    );
  });

  it("a customer_id other than the session's is refused, audited, and nothing is written for it", async () => {
    const me = take("mobile_postpaid");
    const other = take("mobile_postpaid");
    const box = open(sb.http.systems);
    await login(box, me);
    const before = audit.length;
    expectError(await box.call("get_customer_profile", { customer_id: other }), "forbidden");
    expectError(await box.call("apply_offer", { customer_id: other, offer_id: "RET-DESC10" }), "forbidden");
    expectError(await box.call("diagnose_internet", { customer_id: other }), "forbidden");
    const refused = audit.slice(before).filter((e) => e.code === "forbidden");
    expect(refused).toHaveLength(3);
    expect(refused.every((e) => e.requested_customer_id === other && e.customer_id === me)).toBe(true);
    expect(count("select count(*) n from applied_offers where customer_id = ?", other)).toBe(0);
    expect(count("select count(*) n from line_tests where customer_id = ?", other)).toBe(0);
    // The session's own id is accepted.
    expect((await box.call("get_customer_profile", { customer_id: me })).ok).toBe(true);
  });

  it("a new identity in the same session starts clean: no consent, decision or slot carries over", async () => {
    const a = take("healthy_internet");
    const b = take("healthy_internet");
    const box = open(sb.http.systems);
    await login(box, a);
    const listed = await box.call("schedule_technician", {});
    if (!listed.ok || listed.result.status !== "slots_offered") throw new Error("no slots");
    const slot = listed.result.slots[0].slot_id;
    await box.recordConsent({ action: "schedule_technician", subject: slot });
    await login(box, b);
    expect(box.session).toMatchObject({
      customer_id: b,
      consents: [],
      offer_decisions: [],
      offered_slots: [],
    });
    expectError(await box.call("schedule_technician", { slot_id: slot }), "slot_not_offered");
    // B's own consent for a slot id A also consented to is B's record, not a replay of A's.
    const again = await box.call("schedule_technician", {});
    if (!again.ok || again.result.status !== "slots_offered") throw new Error("no slots");
    const slotB = again.result.slots[0].slot_id;
    const consent = await box.recordConsent({ action: "schedule_technician", subject: slotB });
    expect(consent.ok && consent.result.customer_id).toBe(b);
    expect(count("select count(*) n from consents where customer_id = ? and subject = ?", b, slotB)).toBe(1);
    expect(count("select count(*) n from bookings where customer_id = ?", a)).toBe(0);
  });

  it("a persisted session is validated before use", () => {
    const s = newToolSession({ session_id: "x", channel: "whatsapp", language: "en" });
    expect(parseToolSession(JSON.parse(JSON.stringify(s)))).toEqual(s);
    expect(() => parseToolSession({ ...s, customer_id: 7 })).toThrow(/customer_id/);
  });
});

describe("get_customer_profile", () => {
  it("masks personal data and gives the proportional fidelity fine and the open debts", async () => {
    const both = sb.scenarios.customers.fidelity_active.some(
      (c) => !used.has(c) && inScenario("overdue_invoice", c),
    );
    const id = both
      ? take("fidelity_active", (c) => inScenario("overdue_invoice", c))
      : take("fidelity_active");
    const box = open(sb.http.systems);
    await login(box, id);
    const r = await box.call("get_customer_profile", {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const p = await sb.systems.crm.getCustomer(id);
    const text = JSON.stringify(r.result);
    for (const secret of [
      p?.cpf.replace(/\D/g, ""),
      p?.phone.replace(/\D/g, ""),
      p?.email,
      p?.name,
      p?.birth_date,
    ])
      if (secret) expect(text).not.toContain(secret);
    expect(r.result.first_name).toBe(p?.name.split(" ")[0]);
    // Tenure counts as the offers rules count it (policy-elegibilidade §1): the same number.
    const facts = await gatherOfferFacts(id, { systems: sb.systems, churn: { risk: async () => null } });
    expect(r.result.tenure_months).toBe(facts.customer.tenure_months);
    // Fine = benefit × whole months left ÷ fidelity months, on the business date.
    const contracts = await sb.systems.crm.listContracts(id);
    const inFidelity = contracts.filter(
      (c) => c.status !== "cancelled" && (c.fidelity_end_date ?? "") > sb.businessDate,
    );
    expect(inFidelity.length).toBeGreaterThan(0);
    for (const c of inFidelity) {
      const out = r.result.contracts.find((x) => x.contract_id === c.contract_id);
      const end = c.fidelity_end_date as string;
      const [y1, m1, d1] = sb.businessDate.split("-").map(Number);
      const [y2, m2, d2] = end.split("-").map(Number);
      const months = Math.min(c.fidelity_months, (y2 - y1) * 12 + (m2 - m1) - (d2 < d1 ? 1 : 0));
      expect(out?.fidelity_months_remaining).toBe(months);
      expect(out?.fidelity_fine_brl).toBeCloseTo((c.fidelity_fine_brl * months) / c.fidelity_months, 2);
    }
    const overdue = (await sb.systems.billing.listInvoices(id, { limit: 100 })).filter(
      (i) => i.status === "overdue",
    );
    for (const i of overdue) expect(r.result.open_debts.invoice_ids).toContain(i.invoice_id);
    expect(r.result.open_debts.total_brl).toBeGreaterThanOrEqual(
      Math.round(overdue.reduce((s, i) => s + i.amount_brl, 0) * 100) / 100 - 0.001,
    );
  });

  it("with billing down, the record says so (no exception)", async () => {
    const id = take("mobile_postpaid");
    const systems = await sb.http.connect({ retries: 0 });
    const box = open(systems);
    await login(box, id);
    sb.http.setFault("billing", { down: true });
    const r = await box.call("get_customer_profile", {});
    expectError(r, "system_unavailable", "billing");
  });
});

describe("explain_invoice", () => {
  it("explains an invoice line by line; the changes add up to the difference to the previous month", async () => {
    // A customer whose latest invoice has a line kind the previous one lacks (extra data, roaming, end of promotion).
    let chosen: { id: string; invoice: string } | null = null;
    for (const id of sb.scenarios.customers.mobile_postpaid) {
      if (used.has(id)) continue;
      const invs = await sb.systems.billing.listInvoices(id, { limit: 3 });
      if (invs.length < 2) continue;
      const [a, b] = await Promise.all([
        sb.systems.billing.getInvoice(invs[0].invoice_id),
        sb.systems.billing.getInvoice(invs[1].invoice_id),
      ]);
      const types = (x: typeof a) => new Set(x?.items.map((i) => i.item_type));
      const ta = types(a);
      const tb = types(b);
      if (
        a?.contract_id === b?.contract_id &&
        [...ta, ...tb].some((t) => t !== "tax" && ta.has(t) !== tb.has(t))
      ) {
        chosen = { id, invoice: invs[0].invoice_id };
        break;
      }
    }
    expect(chosen, "a customer with a changed invoice").not.toBeNull();
    if (!chosen) return;
    used.add(chosen.id);
    const box = open(sb.http.systems);
    await login(box, chosen.id);
    const r = await box.call("explain_invoice", { invoice_id: chosen.invoice });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const detail = await sb.systems.billing.getInvoice(chosen.invoice);
    expect(r.result.lines.map((l) => [l.line_no, l.amount_brl])).toEqual(
      detail?.items.map((i) => [i.line_no, i.amount_brl]),
    );
    expect((r.result.previous?.reference_month ?? "9") < r.result.invoice.reference_month).toBe(true);
    const sum = r.result.changes.reduce((s, c) => s + c.delta_brl, 0);
    expect(Math.round((sum + r.result.unexplained_brl) * 100) / 100).toBe(r.result.difference_brl);
    expect(Math.abs(r.result.unexplained_brl)).toBeLessThan(0.02);
    expect(r.result.changes.length).toBeGreaterThan(0);
    expect(
      r.result.changes.some((c) =>
        ["extra_data_package", "roaming", "promotion_ended", "discount"].includes(c.kind),
      ),
    ).toBe(true);
    // By month, the same invoice.
    const byMonth = await box.call("explain_invoice", {
      reference_month: r.result.invoice.reference_month.slice(0, 7),
    });
    expect(byMonth.ok && byMonth.result.invoice.invoice_id).toBe(chosen.invoice);
  });

  it("another customer's invoice is not found; billing down is system_unavailable", async () => {
    const me = take("mobile_postpaid");
    const other = take("overdue_invoice");
    const theirs = (await sb.systems.billing.listInvoices(other, { limit: 1 }))[0];
    const systems = await sb.http.connect({ retries: 0 });
    const box = open(systems);
    await login(box, me);
    expectError(await box.call("explain_invoice", { invoice_id: theirs.invoice_id }), "not_found");
    sb.http.setFault("billing", { down: true });
    expectError(await box.call("explain_invoice", {}), "system_unavailable", "billing");
  });
});

describe("issue_invoice_copy", () => {
  const copies = (invoiceId: string) =>
    count("select count(*) n from invoice_copies where invoice_id = ?", invoiceId);

  it("issues a boleto + Pix copy of the oldest unpaid invoice", async () => {
    const id = take("overdue_invoice");
    const box = open(sb.http.systems);
    await login(box, id);
    const r = await box.call("issue_invoice_copy", {});
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    if (!r.ok) return;
    const unpaid = (await sb.systems.billing.listInvoices(id, { limit: 100 }))
      .filter((i) => i.status === "open" || i.status === "overdue")
      .sort((a, b) => (a.due_date < b.due_date ? -1 : 1));
    expect(r.result.invoice_id).toBe(unpaid[0].invoice_id);
    expect(r.result.linha_digitavel.replace(/\D/g, "")).toHaveLength(47);
    expect(r.result.barcode).toHaveLength(44);
    expect(r.result.pix_copia_e_cola.startsWith("000201")).toBe(true);
    expect(r.result.amount_brl).toBeCloseTo(r.result.original_amount_brl + r.result.late_charges_brl, 2);
    expect(copies(r.result.invoice_id)).toBe(1);
  });

  it("refuses a paid invoice and writes nothing", async () => {
    const id = take("mobile_postpaid");
    const paid = (await sb.systems.billing.listInvoices(id, { limit: 100 })).find((i) => i.status === "paid");
    expect(paid).toBeDefined();
    const box = open(sb.http.systems);
    await login(box, id);
    expectError(await box.call("issue_invoice_copy", { invoice_id: paid?.invoice_id }), "invalid_state");
    expect(copies(paid?.invoice_id as string)).toBe(0);
  });

  it("a lost answer, then the retried turn: one copy", async () => {
    const id = take("overdue_invoice");
    const systems = await sb.http.connect({ retries: 0 });
    const box = open(systems);
    await login(box, id);
    sb.http.setFault("billing", { dropNext: 1 });
    const first = await box.call("issue_invoice_copy", {});
    expectError(first, "system_unavailable", "billing");
    const again = await box.call("issue_invoice_copy", {});
    expect(again.ok).toBe(true);
    if (!again.ok) return;
    expect(copies(again.result.invoice_id)).toBe(1);
    sb.http.setFault("billing", { down: true });
    expectError(await box.call("issue_invoice_copy", {}), "system_unavailable", "billing");
  });
});

describe("diagnose_internet", () => {
  const tests = (id: string) => count("select count(*) n from line_tests where customer_id = ?", id);

  it.each([
    ["regional_outage", "regional_outage", "wait_for_eta", 0],
    ["ont_los", "fiber_signal_loss", "technician", 1],
    ["degraded_line", "network_fault", "technician", 1],
    ["slow_speed", "speed_below_contracted", "guided_steps", 1],
    ["healthy_internet", "no_fault_found", "guided_steps", 1],
  ] as const)("%s → %s, %s", async (scenario, finding, next, lineTests) => {
    const id = take(scenario, (c) =>
      SCENARIO_NAMES.filter((s) => s !== scenario && s.match(/outage|los|degraded|slow|healthy/)).every(
        (s) => !inScenario(s, c),
      ),
    );
    const box = open(sb.http.systems);
    await login(box, id);
    const r = await box.call("diagnose_internet", {});
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    if (!r.ok) return;
    expect(r.result.finding).toBe(finding);
    expect(r.result.next_step).toBe(next);
    expect(tests(id)).toBe(lineTests);
    if (next === "wait_for_eta") {
      expect(r.result.eta).not.toBeNull();
      expect(r.result.checks).toEqual(["outage"]);
    } else expect(r.result.checks).toEqual(["outage", "line_status", "speed_tests", "line_test"]);
    if (next === "guided_steps") expect(r.result.guided_steps.length).toBeGreaterThan(0);
  });

  it("a customer without home internet: not applicable", async () => {
    let id: string | undefined;
    for (const c of sb.scenarios.customers.mobile_postpaid) {
      if (used.has(c)) continue;
      const contracts = await sb.systems.crm.listContracts(c);
      if (!contracts.some((x) => x.product === "fibra" || x.product === "combo")) {
        id = c;
        break;
      }
    }
    if (!id) throw new Error("no mobile-only customer");
    used.add(id);
    const box = open(sb.http.systems);
    await login(box, id);
    expectError(await box.call("diagnose_internet", {}), "not_applicable");
    expect(tests(id)).toBe(0);
  });

  it("a lost answer is retried with the same key (one test); a new diagnosis runs a new test; network down", async () => {
    const id = take("healthy_internet");
    const systems = await sb.http.connect({ retries: 0 });
    const box = open(systems);
    await login(box, id);
    sb.http.setFault("network", { dropNext: 1 });
    expectError(await box.call("diagnose_internet", {}), "system_unavailable", "network");
    expect(tests(id)).toBe(1);
    expect((await box.call("diagnose_internet", {})).ok).toBe(true);
    expect(tests(id)).toBe(1);
    expect((await box.call("diagnose_internet", {})).ok).toBe(true);
    expect(tests(id)).toBe(2);
    sb.http.setFault("network", { down: true });
    expectError(await box.call("diagnose_internet", {}), "system_unavailable", "network");
  });
});

describe("schedule_technician", () => {
  const bookings = (id: string) =>
    count("select count(*) n from bookings where customer_id = ? and status = 'booked'", id);

  it("offers slots, refuses an unoffered slot and a slot without consent, books the consented one once", async () => {
    const id = take("ont_los");
    const box = open(sb.http.systems);
    await login(box, id);
    expectError(await box.call("schedule_technician", { slot_id: "SLT-20990101-0-XX" }), "slot_not_offered");
    const listed = await box.call("schedule_technician", {});
    expect(listed.ok && listed.result.status).toBe("slots_offered");
    if (!listed.ok || listed.result.status !== "slots_offered") return;
    const slot = listed.result.slots[0].slot_id;
    expect(box.session.offered_slots).toContain(slot);
    expectError(await box.call("schedule_technician", { slot_id: slot }), "consent_required");
    expect(bookings(id)).toBe(0);
    // A consent for another slot is not a consent for this one.
    await box.recordConsent({ action: "schedule_technician", subject: listed.result.slots[1].slot_id });
    expectError(await box.call("schedule_technician", { slot_id: slot }), "consent_required");
    const consent = await box.recordConsent({ action: "schedule_technician", subject: slot });
    expect(consent.ok).toBe(true);
    expect(count("select count(*) n from consents where customer_id = ? and subject = ?", id, slot)).toBe(1);
    const snapshot = JSON.parse(JSON.stringify(box.session)) as ToolSession;
    const booked = await box.call("schedule_technician", { slot_id: slot, reason: "fiber_signal_loss" });
    expect(booked.ok && booked.result.status).toBe("booked");
    // The same turn replayed from the session as persisted before it: the same booking, not a second one.
    const replay = open(sb.http.systems, { session: parseToolSession(snapshot) });
    const again = await replay.call("schedule_technician", { slot_id: slot, reason: "fiber_signal_loss" });
    expect(again.ok && again.result.status === "booked" && again.result.booking_id).toBe(
      booked.ok && booked.result.status === "booked" && booked.result.booking_id,
    );
    expect(bookings(id)).toBe(1);
  });

  it("network down while booking: typed error and no booking", async () => {
    const id = take("degraded_line");
    const systems = await sb.http.connect({ retries: 0 });
    const box = open(systems);
    await login(box, id);
    const listed = await box.call("schedule_technician", {});
    if (!listed.ok || listed.result.status !== "slots_offered") throw new Error("no slots");
    const slot = listed.result.slots[0].slot_id;
    await box.recordConsent({ action: "schedule_technician", subject: slot });
    sb.http.setFault("network", { down: true });
    expectError(await box.call("schedule_technician", { slot_id: slot }), "system_unavailable", "network");
    expect(bookings(id)).toBe(0);
  });
});

describe("get_eligible_offers and apply_offer", () => {
  const applied = (id: string) => count("select count(*) n from applied_offers where customer_id = ?", id);

  /** A customer for whom the rules allow at least one agent-approved offer now, logged in. */
  async function customerWithOffers(systems: OperatorSystems) {
    for (const id of sb.scenarios.customers.mobile_postpaid) {
      if (used.has(id)) continue;
      const box = open(systems);
      await login(box, id);
      const r = await box.call("get_eligible_offers", {});
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      const offer = r.result.offers.find((o) => o.approval === "agent");
      if (offer) {
        used.add(id);
        return { id, box, decision: r.result, offer };
      }
    }
    throw new Error("no customer with an allowed offer");
  }

  it("lists only what the rules engine allowed and records the decision", async () => {
    const { id, box, decision } = await customerWithOffers(sb.http.systems);
    const recorded = await sb.systems.offers.getDecision(decision.decision_id);
    expect(recorded?.customer_id).toBe(id);
    expect(recorded?.session_id).toBe(box.session.session_id);
    expect(decision.offers.map((o) => o.offer_id)).toEqual(recorded?.allowed.map((a) => a.offer_id));
    expect(box.session.offer_decisions.at(-1)?.offer_ids).toEqual(recorded?.allowed.map((a) => a.offer_id));
  });

  it("applies an allowed offer only with this session's consent, once, even when the turn is retried", async () => {
    const systems = await sb.http.connect({ retries: 0 });
    const { id, box, offer } = await customerWithOffers(systems);
    expectError(await box.call("apply_offer", { offer_id: offer.offer_id }), "consent_required");
    expect(applied(id)).toBe(0);
    await box.recordConsent({ action: "apply_offer", subject: offer.offer_id });
    sb.http.setFault("offers", { dropNext: 1 });
    expectError(await box.call("apply_offer", { offer_id: offer.offer_id }), "system_unavailable", "offers");
    expect(applied(id)).toBe(1); // applied, answer lost
    const again = await box.call("apply_offer", { offer_id: offer.offer_id });
    expect(again.ok, JSON.stringify(again.error)).toBe(true);
    expect(applied(id)).toBe(1);
    if (again.ok) expect(again.result.consent_id).toBe(box.session.consents.at(-1)?.consent_id);
  });

  it("refuses an offer no decision of this session allowed, and another session's decision", async () => {
    const { id, box, decision } = await customerWithOffers(sb.http.systems);
    const notAllowed = ["RET-DESC10", "RET-DESC20", "RET-DESC30", "RET-UPGRADE", "RET-BONUS-GB"].find(
      (o) => !decision.offers.some((x) => x.offer_id === o),
    ) as string;
    await box.recordConsent({ action: "apply_offer", subject: notAllowed });
    expectError(await box.call("apply_offer", { offer_id: notAllowed }), "offer_not_allowed");
    expectError(await box.call("apply_offer", { offer_id: "RET-INVENTED" }), "offer_not_allowed");
    // A new conversation of the same customer, with a consent but without its own decision.
    const other = open(sb.http.systems);
    await login(other, id);
    const offerId = decision.offers[0].offer_id;
    await other.recordConsent({ action: "apply_offer", subject: offerId });
    expectError(
      await other.call("apply_offer", { offer_id: offerId, decision_id: decision.decision_id }),
      "offer_not_allowed",
    );
    expect(applied(id)).toBe(0);
    expect(audit.filter((e) => e.code === "offer_not_allowed" && e.customer_id === id).length).toBe(3);
  });

  it("offers down: typed error", async () => {
    const id = take("mobile_postpaid");
    const systems = await sb.http.connect({ retries: 0 });
    const box = open(systems);
    await login(box, id);
    sb.http.setFault("offers", { down: true });
    expectError(await box.call("get_eligible_offers", {}), "system_unavailable", "offers");
    expect(box.session.offer_decisions).toHaveLength(0);
  });
});

describe("recommend_plan and change_plan", () => {
  it("recommends the cheapest plan that covers the last 3 months of usage", async () => {
    const catalog = await sb.systems.offers.catalog();
    for (const id of sb.scenarios.customers.mobile_postpaid) {
      if (used.has(id)) continue;
      const contracts = await sb.systems.crm.listContracts(id);
      if (contracts.some((c) => c.status === "active" && (c.product === "fibra" || c.product === "combo")))
        continue;
      used.add(id);
      const box = open(sb.http.systems);
      await login(box, id);
      const r = await box.call("recommend_plan", {});
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
      if (!r.ok) return;
      const usage = await sb.systems.billing.listUsage(id, { months: 3 });
      const max = Math.max(...usage.slice(0, 3).map((u) => u.data_gb));
      expect(r.result.usage.months).toHaveLength(Math.min(3, usage.length));
      const mobile = catalog.plans.filter(
        (p) => p.product === "mobile_controle" || p.product === "mobile_pos",
      );
      const fits = mobile.filter((p) => (p.data_gb ?? 0) >= r.result.usage.needed_data_gb);
      expect(r.result.usage.needed_data_gb).toBeCloseTo(max * 1.1, 1);
      if (fits.length) {
        const cheapest = Math.min(...fits.map((p) => p.monthly_price_brl));
        expect(r.result.recommended.monthly_price_brl).toBeLessThanOrEqual(
          Math.max(
            cheapest,
            r.result.current.plan_id === r.result.recommended.plan_id
              ? r.result.recommended.monthly_price_brl
              : cheapest,
          ),
        );
        expect(r.result.recommended.data_gb ?? 0).toBeGreaterThanOrEqual(r.result.usage.needed_data_gb);
      }
      const contract = contracts.find((c) => c.contract_id === r.result.contract_id);
      const diff =
        r.result.recommended.plan_id === contract?.plan_id
          ? 0
          : r.result.recommended.monthly_price_brl - (contract?.monthly_price_brl ?? 0);
      expect(r.result.monthly_difference_brl).toBeCloseTo(diff, 2);
      return;
    }
    throw new Error("no mobile-only postpaid customer");
  });

  it("changes the plan only after consent for that plan, once even when retried", async () => {
    const id = take("mobile_postpaid", (c) => !inScenario("regional_outage", c));
    const contracts = await sb.systems.crm.listContracts(id);
    const mobile = contracts.find(
      (c) => c.status === "active" && (c.product === "mobile_pos" || c.product === "mobile_controle"),
    );
    if (!mobile) throw new Error("no mobile contract");
    const target = mobile.plan_id === "POS100" ? "POS50" : "POS100";
    const changes = () =>
      count("select count(*) n from plan_changes where contract_id = ?", mobile.contract_id);
    const systems = await sb.http.connect({ retries: 0 });
    const box = open(systems);
    await login(box, id);
    expectError(
      await box.call("change_plan", { to_plan_id: target, contract_id: mobile.contract_id }),
      "consent_required",
    );
    await box.recordConsent({ action: "change_plan", subject: "CTRL25" });
    expectError(
      await box.call("change_plan", { to_plan_id: target, contract_id: mobile.contract_id }),
      "consent_required",
    );
    expect(changes()).toBe(0);
    expectError(await box.call("change_plan", { to_plan_id: "NOPE" }), "not_found");
    await box.recordConsent({ action: "change_plan", subject: target });
    sb.http.setFault("offers", { dropNext: 1 });
    expectError(
      await box.call("change_plan", { to_plan_id: target, contract_id: mobile.contract_id }),
      "system_unavailable",
      "offers",
    );
    const again = await box.call("change_plan", { to_plan_id: target, contract_id: mobile.contract_id });
    expect(again.ok, JSON.stringify(again.error)).toBe(true);
    expect(changes()).toBe(1);
    if (again.ok) {
      expect(again.result).toMatchObject({
        from_plan_id: mobile.plan_id,
        to_plan_id: target,
        old_price_brl: mobile.monthly_price_brl,
      });
      expect(again.result.monthly_difference_brl).toBeCloseTo(
        again.result.new_price_brl - again.result.old_price_brl,
        2,
      );
    }
    sb.http.setFault("billing", { down: true });
    expectError(await box.call("recommend_plan", {}), "system_unavailable", "billing");
  });
});

describe("search_knowledge_base", () => {
  it("returns passages with citations from the RAG index", async () => {
    const box = open(sb.http.systems);
    const r = await box.call("search_knowledge_base", {
      query: "como funciona o roaming internacional?",
      k: 3,
    });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    if (!r.ok) return;
    expect(r.result.results.length).toBeGreaterThan(0);
    expect(r.result.results.length).toBeLessThanOrEqual(3);
    const top = r.result.results[0];
    expect(top.citation).toBe(`${top.doc_id}#${top.chunk_id.slice(0, 12)}`);
    expect(r.result.results.some((x) => /roaming/i.test(x.text + x.title))).toBe(true);
  });

  it("a failing knowledge base is system_unavailable; bad input is invalid_input", async () => {
    const broken: KnowledgeSearch = {
      search: async () => {
        throw new Error("index unreadable");
      },
    };
    const box = open(sb.http.systems, { knowledge: broken });
    expectError(
      await box.call("search_knowledge_base", { query: "roaming" }),
      "system_unavailable",
      "knowledge",
    );
    const bad = await box.call("search_knowledge_base", { query: "" });
    expectError(bad, "invalid_input");
    expect(bad.error?.field).toBe("query");
  });
});

describe("register_interaction and escalate_to_human", () => {
  const interactions = (id: string, session: string) =>
    count("select count(*) n from interactions where customer_id = ? and session_id = ?", id, session);

  it("records the interaction with a new protocol, once per content even when retried", async () => {
    const id = take("mobile_postpaid");
    const systems = await sb.http.connect({ retries: 0 });
    const box = open(systems);
    await login(box, id);
    const args = {
      category: "invoice_explanation",
      summary: "Customer asked why the March invoice was higher; explained the extra data package.",
      sentiment: "neutral",
      outcome: "resolved",
    } as const;
    sb.http.setFault("crm", { dropNext: 1 });
    expectError(await box.call("register_interaction", args), "system_unavailable", "crm");
    const r = await box.call("register_interaction", args);
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    expect(interactions(id, box.session.session_id)).toBe(1);
    expect(
      count("select count(*) n from protocols where customer_id = ? and kind = 'invoice_explanation'", id),
    ).toBe(1);
    if (r.ok) {
      const stored = (await sb.systems.crm.listInteractions(id, { limit: 5 })).find(
        (i) => i.interaction_id === r.result.interaction_id,
      );
      expect(stored).toMatchObject({ channel: "chat", outcome: "resolved", protocol: r.result.protocol });
    }
    // Offers that were not made in this session cannot be recorded as made.
    expectError(
      await box.call("register_interaction", { ...args, summary: "other", offers_made: ["RET-DESC30"] }),
      "invalid_input",
    );
    expect(interactions(id, box.session.session_id)).toBe(1);
  });

  it("cancel_requested registers the cancellation at once, with its protocol, once even when retried", async () => {
    // Not a customer the diagnosis scenarios need (there are few of those in a 300-customer sandbox).
    const id = take("fidelity_active", (c) =>
      (["regional_outage", "ont_los", "degraded_line", "slow_speed", "healthy_internet"] as const).every(
        (x) => !inScenario(x, c),
      ),
    );
    const systems = await sb.http.connect({ retries: 0 });
    const box = open(systems);
    await login(box, id);
    const active = (await sb.systems.crm.listContracts(id)).filter((c) => c.status === "active");
    const args = {
      category: "cancellation",
      summary: "Customer insisted on cancelling (reason: price); offers declined.",
      sentiment: "negative",
      outcome: "cancel_requested",
    } as const;
    sb.http.setFault("crm", { dropNext: 1 });
    expectError(await box.call("register_interaction", args), "system_unavailable", "crm");
    const r = await box.call("register_interaction", args);
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    if (!r.ok) return;
    expect(count("select count(*) n from cancellations where customer_id = ?", id)).toBe(1);
    expect(r.result.cancellation?.contract_ids.sort()).toEqual(active.map((c) => c.contract_id).sort());
    const stored = await sb.systems.crm.listContracts(id);
    expect(stored.filter((c) => c.status === "active")).toEqual([]);
    expect(
      count(
        "select count(*) n from protocols where protocol = ? and kind = 'cancellation'",
        r.result.protocol,
      ),
    ).toBe(1);
    expect(interactions(id, box.session.session_id)).toBe(1);
  });

  it("escalates with a protocol for an identified customer, without one before identification", async () => {
    const anon = open(sb.http.systems);
    const a = await anon.call("escalate_to_human", { reason: "customer_request", summary: "wants a person" });
    expect(a.ok && a.result).toMatchObject({ customer_id: null, protocol: null, queue: "support" });
    const id = take("mobile_postpaid");
    const box = open(sb.http.systems);
    await login(box, id);
    const args = { reason: "complaint", topic: "billing", summary: "disputes a roaming charge" } as const;
    const r = await box.call("escalate_to_human", args);
    expect(r.ok && r.result).toMatchObject({ customer_id: id, queue: "billing", priority: "high" });
    const again = await box.call("escalate_to_human", args);
    expect(again.ok && again.result.protocol).toBe(r.ok && r.result.protocol);
    expect(count("select count(*) n from protocols where customer_id = ? and kind = 'handoff'", id)).toBe(1);
  });
});

describe("the tools as an AI SDK tool set", () => {
  it("a model's tool call goes through the same checks (a forbidden id comes back as a typed error)", async () => {
    const me = take("mobile_postpaid");
    const other = take("mobile_postpaid");
    const box = open(sb.http.systems);
    await login(box, me);
    const usage = {
      inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
      outputTokens: { total: 1, text: 1, reasoning: 0 },
    };
    const model = new MockLanguageModelV4({
      doGenerate: [
        {
          content: [
            {
              type: "tool-call",
              toolCallId: "c1",
              toolName: "get_customer_profile",
              input: JSON.stringify({ customer_id: other }),
            },
            { type: "tool-call", toolCallId: "c2", toolName: "get_customer_profile", input: "{}" },
          ],
          finishReason: { unified: "tool-calls", raw: "tool_calls" },
          usage,
          warnings: [],
        },
        {
          content: [{ type: "text", text: "ok" }],
          finishReason: { unified: "stop", raw: "stop" },
          usage,
          warnings: [],
        },
      ],
    });
    const res = await generateText({ model, tools: box.tools, prompt: "perfil", stopWhen: stepCountIs(3) });
    const results = res.steps[0].toolResults;
    const byId = Object.fromEntries(results.map((t) => [t.toolCallId, t.output as Record<string, unknown>]));
    expect(byId.c1).toMatchObject({ ok: false, error: { code: "forbidden" } });
    expect(byId.c2).toMatchObject({ customer_id: me });
    expect(Object.keys(box.tools).sort()).toEqual([...TOOL_NAMES].sort());
  });
});

describe("get_churn_risk", () => {
  it("with the test service: probability, band and reasons largest first; another id is refused", async () => {
    const id = take("mobile_postpaid");
    const box = open(sb.http.systems);
    await login(box, id);
    const r = await box.call("get_churn_risk", {});
    expect(r.ok && r.result).toMatchObject({
      customer_id: id,
      available: true,
      band: "high",
      probability: 0.81,
    });
    if (r.ok) expect(r.result.reasons.map((x) => x.feature)).toEqual(["fidelity_months_left", "tickets_90d"]);
    expectError(await box.call("get_churn_risk", { customer_id: take("mobile_postpaid") }), "forbidden");
  });

  it("a churn service that fails is system_unavailable (churn)", async () => {
    const id = take("mobile_postpaid");
    const box = open(sb.http.systems, {
      churn: {
        risk: async () => {
          throw new Error("ECONNREFUSED 127.0.0.1:8080");
        },
      },
    });
    await login(box, id);
    expectError(await box.call("get_churn_risk", {}), "system_unavailable", "churn");
  });
});

describe("in-process systems", () => {
  it("the same tools over the in-process sandbox give the same facts", async () => {
    const id = take("healthy_internet");
    const viaHttp = open(sb.http.systems);
    const inProc = open(sb.systems);
    await login(viaHttp, id);
    await login(inProc, id);
    const a = await viaHttp.call("get_customer_profile", {});
    const b = await inProc.call("get_customer_profile", {});
    expect(a.ok && b.ok).toBe(true);
    expect(a.result).toEqual(b.result);
    const d = await inProc.call("diagnose_internet", {});
    expect(d.ok && d.result.finding).toBe("no_fault_found");
  });
});
