import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CATALOG_PATH } from "../../../mlops/simulator/catalog.ts";
import { loadUnderstandingCatalog, type UnderstandingCatalog } from "./catalog.ts";
import {
  CLASSIFIER_FORMAT,
  classifierWords,
  DEFAULT_TRAIN_OPTIONS,
  IntentClassifier,
  type SerializedClassifier,
  type TrainingExample,
  type TrainOptions,
  trainIntentClassifier,
} from "./classifier.ts";
import { extractEntities } from "./entities.ts";
import { loadUtterances, UTTERANCES_DIR, type Utterance } from "./utterances.ts";

/** Entity masking during training only needs a plausible date; relative months do not matter. */
const TRAINING_BUSINESS_DATE = "2026-01-01";

/** Classifier inputs for labelled messages (entities masked the way understanding masks them). */
export function trainingExamples(
  utterances: readonly Utterance[],
  catalog: UnderstandingCatalog,
): TrainingExample[] {
  return utterances.map((u) => ({
    words: classifierWords(
      u.text,
      extractEntities(u.text, { businessDate: TRAINING_BUSINESS_DATE, catalog }).entities,
    ),
    intent: u.intent,
  }));
}

export interface TrainFromFilesOptions {
  dir?: string;
  /** "train": the evaluation's model (held-out messages unseen); "all": the shipped model. */
  split?: "train" | "all";
  catalog?: UnderstandingCatalog;
  train?: Partial<TrainOptions>;
}

/** Trains a classifier from the utterance files (about a second for ~1,400 messages). */
export function trainFromUtteranceFiles(options: TrainFromFilesOptions = {}): IntentClassifier {
  const utterances = loadUtterances(options.dir ?? UTTERANCES_DIR);
  const chosen = options.split === "train" ? utterances.filter((u) => u.split === "train") : utterances;
  return trainIntentClassifier(
    trainingExamples(chosen, options.catalog ?? loadUnderstandingCatalog()),
    options.train,
  );
}

const cache = new Map<string, IntentClassifier>();

/**
 * The shipped classifier: trained on every labelled message the first time it is needed, then kept
 * for the life of the process (per utterance folder and split).
 */
export function defaultIntentClassifier(
  dir: string = UTTERANCES_DIR,
  split: "train" | "all" = "all",
): IntentClassifier {
  const key = `${dir}\u0000${split}`;
  let c = cache.get(key);
  if (!c) {
    c = trainFromUtteranceFiles({ dir, split });
    cache.set(key, c);
  }
  return c;
}

/** What a trained model depends on: the utterance files, the catalog, the options, the format. */
export function trainingKey(dir: string = UTTERANCES_DIR, catalogPath: string = CATALOG_PATH): string {
  const h = createHash("sha256");
  h.update(`format ${CLASSIFIER_FORMAT}\n${JSON.stringify(DEFAULT_TRAIN_OPTIONS)}\n`);
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith(".yaml"))
    .sort())
    h.update(`${f}\n`).update(readFileSync(join(dir, f)));
  h.update(readFileSync(catalogPath));
  return h.digest("hex");
}

/**
 * The shipped classifier through a JSON file (e.g. in the workspace's assistant folder): loaded when
 * it was trained from the same files, otherwise trained and written. A one-shot CLI turn then costs
 * a file read instead of a training run. A file that cannot be read or written is only a cache miss.
 */
export function cachedIntentClassifier(file: string, dir: string = UTTERANCES_DIR): IntentClassifier {
  const key = trainingKey(dir);
  const memo = cache.get(`${file}\u0000${key}`);
  if (memo) return memo;
  let classifier: IntentClassifier | undefined;
  try {
    const data = JSON.parse(readFileSync(file, "utf8")) as { key: string; model: SerializedClassifier };
    if (data.key === key) classifier = IntentClassifier.fromJSON(data.model);
  } catch {
    // missing, unreadable or stale: train below
  }
  if (!classifier) {
    classifier = trainFromUtteranceFiles({ dir });
    try {
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ key, model: classifier.toJSON() }));
      renameSync(tmp, file);
    } catch {
      // read-only workspace: keep the model in memory only
    }
  }
  cache.set(`${file}\u0000${key}`, classifier);
  return classifier;
}
