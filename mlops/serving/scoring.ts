import type { ServingConfig } from "../../platform/config/sections/serving.ts";
import { ValidationError } from "../../platform/errors.ts";
import { detectPii } from "../../platform/pii/index.ts";
import type { FeatureValue } from "../../platform/ports/online-store.ts";
import { explainFeature, featureDefinition, type Language } from "../features/definitions.ts";
import { snake } from "../ingestion/sql.ts";
import { datasetFromRows, type TabularDataset, toNumber } from "../training/dataset.ts";
import { GbdtModel } from "../training/gbdt/index.ts";
import { encodeBlock } from "../training/gbdt/tree.ts";
import type { ChurnModel } from "../training/model.ts";
import type { ExplainThread } from "./explain-thread.ts";
import { BlockTreeShap } from "./tree-shap-blocks.ts";

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

/**
 * The cut-offs to band a served model's scores with: the model card's own bands (set at
 * registration from its training score distribution, e.g. top 5% high) unless config says
 * `riskBandSource: config` or the card has none; then the configured `riskBands`.
 */
export function servedRiskBands(
  card: { riskBands?: { medium: number; high: number } } | undefined,
  cfg: Pick<ServingConfig, "riskBands" | "riskBandSource">,
): ServingConfig["riskBands"] {
  const own = card?.riskBands;
  if (cfg.riskBandSource === "card" && own && own.medium < own.high)
    return { medium: own.medium, high: own.high };
  return cfg.riskBands;
}

/** Maps a probability to its band with the configured cut-offs. */
export function riskBand(p: number, bands: ServingConfig["riskBands"]): RiskBand {
  return p >= bands.high ? "high" : p >= bands.medium ? "medium" : "low";
}

/**
 * A person's label for a feature without a definition (user datasets): snake_case and camelCase
 * split into words, first letter capitalised ("monthly_charges" → "Monthly charges").
 */
export function readableLabel(feature: string): string {
  const words = feature
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_\s]+/g, " ")
    .trim()
    .toLowerCase();
  return words ? `${words[0].toUpperCase()}${words.slice(1)}` : feature;
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
      codes[i] = categoryCode(index, raw);
    }
    return { name: spec.name, kind: "categorical", codes, categories: vocab[spec.name] };
  });
  return { nRows: n, features };
}

/** Per model: one reusable single-row dataset (the common one-customer request allocates nothing). */
const singleRows = new WeakMap<ChurnModel, TabularDataset>();

/** The model's reusable one-row dataset; undefined when a categorical feature has no vocabulary. */
function reusableRow(model: ChurnModel): TabularDataset | undefined {
  let data = singleRows.get(model);
  if (!data) {
    const vocab = model.categories as Record<string, string[]>;
    if (model.features.some((f) => f.kind === "categorical" && !vocab[f.name])) return undefined;
    data = toDataset(model, [{}]);
    singleRows.set(model, data);
  }
  return data;
}

/**
 * `toDataset(model, [row])` without allocating: the returned dataset is overwritten by the next call
 * for the same model, so use it synchronously (predict and explain, no await in between).
 */
export function singleRowDataset(model: ChurnModel, row: Record<string, unknown>): TabularDataset {
  const data = reusableRow(model);
  if (!data) return toDataset(model, [row]);
  const idx = indexOf(model);
  const specs = model.features;
  for (let j = 0; j < specs.length; j++) setCell(data.features[j], idx[j], row[specs[j].name]);
  return data;
}

/** A raw value's category code in the model's vocabulary; -1 (missing) for empty or unseen values. */
function categoryCode(index: Map<string, number>, raw: unknown): number {
  return raw === null || raw === undefined || raw === "" ? -1 : (index.get(String(raw)) ?? -1);
}

/** Writes one raw value into a one-row column: a number, or a category code. */
function setCell(
  col: TabularDataset["features"][number],
  index: Map<string, number> | null,
  raw: unknown,
): void {
  if (col.kind === "numeric") col.values[0] = toNumber(raw);
  else col.codes[0] = categoryCode(index as Map<string, number>, raw);
}

