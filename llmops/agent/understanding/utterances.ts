import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";
import { ValidationError } from "../../../platform/errors.ts";
import { type Language, languageSchema } from "../commands.ts";
import { ENTITY_KINDS } from "./entities.ts";
import { INTENTS, type Intent } from "./intents.ts";
import { fnv1a, normalizedWords } from "./normalize.ts";

/** data/assistant/utterances/: one YAML file per intent, plus multi.yaml and entities.yaml. */
export const UTTERANCES_DIR = fileURLToPath(new URL("../../../data/assistant/utterances/", import.meta.url));

export interface Utterance {
  text: string;
  intent: Intent;
  language: Language;
  entities?: Record<string, unknown>;
  /** Fixed held-out split (see splitOf). */
  split: "train" | "test";
  /** File and position, for error messages and reports. */
  source: string;
}

/** Held-out share of every (intent, language) group. */
export const HELD_OUT_SHARE = 0.25;

const itemSchema = z.union([
  z.string().min(1),
  z.object({ text: z.string().min(1), entities: z.record(z.string(), z.unknown()).optional() }).strict(),
]);
const intentFileSchema = z
  .object({
    intent: z.enum(INTENTS),
    "pt-BR": z.array(itemSchema).default([]),
    en: z.array(itemSchema).default([]),
  })
  .strict();

/** The key two messages share when they are "the same" for the classifier. */
export function utteranceKey(text: string): string {
  return normalizedWords(text).join(" ");
}

function readYaml(file: string): unknown {
  try {
    return parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ValidationError(file, `cannot parse YAML: ${(err as Error).message}`);
  }
}

function fail(file: string, error: z.ZodError): never {
  const issue = error.issues[0];
  throw new ValidationError(`${file}: ${issue?.path.join(".") ?? ""}`, issue?.message ?? "invalid");
}

/**
 * Loads every intent file, rejects duplicates (after normalisation, across all files) and marks the
 * held-out split. Order: files by name, then pt-BR before en, in file order.
 */
export function loadUtterances(dir: string = UTTERANCES_DIR): Utterance[] {
  const out: Omit<Utterance, "split">[] = [];
  const seen = new Map<string, string>();
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") && f !== "multi.yaml" && f !== "entities.yaml")
    .sort();
  if (files.length === 0) throw new ValidationError(dir, "no intent files (<intent>.yaml)");
  for (const name of files) {
    const file = join(dir, name);
    const parsed = intentFileSchema.safeParse(readYaml(file));
    if (!parsed.success) fail(file, parsed.error);
    const { intent } = parsed.data;
    if (`${intent}.yaml` !== name)
      throw new ValidationError(file, `intent "${intent}" must live in ${intent}.yaml`);
    for (const language of ["pt-BR", "en"] as const) {
      parsed.data[language].forEach((item, i) => {
        const text = typeof item === "string" ? item : item.text;
        const source = `${name}:${language}[${i}]`;
        const key = utteranceKey(text);
        if (key.length === 0) throw new ValidationError(source, `"${text}" has no words`);
        const dup = seen.get(key);
        if (dup) throw new ValidationError(source, `"${text}" duplicates ${dup} after normalisation`);
        seen.set(key, source);
        const entities = typeof item === "string" ? undefined : item.entities;
        out.push({ text, intent, language, source, ...(entities ? { entities } : {}) });
      });
    }
  }
  return withSplit(out);
}

/**
 * Stratified, order-independent held-out split: inside each (intent, language) group, messages are
 * ranked by the FNV-1a hash of their normalised text and the first round(n × 25 %) are held out.
 */
function withSplit(items: Omit<Utterance, "split">[]): Utterance[] {
  const groups = new Map<string, Omit<Utterance, "split">[]>();
  for (const u of items) {
    const k = `${u.intent}\u0000${u.language}`;
    const g = groups.get(k);
    if (g) g.push(u);
    else groups.set(k, [u]);
  }
  const test = new Set<Omit<Utterance, "split">>();
  for (const g of groups.values()) {
    const ranked = [...g].sort((a, b) => fnv1a(utteranceKey(a.text)) - fnv1a(utteranceKey(b.text)));
    const n = Math.round(g.length * HELD_OUT_SHARE);
    for (const u of ranked.slice(0, n)) test.add(u);
  }
  return items.map((u) => ({ ...u, split: test.has(u) ? "test" : "train" }));
}

const multiSchema = z
  .object({
    items: z
      .array(z.object({ text: z.string().min(1), intents: z.array(z.enum(INTENTS)).min(2) }).strict())
      .min(1),
  })
  .strict();

/** multi.yaml: messages with several intents (scored, never trained on). */
export function loadMultiIntentSet(dir: string = UTTERANCES_DIR): { text: string; intents: Intent[] }[] {
  const file = join(dir, "multi.yaml");
  const parsed = multiSchema.safeParse(readYaml(file));
  if (!parsed.success) fail(file, parsed.error);
  return parsed.data.items;
}

const entityValue = z.union([z.string(), z.number(), z.boolean()]);
const entitySetSchema = z
  .object({
    business_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    items: z
      .array(
        z
          .object({
            text: z.string().min(1),
            lang: languageSchema,
            expect: z.partialRecord(z.enum(ENTITY_KINDS), entityValue),
            awaiting: z.string().optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export type EntitySet = z.infer<typeof entitySetSchema>;

/** entities.yaml: the labelled entity set. */
export function loadEntitySet(dir: string = UTTERANCES_DIR): EntitySet {
  const file = join(dir, "entities.yaml");
  const parsed = entitySetSchema.safeParse(readYaml(file));
  if (!parsed.success) fail(file, parsed.error);
  return parsed.data;
}
