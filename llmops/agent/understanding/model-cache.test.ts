import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { IntentClassifier } from "./classifier.ts";
import { cachedIntentClassifier, trainingKey } from "./model.ts";

// The cache file layout: a small JSON (key, labels, features, bias) and the weights as raw float64 in a
// sidecar named by the key. Each case loads from its own folder (the in-process memo is per file path).

const MESSAGES = [
  "minha internet caiu de novo",
  "quero cancelar meu plano",
  "pq a conta veio mais cara",
  "I need a copy of my bill",
  "falar com atendente",
];

const tmp = () => mkdtempSync(join(tmpdir(), "telco-nlu-cache-"));
const header = (file: string) =>
  JSON.parse(readFileSync(file, "utf8")) as {
    key: string;
    weightsFile?: string;
    model: { features: string[]; labels: string[]; weights: string };
  };

describe("the classifier cache file with a weights sidecar", () => {
  // One training run (a cache miss) shared by the cases below.
  let first: string;
  let trained: IntentClassifier;
  beforeAll(() => {
    first = tmp();
    trained = cachedIntentClassifier(join(first, "nlu.json"));
  });

  it("writes a small JSON plus raw weights, loads them back exactly, and reads the sidecar (no retraining)", () => {
    const h = header(join(first, "nlu.json"));
    expect(h.key).toBe(trainingKey());
    expect(h.model.weights).toBe("");
    expect(h.weightsFile).toMatch(/^nlu\.json\.[0-9a-f]{16}\.f64$/);
    const sidecar = join(first, h.weightsFile ?? "");
    expect(statSync(sidecar).size).toBe(h.model.features.length * h.model.labels.length * 8);
    expect(statSync(join(first, "nlu.json")).size).toBeLessThan(statSync(sidecar).size / 4);

    const copy = tmp();
    cpSync(first, copy, { recursive: true });
    const loaded = cachedIntentClassifier(join(copy, "nlu.json"));
    expect(loaded).not.toBe(trained);
    for (const m of MESSAGES) expect(loaded.classify(m)).toEqual(trained.classify(m));

    // Zeroed weights in the sidecar change every answer: the load used them rather than retraining.
    const zeroed = tmp();
    cpSync(first, zeroed, { recursive: true });
    writeFileSync(join(zeroed, h.weightsFile ?? ""), new Uint8Array(statSync(sidecar).size));
    const flat = cachedIntentClassifier(join(zeroed, "nlu.json"));
    expect(flat.classify(MESSAGES[0])[0].confidence).toBeLessThan(
      trained.classify(MESSAGES[0])[0].confidence,
    );
  });

  it("retrains over a truncated sidecar and removes sidecars of other keys", () => {
    const name = header(join(first, "nlu.json")).weightsFile ?? "";

    const broken = tmp();
    cpSync(first, broken, { recursive: true });
    truncateSync(join(broken, name), 1000);
    writeFileSync(join(broken, "nlu.json.0123456789abcdef.f64"), "left by an older training set");
    const retrained = cachedIntentClassifier(join(broken, "nlu.json"));
    for (const m of MESSAGES) expect(retrained.classify(m)).toEqual(trained.classify(m));
    expect(statSync(join(broken, name)).size).toBe(statSync(join(first, name)).size);
    expect(existsSync(join(broken, "nlu.json.0123456789abcdef.f64"))).toBe(false);
  });

  it("loads an older file with inline base64 weights and rewrites it in the sidecar layout", () => {
    const legacy = tmp();
    writeFileSync(join(legacy, "nlu.json"), JSON.stringify({ key: trainingKey(), model: trained.toJSON() }));
    const loaded = cachedIntentClassifier(join(legacy, "nlu.json"));
    for (const m of MESSAGES) expect(loaded.classify(m)).toEqual(trained.classify(m));
    const h = header(join(legacy, "nlu.json"));
    expect(h.model.weights).toBe("");
    expect(existsSync(join(legacy, h.weightsFile ?? "missing"))).toBe(true);
  });
});
