import type { ServingConfig } from "../../platform/config/sections/serving.ts";
import { ValidationError } from "../../platform/errors.ts";
import type { FeatureValue } from "../../platform/ports/online-store.ts";
import { explainFeature, featureDefinition, type Language } from "../features/definitions.ts";
import { datasetFromRows, type TabularDataset } from "../training/dataset.ts";
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

/** Codes feature rows the way the model was trained (fixed vocabularies; unseen categories → missing). */
export function toDataset(model: ChurnModel, rows: readonly Record<string, unknown>[]): TabularDataset {
  return datasetFromRows(rows, model.features, {
    categories: model.categories as Record<string, string[]>,
  });
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
    const text = explainFeature(c.feature, c.value, lang);
    if (text) reason.text = text;
    out.push(reason);
  }
  return out;
}