/** Per model: where each model feature sits in an online-store load's feature-name array. */
const vectorPositions = new WeakMap<ChurnModel, { names: readonly string[]; pos: Int32Array }>();

function positionsIn(model: ChurnModel, names: readonly string[]): Int32Array {
  let entry = vectorPositions.get(model);
  if (!entry || entry.names !== names) {
    const at = new Map(names.map((n, i) => [n, i]));
    entry = { names, pos: Int32Array.from(model.features, (f) => at.get(f.name) ?? -1) };
    vectorPositions.set(model, entry);
  }
  return entry.pos;
}

/**
 * `singleRowDataset` from a feature vector (values aligned with `names`, e.g. an online-store read):
 * columns are filled by positions computed once per (model, names array), with no per-request
 * object. Features absent from `names` are missing. Same reuse rule as `singleRowDataset`.
 */
export function singleRowFromVector(
  model: ChurnModel,
  names: readonly string[],
  values: readonly FeatureValue[],
): TabularDataset {
  const data = reusableRow(model);
  if (!data) {
    const row: Record<string, FeatureValue> = {};
    for (let i = 0; i < names.length; i++) row[names[i]] = values[i];
    return toDataset(model, [row]);
  }
  const pos = positionsIn(model, names);
  const idx = indexOf(model);
  for (let j = 0; j < pos.length; j++) setCell(data.features[j], idx[j], pos[j] < 0 ? null : values[pos[j]]);
  return data;
}

/** What a customer id looks like (ids of the CRM, the IBM Telco file, the fixtures): also in the API schema. */
export const CUSTOMER_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$";
const CUSTOMER_ID = new RegExp(CUSTOMER_ID_PATTERN);

/** Longest categorical value accepted (and so logged). */
export const MAX_CATEGORY_CHARS = 200;

/**
 * The kind of personal data (cpf, phone, email, …) in `text`, if any. Every kind needs 2+ digits or an
 * "@", so text without them skips the detector (the common categorical value: "consumer", "FIB300").
 */
export function personalDataIn(text: string): string | undefined {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 64 /* @ */ || (c >= 48 && c <= 57 && ++digits >= 2)) return detectPii(text)[0]?.kind;
  }
  return undefined;
}

/** One problem found in a feature payload: the field (`features[i].name`) and what is wrong. */
export interface FeatureProblem {
  field: string;
  message: string;
  hint?: string;
}

/**
 * Checks full feature payloads against the model's features: every feature present (null = missing
 * value), numerics finite JSON numbers, categoricals strings or booleans of at most 200 characters
 * without personal data in them, and no other key than the features and `customer_id` (an id matching
 * CUSTOMER_ID_PATTERN, not a CPF or phone). Unknown keys are rejected rather than dropped: whatever is
 * accepted is logged, so nothing the model does not read (a name, a CPF, a 1 MB blob) gets that far.
 * A key may be the dataset's original column name ("Monthly Charges", "tenureMonths"): it is mapped
 * to the model's snake_case feature the way ingestion conformed it. Every problem of every row is
 * reported at once (error field: the first one; details.problems: all), never echoing a value
 * that looks personal.
 */
