import type { Language } from "../conversation/commands.ts";
import { parseMoney } from "./grounding.ts";
import { removeSentences, sentencesWith } from "./reply-text.ts";
import { template } from "./templates.ts";
import { fold, sentences } from "./text.ts";
import type { Finding, OutputFacts, OutputGuardrail, Span } from "./types.ts";

/**
 * Every offer id, price and discount in a reply comes from this session's tool results:
 * - offer ids (RET-…) only as the offers tools allowed them this session (decisions, applications);
 *   an id quoted from a document or invented is not an offer;
 * - amounts (R$ 1.234,56 · 119,99 reais) must be values the tools returned or a retrieved passage states;
 * - a percentage next to a discount word must be one of those values too.
 * `mask` drops the sentences that carry the ungrounded value; with nothing left, the safe template.
 */

const OFFER_ID = /\bRET-[A-Z0-9]+(?:-[A-Z0-9]+)*\b/g;
const MONEY = /(?:R\$|BRL)\s?-?\d[\d.,]*\d|\b\d[\d.,]*\d\s?(?:reais|BRL)\b/gi;
const PERCENT = /(\d{1,3}(?:[.,]\d{1,2})?)\s?%/g;
const DISCOUNT_WORD =
  /\b(?:desconto|descontos|discount|off|abatimento|reducao|reduction|cashback|bonus|promocao|promo|mais barato|cheaper)\b/;

export function groundingViolations(reply: string, facts: OutputFacts): { kind: string; span: Span }[] {
  const out: { kind: string; span: Span }[] = [];
  for (const m of reply.matchAll(OFFER_ID))
    if (!facts.allowedOfferIds.has(m[0]))
      out.push({ kind: "offer", span: { start: m.index, end: m.index + m[0].length } });
  for (const m of reply.matchAll(MONEY)) {
    const v = parseMoney(m[0]);
    if (v !== null && v !== 0 && !facts.grounding.amounts.has(Math.abs(v)))
      out.push({ kind: "price", span: { start: m.index, end: m.index + m[0].length } });
  }
  for (const s of sentences(reply)) {
    if (!DISCOUNT_WORD.test(fold(s.text))) continue;
    for (const m of s.text.matchAll(PERCENT)) {
      const pct = Number(m[1].replace(",", "."));
      const cents = Math.round(pct * 100);
      const known = facts.grounding.amounts.has(cents) || facts.grounding.text.includes(`${m[1]}%`);
      if (!known)
        out.push({
          kind: "discount",
          span: { start: s.start + m.index, end: s.start + m.index + m[0].length },
        });
    }
  }
  return out;
}

export function createOutputGroundingGuardrail(): OutputGuardrail {
  return {
    name: "grounding",
    check(reply, facts) {
      const v = groundingViolations(reply, facts);
      if (v.length === 0) return null;
      const kinds = [...new Set(v.map((x) => x.kind))];
      return {
        reason: `${kinds.join(", ")} not found in this session's tool results`,
        spans: v.map((x) => x.span),
        category: kinds[0],
        detail: { kinds, count: v.length },
      };
    },
    mask: (reply, finding: Finding, facts) =>
      removeSentences(reply, sentencesWith(reply, finding.spans), facts),
    template: (lang: Language) => template("grounding", lang),
  };
}
