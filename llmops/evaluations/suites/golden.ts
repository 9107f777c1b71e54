import type { EvalsConfig } from "../../../platform/config/sections/evals.ts";
import { maskPii } from "../../../platform/pii/index.ts";
import type { TurnRecord } from "../../observability/observer.ts";
import { type ConversationResult, runGoldenConversations } from "../conversations/run.ts";
import type { EvalContext, GoldenData, GoldenRun } from "./context.ts";
import { type CaseResult, metric, passHatK, round, type SuiteResult } from "./types.ts";

/**
 * The golden conversations (llmops/evaluations/conversations): each script played through the real
 * assistant on a reseeded sandbox and judged on the end state of the systems and the tool trajectory.
 * A generative engine plays every conversation `trials` times and the suite reports pass^k (τ²-bench).
 */

/** Plays every trial, keeping the observer's turn records of each conversation's session. */
export async function collectGolden(
  ctx: EvalContext,
  opts: { only?: string[]; dir?: string } = {},
): Promise<GoldenData> {
  const t0 = performance.now();
  const trials: GoldenRun[][] = [];
  for (let t = 0; t < ctx.trials; t++) {
    const bySession = new Map<string, TurnRecord[]>();
    const off = ctx.observer.onTurn((r) => {
      const list = bySession.get(r.session_id) ?? [];
      list.push(r);
      bySession.set(r.session_id, list);
    });
    let done = 0;
    try {
      const report = await runGoldenConversations({
        fixture: ctx.fixture,
        understanding: ctx.understanding(),
        phraser: ctx.phraser(),
        ...(opts.only ? { only: opts.only } : {}),
        ...(opts.dir ? { dir: opts.dir } : {}),
        onResult: (r) => {
          done++;
          if (done % 10 === 0)
            ctx.progress(
              `golden${ctx.trials > 1 ? ` trial ${t + 1}/${ctx.trials}` : ""}: ${done} conversations`,
            );
          void r;
        },
      });
      trials.push(
        report.results.map((c) => ({
          trial: t,
          conversation: c,
          turns: c.session_id ? (bySession.get(c.session_id) ?? []) : [],
        })),
      );
    } finally {
      off();
    }
  }
  return { trials, ms: Math.round(performance.now() - t0) };
}

export function maskedTranscript(c: ConversationResult): CaseResult["transcript"] {
  return c.transcript.map((t) => ({ user: maskPii(t.user), reply: maskPii(t.reply), tools: t.tools }));
}

export function goldenSuite(data: GoldenData, thresholds: EvalsConfig["thresholds"]["golden"]): SuiteResult {
  const first = data.trials[0] ?? [];
  const k = data.trials.length;
  const cases: CaseResult[] = first.map((run, i) => {
    const runs = data.trials.map((trial) => trial[i]);
    const trialsPassed = runs.map((r) => r.conversation.passed);
    const failing = runs.find((r) => !r.conversation.passed);
    return {
      id: run.conversation.id,
      passed: trialsPassed.every(Boolean),
      ...(k > 1 ? { trials: trialsPassed } : {}),
      failures: failing
        ? failing.conversation.failures.map((f) => (k > 1 ? `trial ${failing.trial + 1}: ${f}` : f))
        : [],
      transcript: maskedTranscript((failing ?? run).conversation),
      tags: { journey: run.conversation.journey, language: run.conversation.language },
    };
  });
  const trials = cases.map((c) => c.trials ?? [c.passed]);
  const pass1 = passHatK(trials, 1);
  const passK = passHatK(trials, k);
  const byJourney: Record<string, { total: number; passed: number }> = {};
  for (const c of cases) {
    const j = c.tags?.journey ?? "other";
    byJourney[j] ??= { total: 0, passed: 0 };
    byJourney[j].total++;
    if (c.passed) byJourney[j].passed++;
  }
  const gateName = k > 1 ? `pass^${k}` : "pass_rate";
  const metrics = [
    metric(gateName, passK, {
      unit: "rate",
      regression: "absolute",
      threshold: { op: ">=", value: thresholds.minPassRate, key: "evals.thresholds.golden.minPassRate" },
    }),
    ...(k > 1 ? [metric("pass^1", pass1, { unit: "rate", regression: "absolute" })] : []),
    metric("conversations", cases.length, { unit: "count", better: "none" }),
  ];
  const passed = cases.filter((c) => c.passed).length;
  return {
    suite: "golden",
    status: "ran",
    summary: `${passed}/${cases.length} conversations pass${k > 1 ? ` all ${k} trials (pass^1 ${round(pass1 ?? 0, 3)}, pass^${k} ${round(passK ?? 0, 3)})` : ""}`,
    metrics,
    cases,
    notes:
      k > 1
        ? [
            `each conversation played ${k} times; pass^${k} = mean over conversations of C(c,${k})/C(${k},${k})`,
          ]
        : [],
    ms: data.ms,
    details: { by_journey: byJourney },
  };
}
