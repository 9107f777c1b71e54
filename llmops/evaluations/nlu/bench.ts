/**
 * Understanding latency (node llmops/evaluations/nlu/bench.ts): the local engine on every labelled
 * message, after training. Prints one JSON document: per-message wall p50/p95/p99 and CPU, the
 * share spent in entity extraction (measured alone in the same run, the anchor), training time, and
 * `ratio_vs_goal` = p95 / 1 ms (< 1 is within the goal "well under 1 ms per message").
 */

import { loadUnderstandingCatalog } from "../../agent/understanding/catalog.ts";
import { extractEntities } from "../../agent/understanding/entities.ts";
import { LocalUnderstanding } from "../../agent/understanding/local.ts";
import { trainFromUtteranceFiles } from "../../agent/understanding/model.ts";
import { loadUtterances } from "../../agent/understanding/utterances.ts";
import type { DialogueState } from "../../conversation/commands.ts";

const GOAL_MS = 1;
const ROUNDS = Number(process.env.BENCH_NLU_ROUNDS ?? 3);
const TODAY = "2026-05-15";

const catalog = loadUnderstandingCatalog();
const texts = loadUtterances().map((u) => u.text);
const t0 = performance.now();
const classifier = trainFromUtteranceFiles({ catalog });
const trainingMs = performance.now() - t0;
const engine = new LocalUnderstanding({ classifier, catalog, businessDate: () => TODAY });
const state: DialogueState = {
  active_flow: null,
  awaiting_slot: null,
  listed_options: [],
  language: "pt-BR",
};

function measure(run: (text: string) => unknown): { p50: number; p95: number; p99: number; cpu_us: number } {
  for (const t of texts.slice(0, 300)) run(t); // warm-up (JIT)
  const samples: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < ROUNDS; r++)
    for (const t of texts) {
      const s = performance.now();
      run(t);
      samples.push(performance.now() - s);
    }
  const cpu = process.cpuUsage(cpu0);
  samples.sort((a, b) => a - b);
  const q = (p: number) => round(samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]);
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99), cpu_us: round((cpu.user + cpu.system) / samples.length) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const understand = measure((t) => engine.analyzeAt(t, state, TODAY));
const entities = measure((t) => extractEntities(t, { businessDate: TODAY, catalog }));
console.log(
  JSON.stringify(
    {
      bench: "nlu",
      messages: texts.length,
      rounds: ROUNDS,
      training_ms: Math.round(trainingMs),
      features: classifier.featureCount,
      understand_ms: understand,
      entities_ms: entities,
      entities_share_of_p50: round(entities.p50 / understand.p50),
      goal_p95_ms: GOAL_MS,
      ratio_vs_goal: round(understand.p95 / GOAL_MS),
    },
    null,
    2,
  ),
);
