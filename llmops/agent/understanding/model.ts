import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
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

/** The cache file's JSON: the key, and the model with its weights in a sidecar (or inline, older files). */
interface CacheFile {
  key: string;
  model: SerializedClassifier;
  /** Sidecar file name (same folder) holding the weights as raw float64, labels-minor. */
  weightsFile?: string;
}

/**
 * The sidecar of a model trained under `key`: named by the key, so a JSON file never points at the
 * weights of another training run even if a writer died between the two renames.
 */
function weightsFileName(file: string, key: string): string {
  return `${basename(file)}.${key.slice(0, 16)}.f64`;
}

function writeAtomic(file: string, bytes: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

/**
 * The cached model if `file` holds one trained under `key`, else undefined (a cache miss); `inline`
 * when it came from an older file with base64 weights (rewritten in the sidecar layout).
 */
function readCachedModel(
  file: string,
  key: string,
): { classifier: IntentClassifier; inline: boolean } | undefined {
  try {
    const data = JSON.parse(readFileSync(file, "utf8")) as CacheFile;
    if (data.key !== key) return undefined;
    const m = data.model;
    if (!data.weightsFile) return { classifier: IntentClassifier.fromJSON(m), inline: true };
    if (m.format !== CLASSIFIER_FORMAT || data.weightsFile !== weightsFileName(file, key)) return undefined;
    const bytes = readFileSync(join(dirname(file), data.weightsFile));
    if (bytes.byteLength !== m.features.length * m.labels.length * 8 || m.bias.length !== m.labels.length)
      return undefined;
    // A file this size gets its own ArrayBuffer (offset 0); copy only if it came misaligned.
    const weights =
      bytes.byteOffset % 8 === 0
        ? new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8)
        : new Float64Array(new Uint8Array(bytes).buffer);
    const ids = new Map(m.features.map((f, i) => [f, i]));
    const classifier = new IntentClassifier(m.labels, m.options, ids, weights, Float64Array.from(m.bias));
    return { classifier, inline: false };
  } catch {
    return undefined; // missing, unreadable or damaged: train
  }
}

/** Writes the model as JSON (key, labels, features, bias) plus the raw weights sidecar; drops old sidecars. */
function writeCachedModel(file: string, key: string, classifier: IntentClassifier): void {
  const { weights, ...model } = classifier.toJSON();
  const weightsFile = weightsFileName(file, key);
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, weightsFile), Buffer.from(weights, "base64"));
  writeAtomic(
    file,
    JSON.stringify({ key, model: { ...model, weights: "" }, weightsFile } satisfies CacheFile),
  );
  const prefix = `${basename(file)}.`;
  for (const name of readdirSync(dir))
    if (name.startsWith(prefix) && name.endsWith(".f64") && name !== weightsFile)
      rmSync(join(dir, name), { force: true });
}

/**
 * The shipped classifier through a cache file (e.g. in the workspace's assistant folder): loaded when
 * it was trained from the same files, otherwise trained and written. A one-shot CLI turn then costs
 * a file read instead of a training run. The key hashes the raw utterance and catalog bytes (no YAML
 * is parsed unless the model must be retrained); the weights sit in a raw float64 sidecar, so a load
 * is a small JSON parse and a binary read rather than decoding megabytes of base64. A file that cannot
 * be read or written is only a cache miss.
 */
export function cachedIntentClassifier(file: string, dir: string = UTTERANCES_DIR): IntentClassifier {
  const key = trainingKey(dir);
  const memo = cache.get(`${file}\u0000${key}`);
  if (memo) return memo;
  const cached = readCachedModel(file, key);
  const classifier = cached?.classifier ?? trainFromUtteranceFiles({ dir });
  if (!cached || cached.inline) {
    try {
      writeCachedModel(file, key, classifier);
    } catch {
      // read-only workspace: keep the model in memory only
    }
  }
  cache.set(`${file}\u0000${key}`, classifier);
  return classifier;
}
