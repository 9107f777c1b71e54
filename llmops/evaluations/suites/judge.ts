import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generateText, type LanguageModelUsage, Output } from "ai";
import { z } from "zod";
import type { EvalsConfig } from "../../../platform/config/sections/evals.ts";
import { maskObject, maskPii } from "../../../platform/pii/index.ts";
import type { LlmProvider } from "../../../platform/ports/llm.ts";
import type { Language } from "../../conversation/commands.ts";
import { type CostTotals, costBasis, emptyTotals, formatCost } from "../../observability/cost.ts";
import type { TurnRecord } from "../../observability/observer.ts";
import { type LlmCallTrace, withFallback } from "../../prompts/fallback.ts";
import { composePrompts } from "../../prompts/loader.ts";
import type { GoldenData } from "./context.ts";
import { type CaseResult, metric, round, type SuiteResult } from "./types.ts";

/**
 * The LLM judge: with a generative model configured, each golden conversation is scored 1-5 for
 * helpfulness, tone (the operator's policy-tom-de-voz) and grounding by the versioned `judge` prompt
 * (llmops/prompts/templates/judge.md, a written rubric), through structured output. Personal data is
 * masked before anything reaches the model. A call that fails leaves the conversation unjudged (said
 * in the report), never scored. The deterministic suites run whatever the judge says.
 */

export const JUDGE_PROMPT = "judge";
export const judgeScoresSchema = z.object({
  helpfulness: z.number().int().min(1).max(5),
  tone: z.number().int().min(1).max(5),
  grounding: z.number().int().min(1).max(5),
  rationale: z.string().max(2000),
});
export type JudgeScores = z.infer<typeof judgeScoresSchema>;

export interface JudgeInput {
  language: Language;
  /** Customer and assistant lines. */
  turns: { user: string; reply: string }[];
  /** Tool results and cited passages the replies may use. */
  facts: unknown[];
}

/** The tone policy as the knowledge base holds it (front matter dropped). */
export function tonePolicy(repoRoot: string): string {
  const text = readFileSync(
    join(repoRoot, "data", "knowledge-base", "policy", "policy-tom-de-voz.md"),
    "utf8",
  );
  return text.replace(/^---\n[\s\S]*?\n---\n/, "").trim();
}

const MAX_FACTS_CHARS = 12_000;

export async function judgeConversation(
  llm: LlmProvider,
  input: JudgeInput,
  policy: string,
): Promise<{ scores: JudgeScores | null; trace: LlmCallTrace }> {
  const transcript = input.turns
    .map((t) => `Customer: ${maskPii(t.user)}\nAssistant: ${maskPii(t.reply)}`)
    .join("\n");
  let facts = JSON.stringify(maskObject(input.facts), null, 1);
  if (facts.length > MAX_FACTS_CHARS) facts = `${facts.slice(0, MAX_FACTS_CHARS)}\n… (cut)`;
  const composed = composePrompts({
    prompt: JUDGE_PROMPT,
    vars: { language: input.language, tone_policy: policy, transcript, facts },
  });
  const r = await withFallback<{ scores: JudgeScores; usage: LanguageModelUsage } | null>(llm, {
    purpose: "judge",
    prompts: composed.refs,
    call: async ({ model, abortSignal, maxRetries }) => {
      const out = await generateText({
        model,
        abortSignal,
        maxRetries,
        temperature: 0,
        prompt: composed.text,
        output: Output.object({ schema: judgeScoresSchema, name: "scores" }),
      });
      return { scores: out.output, usage: out.usage };
    },
    local: () => null,
    usage: (v) => v?.usage,
  });
  const scores = r.value?.scores ?? null;
  return { scores, trace: r.trace };
}

function factsOf(turns: readonly TurnRecord[]): unknown[] {
  return turns.flatMap((t) => [
    ...t.tool_calls.filter((c) => c.ok).map((c) => ({ tool: c.name, result: c.result })),
    ...t.passages
      .filter((p) => t.citations.some((c) => c.doc_id === p.doc_id))
      .map((p) => ({ cited: p.doc_id, section: p.section, text: p.text })),
  ]);
}

