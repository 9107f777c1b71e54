import type { EvalsConfig } from "../../../platform/config/sections/evals.ts";
import { type EvalRun, type GateResult, type Metric, meetsThreshold } from "../suites/types.ts";
import type { BaselineEngine } from "./store.ts";

/**
 * The gate of a run: every metric meets its threshold (evals.thresholds, rag.eval for retrieval), no
 * suite errored, and no metric fell behind the accepted baseline of the same engine by more than the
 * tolerance (evals.tolerance): rates by `absolute`, judge scores by `judge`, latency by a ratio
 * (machine load moves it), cost when it grows by more than a quarter (any cost over a baseline of 0).
 */

function fmt(v: number | null): string {
  if (v === null) return "unknown";
  return Math.abs(v) >= 100 || Number.isInteger(v)
    ? String(Math.round(v * 100) / 100)
    : String(Number(v.toPrecision(4)));
}

export function regressionOf(
  m: Metric,
  base: number | null | undefined,
  tol: EvalsConfig["tolerance"],
): string | null {
  if (!m.regression || m.better === "none" || base === undefined || base === null || m.value === null)
    return null;
  const cur = m.value;
  const worse = (limit: number) => (m.better === "higher" ? cur < limit : cur > limit);
  switch (m.regression) {
    case "absolute":
    case "judge": {
      const t = m.regression === "judge" ? tol.judge : tol.absolute;
      const limit = m.better === "higher" ? base - t : base + t;
      return worse(limit) ? `${fmt(cur)} vs baseline ${fmt(base)} (tolerance ${t})` : null;
    }
    case "latency":
      return cur > base * tol.latencyRatio
        ? `${fmt(cur)} ms vs baseline ${fmt(base)} ms (allowed ×${tol.latencyRatio})`
        : null;
    case "cost":
      return cur > base * 1.25 + 1e-12 ? `${fmt(cur)} vs baseline ${fmt(base)} (allowed +25%)` : null;
  }
}

export function gateRun(run: EvalRun, baseline: BaselineEngine | null, cfg: EvalsConfig): GateResult {
  const misses: string[] = [];
  const regressions: string[] = [];
  const newlyFailing: string[] = [];
  const notes: string[] = [];
  for (const s of run.suites) {
    if (s.status === "error") {
      misses.push(`${s.suite}: the suite failed to run: ${s.summary}`);
      continue;
    }
    if (s.status !== "ran") continue;
    for (const m of s.metrics)
      if (!meetsThreshold(m) && m.threshold)
        misses.push(
          `${s.suite}.${m.name} ${fmt(m.value)} ${m.threshold.op === ">=" ? "<" : ">"} ${m.threshold.value} (${m.threshold.key})`,
        );
    const base = baseline?.suites[s.suite];
    if (!base) continue;
    for (const m of s.metrics) {
      const r = regressionOf(m, base.metrics[m.name], cfg.tolerance);
      if (r) regressions.push(`${s.suite}.${m.name} regressed: ${r}`);
    }
    // Latency cases move with the machine's load: their metrics are gated by ratio, the cases not listed.
    if (s.suite !== "latency")
      for (const c of s.cases)
        if (!c.passed && base.cases[c.id] === true) newlyFailing.push(`${s.suite}:${c.id}`);
  }
  if (!baseline)
    notes.push(`no accepted baseline for the ${run.engine} engine: thresholds only (telco eval accept)`);
  else if (baseline.k !== run.k)
    notes.push(
      `baseline ran ${baseline.k} trial(s), this run ${run.k}: pass^k metrics of different k are not compared`,
    );
  return {
    passed: misses.length === 0 && regressions.length === 0,
    threshold_misses: misses,
    regressions,
    newly_failing: newlyFailing,
    baseline: baseline ? { run_id: baseline.run_id, accepted_at: baseline.accepted_at } : null,
    notes,
  };
}
