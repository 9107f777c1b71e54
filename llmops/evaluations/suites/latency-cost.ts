import type { EvalsConfig } from "../../../platform/config/sections/evals.ts";
import { type CostTotals, costBasis, emptyTotals, mergeTotals } from "../../observability/cost.ts";
import type { TurnRecord } from "../../observability/observer.ts";
import type { GoldenData } from "./context.ts";
import { type CaseResult, metric, quantile, round, type SuiteResult } from "./types.ts";

/**
 * Latency and cost over the golden conversations, read from the observer's turn records (the same
 * numbers the traces carry). Latency is a turn's wall time inside the assistant: guardrails,
 * understanding, tools, retrieval, phrasing and session persistence (the runner's reseeding between
 * conversations is not a turn). Cost is the price table's (llm.prices) over the model calls of each
 * turn and conversation: 0 with the local engine, which calls no model — stated as such, not unknown.
 */

function turnsOf(data: GoldenData): TurnRecord[] {
  return data.trials.flatMap((t) => t.flatMap((r) => r.turns));
}

export function latencySuite(data: GoldenData, th: EvalsConfig["thresholds"]["latency"]): SuiteResult {
  const turns = turnsOf(data);
  const ms = turns.map((t) => t.duration_ms);
  const p50 = quantile(ms, 0.5);
  const p95 = quantile(ms, 0.95);
  const mean = (pick: (t: TurnRecord) => number | undefined) => {
    const v = turns.map(pick).filter((x): x is number => typeof x === "number");
    return v.length ? round(v.reduce((a, b) => a + b, 0) / v.length, 2) : null;
  };
  const breakdown = {
    understanding_ms: mean((t) => t.timings?.understanding_ms),
    tools_ms: mean((t) => t.timings?.tools_ms),
    retrieval_ms: mean((t) => t.timings?.retrieval_ms),
    dialogue_ms: mean((t) => t.timings?.dialogue_ms),
    phrasing_ms: mean((t) => t.timings?.phrasing_ms),
    engine_total_ms: mean((t) => t.timings?.total_ms),
    turn_ms: mean((t) => t.duration_ms),
  };
  const slow = [...turns].sort((a, b) => b.duration_ms - a.duration_ms).slice(0, 5);
  const cases: CaseResult[] = data.trials[0].map((run) => {
    const worst = Math.max(0, ...run.turns.map((t) => t.duration_ms));
    return {
      id: run.conversation.id,
      passed: worst <= th.maxP95Ms,
      score: round(worst, 2),
      failures: worst <= th.maxP95Ms ? [] : [`slowest turn ${round(worst, 1)} ms > ${th.maxP95Ms} ms`],
    };
  });
  const key = (k: string) => `evals.thresholds.latency.${k}`;
  return {
    suite: "latency",
    status: "ran",
    summary: `turn latency p50 ${round(p50 ?? 0, 1)} ms, p95 ${round(p95 ?? 0, 1)} ms, max ${round(Math.max(0, ...ms), 1)} ms over ${turns.length} turns`,
    metrics: [
      metric("p50_ms", p50, {
        unit: "ms",
        regression: "latency",
        threshold: { op: "<=", value: th.maxP50Ms, key: key("maxP50Ms") },
      }),
      metric("p95_ms", p95, {
        unit: "ms",
        regression: "latency",
        threshold: { op: "<=", value: th.maxP95Ms, key: key("maxP95Ms") },
      }),
      metric("p99_ms", quantile(ms, 0.99), { unit: "ms" }),
      metric("max_ms", ms.length ? Math.max(...ms) : null, { unit: "ms" }),
      metric("turns", turns.length, { unit: "count", better: "none" }),
    ],
    cases,
    notes: [
      "wall time of each turn inside the assistant (the golden conversations, every trial), the local classifier built before the first turn; machine load moves it, so regressions use evals.tolerance.latencyRatio",
    ],
    ms: 0,
    details: {
      mean_breakdown_ms: breakdown,
      slowest: slow.map((t) => ({ trace_id: t.trace_id, ms: round(t.duration_ms, 2), intent: t.intent })),
    },
  };
}

export function costSuite(data: GoldenData, th: EvalsConfig["thresholds"]["cost"]): SuiteResult {
  const first = data.trials[0];
  const perConversation = data.trials.flatMap((trial) =>
    trial.map((run) => ({
      id: run.conversation.id,
      totals: run.turns.reduce((acc, t) => mergeTotals(acc, t.totals), emptyTotals()),
      turns: run.turns.length,
    })),
  );
  const all = perConversation.reduce((acc, c) => mergeTotals(acc, c.totals), emptyTotals() as CostTotals);
  const turns = perConversation.reduce((n, c) => n + c.turns, 0);
  const known = all.cost !== null;
  const maxConv = known ? Math.max(0, ...perConversation.map((c) => c.totals.cost ?? 0)) : null;
  const meanConv = known && perConversation.length ? (all.cost ?? 0) / perConversation.length : null;
  const perTurn = known && turns ? (all.cost ?? 0) / turns : null;
  const currency = all.currency ?? "USD";
  const cases: CaseResult[] = first.map((run) => {
    const c = perConversation.find((x) => x.id === run.conversation.id)?.totals ?? emptyTotals();
    const ok = c.cost !== null && c.cost <= th.maxPerConversation;
    return {
      id: run.conversation.id,
      passed: ok,
      ...(c.cost === null ? {} : { score: round(c.cost, 8) }),
      failures: ok
        ? []
        : [
            c.cost === null
              ? `cost unknown: ${costBasis(c)}`
              : `cost ${c.cost.toFixed(6)} > ${th.maxPerConversation}`,
          ],
    };
  });
  const basis = costBasis(all);
  return {
    suite: "cost",
    status: "ran",
    summary:
      all.calls === 0
        ? `${turns} turns, no model calls (local engine): 0 tokens, cost 0`
        : `${all.usage.inputTokens} input + ${all.usage.outputTokens} output tokens over ${all.calls} model calls; ${known ? `${currency} ${round(perTurn ?? 0, 8)} per turn, ${round(meanConv ?? 0, 8)} per conversation` : "cost unknown"}`,
    metrics: [
      metric("cost_per_conversation_max", maxConv, {
        unit: "money",
        regression: "cost",
        threshold: {
          op: "<=",
          value: th.maxPerConversation,
          key: "evals.thresholds.cost.maxPerConversation",
        },
      }),
      metric("cost_per_conversation_mean", meanConv, { unit: "money", regression: "cost" }),
      metric("cost_per_turn", perTurn, { unit: "money", regression: "cost" }),
      metric("tokens_per_turn", turns ? (all.usage.inputTokens + all.usage.outputTokens) / turns : 0, {
        unit: "tokens",
        better: "lower",
        regression: "cost",
      }),
      metric("input_tokens", all.usage.inputTokens, { unit: "tokens", better: "none" }),
      metric("cached_input_tokens", all.usage.cachedInputTokens, { unit: "tokens", better: "none" }),
      metric("output_tokens", all.usage.outputTokens, { unit: "tokens", better: "none" }),
      metric("reasoning_tokens", all.usage.reasoningTokens, { unit: "tokens", better: "none" }),
      metric("model_calls", all.calls, { unit: "count", better: "none" }),
    ],
    cases,
    notes: [`cost basis: ${basis}; currency ${all.calls === 0 ? "n/a" : currency}`],
    ms: 0,
    details: { currency: all.calls === 0 ? null : currency, basis, failed_calls: all.failed, turns },
  };
}
