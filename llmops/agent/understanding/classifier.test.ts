import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  classifierWords,
  DEFAULT_TRAIN_OPTIONS,
  featureVector,
  IntentClassifier,
  trainIntentClassifier,
} from "./classifier.ts";
import { INTENTS } from "./intents.ts";
import { detectMessageLanguage } from "./language.ts";
import { cachedIntentClassifier, trainingKey } from "./model.ts";
import { normalizedWords } from "./normalize.ts";
import { loadUtterances, splitOf, UTTERANCES_DIR, utteranceKey } from "./utterances.ts";

function copyOfUtterances(): string {
  const dir = mkdtempSync(join(tmpdir(), "telco-utterances-"));
  for (const f of readdirSync(UTTERANCES_DIR))
    writeFileSync(join(dir, f), readFileSync(join(UTTERANCES_DIR, f)));
  return dir;
}

describe("the labelled utterance set", () => {
  const all = loadUtterances();

  it("has every intent with at least 40 messages, in pt-BR and English, and a held-out quarter", () => {
    for (const intent of INTENTS) {
      const mine = all.filter((u) => u.intent === intent);
      expect(mine.length, intent).toBeGreaterThanOrEqual(40);
      expect(
        mine.some((u) => u.language === "en"),
        intent,
      ).toBe(true);
      const heldOut = mine.filter((u) => u.split === "test").length / mine.length;
      expect(heldOut, intent).toBeGreaterThan(0.15);
      expect(heldOut, intent).toBeLessThan(0.35);
    }
    const share = all.filter((u) => u.split === "test").length / all.length;
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.28);
  });

  it("the split of a message depends on its own text only: adding messages moves nobody", () => {
    const dir = copyOfUtterances();
    const file = join(dir, "greeting.yaml");
    writeFileSync(
      file,
      `${readFileSync(file, "utf8")}  - "hey hey, good day to you"\n  - "ola ola, bom diaaa pra vc"\n`,
    );
    const before = new Map(all.map((u) => [u.text, u.split]));
    const after = loadUtterances(dir);
    expect(after.length).toBe(all.length + 2);
    for (const u of after) if (before.has(u.text)) expect(u.split).toBe(before.get(u.text));
    expect(splitOf("Minha NET caiu!!")).toBe(splitOf("minha net caiu"));
  });

  it("rejects a duplicate after normalisation, naming both places", () => {
    const dir = copyOfUtterances();
    const file = join(dir, "thanks.yaml");
    writeFileSync(file, `${readFileSync(file, "utf8")}  - "Obrigadooo!!"\n`);
    expect(() => loadUtterances(dir)).toThrow(
      /thanks\.yaml:en\[\d+\]: "Obrigadooo!!" duplicates thanks\.yaml:pt-BR\[0\]/,
    );
  });

  it("rejects an unknown intent or a message that is not text, naming the file and field", () => {
    const dir = copyOfUtterances();
    writeFileSync(join(dir, "greeting.yaml"), "intent: greetings\npt-BR:\n  - oi\n");
    expect(() => loadUtterances(dir)).toThrow(/greeting\.yaml: intent/);
    writeFileSync(join(dir, "greeting.yaml"), "intent: greeting\npt-BR:\n  - 123456\n");
    expect(() => loadUtterances(dir)).toThrow(/greeting\.yaml: pt-BR\.0/);
  });
});

describe("normalisation and features", () => {
  it("folds accents, collapses repeats and expands chat spellings", () => {
    expect(normalizedWords("Vc tá lentaaa pq?")).toEqual(["voce", "esta", "lenta", "porque"]);
    expect(utteranceKey("minha NET caiu dnv")).toBe("minha internet caiu de novo");
  });

  it("masks entity values: two CPFs give the same words", () => {
    const a = classifierWords("meu cpf é 529.982.247-25", [
      { kind: "cpf", value: "52998224725", start: 10, end: 24, text: "529.982.247-25" },
    ]);
    expect(a).toEqual(["meu", "cpf", "e", "__cpf__"]);
  });

  it("a feature vector has unit length", () => {
    const v = featureVector(["minha", "internet", "caiu"], DEFAULT_TRAIN_OPTIONS);
    const norm = Math.sqrt([...v.values()].reduce((s, x) => s + x * x, 0));
    expect(norm).toBeCloseTo(1, 10);
  });
});

describe("training", () => {
  it("is deterministic and separates a toy problem, typos included", () => {
    const examples = [
      ...["minha internet caiu", "a internet esta lenta", "sem internet em casa", "internet caindo"].map(
        (t) => ({
          words: classifierWords(t),
          intent: "internet_problem" as const,
        }),
      ),
      ...["quero cancelar", "cancela meu plano", "quero o cancelamento", "vou cancelar tudo"].map((t) => ({
        words: classifierWords(t),
        intent: "cancel" as const,
      })),
    ];
    const a = trainIntentClassifier(examples);
    const b = trainIntentClassifier(examples);
    expect(a.classify("a intenet caiuu")).toEqual(b.classify("a intenet caiuu"));
    expect(a.classify("a intenet caiuu")[0].intent).toBe("internet_problem");
    expect(a.classify("qero canselar")[0].intent).toBe("cancel");
    const p = a.classify("quero cancelar");
    expect(p.reduce((s, x) => s + x.confidence, 0)).toBeCloseTo(1, 10);
  });

  it("refuses to train on nothing", () => {
    expect(() => trainIntentClassifier([])).toThrow(/no examples/);
  });
});

describe("language detection", () => {
  it("pt-BR, English, and no decision without evidence", () => {
    expect(detectMessageLanguage("minha net caiu de novo")).toBe("pt-BR");
    expect(detectMessageLanguage("tô sem internet")).toBe("pt-BR");
    expect(detectMessageLanguage("my internet keeps dropping")).toBe("en");
    expect(detectMessageLanguage("I want to talk to a human")).toBe("en");
    expect(detectMessageLanguage("ok")).toBeNull();
    expect(detectMessageLanguage("529.982.247-25")).toBeNull();
  });
});

describe("the model cache file", () => {
  const toy = () =>
    trainIntentClassifier([
      { words: classifierWords("minha internet caiu"), intent: "internet_problem" },
      { words: classifierWords("quero cancelar"), intent: "cancel" },
    ]);

  it("round-trips a model exactly through JSON", () => {
    const a = toy();
    const b = IntentClassifier.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(b.classify("a internet caiu de novo")).toEqual(a.classify("a internet caiu de novo"));
    expect(() => IntentClassifier.fromJSON({ ...a.toJSON(), bias: [1] })).toThrow(/do not match/);
  });

  it("loads a model trained from the same files, retrains and rewrites a stale one", () => {
    const dir = mkdtempSync(join(tmpdir(), "telco-nlu-cache-"));
    const fresh = join(dir, "fresh.json");
    writeFileSync(fresh, JSON.stringify({ key: trainingKey(), model: toy().toJSON() }));
    expect(cachedIntentClassifier(fresh).featureCount).toBe(toy().featureCount);

    const stale = join(dir, "stale.json");
    writeFileSync(stale, JSON.stringify({ key: "an older training set", model: toy().toJSON() }));
    const retrained = cachedIntentClassifier(stale);
    expect(retrained.featureCount).toBeGreaterThan(1000);
    const written = JSON.parse(readFileSync(stale, "utf8")) as { key: string };
    expect(written.key).toBe(trainingKey());
  });
});