export function validateFeatureRows(
  model: ChurnModel,
  rows: readonly unknown[],
): Record<string, FeatureValue>[] {
  const known = knownKeys(model);
  const problems: FeatureProblem[] = [];
  const out = rows.map((row, i) => {
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      problems.push({ field: `features[${i}]`, message: "must be an object of feature values" });
      return {};
    }
    const r = conformKeys(row as Record<string, unknown>, known);
    for (const spec of model.features) {
      const field = `features[${i}].${spec.name}`;
      if (!Object.hasOwn(r, spec.name)) {
        problems.push({ field, message: "is missing", hint: "Send null for an unknown value." });
        continue;
      }
      const v = r[spec.name];
      if (v === null) continue;
      if (spec.kind === "numeric") {
        if (typeof v !== "number" || !Number.isFinite(v))
          problems.push({ field, message: `must be a finite number, got ${describe(v)}` });
      } else if (typeof v !== "string" && typeof v !== "boolean") {
        problems.push({ field, message: `must be a string, got ${describe(v)}` });
      } else if (typeof v === "string") {
        if (v.length > MAX_CATEGORY_CHARS)
          problems.push({ field, message: `is longer than ${MAX_CATEGORY_CHARS} characters` });
        else {
          const pii = personalDataIn(v);
          if (pii)
            problems.push({
              field,
              message: `holds personal data (${pii}), not a category`,
              hint: "Send the feature's category (e.g. the segment name), never a customer's data.",
            });
        }
      }
    }
    for (const key in r) {
      if (!Object.hasOwn(r, key)) continue;
      if (!known.has(key))
        problems.push({
          field: `features[${i}].${key.slice(0, 64)}`,
          message: "is not a feature of this model",
          hint: `Send only the model's ${model.features.length} features (by name or by the dataset's original column name) and an optional customer_id; unknown keys are rejected, not logged.`,
        });
    }
    if (Object.hasOwn(r, "customer_id")) {
      const id = r.customer_id;
      const field = `features[${i}].customer_id`;
      if (id !== null && typeof id !== "string")
        problems.push({ field, message: "must be a string or null" });
      else if (typeof id === "string") {
        const pii = CUSTOMER_ID.test(id) ? personalDataIn(id) : undefined;
        if (!CUSTOMER_ID.test(id))
          problems.push({ field, message: "is not a customer id (letters, digits, _ . : -, up to 64)" });
        else if (pii)
          problems.push({
            field,
            message: `holds personal data (${pii}), not a customer id`,
            hint: "Send the operator's customer id (e.g. AUR-00000001).",
          });
      }
    }
    return r as Record<string, FeatureValue>;
  });
  if (problems.length > 0) {
    const first = problems[0];
    const shown = problems.slice(0, 50);
    throw new ValidationError(
      first.field,
      problems.length === 1
        ? first.message
        : `${first.message} (and ${problems.length - 1} more problem${problems.length === 2 ? "" : "s"}: ${shown
            .slice(1)
            .map((p) => `${p.field} ${p.message}`)
            .join("; ")}${problems.length > shown.length ? "; …" : ""})`,
      {
        ...(first.hint ? { hint: first.hint } : {}),
        details: { problems: shown, total: problems.length },
      },
    );
  }
  return out;
}

/**
 * A row whose keys are the dataset's original column names, renamed to the model's snake_case
 * features (as ingestion conformed them); keys already known, or whose feature is also given
 * under its own name, are left alone (and then reported as unknown).
 */
function conformKeys(r: Record<string, unknown>, known: Set<string>): Record<string, unknown> {
  let renamed: Record<string, unknown> | undefined;
  for (const key in r) {
    if (!Object.hasOwn(r, key) || known.has(key)) continue;
    const internal = snake(key);
    if (internal !== key && known.has(internal) && !Object.hasOwn(r, internal)) {
      renamed ??= { ...r };
      if (Object.hasOwn(renamed, internal)) continue; // two originals for one feature: keep both visible
      delete renamed[key];
      renamed[internal] = r[key];
    }
  }
  return renamed ?? r;
}

/** The keys a feature row may hold: the model's features and customer_id (once per model). */
const knownKeysOf = new WeakMap<ChurnModel, Set<string>>();
function knownKeys(model: ChurnModel): Set<string> {
  let keys = knownKeysOf.get(model);
  if (!keys) {
    keys = new Set([...model.features.map((f) => f.name), "customer_id"]);
    knownKeysOf.set(model, keys);
  }
  return keys;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string")
    return personalDataIn(v)
      ? "a string holding personal data"
      : `the string ${JSON.stringify(v.slice(0, 20))}`;
  return typeof v;
}

/** Distinct rows whose SHAP values are kept per model (exact: keyed by the row's values, compared in full). */
const SHAP_CACHE_ROWS = 10_000;

/**
 * Bounded cache of SHAP values per model, keyed by the exact feature values of a row (online features
 * change only when the store is re-materialized, so a returning customer is explained once). The key
 * is a 30-bit hash of the row's numbers; a hit is confirmed by comparing every value. Rows and φ live
 * in two preallocated slabs (no object per entry): with a per-entry object, a server explaining more
 * distinct customers than the cache holds promoted every entry to the old generation and then dropped
 * it, which made its longest GC pauses. Eviction is CLOCK (a second chance for entries read since the
 * hand last passed), an allocation-free approximation of LRU.
 */
