import type { ToolCallView } from "../agent/engine.ts";
import type { AssistantState } from "../agent/session.ts";
import type { Language } from "../conversation/commands.ts";
import type { Citation } from "../conversation/knowledge.ts";
import { collectFacts } from "../guardrails/grounding.ts";
import type { OutputFacts } from "../guardrails/types.ts";

/**
 * What the output guardrails check a reply against: the facts of this session. Tool results of the
 * turn (every tool is authorised to the session's customer only, so what they return is that
 * customer's own data), the facts the session's open flows keep between turns (the offers listed,
 * the invoice chosen), the offer decisions of the session, and the passages retrieved this turn.
 */

export interface TurnView {
  tool_calls: ToolCallView[];
  citations: Citation[];
  /** Reply templates used this turn (flow.key), from the turn trace. */
  templates: string[];
}

const OFFER_ID = /\bRET-[A-Z0-9]+(?:-[A-Z0-9]+)*\b/g;

function okResult(c: ToolCallView): unknown | null {
  const r = c.result as { ok?: unknown } | null | undefined;
  if (r && typeof r === "object" && r.ok === false) return null;
  return c.result ?? null;
}

function stateFacts(state: AssistantState | null): unknown[] {
  if (!state) return [];
  const out: unknown[] = [];
  for (const f of state.stack) out.push(f.facts);
  if (state.conversation.last_ended) out.push(state.conversation.last_ended.frame.facts);
  out.push(state.tool_session.offer_decisions);
  return out;
}

/** Digit runs of 8+ and e-mail addresses found in the facts: the customer's own contact data. */
function ownDataOf(values: unknown[]): Set<string> {
  const own = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > 12) return;
    if (typeof v === "string") {
      for (const m of v.matchAll(/[0-9][0-9 .()/+-]{6,}[0-9]/g)) {
        const d = m[0].replace(/\D/g, "");
        if (d.length >= 8) own.add(d);
      }
      for (const m of v.matchAll(/[\p{L}\p{N}._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/gu))
        own.add(m[0].toLowerCase());
    } else if (typeof v === "number" && Number.isInteger(v) && String(v).length >= 8) own.add(String(v));
    else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x, depth + 1);
  };
  for (const v of values) walk(v, 0);
  return own;
}

export function buildOutputFacts(turn: TurnView, state: AssistantState | null, lang: Language): OutputFacts {
  const results = turn.tool_calls.map(okResult).filter((r) => r !== null);
  const kept = stateFacts(state);
  const allowed = new Set<string>();
  for (const c of turn.tool_calls) {
    const r = okResult(c) as Record<string, unknown> | null;
    if (!r) continue;
    if (c.name === "get_eligible_offers" && Array.isArray(r.offers))
      for (const o of r.offers as { offer_id?: unknown }[])
        if (typeof o.offer_id === "string") allowed.add(o.offer_id);
    if (c.name === "apply_offer" && typeof r.offer_id === "string") allowed.add(r.offer_id);
  }
  if (state) {
    for (const d of state.tool_session.offer_decisions) for (const id of d.offer_ids) allowed.add(id);
    for (const id of state.conversation.offers_presented) allowed.add(id);
    // Offers a flow listed and keeps in its frame (the offers shown in an earlier turn).
    for (const f of state.stack)
      for (const m of JSON.stringify(f.facts).matchAll(OFFER_ID))
        if (f.flow === "cancellation") allowed.add(m[0]);
  }
  const passages: OutputFacts["passages"] = [];
  for (const c of turn.tool_calls) {
    if (c.name !== "search_knowledge_base") continue;
    const r = okResult(c) as {
      results?: { doc_id: string; title: string; section: string; text: string }[];
    } | null;
    for (const p of r?.results ?? [])
      passages.push({ doc_id: p.doc_id, title: p.title, section: p.section, text: p.text });
  }
  return {
    lang,
    customerId: state?.tool_session.customer_id ?? null,
    grounding: collectFacts([...results, ...kept]),
    allowedOfferIds: allowed,
    passages,
    citations: turn.citations,
    extractive: turn.templates.includes("knowledge.extractive"),
    ownData: ownDataOf([...results, ...kept]),
  };
}
