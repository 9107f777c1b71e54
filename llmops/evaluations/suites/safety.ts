import { maskPii } from "../../../platform/pii/index.ts";
import { type BenignReport, loadBenignCases, runBenign } from "../benign/run.ts";
import { type RedTeamReport, runRedTeam } from "../redteam/run.ts";
import type { EvalContext } from "./context.ts";
import { type CaseResult, metric, passHatK, round, type SuiteResult } from "./types.ts";

/**
 * The red team and the benign set, through the guardrails helper's runners (llmops/evaluations/redteam,
 * llmops/evaluations/benign) over the guarded assistant on the eval sandbox, with the configured
 * guardrails. A generative engine plays each case `trials` times: a case passes only if every trial
 * does, and pass^k is reported.
 */

function transcript(t: { user: string; reply: string; tools: string[] }[]): CaseResult["transcript"] {
  return t.map((x) => ({ user: maskPii(x.user), reply: maskPii(x.reply), tools: x.tools }));
}

export async function redteamSuite(ctx: EvalContext): Promise<SuiteResult> {
  const t0 = performance.now();
  const reports: RedTeamReport[] = [];
  for (let t = 0; t < ctx.trials; t++) {
    let n = 0;
    reports.push(
      await runRedTeam({
        fixture: ctx.fixture,
        understanding: ctx.understanding(),
        phraser: ctx.phraser(),
        guardrails: ctx.app.config.guardrails,
        onResult: () => {
          if (++n % 50 === 0) ctx.progress(`redteam${ctx.trials > 1 ? ` trial ${t + 1}` : ""}: ${n} cases`);
        },
      }),
    );
  }
  const first = reports[0];
  const cases: CaseResult[] = first.results.map((r) => {
    const runs = reports.map((rep) => rep.results.find((x) => x.id === r.id) ?? r);
    const failing = runs.find((x) => !x.passed);
    return {
      id: r.id,
      passed: runs.every((x) => x.passed),
      ...(ctx.trials > 1 ? { trials: runs.map((x) => x.passed) } : {}),
      failures: failing ? failing.failures.map((f) => `${f} (fails if: ${failing.fails_if})`) : [],
      transcript: transcript((failing ?? r).transcript),
      tags: { class: r.class, language: r.lang },
    };
  });
  const failed = cases.filter((c) => !c.passed).length;
  const k = ctx.trials;
  const th = ctx.app.config.evals.thresholds.redteam;
  return {
    suite: "redteam",
    status: "ran",
    summary: `${cases.length - failed}/${cases.length} adversarial cases held${k > 1 ? ` in all ${k} trials` : ""}; ${failed} failure${failed === 1 ? "" : "s"}`,
    metrics: [
      metric("failures", failed, {
        unit: "count",
        better: "lower",
        regression: "absolute",
        threshold: { op: "<=", value: th.maxFailures, key: "evals.thresholds.redteam.maxFailures" },
      }),
      metric(
        k > 1 ? `pass^${k}` : "pass_rate",
        passHatK(
          cases.map((c) => c.trials ?? [c.passed]),
          k,
        ),
        {
          unit: "rate",
          regression: "absolute",
        },
      ),
      metric("cases", cases.length, { unit: "count", better: "none" }),
    ],
    cases,
    notes: [
      `guardrails as configured (guardrails.*); poisoned index ${first.ingest.index_version} flagged ${first.ingest.flagged.length} document(s)`,
    ],
    ms: Math.round(performance.now() - t0),
    details: { by_class: first.by_class, by_language: first.by_language, triggers: first.triggers },
  };
}

export async function benignSuite(ctx: EvalContext): Promise<SuiteResult> {
  const t0 = performance.now();
  const reports: BenignReport[] = [];
  for (let t = 0; t < ctx.trials; t++)
    reports.push(
      await runBenign({
        fixture: ctx.fixture,
        understanding: ctx.understanding(),
        phraser: ctx.phraser(),
        guardrails: ctx.app.config.guardrails,
      }),
    );
  const first = reports[0];
  const texts = new Map(loadBenignCases().map((c) => [c.id, c.text]));
  const cases: CaseResult[] = first.results.map((r) => {
    const runs = reports.map((rep) => rep.results.find((x) => x.id === r.id) ?? r);
    const failing = runs.find((x) => !x.untouched);
    return {
      id: r.id,
      passed: runs.every((x) => x.untouched),
      ...(ctx.trials > 1 ? { trials: runs.map((x) => x.untouched) } : {}),
      failures: failing?.problems ?? [],
      ...(failing
        ? { transcript: [{ user: maskPii(texts.get(r.id) ?? ""), reply: maskPii(failing.reply), tools: [] }] }
        : {}),
      tags: { language: r.lang },
    };
  });
  const untouched = cases.filter((c) => c.passed).length;
  const rate = cases.length ? untouched / cases.length : null;
  const th = ctx.app.config.evals.thresholds.benign;
  return {
    suite: "benign",
    status: "ran",
    summary: `${untouched}/${cases.length} benign messages passed every guardrail untouched (${round((rate ?? 0) * 100, 2)}%)`,
    metrics: [
      metric("untouched_rate", rate, {
        unit: "rate",
        regression: "absolute",
        threshold: { op: ">=", value: th.minUntouchedRate, key: "evals.thresholds.benign.minUntouchedRate" },
      }),
      metric("touched", cases.length - untouched, { unit: "count", better: "lower" }),
      metric("cases", cases.length, { unit: "count", better: "none" }),
    ],
    cases,
    notes: [
      "a benign message is touched when any guardrail triggers on it or it never reaches the assistant",
    ],
    ms: Math.round(performance.now() - t0),
    details: { by_language: first.by_language, triggers: first.triggers },
  };
}
