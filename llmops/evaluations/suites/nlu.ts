import type { EvalsConfig } from "../../../platform/config/sections/evals.ts";
import { nluReport } from "../nlu/nlu.ts";
import { type CaseResult, metric, round, type SuiteResult } from "./types.ts";

/**
 * Intent and entity accuracy (llmops/evaluations/nlu): the local classifier trained on the train split,
 * scored on the fixed held-out split (per-intent F1), the multi-intent set and the labelled entity set.
 * A case per intent (its held-out F1 against the lowest allowed) and per mis-read entity message.
 */
export function nluSuite(thresholds: EvalsConfig["thresholds"]["nlu"]): SuiteResult {
  const t0 = performance.now();
  const r = nluReport();
  const key = (k: string) => `evals.thresholds.nlu.${k}`;
  const cases: CaseResult[] = [
    ...r.intents.per_intent.map((m) => ({
      id: `intent:${m.label}`,
      passed: m.f1 >= thresholds.minIntentF1,
      score: round(m.f1),
      failures:
        m.f1 >= thresholds.minIntentF1
          ? []
          : [
              `held-out F1 ${round(m.f1, 3)} < ${thresholds.minIntentF1} (precision ${round(m.precision, 3)}, recall ${round(m.recall, 3)}, n=${m.support})`,
              ...r.intents.errors
                .filter((e) => e.expected === m.label || e.predicted === m.label)
                .slice(0, 5)
                .map((e) => `"${e.text}": expected ${e.expected}, got ${e.predicted}`),
            ],
    })),
    ...r.entities.failures.map((f, i) => ({
      id: `entities:${i + 1}`,
      passed: false,
      failures: [
        `"${f.text}": expected ${JSON.stringify(f.expected)}, extracted ${JSON.stringify(f.extracted)}`,
      ],
    })),
    ...r.multi_intent.failures.map((f, i) => ({
      id: `multi-intent:${i + 1}`,
      passed: false,
      failures: [
        `"${f.text}": expected ${f.expected.join("+")}, detected ${f.detected.join("+") || "nothing"}`,
      ],
    })),
  ];
  const metrics = [
    metric("intent_macro_f1", r.intents.macro_f1, {
      unit: "rate",
      regression: "absolute",
      threshold: { op: ">=", value: thresholds.minMacroF1, key: key("minMacroF1") },
    }),
    metric("intent_min_f1", r.intents.min_f1, {
      unit: "rate",
      regression: "absolute",
      threshold: { op: ">=", value: thresholds.minIntentF1, key: key("minIntentF1") },
    }),
    metric("intent_accuracy", r.intents.accuracy, { unit: "rate", regression: "absolute" }),
    metric("entity_accuracy", r.entities.accuracy, {
      unit: "rate",
      regression: "absolute",
      threshold: { op: ">=", value: thresholds.minEntityAccuracy, key: key("minEntityAccuracy") },
    }),
    metric("multi_intent_accuracy", r.multi_intent.accuracy, {
      unit: "rate",
      regression: "absolute",
      threshold: { op: ">=", value: thresholds.minMultiIntentAccuracy, key: key("minMultiIntentAccuracy") },
    }),
    metric("language_accuracy", r.language.accuracy, { unit: "rate", regression: "absolute" }),
  ];
  return {
    suite: "nlu",
    status: "ran",
    summary: `intents: macro F1 ${round(r.intents.macro_f1, 3)} (min ${round(r.intents.min_f1, 3)}) on ${r.intents.held_out} held-out messages; entities ${r.entities.exact}/${r.entities.messages} exact; multi-intent ${r.multi_intent.exact}/${r.multi_intent.messages}`,
    metrics,
    cases,
    notes: [
      "scores the local understanding engine (classifier + entity extraction); the LLM engine is judged by the golden conversations",
    ],
    ms: Math.round(performance.now() - t0),
    details: {
      per_intent: r.intents.per_intent.map((m) => ({
        intent: m.label,
        precision: round(m.precision),
        recall: round(m.recall),
        f1: round(m.f1),
        support: m.support,
      })),
      per_entity_kind: r.entities.per_kind,
      train: r.intents.train,
      held_out: r.intents.held_out,
    },
  };
}
