import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBarcode, validateLinhaDigitavel } from "../../platform/formats/boleto.ts";
import { validatePix } from "../../platform/formats/pix.ts";
import { type OperatorSystems, SystemRejectedError } from "../../platform/ports/operator-systems.ts";
import { OPERATOR_CATALOG_PATH } from "../../platform/sandbox/catalog.ts";
import { type SandboxFixture, sandboxFixture } from "./sandbox-fixture.ts";

/**
 * One contract per port, run with the same cases against the in-process services and the HTTP
 * connectors (through the sandbox server). Each mode starts from a freshly seeded store.
 */
let sb: SandboxFixture;
beforeAll(async () => {
  sb = await sandboxFixture();
});
afterAll(async () => {
  await sb.cleanup();
});

/** Awaits a refusal and returns it (fails the test when the call succeeds or fails otherwise). */
async function refusal(p: Promise<unknown>): Promise<SystemRejectedError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SystemRejectedError) return err;
    throw err;
  }
  throw new Error("expected a SystemRejectedError, the call succeeded");
}

const MODES = ["in-process", "http"] as const;

describe.each(MODES)("operator systems contract (%s)", (mode) => {
  let sys: OperatorSystems;
  let k = 0;
  const key = (what: string) => `${mode}-${what}-${++k}`;
  beforeAll(async () => {
    await sb.reseed();
    sys = mode === "http" ? sb.http.systems : sb.systems;
  });

  it("reports the business date of the delivery (end of its last month)", async () => {
    expect(await sys.businessDate()).toBe("2025-12-31");
    expect(sys.mode).toBe(mode);
  });

  describe("CRM", () => {
    it("returns a profile by id, and null for an unknown id", async () => {
      const id = sb.scenarios.customers.healthy_internet[0] as string;
      const p = await sys.crm.getCustomer(id);
      expect(p?.customer_id).toBe(id);
      expect(p?.status).toBe("active");
      expect(p?.cpf).toMatch(/^\d{3}\.\d{3}\.\d{3}-\d{2}$/);
      expect(await sys.crm.getCustomer("AUR-99999999")).toBeNull();
      const gone = sb.scenarios.customers.cancelled[0] as string;
      expect((await sys.crm.getCustomer(gone))?.status).toBe("cancelled");
    });

    it("finds a customer by CPF (any format) and by phone (+55, any format), and verifies identity", async () => {
      const id = sb.scenarios.customers.mobile_postpaid[0] as string;
      const p = (await sys.crm.getCustomer(id)) as NonNullable<
        Awaited<ReturnType<typeof sys.crm.getCustomer>>
      >;
      expect((await sys.crm.findCustomer({ cpf: p.cpf }))?.customer_id).toBe(id);
      expect((await sys.crm.findCustomer({ cpf: p.cpf.replace(/\D/g, "") }))?.customer_id).toBe(id);
      const digits = p.phone.replace(/\D/g, "");
      expect(
        (await sys.crm.findCustomer({ phone: `+55 ${digits.slice(0, 2)} ${digits.slice(2)}` }))?.customer_id,
      ).toBe(id);
      expect(await sys.crm.findCustomer({ cpf: "000.000.000-00" })).toBeNull();
      expect((await refusal(sys.crm.findCustomer({ cpf: "123" }))).status).toBe(422);
      expect(await sys.crm.verifyIdentity({ cpf: p.cpf, birth_date: p.birth_date })).toBe(id);
      expect(await sys.crm.verifyIdentity({ cpf: p.cpf, birth_date: "1900-01-01" })).toBeNull();
    });

    it("issues a 6-digit login code valid for 10 minutes, once per key, usable once", async () => {
      const id = sb.scenarios.customers.mobile_postpaid[1] as string;
      const k1 = key("code");
      const a = await sys.crm.issueLoginCode(id, { idempotencyKey: k1 });
      expect(a.code).toMatch(/^\d{6}$/);
      expect(a.expires_at.slice(0, 10) >= "2025-12-31").toBe(true);
      const again = await sys.crm.issueLoginCode(id, { idempotencyKey: k1 });
      expect(again).toEqual(a);
      const wrong = a.code === "000000" ? "000001" : "000000";
      expect(await sys.crm.verifyLoginCode(id, wrong)).toBe(false);
      expect(await sys.crm.verifyLoginCode(id, a.code)).toBe(true);
      expect(await sys.crm.verifyLoginCode(id, a.code)).toBe(false);
    });

    it("lists contracts, and refuses an unknown customer with 404", async () => {
      const id = sb.scenarios.customers.fidelity_active[0] as string;
      const cs = await sys.crm.listContracts(id);
      expect(cs.length).toBeGreaterThan(0);
      expect(cs.every((c) => c.customer_id === id)).toBe(true);
      expect(cs.some((c) => (c.fidelity_end_date ?? "") > "2025-12-31")).toBe(true);
      const r = await refusal(sys.crm.listContracts("AUR-99999999"));
      expect([r.status, r.code]).toEqual([404, "customer_not_found"]);
    });

    it("records an interaction once per key, with a protocol, newest first in the history and in the export", async () => {
      const id = sb.scenarios.customers.slow_speed[0] as string;
      const input = {
        customer_id: id,
        channel: "chat" as const,
        category: "tecnico_internet",
        summary: `slow internet (${mode})`,
        sentiment: "negative" as const,
        outcome: "resolved" as const,
        offers_made: ["RET-UPGRADE"],
        offer_accepted: null,
        session_id: "S1",
      };
      const k1 = key("int");
      const a = await sys.crm.recordInteraction(input, { idempotencyKey: k1 });
      const b = await sys.crm.recordInteraction(input, { idempotencyKey: k1 });
      expect(b).toEqual(a);
      expect(a.protocol).toMatch(/^AUR20251231\d{8}$/);
      const history = await sys.crm.listInteractions(id);
      expect(history[0]?.interaction_id).toBe(a.interaction_id);
      expect(history.filter((i) => i.summary === input.summary)).toHaveLength(1);
      const exported = await sys.crm.exportInteractions({ since: "2025-12-31" });
      expect(exported.map((i) => i.interaction_id)).toContain(a.interaction_id);
      expect(exported.every((i) => i.created_at >= "2025-12-31")).toBe(true);
      // The same key with another request is refused, not silently replayed.
      const reused = await refusal(
        sys.crm.recordInteraction({ ...input, summary: "other" }, { idempotencyKey: k1 }),
      );
      expect([reused.status, reused.code]).toEqual([409, "idempotency_key_reused"]);
      const bad = await refusal(
        sys.crm.recordInteraction({ ...input, offer_accepted: "RET-DESC10" }, { idempotencyKey: key("int") }),
      );
      expect(bad.status).toBe(422);
    });

    it("opens protocols, records consents and changes contact data", async () => {
      const id = sb.scenarios.customers.mobile_postpaid[2] as string;
      const p = await sys.crm.openProtocol(
        { customer_id: id, kind: "complaint", summary: "x" },
        { idempotencyKey: key("p") },
      );
      expect(p.protocol).toMatch(/^AUR20251231\d{8}$/);
      const c = await sys.crm.recordConsent(
        { customer_id: id, session_id: "S2", action: "change_plan", subject: "POS100" },
        { idempotencyKey: key("c") },
      );
      expect(await sys.crm.getConsent(c.consent_id)).toEqual(c);
      expect(await sys.crm.getConsent("CNS-999999999")).toBeNull();
      const updated = await sys.crm.updateContactData(
        id,
        { phone: "+55 11 98765-4321", email: "Cliente@Example.com" },
        { idempotencyKey: key("u") },
      );
      expect(updated.phone).toBe("(11) 98765-4321");
      expect(updated.email).toBe("cliente@example.com");
      expect((await sys.crm.findCustomer({ phone: "11987654321" }))?.customer_id).toBe(id);
      const bad = await refusal(
        sys.crm.updateContactData(id, { email: "not-an-email" }, { idempotencyKey: key("u") }),
      );
      expect([bad.status, bad.code]).toEqual([422, "invalid_email"]);
    });

    it("registers a cancellation at once with a protocol, effective within 48 h, and never twice", async () => {
      const id = sb.scenarios.customers.fidelity_active[1] as string;
      const c = await sys.crm.requestCancellation(
        { customer_id: id, reason: "preco" },
        { idempotencyKey: key("x") },
      );
      expect(c.protocol).toMatch(/^AUR20251231\d{8}$/);
      expect(c.contract_ids.length).toBeGreaterThan(0);
      const hours = (Date.parse(c.effective_by) - Date.parse(c.requested_at)) / 3_600_000;
      expect(hours).toBeGreaterThan(0);
      expect(hours).toBeLessThanOrEqual(48);
      const contracts = await sys.crm.listContracts(id);
      for (const cid of c.contract_ids)
        expect(contracts.find((x) => x.contract_id === cid)?.status).toBe("cancel_requested");
      const again = await refusal(
        sys.crm.requestCancellation({ customer_id: id, reason: "preco" }, { idempotencyKey: key("x") }),
      );
      expect([again.status, again.code]).toEqual([409, "nothing_to_cancel"]);
      expect(again.message).toContain(c.protocol);
    });
  });

  describe("billing", () => {
    it("lists invoices newest first, with line items that add up to the amount", async () => {
      const id = sb.scenarios.customers.overdue_invoice[0] as string;
      const list = await sys.billing.listInvoices(id, { limit: 3 });
      expect(list.length).toBeGreaterThan(0);
      expect(list.length).toBeLessThanOrEqual(3);
      const months = list.map((i) => i.reference_month);
      expect([...months].sort().reverse()).toEqual(months);
      const detail = await sys.billing.getInvoice(list[0]?.invoice_id as string);
      const sum = (detail?.items ?? []).reduce((s, i) => s + i.amount_brl, 0);
      expect(Math.abs(sum - (detail?.amount_brl ?? 0))).toBeLessThan(0.011);
      expect(await sys.billing.getInvoice("INV-209901-00000001")).toBeNull();
    });

    it("issues a second copy of an overdue invoice with late charges, a valid linha digitável and Pix", async () => {
      const id = sb.scenarios.customers.overdue_invoice[1] as string;
      const inv = (await sys.billing.listInvoices(id, { limit: 24 })).find((i) => i.status === "overdue");
      expect(inv).toBeDefined();
      const k1 = key("copy");
      const copy = await sys.billing.issueCopy(inv?.invoice_id as string, { idempotencyKey: k1 });
      expect(await sys.billing.issueCopy(inv?.invoice_id as string, { idempotencyKey: k1 })).toEqual(copy);
      expect(copy.original_amount_brl).toBe(inv?.amount_brl);
      expect(copy.late_charges_brl).toBeGreaterThan(0);
      expect(copy.amount_brl).toBeCloseTo((inv?.amount_brl ?? 0) + copy.late_charges_brl, 2);
      expect(copy.due_date > "2025-12-31").toBe(true);
      const linha = validateLinhaDigitavel(copy.linha_digitavel);
      expect(linha.ok).toBe(true);
      const bar = parseBarcode(copy.barcode, { referenceDate: "2025-12-31" });
      expect(bar.amountBrl).toBeCloseTo(copy.amount_brl, 2);
      expect(bar.dueDate).toBe(copy.due_date);
      const pix = validatePix(copy.pix_copia_e_cola);
      expect(pix.ok).toBe(true);
      if (pix.ok) expect(pix.pix.amountBrl).toBeCloseTo(copy.amount_brl, 2);
    });

    it("refuses a copy of a paid invoice (409) and of an unknown one (404)", async () => {
      const id = sb.scenarios.customers.healthy_internet[1] as string;
      const paid = (await sys.billing.listInvoices(id)).find((i) => i.status === "paid");
      expect(
        (await refusal(sys.billing.issueCopy(paid?.invoice_id as string, { idempotencyKey: key("c") })))
          .status,
      ).toBe(409);
      expect(
        (await refusal(sys.billing.issueCopy("INV-209901-00000001", { idempotencyKey: key("c") }))).status,
      ).toBe(404);
    });

    it("opens a dispute once per invoice and marks an unpaid invoice disputed", async () => {
      const id = sb.scenarios.customers.overdue_invoice[2] as string;
      const inv = (await sys.billing.listInvoices(id, { limit: 24 })).find((i) => i.status === "overdue");
      const d = await sys.billing.openDispute(
        { invoice_id: inv?.invoice_id as string, customer_id: id, reason: "valor_incorreto" },
        { idempotencyKey: key("d") },
      );
      expect(d.status).toBe("open");
      expect((await sys.billing.listDisputes(id)).map((x) => x.dispute_id)).toContain(d.dispute_id);
      expect((await sys.billing.getInvoice(inv?.invoice_id as string))?.status).toBe("disputed");
      const again = await refusal(
        sys.billing.openDispute(
          { invoice_id: inv?.invoice_id as string, customer_id: id, reason: "valor_incorreto" },
          { idempotencyKey: key("d") },
        ),
      );
      expect([again.status, again.code]).toEqual([409, "dispute_already_open"]);
      const other = sb.scenarios.customers.healthy_internet[2] as string;
      const notOwned = await refusal(
        sys.billing.openDispute(
          { invoice_id: inv?.invoice_id as string, customer_id: other, reason: "x" },
          { idempotencyKey: key("d") },
        ),
      );
      expect(notOwned.status).toBe(422);
    });

    it("lists payments and usage, newest first", async () => {
      const id = sb.scenarios.customers.mobile_postpaid[3] as string;
      const usage = await sys.billing.listUsage(id, { months: 3 });
      expect(usage).toHaveLength(3);
      expect(usage[0]?.month > (usage[2]?.month ?? "")).toBe(true);
      const payments = await sys.billing.listPayments(id);
      expect(payments.length).toBeGreaterThan(0);
      expect(payments.every((p) => p.customer_id === id)).toBe(true);
    });
  });

  describe("network", () => {
    it("shows a regional outage with an ETA, the line down with ONT LOS, and a network line test", async () => {
      const id = sb.scenarios.customers.regional_outage[0] as string;
      const p = await sys.crm.getCustomer(id);
      const now = `${await sys.businessDate()}T12:00:00Z`;
      const outages = await sys.network.listOutages({ uf: p?.uf as string, city: p?.city, activeAt: now });
      const active = outages.find((o) => o.ended_at === null);
      expect(active?.city).toBe(p?.city);
      expect(Date.parse(active?.eta as string)).toBeGreaterThan(Date.parse(now));
      const lines = await sys.network.getLineStatus(id);
      expect(lines.some((l) => l.line === "down" && l.ont === "los")).toBe(true);
      const test = await sys.network.runLineTest(id, { idempotencyKey: key("lt") });
      expect(test.result).toBe("network");
    });

    it("tells ONT LOS, degraded line, slow speed and a healthy line apart", async () => {
      const c = sb.scenarios.customers;
      const los = await sys.network.getLineStatus(c.ont_los[0] as string);
      expect(los.some((l) => l.ont === "los")).toBe(true);
      const deg = await sys.network.getLineStatus(c.degraded_line[0] as string);
      expect(deg.some((l) => l.line === "degraded")).toBe(true);
      const slow = c.slow_speed[0] as string;
      const tests = await sys.network.listSpeedTests(slow, { limit: 3 });
      expect(tests).toHaveLength(3);
      for (const t of tests) expect(t.download_mbps / t.contracted_mbps).toBeLessThan(0.8);
      expect((await sys.network.getLineStatus(slow)).every((l) => l.line === "up")).toBe(true);
      expect((await sys.network.runLineTest(slow, { idempotencyKey: key("lt") })).result).toBe(
        "customer_side",
      );
      const ok = c.healthy_internet[3] as string;
      expect((await sys.network.runLineTest(ok, { idempotencyKey: key("lt") })).result).toBe("ok");
      const degTest = await sys.network.runLineTest(c.degraded_line[0] as string, {
        idempotencyKey: key("lt"),
      });
      expect(degTest.result).toBe("network");
    });

    it("lists free technician slots after the business date, books one, refuses a second, cancels", async () => {
      const id = sb.scenarios.customers.ont_los[0] as string;
      const slots = await sys.network.listTechnicianSlots({ customer_id: id, days: 7 });
      expect(slots.length).toBeGreaterThan(0);
      // Monday to Saturday, no national holiday (the business date is 2025-12-31: 2026-01-01 is one).
      expect(slots.every((s) => new Date(`${s.date}T00:00:00Z`).getUTCDay() !== 0)).toBe(true);
      expect(slots.some((s) => s.date === "2026-01-01")).toBe(false);
      expect(
        slots.every((s) => s.date > "2025-12-31" && ["08:00-12:00", "12:00-18:00"].includes(s.window)),
      ).toBe(true);
      const slot = slots[0] as (typeof slots)[number];
      const b = await sys.network.bookTechnician(
        { customer_id: id, slot_id: slot.slot_id, reason: "ONT LOS" },
        { idempotencyKey: key("b") },
      );
      expect([b.status, b.date, b.window]).toEqual(["booked", slot.date, slot.window]);
      expect((await sys.network.listBookings(id))[0]?.booking_id).toBe(b.booking_id);
      const second = await refusal(
        sys.network.bookTechnician(
          { customer_id: id, slot_id: (slots[1] ?? slot).slot_id, reason: "again" },
          { idempotencyKey: key("b") },
        ),
      );
      expect(second.status).toBe(409);
      const cancelled = await sys.network.cancelBooking(b.booking_id, { idempotencyKey: key("cb") });
      expect(cancelled.status).toBe("cancelled");
      expect(
        (await refusal(sys.network.cancelBooking(b.booking_id, { idempotencyKey: key("cb") }))).status,
      ).toBe(409);
      // A slot of another region is refused.
      const elsewhere = (
        await sys.network.listTechnicianSlots({
          customer_id: sb.scenarios.customers.regional_outage[0] as string,
        })
      )
        .map((s) => s.slot_id)
        .find((s) => !slots.some((x) => x.slot_id === s));
      if (elsewhere) {
        const r = await refusal(
          sys.network.bookTechnician(
            { customer_id: id, slot_id: elsewhere, reason: "x" },
            { idempotencyKey: key("b") },
          ),
        );
        expect(r.status).toBe(422);
      }
      expect(
        (
          await refusal(
            sys.network.bookTechnician(
              { customer_id: id, slot_id: "nope", reason: "x" },
              { idempotencyKey: key("b") },
            ),
          )
        ).code,
      ).toBe("invalid_slot");
    });
  });

  describe("offers", () => {
    it("serves the catalog file, versioned by its content hash", async () => {
      const cat = await sys.offers.catalog();
      const bytes = readFileSync(OPERATOR_CATALOG_PATH);
      const file = JSON.parse(bytes.toString("utf8")) as { plans: { plan_id: string }[] };
      expect(cat.version).toBe(createHash("sha256").update(bytes).digest("hex").slice(0, 12));
      expect(cat.plans.map((p) => p.plan_id)).toEqual(file.plans.map((p) => p.plan_id));
      expect(cat.retention_offers.find((o) => o.offer_id === "RET-DESC30")?.approval).toBe("supervisor");
    });

    it("applies only an offer this customer's recorded decision allowed, with consent, and never stacks", async () => {
      const id = sb.scenarios.customers.healthy_internet[4] as string;
      const other = sb.scenarios.customers.healthy_internet[5] as string;
      const contract = (await sys.crm.listContracts(id)).find((c) => c.status === "active");
      const decision = await sys.offers.recordDecision(
        {
          customer_id: id,
          session_id: "S3",
          rules_version: "test-1",
          churn_model_version: null,
          inputs: { churn_band: "high" },
          allowed: [
            { offer_id: "RET-DESC10", rule_id: "r1", terms: { pct: 10 } },
            { offer_id: "RET-UPGRADE", rule_id: "r2", terms: {} },
          ],
          rejected: [{ offer_id: "RET-DESC30", reasons: ["tenure"] }],
        },
        { idempotencyKey: key("dec") },
      );
      expect(await sys.offers.getDecision(decision.decision_id)).toEqual(decision);
      expect((await sys.offers.listDecisions(id))[0]?.decision_id).toBe(decision.decision_id);
      const consent = await sys.crm.recordConsent(
        { customer_id: id, session_id: "S3", action: "apply_offer", subject: "RET-DESC10" },
        { idempotencyKey: key("c") },
      );
      const base = {
        customer_id: id,
        contract_id: contract?.contract_id as string,
        decision_id: decision.decision_id,
        consent_id: consent.consent_id,
      };
      const notAllowed = await refusal(
        sys.offers.applyOffer({ ...base, offer_id: "RET-DESC30" }, { idempotencyKey: key("a") }),
      );
      expect([notAllowed.status, notAllowed.code]).toEqual([422, "offer_not_allowed"]);
      const noConsent = await refusal(
        sys.offers.applyOffer({ ...base, offer_id: "RET-UPGRADE" }, { idempotencyKey: key("a") }),
      );
      expect([noConsent.status, noConsent.code]).toEqual([422, "consent_required"]);
      const otherContract = (await sys.crm.listContracts(other))[0]?.contract_id as string;
      const foreign = await refusal(
        sys.offers.applyOffer(
          { ...base, customer_id: other, contract_id: otherContract, offer_id: "RET-DESC10" },
          { idempotencyKey: key("a") },
        ),
      );
      expect(foreign.status).toBe(409);
      const a = await sys.offers.applyOffer(
        { ...base, offer_id: "RET-DESC10" },
        { idempotencyKey: key("a") },
      );
      expect(a.status).toBe("applied");
      expect(a.ends_at.slice(0, 10)).toBe("2026-06-30");
      expect((await sys.offers.listAppliedOffers(id)).map((x) => x.application_id)).toEqual([
        a.application_id,
      ]);
      const consent2 = await sys.crm.recordConsent(
        { customer_id: id, session_id: "S3", action: "apply_offer", subject: "RET-UPGRADE" },
        { idempotencyKey: key("c") },
      );
      const stacked = await refusal(
        sys.offers.applyOffer(
          { ...base, consent_id: consent2.consent_id, offer_id: "RET-UPGRADE" },
          { idempotencyKey: key("a") },
        ),
      );
      expect([stacked.status, stacked.code]).toEqual([409, "offer_stacking"]);
    });

    it("applies an offer only to the contract the decision chose for it", async () => {
      const id = sb.scenarios.customers.healthy_internet[8] as string;
      const contract = (await sys.crm.listContracts(id)).find((c) => c.status === "active");
      const d = await sys.offers.recordDecision(
        {
          customer_id: id,
          session_id: "S5",
          rules_version: "test-1",
          churn_model_version: null,
          inputs: {},
          allowed: [{ offer_id: "RET-DESC10", rule_id: "r1", terms: { contract_id: "CTR-NOT-THIS-ONE" } }],
          rejected: [],
        },
        { idempotencyKey: key("dec") },
      );
      const consent = await sys.crm.recordConsent(
        { customer_id: id, session_id: "S5", action: "apply_offer", subject: "RET-DESC10" },
        { idempotencyKey: key("c") },
      );
      const r = await refusal(
        sys.offers.applyOffer(
          {
            customer_id: id,
            contract_id: contract?.contract_id as string,
            offer_id: "RET-DESC10",
            decision_id: d.decision_id,
            consent_id: consent.consent_id,
          },
          { idempotencyKey: key("a") },
        ),
      );
      expect([r.status, r.code]).toEqual([422, "offer_not_allowed"]);
      expect(await sys.offers.listAppliedOffers(id)).toEqual([]);
    });

    it("puts RET-DESC30 (supervisor approval) in pending_approval", async () => {
      const id = sb.scenarios.customers.healthy_internet[6] as string;
      const contract = (await sys.crm.listContracts(id)).find((c) => c.status === "active");
      const d = await sys.offers.recordDecision(
        {
          customer_id: id,
          session_id: null,
          rules_version: "test-1",
          churn_model_version: "churn@3",
          inputs: {},
          allowed: [{ offer_id: "RET-DESC30", rule_id: "r3", terms: {} }],
          rejected: [],
        },
        { idempotencyKey: key("dec") },
      );
      const consent = await sys.crm.recordConsent(
        { customer_id: id, session_id: "S4", action: "apply_offer", subject: "RET-DESC30" },
        { idempotencyKey: key("c") },
      );
      const a = await sys.offers.applyOffer(
        {
          customer_id: id,
          contract_id: contract?.contract_id as string,
          offer_id: "RET-DESC30",
          decision_id: d.decision_id,
          consent_id: consent.consent_id,
        },
        { idempotencyKey: key("a") },
      );
      expect(a.status).toBe("pending_approval");
    });

    it("changes a plan within its product family, with consent, updating the contract's plan and price", async () => {
      const id = sb.scenarios.customers.healthy_internet[7] as string;
      const contract = (await sys.crm.listContracts(id)).find((c) => c.status === "active");
      const cat = await sys.offers.catalog();
      const family = (p: string) => (p.startsWith("mobile_") ? "mobile" : p);
      const target = cat.plans.find(
        (p) => family(p.product) === family(contract?.product as string) && p.plan_id !== contract?.plan_id,
      );
      const wrongFamily = cat.plans.find((p) => family(p.product) !== family(contract?.product as string));
      const consent = await sys.crm.recordConsent(
        { customer_id: id, session_id: "S5", action: "change_plan", subject: target?.plan_id as string },
        { idempotencyKey: key("c") },
      );
      const base = {
        customer_id: id,
        contract_id: contract?.contract_id as string,
        consent_id: consent.consent_id,
      };
      const wrong = await refusal(
        sys.offers.changePlan(
          { ...base, to_plan_id: wrongFamily?.plan_id as string },
          { idempotencyKey: key("pc") },
        ),
      );
      expect(wrong.status).toBe(422);
      expect(
        (await refusal(sys.offers.changePlan({ ...base, to_plan_id: "NOPE" }, { idempotencyKey: key("pc") })))
          .status,
      ).toBe(404);
      const change = await sys.offers.changePlan(
        { ...base, to_plan_id: target?.plan_id as string },
        { idempotencyKey: key("pc") },
      );
      expect([change.from_plan_id, change.to_plan_id, change.new_price_brl]).toEqual([
        contract?.plan_id,
        target?.plan_id,
        target?.monthly_price_brl,
      ]);
      const after = (await sys.crm.listContracts(id)).find((c) => c.contract_id === contract?.contract_id);
      expect([after?.plan_id, after?.monthly_price_brl]).toEqual([
        target?.plan_id,
        target?.monthly_price_brl,
      ]);
      expect((await sys.offers.listPlanChanges(id))[0]?.change_id).toBe(change.change_id);
      const same = await refusal(
        sys.offers.changePlan(
          { ...base, to_plan_id: target?.plan_id as string },
          { idempotencyKey: key("pc") },
        ),
      );
      expect(same.status).toBe(409);
    });
  });
});
