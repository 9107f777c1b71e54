import type { Entity, EntityKind } from "./entities.ts";
import { INTENTS, type Intent } from "./intents.ts";
import { lexiconHits } from "./lexicons.ts";
import { fold, mulberry32, tokenize } from "./normalize.ts";

/**
 * The local intent classifier: multinomial logistic regression over normalised word unigrams and
 * bigrams plus character 3–5-grams of each word (typo tolerance: "cancelr", "intenet", "fatrua").
 * Trained from the labelled utterance files in well under a second, deterministically (fixed
 * example order and seeded shuffles), then kept in memory. Hand-written: the JS libraries that do
 * this are either unmaintained or pull in tensor runtimes far heavier than 200 lines of code.
 */

/** Entities whose text is replaced by a placeholder word (digits say nothing about the intent). */
const MASKED: ReadonlySet<EntityKind> = new Set(["cpf", "phone", "cep", "date", "money", "login_code"]);
/** Entities that add a placeholder word and keep their words ("fatura de março" + __month__). */
const MARKED: ReadonlySet<EntityKind> = new Set(["month", "plan", "ordinal"]);

export interface FeatureOptions {
  charMin: number;
  charMax: number;
  /** Relative weight of each feature group before the vector is scaled to unit length. */
  wordWeight: number;
  bigramWeight: number;
  charWeight: number;
  lexiconWeight: number;
  /** Weight of the one feature saying whether the message has a business word (see LEXICONS.domain). */
  domainWeight: number;
}

export interface TrainGateOptions {
  /**
   * A knowledge question is about the operator's business: without any business word (LEXICONS.domain)
   * the message cannot be one, and its probability goes to the other intents.
   */
  domainGate: boolean;
}

export interface TrainOptions extends FeatureOptions, TrainGateOptions {
  epochs: number;
  learningRate: number;
  l2: number;
  seed: number;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  charMin: 3,
  charMax: 5,
  wordWeight: 1,
  bigramWeight: 0.6,
  charWeight: 1,
  lexiconWeight: 1.5,
  domainWeight: 1,
  domainGate: true,
  epochs: 30,
  learningRate: 0.3,
  l2: 1e-5,
  seed: 20260101,
};

/** Marks a masked span in the text until tokenisation turns it into `__kind__` (survives folding). */
const PLACEHOLDER = "zqx";

/** Normalised words of a message with entity spans masked or marked (see MASKED / MARKED). */
export function classifierWords(text: string, entities: readonly Entity[] = []): string[] {
  const nfc = text.normalize("NFC");
  let masked = "";
  let cursor = 0;
  const marks: string[] = [];
  for (const e of [...entities].sort((a, b) => a.start - b.start)) {
    if (e.start < cursor) continue;
    if (MASKED.has(e.kind)) {
      masked += `${nfc.slice(cursor, e.start)} ${PLACEHOLDER}${e.kind.replace("_", "")}${PLACEHOLDER} `;
      cursor = e.end;
    } else if (MARKED.has(e.kind)) marks.push(`__${e.kind}__`);
    else if (e.kind === "yes_no") marks.push(e.value ? "__yes__" : "__no__");
  }
  masked += nfc.slice(cursor);
  const out: string[] = [];
  for (const t of tokenize(fold(masked))) {
    for (const w of t.norm.split(" ")) {
      if (w.length > 6 && w.startsWith(PLACEHOLDER) && w.endsWith(PLACEHOLDER))
        out.push(`__${w.slice(3, -3)}__`);
      else out.push(/^\d+$/.test(w) ? "__num__" : w);
    }
  }
  if (nfc.includes("?")) marks.push("__question__");
  out.push(...marks);
  return out;
}

/** Sparse feature vector (feature → value), unit length. */
export function featureVector(words: readonly string[], o: FeatureOptions): Map<string, number> {
  const groups: [Set<string>, number][] = [];
  const uni = new Set<string>();
  const bi = new Set<string>();
  const chars = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    uni.add(`w|${w}`);
    bi.add(`b|${i === 0 ? "<s>" : words[i - 1]}|${w}`);
    if (!w.startsWith("__")) {
      const padded = `<${w}>`;
      for (let n = o.charMin; n <= o.charMax; n++)
        for (let j = 0; j + n <= padded.length; j++) chars.add(`c|${padded.slice(j, j + n)}`);
    }
  }
  if (words.length > 0) bi.add(`b|${words[words.length - 1]}|</s>`);
  const lex = new Set<string>();
  const dom = new Set<string>();
  for (const name of lexiconHits(words)) {
    if (o.domainWeight > 0 && (name === "domain" || name === "nodomain")) dom.add(`d|${name}`);
    else lex.add(`l|${name}`);
  }
  groups.push(
    [uni, o.wordWeight],
    [bi, o.bigramWeight],
    [chars, o.charWeight],
    [lex, o.lexiconWeight],
    [dom, o.domainWeight],
  );
  const vec = new Map<string, number>();
  let norm = 0;
  for (const [set, weight] of groups) {
    if (set.size === 0 || weight === 0) continue;
    const v = weight / Math.sqrt(set.size);
    for (const f of set) vec.set(f, v);
    norm += weight * weight;
  }
  if (norm > 0) {
    const inv = 1 / Math.sqrt(norm);
    for (const [f, v] of vec) vec.set(f, v * inv);
  }
  return vec;
}

export interface TrainingExample {
  /** Output of classifierWords. */
  words: string[];
  intent: Intent;
}

/** Bumped when features or the model change meaning (a cached model of another format is retrained). */
export const CLASSIFIER_FORMAT = 3;

export interface SerializedClassifier {
  format: number;
  labels: Intent[];
  options: TrainOptions;
  features: string[];
  weights: string;
  bias: number[];
}