export async function judgeSuite(
  llm: LlmProvider,
  data: GoldenData,
  th: EvalsConfig["thresholds"]["judge"],
  repoRoot: string,
  progress: (m: string) => void = () => {},
): Promise<SuiteResult> {
  const t0 = performance.now();
  const policy = tonePolicy(repoRoot);
  const spent: CostTotals = emptyTotals();
  const scored: { id: string; s: JudgeScores }[] = [];
  const cases: CaseResult[] = [];
  let unjudged = 0;
  for (const [i, run] of data.trials[0].entries()) {
    const c = run.conversation;
    const { scores, trace } = await judgeConversation(
      llm,
      {
        language: c.language === "en" ? "en" : "pt-BR",
        turns: c.transcript.map((t) => ({ user: t.user, reply: t.reply })),
        facts: factsOf(run.turns),
      },
      policy,
    );
    if (trace.usage) {
      spent.calls++;
      spent.usage.inputTokens += trace.usage.inputTokens;
      spent.usage.outputTokens += trace.usage.outputTokens;
      if (trace.cost && spent.cost !== null) {
        spent.cost += trace.cost.total;
        spent.currency = trace.cost.currency;
      } else if (!trace.cost) spent.cost = null;
    } else spent.failed++;
    if ((i + 1) % 10 === 0) progress(`judge: ${i + 1} conversations`);
    if (!scores) {
      unjudged++;
      cases.push({
        id: c.id,
        passed: false,
        failures: [
          `not judged: ${trace.error ? `${trace.error.reason}: ${trace.error.message}` : "no answer"}`,
        ],
      });
      continue;
    }
    scored.push({ id: c.id, s: scores });
    const low = (["helpfulness", "tone", "grounding"] as const).filter((k) => scores[k] < 3);
    cases.push({
      id: c.id,
      passed: low.length === 0,
      score: round((scores.helpfulness + scores.tone + scores.grounding) / 3, 3),
      failures: low.length ? [`${low.map((k) => `${k} ${scores[k]}`).join(", ")}: ${scores.rationale}`] : [],
      transcript: c.transcript.map((t) => ({
        user: maskPii(t.user),
        reply: maskPii(t.reply),
        tools: t.tools,
      })),
      tags: {
        helpfulness: String(scores.helpfulness),
        tone: String(scores.tone),
        grounding: String(scores.grounding),
      },
    });
  }
  const mean = (k: "helpfulness" | "tone" | "grounding") =>
    scored.length ? scored.reduce((a, x) => a + x.s[k], 0) / scored.length : null;
  const key = (k: string) => `evals.thresholds.judge.${k}`;
  return {
    suite: "judge",
    status: "ran",
    summary: `${scored.length}/${cases.length} conversations judged by ${llm.provider}:${llm.modelId}: helpfulness ${round(mean("helpfulness") ?? 0, 2)}, tone ${round(mean("tone") ?? 0, 2)}, grounding ${round(mean("grounding") ?? 0, 2)} (1-5)`,
    metrics: [
      metric("helpfulness", mean("helpfulness"), {
        unit: "score",
        regression: "judge",
        threshold: { op: ">=", value: th.minHelpfulness, key: key("minHelpfulness") },
      }),
      metric("tone", mean("tone"), {
        unit: "score",
        regression: "judge",
        threshold: { op: ">=", value: th.minTone, key: key("minTone") },
      }),
      metric("grounding", mean("grounding"), {
        unit: "score",
        regression: "judge",
        threshold: { op: ">=", value: th.minGrounding, key: key("minGrounding") },
      }),
      metric("unjudged", unjudged, { unit: "count", better: "lower" }),
    ],
    cases,
    notes: [
      `judge prompt ${composePrompts({ prompt: JUDGE_PROMPT, vars: { language: "pt-BR", tone_policy: "", transcript: "", facts: "" } }).refs[0]}; its own cost ${formatCost(spent)} (${costBasis(spent)}), not counted in the assistant's cost`,
    ],
    ms: Math.round(performance.now() - t0),
  };
}