export class ShapCache {
  private readonly nF: number;
  private readonly capacity: number;
  private rows: Float64Array | undefined;
  private phis: Float64Array | undefined;
  /** Hash of each slot's row (-1: empty), and whether it was read since the hand passed. */
  private readonly slotKey: Int32Array;
  private readonly referenced: Uint8Array;
  private readonly slotOf = new Map<number, number>();
  private hand = 0;
  private readonly bits = new Uint32Array(2);
  private readonly one = new Float64Array(this.bits.buffer);

  constructor(nF: number, capacity = SHAP_CACHE_ROWS) {
    this.nF = nF;
    this.capacity = capacity;
    this.slotKey = new Int32Array(capacity).fill(-1);
    this.referenced = new Uint8Array(capacity);
  }

  /** FNV-1a over the float64 bits of the values (NaN canonical), folded to 30 bits (a small integer). */
  hash(row: Float64Array): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < row.length; i++) {
      this.one[0] = row[i];
      h = Math.imul(h ^ this.bits[0], 0x01000193);
      h = Math.imul(h ^ this.bits[1], 0x01000193);
    }
    return (h ^ (h >>> 30)) & 0x3fffffff;
  }

  get(key: number, row: Float64Array): Float64Array | undefined {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return undefined;
    const rows = this.rows as Float64Array;
    const o = slot * this.nF;
    for (let i = 0; i < this.nF; i++) {
      const a = rows[o + i];
      const b = row[i];
      if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) return undefined;
    }
    this.referenced[slot] = 1;
    return (this.phis as Float64Array).subarray(o, o + this.nF);
  }

  set(key: number, row: Float64Array, phi: Float64Array): void {
    if (!this.rows) {
      this.rows = new Float64Array(this.capacity * this.nF);
      this.phis = new Float64Array(this.capacity * this.nF);
    }
    let slot = this.slotOf.get(key);
    if (slot === undefined) {
      // CLOCK: skip (and clear) slots read since the last pass; take the first one that was not.
      while (this.referenced[this.hand] === 1) {
        this.referenced[this.hand] = 0;
        this.hand = (this.hand + 1) % this.capacity;
      }
      slot = this.hand;
      this.hand = (this.hand + 1) % this.capacity;
      if (this.slotKey[slot] >= 0) this.slotOf.delete(this.slotKey[slot]);
      this.slotKey[slot] = key;
      this.slotOf.set(key, slot);
    }
    this.rows.set(row.subarray(0, this.nF), slot * this.nF);
    (this.phis as Float64Array).set(phi.subarray(0, this.nF), slot * this.nF);
  }
}

const shapCaches = new WeakMap<ChurnModel, ShapCache>();
/** Scratch: one row's values as numbers (numeric value or category code; NaN / -1 = missing). */
let rowScratch = new Float64Array(0);

/** Per GBDT: its block TreeSHAP tables once built (null: trees too large; a promise while building). */
const blockShaps = new WeakMap<GbdtModel, BlockTreeShap | null | Promise<void>>();
/** Scratch: one row in the GBDT's encoding. */
let encoded = new Float64Array(0);

/** The GBDT behind a model (itself, or the base of a calibrated wrapper), whose SHAP values it returns. */
function gbdtOf(model: ChurnModel): GbdtModel | undefined {
  if (model instanceof GbdtModel) return model;
  const base = (model as { base?: unknown }).base;
  return base instanceof GbdtModel ? base : undefined;
}

/**
 * Starts building the serving TreeSHAP tables of `model` in the background (called when a model is
 * loaded); until they are ready, reasons use the model's own `shapValues` (same values).
 */
export function prepareReasons(model: ChurnModel): Promise<void> {
  const gbdt = gbdtOf(model);
  if (!gbdt) return Promise.resolve();
  const known = blockShaps.get(gbdt);
  if (known instanceof Promise) return known;
  if (known !== undefined) return Promise.resolve();
  const building = BlockTreeShap.buildAsync(gbdt.trees).then(
    (b) => {
      blockShaps.set(gbdt, b ?? null);
    },
    () => {
      blockShaps.set(gbdt, null);
    },
  );
  blockShaps.set(gbdt, building);
  return building;
}

