import type { EvalsConfig } from "../../../platform/config/sections/evals.ts";
import { maskPii } from "../../../platform/pii/index.ts";
import { passageUnits } from "../../agent/knowledge-answer.ts";
import {
  amountsIn,
  collectFacts,
  datesIn,
  type GroundingFacts,
  parseMoney,
} from "../../guardrails/grounding.ts";
import type { TurnRecord } from "../../observability/observer.ts";
import type { GoldenData } from "./context.ts";
import { type CaseResult, metric, round, type SuiteResult } from "./types.ts";

/**
 * Groundedness of every reply of the golden conversations: each claim — an amount, a date, a
 * percentage, a plan name or id, an offer id, a protocol number, a sentence quoted from the knowledge
 * base and each source cited — must be supported by that turn's tool results or the passages it cited.
 * A claim the turn does not support but an earlier turn of the same conversation does (the flows keep
 * facts across turns: the offer listed before "sim") counts as supported and is reported apart; one the
 * customer wrote counts as an echo. Anything else is unsupported.
 */

export type ClaimKind = "amount" | "date" | "percent" | "offer" | "plan" | "protocol" | "quote" | "citation";
export type Support = "turn" | "cited" | "earlier_turn" | "customer" | null;

export interface Claim {
  kind: ClaimKind;
  text: string;
  support: Support;
}

const OFFER_ID = /\bRET-[A-Z0-9]+(?:-[A-Z0-9]+)*\b/g;
const PLAN_ID = /\b(?:PRE|CTRL|POS|FIB|TV|COMBO)[A-Z0-9]{2,}\b/g;
// Plan names as the catalog writes them ("Aurora Fibra 500 Mega", "Aurora Controle 15GB").
const PLAN_NAME = /\bAurora (?:Pré|Pre|Controle|Pós|Pos|Fibra|TV) [\p{L}\d]+(?: (?:Mega|Giga|GB))?/gu;
const MONEY = /(?:R\$|BRL)\s?-?\d[\d.,]*\d|\b\d[\d.,]*\d\s?(?:reais|BRL)\b/gi;
const PERCENT = /\b(\d{1,3}(?:[.,]\d{1,2})?)\s?%/g;
// "Protocolo do atendimento: AUR2025123100000597." · "Protocol number for this contact: …": the id has digits.
const PROTOCOL = /\b[Pp]rotocol(?:o)?\b[^\n]{0,40}?\b([A-Z]{2,}[0-9][A-Z0-9-]{4,}|[0-9]{6,})\b/g;
// The extractive knowledge answer's frame (knowledge-answer.ts renderKnowledge): header, quotes, sources.
const KNOWLEDGE_HEADER =
  /^(?:Veja o que diz a nossa documentação:|Here is what our documentation says \(in Portuguese\):)$/;
