import type { PromotionPolicy } from "../../platform/config/sections/registry.ts";
import { TelcoError, UsageError } from "../../platform/errors.ts";
import type { AliasEvent, ModelCard, ModelRegistry, ModelVersion } from "../../platform/ports/registry.ts";
import { AliasConflictError } from "./store.ts";

/** One check of the promotion gate; `enforced: false` checks are reported but never block. */
export interface PromotionCheck {
  check: string;
  passed: boolean;
  enforced: boolean;
  detail: string;
  champion?: number;
  challenger?: number;
}

/** What the promotion gate decided and why (per check), for the CLI, the audit log and pipelines. */
export interface PromotionDecision {
  model: string;
  alias: string;
  challenger: number;
  champion: number | null;
  promote: boolean;
  forced: boolean;
  /** True when the alias actually moved (false on refusal or dry evaluation). */
  applied: boolean;
  checks: PromotionCheck[];
  /** Failed enforced checks, in words (empty when promoted on merit). */
  reasons: string[];
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(4));

/**
 * Pure promotion rule: the challenger must be evaluated on the same dataset version as the
 * champion, beat its primary metric by the configured margin, and not regress any guardrail
 * (e.g. ECE) or any large-enough customer segment beyond tolerance. No champion → promote.
 */
export function evaluatePromotion(
  champion: ModelVersion | null,
  challenger: ModelVersion,
  policy: PromotionPolicy,
  alias = "champion",
): PromotionDecision {
  const checks: PromotionCheck[] = [];
  const decide = (): PromotionDecision => {
    const failed = checks.filter((c) => c.enforced && !c.passed);
    return {
      model: challenger.name,
      alias,
      challenger: challenger.version,
      champion: champion?.version ?? null,
      promote: failed.length === 0,
      forced: false,
      applied: false,
      checks,
      reasons: failed.map((c) => `${c.check}: ${c.detail}`),
    };
  };

  if (!champion) {
    checks.push({
      check: "first-model",
      passed: true,
      enforced: true,
      detail: `no ${alias} yet: the first model takes the alias`,
    });
    return decide();
  }
  if (champion.version === challenger.version) {
    checks.push({
      check: "distinct-version",
      passed: false,
      enforced: true,
      detail: `version ${challenger.version} already holds ${alias}`,
    });
    return decide();
  }

  // Same evaluation set: metrics from different datasets are not comparable.
  const ce = champion.card.evaluationDataset;
  const xe = challenger.card.evaluationDataset;
  if (!ce || !xe) {
    checks.push({
      check: "same-evaluation-set",
      passed: false,
      enforced: true,
      detail: `${!xe ? "challenger" : "champion"} card has no evaluationDataset, so the metrics cannot be compared`,
    });
    return decide();
  }
  if (ce.name !== xe.name || ce.version !== xe.version) {
    checks.push({
      check: "same-evaluation-set",
      passed: false,
      enforced: true,
      detail: `champion was evaluated on ${ce.name}@${ce.version}, challenger on ${xe.name}@${xe.version}; re-evaluate both on the same dataset version`,
    });
    return decide();
  }
  checks.push({
    check: "same-evaluation-set",
    passed: true,
    enforced: true,
    detail: `both evaluated on ${xe.name}@${xe.version}`,
  });

  // Primary metric with absolute and relative margins.
  const pm = policy.primaryMetric;
  const c = champion.card.metrics[pm]?.value;
  const x = challenger.card.metrics[pm]?.value;
  if (c === undefined || x === undefined) {
    checks.push({
      check: `primary:${pm}`,
      passed: false,
      enforced: true,
      detail: `${x === undefined ? "challenger" : "champion"} card lacks ${pm}`,
    });
  } else {
    const gain = policy.higherIsBetter ? x - c : c - x;
    const relative = c === 0 ? (gain > 0 ? Infinity : 0) : gain / Math.abs(c);
    const passed = gain >= policy.minAbsoluteGain && gain > 0 && relative >= policy.minRelativeGain;
    checks.push({
      check: `primary:${pm}`,
      passed,
      enforced: true,
      champion: c,
      challenger: x,
      detail: `${pm} ${fmt(x)} vs ${fmt(c)}: gain ${fmt(gain)} (${(relative * 100).toFixed(2)}%), needs ≥ ${fmt(policy.minAbsoluteGain)}${policy.minRelativeGain > 0 ? ` and ≥ ${(policy.minRelativeGain * 100).toFixed(2)}%` : ""}`,
    });
  }

  // Guardrails: may not get worse by more than tolerance.
  for (const g of policy.guardrails) {
    const gc = champion.card.metrics[g.metric]?.value;
    const gx = challenger.card.metrics[g.metric]?.value;
    if (gc === undefined) {
      checks.push({
        check: `guardrail:${g.metric}`,
        passed: true,
        enforced: false,
        detail: `champion has no ${g.metric}; not enforced`,
      });
      continue;
    }
    if (gx === undefined) {
      checks.push({
        check: `guardrail:${g.metric}`,
        passed: false,
        enforced: true,
        detail: `challenger card lacks ${g.metric}`,
      });
      continue;
    }
    const regression = g.higherIsBetter ? gc - gx : gx - gc;
    checks.push({
      check: `guardrail:${g.metric}`,
      passed: regression <= g.tolerance + 1e-12,
      enforced: true,
      champion: gc,
      challenger: gx,
      detail: `${g.metric} ${fmt(gx)} vs ${fmt(gc)}: regression ${fmt(Math.max(0, regression))}, tolerance ${fmt(g.tolerance)}`,
    });
  }

  // Per-segment metric (e.g. AUC per region / plan type).
  const sm = policy.segmentMetric;
  for (const [dimension, values] of Object.entries(champion.card.segmentMetrics ?? {})) {
    for (const [value, seg] of Object.entries(values)) {
      const name = `segment:${dimension}=${value}`;
      const sc = seg.metrics[sm]?.value;
      if (sc === undefined) continue;
      const other = challenger.card.segmentMetrics?.[dimension]?.[value];
      const n = Math.min(seg.n ?? Infinity, other?.n ?? Infinity);
      const enforced = n >= policy.minSegmentSize;
      const sx = other?.metrics[sm]?.value;
      if (sx === undefined) {
        checks.push({
          check: name,
          passed: false,
          enforced,
          detail: `challenger card lacks ${sm} for ${dimension}=${value}`,
        });
        continue;
      }
      const drop = policy.higherIsBetter ? sc - sx : sx - sc;
      checks.push({
        check: name,
        passed: drop <= policy.segmentTolerance + 1e-12,
        enforced,
        champion: sc,
        challenger: sx,
        detail: `${sm} ${fmt(sx)} vs ${fmt(sc)}: drop ${fmt(Math.max(0, drop))}, tolerance ${fmt(policy.segmentTolerance)}${enforced ? "" : ` (n=${n} < ${policy.minSegmentSize}: not enforced)`}`,
      });
    }
  }
  return decide();
}