function blockShapOf(model: GbdtModel): BlockTreeShap | undefined {
  const k = blockShaps.get(model);
  if (k === undefined) void prepareReasons(model);
  return k instanceof BlockTreeShap ? k : undefined;
}

/** A model's per-row SHAP values (row-major), when it exposes them (GBDT, logistic regression, calibrated). */
type ShapModel = ChurnModel & { shapValues(data: TabularDataset): { values: Float64Array } };

function hasShapValues(model: ChurnModel): model is ShapModel {
  return typeof (model as Partial<ShapModel>).shapValues === "function";
}

/** Row `row` of `data` as a standalone one-row dataset (shares nothing mutable with `data`). */
function sliceOne(data: TabularDataset, row: number): TabularDataset {
  return {
    nRows: 1,
    features: data.features.map((c) =>
      c.kind === "numeric"
        ? { name: c.name, kind: "numeric", values: c.values.subarray(row, row + 1) }
        : {
            name: c.name,
            kind: "categorical",
            codes: c.codes.subarray(row, row + 1),
            categories: c.categories,
          },
    ),
  };
}

/**
 * Row `row` of `data` as numbers in model order into rowScratch (numeric value or category code);
 * false when the dataset's columns are not in model order or do not use the model's vocabularies.
 */
function rowValues(model: ChurnModel, data: TabularDataset, row: number): boolean {
  const nF = model.features.length;
  if (data.features.length !== nF) return false;
  if (rowScratch.length !== nF) rowScratch = new Float64Array(nF);
  for (let j = 0; j < nF; j++) {
    const c = data.features[j];
    if (c.name !== model.features[j].name) return false;
    // Reason values are read from the dataset: its vocabulary must be the model's own (toDataset's).
    if (c.kind === "categorical" && c.categories !== model.categories[c.name]) return false;
    rowScratch[j] = c.kind === "numeric" ? c.values[row] : c.codes[row];
  }
  return true;
}

function shapCacheOf(model: ChurnModel): ShapCache {
  let cache = shapCaches.get(model);
  if (!cache) {
    cache = new ShapCache(model.features.length);
    shapCaches.set(model, cache);
  }
  return cache;
}

/**
 * SHAP values of row `row` (length = model features, model order), through the model's `shapValues`
 * and the exact per-row cache; undefined when the dataset's columns are not in model order. Leaves the
 * row's values in rowScratch.
 */
function shapOfRow(model: ShapModel, data: TabularDataset, row: number): Float64Array | undefined {
  if (!rowValues(model, data, row)) return undefined;
  const nF = model.features.length;
  const cache = shapCacheOf(model);
  const key = cache.hash(rowScratch);
  const hit = cache.get(key, rowScratch);
  if (hit) return hit;
  let phi: Float64Array;
  const gbdt = gbdtOf(model);
  const blocks = gbdt ? blockShapOf(gbdt) : undefined;
  if (gbdt && blocks) {
    if (encoded.length !== nF) encoded = new Float64Array(nF);
    encodeBlock(gbdt.resolve(data), row, row + 1, encoded);
    phi = new Float64Array(nF);
    blocks.explain(encoded, phi);
  } else {
    const one = data.nRows === 1 ? data : sliceOne(data, row);
    phi = model.shapValues(one).values.slice(0, nF);
  }
  cache.set(key, rowScratch, phi);
  return phi;
}

/** The `k` features of largest |φ| (non-zero), largest first; ties keep feature order (a stable sort's). */
function topK(phi: Float64Array, k: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < phi.length; j++) {
    const m = Math.abs(phi[j]);
    if (m === 0) continue;
    if (out.length === k && m <= Math.abs(phi[out[k - 1]])) continue;
    let at = out.length;
    while (at > 0 && Math.abs(phi[out[at - 1]]) < m) at--;
    out.splice(at, 0, j);
    if (out.length > k) out.pop();
  }
  return out;
}

