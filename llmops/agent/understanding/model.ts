import { loadUnderstandingCatalog, type UnderstandingCatalog } from "./catalog.ts";
import {
  classifierWords,
  type IntentClassifier,
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
