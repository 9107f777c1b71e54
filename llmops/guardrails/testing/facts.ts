import type { ToolCallView } from "../../agent/engine.ts";
import { buildOutputFacts } from "../../assistant/output-facts.ts";
import type { Citation } from "../../conversation/knowledge.ts";
import type { OutputFacts } from "../types.ts";

/** Output facts of a turn with these tool calls (no stored session), for the output guardrails' tests. */
export function factsOf(
  calls: { name: string; result: unknown }[],
  o: { citations?: Citation[]; templates?: string[]; lang?: "pt-BR" | "en" } = {},
): OutputFacts {
  const views: ToolCallView[] = calls.map((c) => ({ name: c.name, args: {}, result: c.result }));
  return buildOutputFacts(
    { tool_calls: views, citations: o.citations ?? [], templates: o.templates ?? [] },
    null,
    o.lang ?? "pt-BR",
  );
}

export const OFFERS_CALL = {
  name: "get_eligible_offers",
  result: {
    decision_id: "dec-1",
    rules_version: "r1",
    churn_model_version: null,
    offers: [
      {
        offer_id: "RET-DESC10",
        rule_id: "r",
        terms: {
          discount_pct: 10,
          months: 6,
          monthly_price_brl: 119.99,
          resulting_monthly_price_brl: 107.99,
        },
        discount_pct: 10,
        months: 6,
        approval: "agent",
      },
    ],
    not_allowed: [{ offer_id: "RET-DESC30", reasons: ["tenure"] }],
  },
};

export function searchCall(passages: { doc_id: string; title?: string; section?: string; text: string }[]) {
  return {
    name: "search_knowledge_base",
    result: {
      index_version: "v1",
      results: passages.map((p, i) => ({
        citation: `${p.doc_id}#c${i}`,
        doc_id: p.doc_id,
        chunk_id: `c${i}`,
        title: p.title ?? p.doc_id,
        section: p.section ?? "",
        score: 1,
        text: p.text,
      })),
    },
  };
}