function reason(
  feature: string,
  value: number | string | null,
  contribution: number,
  lang: Language,
): Reason {
  const def = featureDefinition(feature);
  const r: Reason = {
    feature,
    label: def?.label[lang] ?? readableLabel(feature),
    value,
    contribution,
    direction: contribution > 0 ? "raises_risk" : "lowers_risk",
  };
  // Not cached: with its Intl formatters cached, a sentence costs ~1.3 µs (numeric) or ~0.2 µs, and a
  // cache keyed by (language, feature, value) missed on most distinct numbers while its entries were
  // promoted and dropped (longer GC pauses: 8–13 against ~5 ms at half load, distinct customers).
  const text = explainFeature(feature, value, lang);
  if (text) r.text = text;
  return r;
}

/** The top `k` reasons from φ and the row's model-order values (numeric value or category code). */
function reasonsFromPhi(
  columns: TabularDataset["features"],
  values: Float64Array,
  phi: Float64Array,
  k: number,
  lang: Language,
): Reason[] {
  return topK(phi, k).map((j) => {
    const c = columns[j];
    const v = values[j];
    let value: number | string | null;
    if (c.kind === "numeric") value = Number.isNaN(v) ? null : v;
    else value = v >= 0 ? (c.categories[v] ?? null) : null;
    return reason(c.name, value, phi[j], lang);
  });
}

/**
 * Top `k` contributions of row `row` as labelled reasons, largest |contribution| first; empty when the
 * model cannot explain. Models with `shapValues` go through the exact per-row SHAP cache and a top-k
 * selection (no per-feature contribution objects, no sort); others through `explain`.
 */
export function reasonsFor(
  model: ChurnModel,
  data: TabularDataset,
  row: number,
  k: number,
  lang: Language,
): Reason[] {
  if (k === 0) return [];
  if (hasShapValues(model)) {
    const phi = shapOfRow(model, data, row);
    if (phi) return reasonsFromPhi(data.features, rowScratch, phi, k, lang);
  }
  if (!model.explain) return [];
  const { contributions } = model.explain(data, row);
  const sorted = [...contributions].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  const out: Reason[] = [];
  for (const c of sorted) {
    if (out.length >= k) break;
    if (c.contribution !== 0) out.push(reason(c.feature, c.value, c.contribution, lang));
  }
  return out;
}

/**
 * `reasonsFor`, with the φ of a GBDT row the SHAP cache has not seen computed on `thread` when it can
 * take it: a promise then, the reasons otherwise (cache hits, other models, tables not ready on the
 * thread). Everything the reasons need is read from `data` before returning, so the reusable one-row
 * dataset may be overwritten while the promise is pending. If the thread fails, φ is computed here.
 */
export function reasonsOnThread(
  model: ChurnModel,
  data: TabularDataset,
  row: number,
  k: number,
  lang: Language,
  thread: ExplainThread | undefined,
): Reason[] | Promise<Reason[]> {
  const gbdt = gbdtOf(model);
  if (!thread || k === 0 || !gbdt || !hasShapValues(model) || !rowValues(model, data, row))
    return reasonsFor(model, data, row, k, lang);
  const cache = shapCacheOf(model);
  const key = cache.hash(rowScratch);
  const hit = cache.get(key, rowScratch);
  if (hit) return reasonsFromPhi(data.features, rowScratch, hit, k, lang);
  const nF = model.features.length;
  if (encoded.length !== nF) encoded = new Float64Array(nF);
  encodeBlock(gbdt.resolve(data), row, row + 1, encoded);
  const pending = thread.explain(gbdt, encoded);
  if (!pending) return reasonsFor(model, data, row, k, lang);
  const columns = data.features;
  const values = Float64Array.from(rowScratch);
  const x = Float64Array.from(encoded);
  return pending.then(
    (phi) => {
      cache.set(key, values, phi);
      return reasonsFromPhi(columns, values, phi, k, lang);
    },
    () => {
      const blocks = blockShapOf(gbdt);
      if (!blocks) return [];
      const phi = new Float64Array(nF);
      blocks.explain(x, phi);
      cache.set(key, values, phi);
      return reasonsFromPhi(columns, values, phi, k, lang);
    },
  );
}
