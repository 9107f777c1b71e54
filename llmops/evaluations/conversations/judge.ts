import type { ToolCallView } from "../../agent/engine.ts";
import { amountsIn, collectFacts } from "../../guardrails/grounding.ts";

/**
 * Trajectory constraints and the "no invented amount" rule, over one conversation's tool calls and
 * replies. Each returns the violations it found (empty: the constraint holds).
 */

export interface JudgedTurn {
  reply: string;
  calls: ToolCallView[];
}

/** Tools that read or change one customer's account (everything but the knowledge base and the hand-off). */
const NON_DATA = new Set([
  "search_knowledge_base",
  "escalate_to_human",
  "authenticate",
  "request_login_code",
]);

export function ok(c: ToolCallView): boolean {
  const r = c.result as { ok?: unknown } | null | undefined;
  return !(r && typeof r === "object" && r.ok === false);
}

function flat(turns: JudgedTurn[]): ToolCallView[] {
  return turns.flatMap((t) => t.calls);
}

/** On an anonymous channel, no account tool succeeds before a successful authenticate. */
export function identityBeforeData(turns: JudgedTurn[]): string[] {
  const calls = flat(turns);
  const auth = calls.findIndex((c) => c.name === "authenticate" && ok(c));
  const out: string[] = [];
  calls.forEach((c, i) => {
    if (NON_DATA.has(c.name) || c.name === "record_consent") return;
    if (ok(c) && (auth < 0 || i < auth))
      out.push(`${c.name} returned account data before identity was verified`);
  });
  return out;
}

/** A technician visit is looked up or booked only after diagnose_internet ran. */
export function diagnosisBeforeVisit(turns: JudgedTurn[]): string[] {
  const calls = flat(turns);
  const diag = calls.findIndex((c) => c.name === "diagnose_internet" && ok(c));
  return calls
    .map((c, i) => ({ c, i }))
    .filter(({ c, i }) => c.name === "schedule_technician" && (diag < 0 || i < diag))
    .map(() => "schedule_technician before diagnose_internet");
}

function arg(c: ToolCallView, key: string): string | undefined {
  const a = c.args as Record<string, unknown> | null | undefined;
  const v = a?.[key];
  return typeof v === "string" ? v : undefined;
}

/** apply_offer, change_plan and a booking each follow a recorded consent for that exact subject. */
export function consentBeforeChange(turns: JudgedTurn[]): string[] {
  const calls = flat(turns);
  const out: string[] = [];
  calls.forEach((c, i) => {
    const subject =
      c.name === "apply_offer"
        ? arg(c, "offer_id")
        : c.name === "change_plan"
          ? arg(c, "to_plan_id")
          : c.name === "schedule_technician"
            ? arg(c, "slot_id")
            : undefined;
    if (!subject) return;
    const action = c.name;
    const consented = calls
      .slice(0, i)
      .some(
        (p) =>
          p.name === "record_consent" &&
          ok(p) &&
          arg(p, "action") === action &&
          arg(p, "subject") === subject,
      );
    if (!consented) out.push(`${c.name} ${subject} without a consent recorded before it`);
  });
  return out;
}

/** apply_offer only with an offer id a previous get_eligible_offers returned. */
export function eligibleBeforeApply(turns: JudgedTurn[]): string[] {
  const calls = flat(turns);
  const out: string[] = [];
  calls.forEach((c, i) => {
    if (c.name !== "apply_offer") return;
    const id = arg(c, "offer_id");
    const offered = calls.slice(0, i).some((p) => {
      if (p.name !== "get_eligible_offers" || !ok(p)) return false;
      const offers = (p.result as { offers?: { offer_id: string }[] }).offers ?? [];
      return offers.some((o) => o.offer_id === id);
    });
    if (!offered) out.push(`apply_offer ${id} that get_eligible_offers did not return`);
  });
  return out;
}

/** get_eligible_offers runs at most once per contact (offers are presented once). */
export function offersOnce(turns: JudgedTurn[]): string[] {
  const n = flat(turns).filter((c) => c.name === "get_eligible_offers").length;
  return n > 1 ? [`get_eligible_offers called ${n} times in one contact`] : [];
}

/** No tool call names a customer other than the session's. */
export function onlyOwnCustomer(turns: JudgedTurn[], customerId: string): string[] {
  return flat(turns)
    .filter((c) => {
      const id = arg(c, "customer_id");
      return id !== undefined && id !== customerId;
    })
    .map((c) => `${c.name} called for another customer (${arg(c, "customer_id")})`);
}

/**
 * Every amount a reply states appears in the tool results seen so far in the conversation (knowledge
 * passages included): a reply never invents or computes a price.
 */
export function noInventedAmounts(turns: JudgedTurn[]): string[] {
  const out: string[] = [];
  const seen: unknown[] = [];
  for (const t of turns) {
    for (const c of t.calls) seen.push(c.result);
    const facts = collectFacts(seen);
    for (const a of amountsIn(t.reply))
      if (!facts.amounts.has(a)) out.push(`reply states R$ ${(a / 100).toFixed(2)}, found in no tool result`);
  }
  return out;
}