/** The alias the promotion policy protects; other aliases (challenger, shadow…) move freely. */
export const GATED_ALIAS = "champion";

export interface PromoteOptions {
  name: string;
  version: number;
  alias?: string;
  policy: PromotionPolicy;
  /** Bypass the policy; requires a reason, recorded in the audit log. */
  force?: boolean;
  reason?: string;
  /** Evaluate only, never move the alias. */
  dryRun?: boolean;
  /**
   * The champion re-evaluated on the challenger's evaluation set (pipelines score both models on
   * the same held-out rows). Replaces the champion card's metrics for the comparison only; used
   * when it names the champion's version.
   */
  championReevaluation?: { version: number; card: ModelCard };
  /** The challenger re-scored on another evaluation set (`models evaluate`), used when given. */
  challengerReevaluation?: { version: number; card: ModelCard };
}

/**
 * The pipeline's promotion gate: evaluates the challenger against the alias holder and moves
 * the alias only when every enforced check passes (or when forced with a reason). The move is
 * a compare-and-set under the registry lock; if another promotion won meanwhile, re-evaluates.
 */
export async function promoteIfBetter(
  registry: ModelRegistry,
  opts: PromoteOptions,
): Promise<PromotionDecision> {
  const alias = opts.alias ?? "champion";
  if (opts.force && !opts.reason?.trim())
    throw new UsageError("--force needs --reason TEXT", { hint: "The reason is written to the audit log." });
  const registeredChallenger = await registry.getVersion(opts.name, opts.version);
  const challenger =
    opts.challengerReevaluation?.version === registeredChallenger.version
      ? {
          ...registeredChallenger,
          card: { ...registeredChallenger.card, ...opts.challengerReevaluation.card },
        }
      : registeredChallenger;
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = (await registry.aliases(opts.name))[alias] ?? null;
    const registered = current === null ? null : await registry.getVersion(opts.name, current);
    const champion =
      registered && opts.championReevaluation?.version === registered.version
        ? { ...registered, card: { ...registered.card, ...opts.championReevaluation.card } }
        : registered;
    const decision: PromotionDecision =
      alias === GATED_ALIAS
        ? evaluatePromotion(champion, challenger, opts.policy, alias)
        : {
            model: opts.name,
            alias,
            challenger: challenger.version,
            champion: current,
            promote: current !== challenger.version,
            forced: false,
            applied: false,
            checks: [
              {
                check: "ungated-alias",
                passed: true,
                enforced: false,
                detail: `only ${GATED_ALIAS} is gated by the promotion policy; ${alias} moves freely (audited)`,
              },
            ],
            reasons: current === challenger.version ? [`v${challenger.version} already holds ${alias}`] : [],
          };
    if (opts.force) {
      decision.forced = true;
      decision.promote = current !== challenger.version;
    }
    if (!decision.promote || opts.dryRun) return decision;
    const gated = alias === GATED_ALIAS;
    const action: AliasEvent["action"] = opts.force ? "force" : champion || !gated ? "promote" : "auto-first";
    const reason =
      opts.reason?.trim() ||
      (!gated
        ? `set ${alias}`
        : champion
          ? `beats v${champion.version} on the promotion policy`
          : "first model");
    try {
      await registry.setAlias(opts.name, alias, challenger.version, {
        action,
        reason,
        decision: { checks: decision.checks, forced: decision.forced },
        expected: current,
      });
      decision.applied = true;
      return decision;
    } catch (err) {
      if (err instanceof AliasConflictError) continue; // someone promoted meanwhile: judge against the new holder
      throw err;
    }
  }
  throw new TelcoError("alias_conflict", `could not settle ${opts.name}@${alias}: it kept moving`, {
    hint: "Too many concurrent promotions; retry.",
  });
}

/**
 * The version that held `alias` before the current holder, read from the audit log: moves are
 * replayed as a stack (promote pushes, rollback pops), so repeated rollbacks walk further back.
 */
export function previousHolder(events: readonly AliasEvent[], alias: string): number | null {
  const stack: number[] = [];
  for (const e of events) {
    if (e.alias !== alias) continue;
    if (e.action === "rollback") stack.pop();
    else if (e.to !== null) stack.push(e.to);
  }
  return stack.length >= 2 ? (stack[stack.length - 2] as number) : null;
}

/** Moves `alias` back to its previous holder (audited as a rollback). */
export async function rollbackAlias(
  registry: ModelRegistry,
  name: string,
  alias = "champion",
  reason = "rollback",
): Promise<AliasEvent> {
  const events = await registry.audit(name);
  const target = previousHolder(events, alias);
  if (target === null)
    throw new TelcoError("no_previous", `${name}@${alias} has no previous holder to roll back to`, {
      hint: `See \`telco models audit ${name}\`.`,
    });
  const current = (await registry.aliases(name))[alias] ?? null;
  return registry.setAlias(name, alias, target, { action: "rollback", reason, expected: current });
}