const KNOWLEDGE_SOURCES = /^\((?:Fonte|Source): /;

interface Sources {
  turn: GroundingFacts;
  cited: GroundingFacts;
  earlier: GroundingFacts;
  customer: GroundingFacts;
}

function has(f: GroundingFacts, kind: ClaimKind, text: string): boolean {
  switch (kind) {
    case "amount": {
      const v = parseMoney(text);
      return v !== null && f.amounts.has(Math.abs(v));
    }
    case "date":
      return f.dates.has(text);
    case "percent": {
      const pct = Number(text.replace("%", "").replace(",", ".").trim());
      return f.amounts.has(Math.round(pct * 100)) || f.text.includes(text.toLowerCase().replace(/\s/g, ""));
    }
    case "offer":
      return f.ids.has(text);
    case "plan":
    case "protocol":
      return f.ids.has(text) || f.text.includes(text.toLowerCase());
    default:
      return false;
  }
}

function supportOf(s: Sources, kind: ClaimKind, text: string): Support {
  if (has(s.turn, kind, text)) return "turn";
  if (has(s.cited, kind, text)) return "cited";
  if (has(s.earlier, kind, text)) return "earlier_turn";
  if (has(s.customer, kind, text)) return "customer";
  return null;
}

const norm = (t: string) => t.replace(/\s+/g, " ").trim().toLowerCase();

/** The claims of one reply and what supports each. */
export function claimsOf(turn: TurnRecord, earlier: readonly TurnRecord[]): Claim[] {
  const ok = (t: TurnRecord) => t.tool_calls.filter((c) => c.ok).map((c) => c.result);
  const citedDocs = new Set(turn.citations.map((c) => c.doc_id));
  const citedPassages = turn.passages.filter((p) => citedDocs.has(p.doc_id));
  const sources: Sources = {
    turn: collectFacts(ok(turn)),
    cited: collectFacts(citedPassages.map((p) => p.text)),
    earlier: collectFacts([
      ...earlier.flatMap(ok),
      ...earlier.flatMap((t) =>
        t.passages.filter((p) => t.citations.some((c) => c.doc_id === p.doc_id)).map((p) => p.text),
      ),
    ]),
    customer: collectFacts([...earlier.map((t) => t.message), turn.message]),
  };
  const reply = turn.reply;
  const claims: Claim[] = [];
  const add = (kind: ClaimKind, text: string) => {
    if (!claims.some((c) => c.kind === kind && c.text === text))
      claims.push({ kind, text, support: supportOf(sources, kind, text) });
  };
  for (const m of reply.matchAll(MONEY)) if (amountsIn(m[0]).length) add("amount", m[0]);
  for (const d of datesIn(reply)) add("date", d);
  for (const m of reply.matchAll(PERCENT)) add("percent", `${m[1]}%`);
  for (const m of reply.matchAll(OFFER_ID)) add("offer", m[0]);
  for (const m of reply.matchAll(PLAN_ID)) add("plan", m[0]);
  for (const m of reply.matchAll(PLAN_NAME)) add("plan", m[0].trim());
  for (const m of reply.matchAll(PROTOCOL)) add("protocol", m[1]);

  // Extractive knowledge answers: each quoted sentence is a unit of a cited passage; each source was retrieved.
  if (turn.templates.includes("knowledge.extractive")) {
    const units = new Set(citedPassages.flatMap((p) => passageUnits(p.text)).map(norm));
    let inside = false;
    for (const line of reply.split("\n")) {
      if (KNOWLEDGE_HEADER.test(line.trim())) inside = true;
      else if (inside && KNOWLEDGE_SOURCES.test(line.trim())) inside = false;
      else if (inside) {
        const q = line.replace(/^- /, "").trim();
        if (q) claims.push({ kind: "quote", text: q, support: units.has(norm(q)) ? "cited" : null });
      }
    }
  }
  const retrieved = new Set(turn.passages.map((p) => p.doc_id));
  for (const c of turn.citations)
    claims.push({ kind: "citation", text: c.doc_id, support: retrieved.has(c.doc_id) ? "turn" : null });
  return claims;
}

export function groundednessSuite(
  data: GoldenData,
  th: EvalsConfig["thresholds"]["groundedness"],
): SuiteResult {
  const bySupport: Record<string, number> = {
    turn: 0,
    cited: 0,
    earlier_turn: 0,
    customer: 0,
    unsupported: 0,
  };
  const byKind: Record<string, { claims: number; unsupported: number }> = {};
  let total = 0;
  let supported = 0;
  const cases: CaseResult[] = data.trials[0].map((_, i) => {
    const failures: string[] = [];
    let claims = 0;
    for (const trial of data.trials) {
      const run = trial[i];
      run.turns.forEach((turn, t) => {
        for (const c of claimsOf(turn, run.turns.slice(0, t))) {
          claims++;
          total++;
          byKind[c.kind] ??= { claims: 0, unsupported: 0 };
          byKind[c.kind].claims++;
          bySupport[c.support ?? "unsupported"]++;
          if (c.support) supported++;
          else {
            byKind[c.kind].unsupported++;
            failures.push(
              `${data.trials.length > 1 ? `trial ${run.trial + 1}, ` : ""}turn ${t + 1}: ${c.kind} "${maskPii(c.text)}" not in this turn's tool results or cited passages`,
            );
          }
        }
      });
    }
    const run = data.trials[0][i];
    return {
      id: run.conversation.id,
      passed: failures.length === 0,
      score: claims,
      failures,
      ...(failures.length
        ? {
            transcript: run.conversation.transcript.map((t) => ({
              user: maskPii(t.user),
              reply: maskPii(t.reply),
              tools: t.tools,
            })),
          }
        : {}),
    };
  });
  const rate = total ? supported / total : 1;
  return {
    suite: "groundedness",
    status: "ran",
    summary: `${supported}/${total} claims supported (${round(rate * 100, 2)}%): ${bySupport.turn + bySupport.cited} by the turn's own tool results or cited passages, ${bySupport.earlier_turn} by an earlier turn, ${bySupport.customer} echoing the customer`,
    metrics: [
      metric("supported_rate", rate, {
        unit: "rate",
        regression: "absolute",
        threshold: {
          op: ">=",
          value: th.minSupportedRate,
          key: "evals.thresholds.groundedness.minSupportedRate",
        },
      }),
      metric("claims", total, { unit: "count", better: "none" }),
      metric("unsupported", total - supported, { unit: "count", better: "lower", regression: "absolute" }),
    ],
    cases,
    notes: [
      "claims: amounts, dates, percentages, plan names and ids, offer ids, protocols, quoted sentences, cited sources",
    ],
    ms: 0,
    details: { by_support: bySupport, by_kind: byKind },
  };
}