export interface IntentScore {
  intent: Intent;
  confidence: number;
}

/** A trained softmax model: feature ids, weights (feature-major), biases. */
export class IntentClassifier {
  readonly labels: readonly Intent[];
  readonly options: TrainOptions;
  readonly #ids: Map<string, number>;
  readonly #weights: Float64Array;
  readonly #bias: Float64Array;

  constructor(
    labels: readonly Intent[],
    options: TrainOptions,
    ids: Map<string, number>,
    weights: Float64Array,
    bias: Float64Array,
  ) {
    this.labels = labels;
    this.options = options;
    this.#ids = ids;
    this.#weights = weights;
    this.#bias = bias;
  }

  get featureCount(): number {
    return this.#ids.size;
  }

  /** The trained model as a JSON-safe object (weights as base64 float64, exact round trip). */
  toJSON(): SerializedClassifier {
    return {
      format: CLASSIFIER_FORMAT,
      labels: [...this.labels],
      options: this.options,
      features: [...this.#ids.keys()],
      weights: Buffer.from(this.#weights.buffer, this.#weights.byteOffset, this.#weights.byteLength).toString(
        "base64",
      ),
      bias: [...this.#bias],
    };
  }

  /** Rebuilds a model from toJSON() output; throws on another format or inconsistent sizes. */
  static fromJSON(data: SerializedClassifier): IntentClassifier {
    if (data.format !== CLASSIFIER_FORMAT)
      throw new RangeError(`classifier format ${data.format}, expected ${CLASSIFIER_FORMAT}`);
    const bytes = Buffer.from(data.weights, "base64");
    const weights = new Float64Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    if (
      weights.length !== data.features.length * data.labels.length ||
      data.bias.length !== data.labels.length
    )
      throw new RangeError("classifier weights do not match its features and labels");
    const ids = new Map(data.features.map((f, i) => [f, i]));
    return new IntentClassifier(data.labels, data.options, ids, weights, Float64Array.from(data.bias));
  }

  /** Posterior over all intents, highest first. */
  classifyWords(words: readonly string[]): IntentScore[] {
    const k = this.labels.length;
    const scores = Float64Array.from(this.#bias);
    for (const [f, v] of featureVector(words, this.options)) {
      const id = this.#ids.get(f);
      if (id === undefined) continue;
      const base = id * k;
      for (let c = 0; c < k; c++) scores[c] += v * this.#weights[base + c];
    }
    const probs = softmax(scores);
    if (this.options.domainGate) {
      const kq = this.labels.indexOf("knowledge_question");
      if (kq >= 0 && probs[kq] > 0 && !lexiconHits(words).has("domain")) {
        const rest = 1 - probs[kq];
        probs[kq] = 0;
        if (rest > 0) for (let c = 0; c < k; c++) probs[c] /= rest;
      }
    }
    const out: IntentScore[] = this.labels.map((intent, c) => ({ intent, confidence: probs[c] }));
    return out.sort((a, b) => b.confidence - a.confidence || a.intent.localeCompare(b.intent));
  }

  classify(text: string, entities: readonly Entity[] = []): IntentScore[] {
    return this.classifyWords(classifierWords(text, entities));
  }
}

function softmax(scores: Float64Array): Float64Array {
  let max = -Infinity;
  for (const s of scores) if (s > max) max = s;
  let sum = 0;
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    out[i] = Math.exp(scores[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/**
 * Trains the classifier with AdaGrad on the softmax loss (L2-regularised), visiting the examples in
 * a seeded shuffled order each epoch: the same examples and options give the same model.
 */
export function trainIntentClassifier(
  examples: readonly TrainingExample[],
  options: Partial<TrainOptions> = {},
): IntentClassifier {
  const o: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...options };
  if (examples.length === 0) throw new RangeError("cannot train the intent classifier on no examples");
  const labels = INTENTS;
  const k = labels.length;
  const labelIndex = new Map<Intent, number>(labels.map((l, i) => [l, i]));
  const ids = new Map<string, number>();
  const vectors = examples.map((e) => {
    const vec = featureVector(e.words, o);
    const fids: number[] = [];
    const vals: number[] = [];
    for (const [f, v] of vec) {
      let id = ids.get(f);
      if (id === undefined) {
        id = ids.size;
        ids.set(f, id);
      }
      fids.push(id);
      vals.push(v);
    }
    return { fids, vals, y: labelIndex.get(e.intent)! };
  });
  const weights = new Float64Array(ids.size * k);
  const gradSq = new Float64Array(ids.size * k).fill(1e-8);
  const bias = new Float64Array(k);
  const biasSq = new Float64Array(k).fill(1e-8);
  const order = vectors.map((_, i) => i);
  const random = mulberry32(o.seed);
  const scores = new Float64Array(k);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const idx of order) {
      const { fids, vals, y } = vectors[idx];
      scores.set(bias);
      for (let t = 0; t < fids.length; t++) {
        const base = fids[t] * k;
        const v = vals[t];
        for (let c = 0; c < k; c++) scores[c] += v * weights[base + c];
      }
      const p = softmax(scores);
      for (let c = 0; c < k; c++) {
        const g = p[c] - (c === y ? 1 : 0);
        biasSq[c] += g * g;
        bias[c] -= (o.learningRate * g) / Math.sqrt(biasSq[c]);
        for (let t = 0; t < fids.length; t++) {
          const w = fids[t] * k + c;
          const gw = g * vals[t] + o.l2 * weights[w];
          gradSq[w] += gw * gw;
          weights[w] -= (o.learningRate * gw) / Math.sqrt(gradSq[w]);
        }
      }
    }
  }
  return new IntentClassifier(labels, o, ids, weights, bias);
}
