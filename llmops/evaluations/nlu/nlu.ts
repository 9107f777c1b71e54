import { loadUnderstandingCatalog } from "../../agent/understanding/catalog.ts";
import type { IntentClassifier } from "../../agent/understanding/classifier.ts";
import { type EntityKind, extractEntities } from "../../agent/understanding/entities.ts";
import { INTENTS } from "../../agent/understanding/intents.ts";
import { detectMessageLanguage } from "../../agent/understanding/language.ts";
import { LocalUnderstanding } from "../../agent/understanding/local.ts";
import { trainFromUtteranceFiles } from "../../agent/understanding/model.ts";
import {
  loadEntitySet,
  loadMultiIntentSet,
  loadUtterances,
  UTTERANCES_DIR,
} from "../../agent/understanding/utterances.ts";
import type { DialogueState, Language } from "../../conversation/commands.ts";

/**
 * The understanding evaluation (`telco eval run --suite nlu`): the local classifier trained on the
 * train split only, scored on the fixed held-out split (per-intent precision / recall / F1), the
 * multi-intent set (exact set of intents detected), the labelled entity set (per kind and per
 * message), and language detection on every labelled message.
 */

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Held-out messages of this label. */
  support: number;
}

export interface EntityKindMetrics {
  kind: EntityKind;
  expected: number;
  extracted: number;
  correct: number;
  precision: number;
  recall: number;
}

export interface NluReport {
  intents: {
    train: number;
    held_out: number;
    accuracy: number;
    macro_f1: number;
    min_f1: number;
    per_intent: ClassMetrics[];
    /** Held-out messages classified wrongly: text, expected, predicted. */
    errors: { text: string; expected: string; predicted: string }[];
  };
  multi_intent: {
    messages: number;
    exact: number;
    accuracy: number;
    failures: { text: string; expected: string[]; detected: string[] }[];
    /** Held-out single-intent messages for which the engine detected more than one intent. */
    spurious_extra_rate: number;
  };
  entities: {
    messages: number;
    exact: number;
    accuracy: number;
    per_kind: EntityKindMetrics[];
    failures: { text: string; expected: Record<string, unknown>; extracted: Record<string, unknown> }[];
  };
  language: {
    messages: number;
    /** Of the messages with evidence either way. */
    accuracy: number;
    /** Share with no evidence (the conversation keeps its language). */
    undecided_rate: number;
  };
  training: { ms: number; features: number };
}

export interface NluTargets {
  minIntentF1: number;
  minEntityAccuracy: number;
  minMultiIntentAccuracy: number;
}

export const DEFAULT_NLU_TARGETS: NluTargets = {
  minIntentF1: 0.9,
  minEntityAccuracy: 0.95,
  minMultiIntentAccuracy: 0.8,
};

/** Precision, recall and F1 per label from (expected, predicted) pairs; labels with no support included. */
export function classMetrics(
  pairs: readonly { expected: string; predicted: string }[],
  labels: readonly string[],
): ClassMetrics[] {
  return labels.map((label) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const p of pairs) {
      if (p.predicted === label && p.expected === label) tp++;
      else if (p.predicted === label) fp++;
      else if (p.expected === label) fn++;
    }
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support: tp + fn };
  });
}

const IDLE: DialogueState = { active_flow: null, awaiting_slot: null, listed_options: [], language: "pt-BR" };

export interface NluReportOptions {
  dir?: string;
  /** A classifier trained on the train split; trained here when absent. */
  classifier?: IntentClassifier;
}

