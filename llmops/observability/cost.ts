import { addUsage, type LlmCost, type LlmUsage, ZERO_USAGE } from "../../platform/ports/llm.ts";

/**
 * Tokens and money of a turn or a conversation, summed over its model calls. Cost comes from the
 * config's price table (`costOf` in platform/ports/llm.ts, cached and reasoning tokens at their own
 * rates). No model call: cost 0, and the basis says so. A call whose model has no price makes the
 * total unknown (null), never a made-up 0.
 */
export interface CostTotals {
  /** Model calls that answered (with usage). */
  calls: number;
  /** Model calls that failed (fallback to the local engine); they report no usage. */
  failed: number;
  usage: LlmUsage;
  /** null when a call had no price, or calls were billed in different currencies. */
  cost: number | null;
  currency: LlmCost["currency"] | null;
  unpriced: number;
}

export function emptyTotals(): CostTotals {
  return { calls: 0, failed: 0, usage: { ...ZERO_USAGE }, cost: 0, currency: null, unpriced: 0 };
}

/** Adds one answered model call. */
export function addCall(t: CostTotals, usage: LlmUsage, cost: LlmCost | null): void {
  t.calls += 1;
  t.usage = addUsage(t.usage, usage);
  if (!cost) {
    t.unpriced += 1;
    t.cost = null;
    return;
  }
  if (t.currency && t.currency !== cost.currency) t.cost = null;
  t.currency ??= cost.currency;
  if (t.cost !== null) t.cost += cost.total;
}

export function mergeTotals(into: CostTotals, from: CostTotals): CostTotals {
  into.calls += from.calls;
  into.failed += from.failed;
  into.usage = addUsage(into.usage, from.usage);
  into.unpriced += from.unpriced;
  if (from.currency && into.currency && from.currency !== into.currency) into.cost = null;
  into.currency ??= from.currency;
  into.cost = into.cost === null || from.cost === null ? null : into.cost + from.cost;
  return into;
}

/** How the cost was arrived at, in words (what reports print next to the number). */
export function costBasis(t: CostTotals): string {
  if (t.calls === 0)
    return t.failed > 0
      ? `no model answered (${t.failed} failed call${t.failed > 1 ? "s" : ""}, local fallback): cost 0`
      : "no model calls (local engine): cost 0";
  if (t.cost === null)
    return t.unpriced > 0
      ? `unknown: ${t.unpriced} call${t.unpriced > 1 ? "s" : ""} to a model missing from llm.prices`
      : "unknown: calls billed in different currencies";
  return `price table (llm.prices), ${t.calls} call${t.calls > 1 ? "s" : ""}`;
}

/** "USD 0.000123" / "0 (no model calls)" / "unknown". */
export function formatCost(t: Pick<CostTotals, "cost" | "currency" | "calls">): string {
  if (t.cost === null) return "unknown";
  if (t.calls === 0) return "0";
  return `${t.currency ?? ""} ${t.cost.toFixed(6)}`.trim();
}
