import type { EvalSuiteName } from "../../../platform/config/sections/evals.ts";

/**
 * The shapes every evaluation suite returns and a run is stored as (`<workspace>/assistant/evals/`,
 * the baseline file, the HTML report). A suite reports metrics (each with its threshold and how it is
 * compared with the baseline) and cases (each passed or failed, with why and, for conversations, the
 * transcript).
 */

export type { EvalSuiteName } from "../../../platform/config/sections/evals.ts";

export type EngineName = "local" | "llm";

export interface Metric {
  name: string;
  /** null: not measurable in this run (e.g. cost with a model missing from the price table). */
  value: number | null;
  unit: "rate" | "score" | "ms" | "money" | "count" | "tokens";
  better: "higher" | "lower" | "none";
  /** The gate on this metric, with the config key that sets it. */
  threshold?: { op: ">=" | "<="; value: number; key: string };
  /** How a drop against the accepted baseline is judged (false: not compared). */
  regression: "absolute" | "judge" | "latency" | "cost" | false;
}

export interface TranscriptTurn {
  user: string;
  reply: string;
  tools: string[];
}

export interface CaseResult {
  id: string;
  passed: boolean;
  /** One per trial when the case ran k times (pass^k). */
  trials?: boolean[];
  score?: number;
  failures: string[];
  /** PII-masked. */
  transcript?: TranscriptTurn[];
  tags?: Record<string, string>;
}

export interface SuiteResult {
  suite: EvalSuiteName;
  status: "ran" | "skipped" | "error";
  /** One line for a person. */
  summary: string;
  metrics: Metric[];
  cases: CaseResult[];
  notes: string[];
  ms: number;
  error?: string;
  /** Tables the report shows (per intent, per golden set, per red-team class …). */
  details?: Record<string, unknown>;
}

export interface GateResult {
  passed: boolean;
  threshold_misses: string[];
  regressions: string[];
  /** Cases that passed in the baseline and fail now (reported, gated through the metrics). */
  newly_failing: string[];
  baseline: { run_id: string; accepted_at: string } | null;
  notes: string[];
}

export interface EvalRun {
  run_id: string;
  created_at: string;
  engine: EngineName;
  /** Trials per conversation (pass^k). */
  k: number;
  git: { commit: string | null; dirty: boolean | null };
  /** `provider:model` of the generative model (local:offline for none). */
  llm: string;
  suites: SuiteResult[];
  gate: GateResult;
  duration_ms: number;
}

export function metric(
  name: string,
  value: number | null,
  o: Partial<Omit<Metric, "name" | "value">> & Pick<Metric, "unit">,
): Metric {
  return {
    name,
    value: value === null || !Number.isFinite(value) ? null : Number(value.toPrecision(10)),
    better: o.better ?? (o.unit === "ms" || o.unit === "money" ? "lower" : "higher"),
    regression: o.regression ?? false,
    unit: o.unit,
    ...(o.threshold ? { threshold: o.threshold } : {}),
  };
}

/** Whether a metric meets its threshold (true when it has none; false when unknown). */
export function meetsThreshold(m: Metric): boolean {
  if (!m.threshold) return true;
  if (m.value === null) return false;
  return m.threshold.op === ">=" ? m.value >= m.threshold.value : m.value <= m.threshold.value;
}

/** The q-quantile (0..1) by linear interpolation between closest ranks; null for no values. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * pass^k as τ²-bench defines it: the chance that k independent trials of a task all succeed, estimated
 * per task from n ≥ k trials with c successes as C(c, k) / C(n, k), averaged over tasks.
 */
export function passHatK(trials: readonly (readonly boolean[])[], k: number): number | null {
  const usable = trials.filter((t) => t.length >= k);
  if (usable.length === 0 || k < 1) return null;
  let sum = 0;
  for (const t of usable) {
    const c = t.filter(Boolean).length;
    sum += choose(c, k) / choose(t.length, k);
  }
  return sum / usable.length;
}

export function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
