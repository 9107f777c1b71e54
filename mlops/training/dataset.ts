/**
 * The in-memory table every learner, metric and explainer works on: columnar, typed arrays,
 * no per-row objects. Numeric missing values are NaN; categorical missing values are code -1.
 */
export interface NumericColumn {
  name: string;
  kind: "numeric";
  values: Float64Array;
}

export interface CategoricalColumn {
  name: string;
  kind: "categorical";
  /** Index into `categories`, or -1 when missing. */
  codes: Int32Array;
  categories: string[];
}

export type FeatureColumn = NumericColumn | CategoricalColumn;

export interface TabularDataset {
  nRows: number;
  features: FeatureColumn[];
  /** Binary label (1 = churned), when known. */
  label?: Uint8Array;
  /** Entity ids (customer_id), row-aligned, when known. */
  ids?: string[];
}

/** Declares how to read a feature out of row objects. */
export interface FeatureSpec {
  name: string;
  kind: "numeric" | "categorical";
}

/**
 * Builds a dataset from row objects (e.g. warehouse query results). Numbers that are null,
 * empty or not finite become missing; categoricals are coded in first-seen order unless
 * `categories` fixes the vocabulary (unseen values then become missing).
 */
export function datasetFromRows(
  rows: readonly Record<string, unknown>[],
  specs: readonly FeatureSpec[],
  opts: { label?: string; positive?: unknown; id?: string; categories?: Record<string, string[]> } = {},
): TabularDataset {
  const n = rows.length;
  const features: FeatureColumn[] = specs.map((spec) => {
    if (spec.kind === "numeric") {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = toNumber(rows[i][spec.name]);
      return { name: spec.name, kind: "numeric", values };
    }
    const fixed = opts.categories?.[spec.name];
    const categories = fixed ? [...fixed] : [];
    const index = new Map(categories.map((c, i) => [c, i]));
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const raw = rows[i][spec.name];
      if (raw === null || raw === undefined || raw === "") {
        codes[i] = -1;
        continue;
      }
      const key = String(raw);
      let code = index.get(key);
      if (code === undefined) {
        if (fixed) {
          codes[i] = -1;
          continue;
        }
        code = categories.length;
        categories.push(key);
        index.set(key, code);
      }
      codes[i] = code;
    }
    return { name: spec.name, kind: "categorical", codes, categories };
  });
  const dataset: TabularDataset = { nRows: n, features };
  if (opts.label !== undefined) {
    const label = new Uint8Array(n);
    const positive = opts.positive ?? 1;
    for (let i = 0; i < n; i++) {
      const v = rows[i][opts.label];
      label[i] = v === positive || v === true || String(v) === String(positive) ? 1 : 0;
    }
    dataset.label = label;
  }
  if (opts.id !== undefined) dataset.ids = rows.map((r) => String(r[opts.id as string]));
  return dataset;
}

/** Rows `idx` of a dataset, as a new dataset (for splits and folds). */
export function takeRows(data: TabularDataset, idx: ArrayLike<number>): TabularDataset {
  const m = idx.length;
  const features: FeatureColumn[] = data.features.map((f) => {
    if (f.kind === "numeric") {
      const values = new Float64Array(m);
      for (let i = 0; i < m; i++) values[i] = f.values[idx[i]];
      return { ...f, values };
    }
    const codes = new Int32Array(m);
    for (let i = 0; i < m; i++) codes[i] = f.codes[idx[i]];
    return { ...f, codes };
  });
  const out: TabularDataset = { nRows: m, features };
  if (data.label) {
    const label = new Uint8Array(m);
    for (let i = 0; i < m; i++) label[i] = data.label[idx[i]];
    out.label = label;
  }
  if (data.ids) out.ids = Array.from({ length: m }, (_, i) => (data.ids as string[])[idx[i]]);
  return out;
}

/** The numeric rule of every dataset builder: null, empty, non-numeric and non-finite are missing (NaN). */
export function toNumber(v: unknown): number {
  if (typeof v === "number") return Number.isFinite(v) ? v : Number.NaN;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "string") {
    const t = v.trim();
    if (t === "") return Number.NaN;
    const n = Number(t);
    return Number.isFinite(n) ? n : Number.NaN;
  }
  if (v instanceof Date) return v.getTime();
  return Number.NaN;
}