/** Runs every part of the evaluation (about two seconds, most of it training). */
export function nluReport(options: NluReportOptions = {}): NluReport {
  const dir = options.dir ?? UTTERANCES_DIR;
  const catalog = loadUnderstandingCatalog();
  const utterances = loadUtterances(dir);
  const train = utterances.filter((u) => u.split === "train");
  const test = utterances.filter((u) => u.split === "test");

  const t0 = performance.now();
  const classifier = options.classifier ?? trainFromUtteranceFiles({ dir, split: "train", catalog });
  const trainingMs = performance.now() - t0;

  const entitySet = loadEntitySet(dir);
  const businessDate = entitySet.business_date;
  const pairs = test.map((u) => {
    const entities = extractEntities(u.text, { businessDate, catalog }).entities;
    return {
      text: u.text,
      expected: u.intent as string,
      predicted: classifier.classify(u.text, entities)[0].intent,
    };
  });
  const perIntent = classMetrics(pairs, INTENTS);
  const correct = pairs.filter((p) => p.expected === p.predicted).length;

  const engine = new LocalUnderstanding({ classifier, catalog, businessDate: () => businessDate });
  const multi = loadMultiIntentSet(dir).map((m) => {
    const detected = engine.analyzeAt(m.text, IDLE, businessDate).detected;
    return { text: m.text, expected: m.intents, detected };
  });
  const sameSet = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((x) => b.includes(x)) && b.every((x) => a.includes(x));
  const multiExact = multi.filter((m) => sameSet(m.expected, m.detected)).length;
  const extra = test.filter((u) => engine.analyzeAt(u.text, IDLE, businessDate).detected.length > 1).length;

  const entityResults = entitySet.items.map((item) => {
    const found = extractEntities(item.text, {
      businessDate,
      catalog,
      awaitingSlot: (item.awaiting ?? null) as never,
    }).entities;
    const extracted: Record<string, unknown> = {};
    for (const e of found) if (!(e.kind in extracted)) extracted[e.kind] = e.value;
    return { text: item.text, expected: item.expect as Record<string, unknown>, extracted };
  });
  const kinds = [
    ...new Set(entityResults.flatMap((r) => [...Object.keys(r.expected), ...Object.keys(r.extracted)])),
  ];
  const perKind: EntityKindMetrics[] = kinds.sort().map((kind) => {
    let expected = 0;
    let extracted = 0;
    let ok = 0;
    for (const r of entityResults) {
      const has = kind in r.expected;
      const got = kind in r.extracted;
      if (has) expected++;
      if (got) extracted++;
      if (has && got && r.expected[kind] === r.extracted[kind]) ok++;
    }
    return {
      kind: kind as EntityKind,
      expected,
      extracted,
      correct: ok,
      precision: extracted === 0 ? 1 : ok / extracted,
      recall: expected === 0 ? 1 : ok / expected,
    };
  });
  const entityFailures = entityResults.filter(
    (r) =>
      !sameSet(Object.keys(r.expected), Object.keys(r.extracted)) ||
      Object.keys(r.expected).some((k) => r.expected[k] !== r.extracted[k]),
  );

  let decided = 0;
  let right = 0;
  for (const u of utterances) {
    const lang: Language | null = detectMessageLanguage(u.text);
    if (lang === null) continue;
    decided++;
    if (lang === u.language) right++;
  }

  const f1s = perIntent.map((m) => m.f1);
  return {
    intents: {
      train: train.length,
      held_out: test.length,
      accuracy: correct / test.length,
      macro_f1: f1s.reduce((a, b) => a + b, 0) / f1s.length,
      min_f1: Math.min(...f1s),
      per_intent: perIntent,
      errors: pairs.filter((p) => p.expected !== p.predicted),
    },
    multi_intent: {
      messages: multi.length,
      exact: multiExact,
      accuracy: multiExact / multi.length,
      failures: multi.filter((m) => !sameSet(m.expected, m.detected)),
      spurious_extra_rate: extra / test.length,
    },
    entities: {
      messages: entityResults.length,
      exact: entityResults.length - entityFailures.length,
      accuracy: (entityResults.length - entityFailures.length) / entityResults.length,
      per_kind: perKind,
      failures: entityFailures,
    },
    language: {
      messages: utterances.length,
      accuracy: decided === 0 ? 0 : right / decided,
      undecided_rate: (utterances.length - decided) / utterances.length,
    },
    training: { ms: Math.round(trainingMs), features: classifier.featureCount },
  };
}

/** Targets the report misses, one line each (empty: all met). */
export function checkNluTargets(report: NluReport, targets: NluTargets = DEFAULT_NLU_TARGETS): string[] {
  const out: string[] = [];
  for (const m of report.intents.per_intent)
    if (m.f1 < targets.minIntentF1)
      out.push(`intent ${m.label}: held-out F1 ${fmt(m.f1)} < ${targets.minIntentF1}`);
  if (report.entities.accuracy < targets.minEntityAccuracy)
    out.push(`entities: exact accuracy ${fmt(report.entities.accuracy)} < ${targets.minEntityAccuracy}`);
  if (report.multi_intent.accuracy < targets.minMultiIntentAccuracy)
    out.push(
      `multi-intent: exact-set accuracy ${fmt(report.multi_intent.accuracy)} < ${targets.minMultiIntentAccuracy}`,
    );
  return out;
}

function fmt(x: number): string {
  return x.toFixed(3);
}

/** The report as plain-text tables for a person. */
export function formatNluReport(r: NluReport): string {
  const lines: string[] = [];
  const i = r.intents;
  lines.push(
    `Intents — held-out ${i.held_out} (trained on ${i.train}): accuracy ${fmt(i.accuracy)}, macro F1 ${fmt(i.macro_f1)}, min F1 ${fmt(i.min_f1)}`,
  );
  lines.push(
    `${"intent".padEnd(20)} ${"prec".padStart(6)} ${"recall".padStart(6)} ${"F1".padStart(6)} ${"n".padStart(4)}`,
  );
  for (const m of i.per_intent)
    lines.push(
      `${m.label.padEnd(20)} ${fmt(m.precision).padStart(6)} ${fmt(m.recall).padStart(6)} ${fmt(m.f1).padStart(6)} ${String(m.support).padStart(4)}`,
    );
  const mi = r.multi_intent;
  lines.push(
    "",
    `Multi-intent: ${mi.exact}/${mi.messages} exact sets (${fmt(mi.accuracy)}); extra intents on single-intent held-out messages: ${fmt(mi.spurious_extra_rate)}`,
  );
  const e = r.entities;
  lines.push("", `Entities: ${e.exact}/${e.messages} messages exact (${fmt(e.accuracy)})`);
  lines.push(
    `${"kind".padEnd(14)} ${"expected".padStart(8)} ${"found".padStart(6)} ${"prec".padStart(6)} ${"recall".padStart(6)}`,
  );
  for (const k of e.per_kind)
    lines.push(
      `${k.kind.padEnd(14)} ${String(k.expected).padStart(8)} ${String(k.extracted).padStart(6)} ${fmt(k.precision).padStart(6)} ${fmt(k.recall).padStart(6)}`,
    );
  lines.push(
    "",
    `Language: ${fmt(r.language.accuracy)} correct where decided; undecided ${fmt(r.language.undecided_rate)} of ${r.language.messages}`,
    `Training: ${r.training.ms} ms, ${r.training.features} features`,
  );
  return lines.join("\n");
}
