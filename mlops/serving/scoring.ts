import type { ServingConfig } from "../../platform/config/sections/serving.ts";
import { ValidationError } from "../../platform/errors.ts";
import type { FeatureValue } from "../../platform/ports/online-store.ts";
import { explainFeature, featureDefinition, type Language } from "../features/definitions.ts";
import { datasetFromRows, type TabularDataset, toNumber } from "../training/dataset.ts";
import type { ChurnModel } from "../training/model.ts";

/** One reason behind a prediction: a feature's TreeSHAP contribution, labelled for people. */
export interface Reason {
  feature: string;
  label: string;
  value: number | string | null;
  /** Log-odds contribution; positive raises the churn risk. */
  contribution: number;
  direction: "raises_risk" | "lowers_risk";
  /** Sentence about the value, e.g. "fidelidade termina em 1 mês" (absent for unknown features). */
  text?: string;
}

export type RiskBand = "low" | "medium" | "high";

/** Maps a probability to its band with the configured cut-offs. */
export function riskBand(p: number, bands: ServingConfig["riskBands"]): RiskBand {
  return p >= bands.high ? "high" : p >= bands.medium ? "medium" : "low";
}

/** pt-BR unless the first language of Accept-Language is English. */
export function languageOf(acceptLanguage: string | undefined): Language {
  const first = acceptLanguage?.split(",")[0]?.trim().toLowerCase() ?? "";
  return first.startsWith("en") ? "en" : "pt-BR";
}

/** Per model: category → code Maps of its vocabularies, built once (not per request). */
const categoryIndex = new WeakMap<ChurnModel, (Map<string, number> | null)[]>();

function indexOf(model: ChurnModel): (Map<string, number> | null)[] {
  let idx = categoryIndex.get(model);
  if (!idx) {
    idx = model.features.map((f) =>
      f.kind === "categorical" ? new Map((model.categories[f.name] ?? []).map((c, i) => [c, i])) : null,
    );
    categoryIndex.set(model, idx);
  }
  return idx;
}

/**
 * Codes feature rows the way the model was trained (fixed vocabularies; unseen categories → missing),
 * with datasetFromRows' value rules. Columns reference the model's own vocabulary arrays, so the GBDT
 * resolves them without building Maps per request.
 */
export function toDataset(model: ChurnModel, rows: readonly Record<string, unknown>[]): TabularDataset {
  const vocab = model.categories as Record<string, string[]>;
  if (model.features.some((f) => f.kind === "categorical" && !vocab[f.name]))
    return datasetFromRows(rows, model.features, { categories: vocab });
  const idx = indexOf(model);
  const n = rows.length;
  const features: TabularDataset["features"] = model.features.map((spec, j) => {
    if (spec.kind === "numeric") {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = toNumber(rows[i][spec.name]);
      return { name: spec.name, kind: "numeric", values };
    }
    const index = idx[j] as Map<string, number>;
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const raw = rows[i][spec.name];
      codes[i] = raw === null || raw === undefined || raw === "" ? -1 : (index.get(String(raw)) ?? -1);
    }
    return { name: spec.name, kind: "categorical", codes, categories: vocab[spec.name] };
  });
  return { nRows: n, features };
}

/**
 * Checks full feature payloads against the model's features: every feature present (null = missing
 * value), numerics finite JSON numbers, categoricals strings or booleans. Throws naming the field.
 */
export function validateFeatureRows(
  model: ChurnModel,
  rows: readonly unknown[],
): Record<string, FeatureValue>[] {
  return rows.map((row, i) => {
    if (row === null || typeof row !== "object" || Array.isArray(row))
      throw new ValidationError(`features[${i}]`, "must be an object of feature values");
    const r = row as Record<string, unknown>;
    for (const spec of model.features) {
      const field = `features[${i}].${spec.name}`;
      if (!Object.hasOwn(r, spec.name))
        throw new ValidationError(field, "is missing", { hint: "Send null for an unknown value." });
      const v = r[spec.name];
      if (v === null) continue;
      if (spec.kind === "numeric") {
        if (typeof v !== "number" || !Number.isFinite(v))
          throw new ValidationError(field, `must be a finite number, got ${describe(v)}`);
      } else if (typeof v !== "string" && typeof v !== "boolean") {
        throw new ValidationError(field, `must be a string, got ${describe(v)}`);
      } else if (typeof v === "string" && v.length > 200) {
        throw new ValidationError(field, "is longer than 200 characters");
      }
    }
    return r as Record<string, FeatureValue>;
  });
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.slice(0, 20))}`;
  return typeof v;
}

/** Sentences by (language, feature, value): formatting uses Intl per call, too slow per request. Bounded. */
const textCache = new Map<string, string | undefined>();
const TEXT_CACHE_MAX = 20_000;

function featureText(feature: string, value: number | string | null, lang: Language): string | undefined {
  const key = `${lang}\u0000${feature}\u0000${typeof value}\u0000${value}`;
  if (textCache.has(key)) return textCache.get(key);
  const text = explainFeature(feature, value, lang);
  if (textCache.size >= TEXT_CACHE_MAX) textCache.clear();
  textCache.set(key, text);
  return text;
}

/** Top `k` contributions of row `row` as labelled reasons; empty when the model cannot explain. */
export function reasonsFor(
  model: ChurnModel,
  data: TabularDataset,
  row: number,
  k: number,
  lang: Language,
): Reason[] {
  if (!model.explain || k === 0) return [];
  const { contributions } = model.explain(data, row);
  const out: Reason[] = [];
  for (const c of contributions) {
    if (out.length >= k) break;
    if (c.contribution === 0) continue;
    const def = featureDefinition(c.feature);
    const reason: Reason = {
      feature: c.feature,
      label: def?.label[lang] ?? c.feature,
      value: c.value,
      contribution: c.contribution,
      direction: c.contribution > 0 ? "raises_risk" : "lowers_risk",
    };
    const text = featureText(c.feature, c.value, lang);
    if (text) reason.text = text;
    out.push(reason);
  }
  return out;
}
