import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";
import { ValidationError } from "../../../platform/errors.ts";
import { type Language, languageSchema } from "../../conversation/commands.ts";
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
 * The fixed held-out split: a message is held out when the FNV-1a hash of its normalised text is 0
 * modulo 4. Membership depends only on the message itself, so adding or removing others never moves
 * a message between train and held-out; every intent and language gets about a quarter (see
 * data/assistant/utterances/README.md for the counts).
 */
export function splitOf(text: string): "train" | "test" {
  return fnv1a(utteranceKey(text)) % 4 === 0 ? "test" : "train";
}

function withSplit(items: Omit<Utterance, "split">[]): Utterance[] {
  return items.map((u) => ({ ...u, split: splitOf(u.text) }));
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
