import { z } from "zod";
import { ValidationError } from "../../platform/errors.ts";
import type { FeatureSpec, TabularDataset } from "./dataset.ts";
import type { ChurnModel, Contribution } from "./model.ts";

/**
 * L2-regularised logistic regression, the baseline every churn model is compared with.
 * Numerics are standardised (missing → mean, plus a missing indicator when the training data
 * had gaps); categoricals are one-hot (missing or unseen → all zeros). Fitted by Newton's method
 * (IRLS) with a Cholesky solve and backtracking: with tens of encoded columns the d×d Hessian is
 * tiny, and Newton converges to machine precision in a handful of passes. No JS library offers
 * this over typed arrays, hence hand-written.
 */

export interface LogregParams {
  /** L2 penalty λ on the summed log-loss (λ = 1/C in scikit-learn terms; the intercept is not penalised). */
  l2: number;
  maxIterations: number;
  /** Stop when the largest Newton step component falls below this. */
  tolerance: number;
}

export const DEFAULT_LOGREG_PARAMS: LogregParams = { l2: 1, maxIterations: 100, tolerance: 1e-8 };

const numericEncoderSchema = z.object({
  name: z.string(),
  kind: z.literal("numeric"),
  mean: z.number(),
  std: z.number().positive(),
  missingIndicator: z.boolean(),
});
const categoricalEncoderSchema = z.object({
  name: z.string(),
  kind: z.literal("categorical"),
  categories: z.array(z.string()),
});
const encoderSchema = z.discriminatedUnion("kind", [numericEncoderSchema, categoricalEncoderSchema]);
type FeatureEncoder = z.infer<typeof encoderSchema>;

/** JSON form of a fitted model ("telco-logreg", version 1). */
export const logregJsonSchema = z.object({
  format: z.literal("telco-logreg"),
  version: z.literal(1),
  encoders: z.array(encoderSchema).min(1),
  columns: z.array(z.string()),
  intercept: z.number(),
  weights: z.array(z.number()),
  /** Training-set mean of each encoded column: the reference point of explanations. */
  columnMeans: z.array(z.number()),
  params: z.object({ l2: z.number().nonnegative(), maxIterations: z.number(), tolerance: z.number() }),
  fit: z.object({ iterations: z.number(), converged: z.boolean(), objective: z.number() }),
});
export type LogregJson = z.infer<typeof logregJsonSchema>;

function columnWidth(e: FeatureEncoder): number {
  return e.kind === "numeric" ? (e.missingIndicator ? 2 : 1) : e.categories.length;
}

function fitEncoders(data: TabularDataset): FeatureEncoder[] {
  return data.features.map((f) => {
    if (f.kind === "categorical") return { name: f.name, kind: "categorical", categories: [...f.categories] };
    let n = 0;
    let sum = 0;
    let missing = 0;
    for (let i = 0; i < f.values.length; i++) {
      const v = f.values[i];
      if (Number.isNaN(v)) missing++;
      else {
        n++;
        sum += v;
      }
    }
    const mean = n ? sum / n : 0;
    let ss = 0;
    for (let i = 0; i < f.values.length; i++) {
      const v = f.values[i];
      if (!Number.isNaN(v)) ss += (v - mean) ** 2;
    }
    const std = n > 1 ? Math.sqrt(ss / n) : 0;
    return { name: f.name, kind: "numeric", mean, std: std > 1e-12 ? std : 1, missingIndicator: missing > 0 };
  });
}

/** For each encoder, how to read the matching column of `data` (by name; categories remapped by value). */
function bindColumns(encoders: readonly FeatureEncoder[], data: TabularDataset) {
  const byName = new Map(data.features.map((f) => [f.name, f]));
  return encoders.map((e) => {
    const f = byName.get(e.name);
    if (!f) throw new ValidationError(e.name, "feature the model needs is missing from the data");
    if (f.kind !== e.kind) throw new ValidationError(e.name, `expected a ${e.kind} feature, got ${f.kind}`);
    if (e.kind === "numeric" || f.kind === "numeric") return { encoder: e, column: f, remap: undefined };
    const index = new Map(e.categories.map((c, i) => [c, i]));
    const remap = Int32Array.from(f.categories, (c) => index.get(c) ?? -1);
    return { encoder: e, column: f, remap };
  });
}

/** Dense row-major design matrix (n × d) with the encoding above. */
function designMatrix(encoders: readonly FeatureEncoder[], data: TabularDataset, d: number): Float64Array {
  const n = data.nRows;
  const x = new Float64Array(n * d);
  let offset = 0;
  for (const { encoder: e, column: f, remap } of bindColumns(encoders, data)) {
    if (e.kind === "numeric" && f.kind === "numeric") {
      for (let i = 0; i < n; i++) {
        const v = f.values[i];
        if (Number.isNaN(v)) {
          if (e.missingIndicator) x[i * d + offset + 1] = 1;
        } else x[i * d + offset] = (v - e.mean) / e.std;
      }
    } else if (f.kind === "categorical" && remap) {
      for (let i = 0; i < n; i++) {
        const c = f.codes[i];
        const m = c >= 0 && c < remap.length ? remap[c] : -1;
        if (m >= 0) x[i * d + offset + m] = 1;
      }
    }
    offset += columnWidth(e);
  }
  return x;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Solves A·x = b for symmetric positive-definite A (size m, row-major) by Cholesky; A is overwritten. */
function choleskySolve(a: Float64Array, b: Float64Array, m: number): Float64Array {
  for (let j = 0; j < m; j++) {
    let s = a[j * m + j];
    for (let k = 0; k < j; k++) s -= a[j * m + k] ** 2;
    // A tiny ridge keeps the factorisation alive when a column is constant (e.g. an empty category).
    const diag = Math.sqrt(Math.max(s, 1e-12));
    a[j * m + j] = diag;
    for (let i = j + 1; i < m; i++) {
      let t = a[i * m + j];
      for (let k = 0; k < j; k++) t -= a[i * m + k] * a[j * m + k];
      a[i * m + j] = t / diag;
    }
  }
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let t = b[i];
    for (let k = 0; k < i; k++) t -= a[i * m + k] * y[k];
    y[i] = t / a[i * m + i];
  }
  const x = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let t = y[i];
    for (let k = i + 1; k < m; k++) t -= a[k * m + i] * x[k];
    x[i] = t / a[i * m + i];
  }
  return x;
}

/** Penalised objective Σ logloss + λ/2·‖w‖² for coefficients beta = [intercept, w…]. */
function objective(x: Float64Array, y: Uint8Array, beta: Float64Array, d: number, l2: number): number {
  let loss = 0;
  const n = y.length;
  for (let i = 0; i < n; i++) {
    let z = beta[0];
    const row = i * d;
    for (let j = 0; j < d; j++) z += x[row + j] * beta[j + 1];
    loss += softplus(z) - (y[i] === 1 ? z : 0);
  }
  let pen = 0;
  for (let j = 1; j <= d; j++) pen += beta[j] ** 2;
  return loss + 0.5 * l2 * pen;
}

/** Fits a logistic regression on a labelled dataset. Deterministic: no randomness involved. */
export function trainLogreg(train: TabularDataset, params: Partial<LogregParams> = {}): LogregModel {
  const p = { ...DEFAULT_LOGREG_PARAMS, ...params };
  const y = train.label;
  if (!y) throw new ValidationError("label", "training data has no label column");
  if (train.nRows === 0) throw new ValidationError("rows", "training data is empty");
  const encoders = fitEncoders(train);
  const d = encoders.reduce((s, e) => s + columnWidth(e), 0);
  const m = d + 1;
  const x = designMatrix(encoders, train, d);
  const n = train.nRows;
  const beta = new Float64Array(m);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];
  // Start from the base rate so the first Newton step is well scaled.
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, positives / n));
  beta[0] = Math.log(rate / (1 - rate));
  let current = objective(x, y, beta, d, p.l2);
  let iterations = 0;
  let converged = false;
  const grad = new Float64Array(m);
  const hess = new Float64Array(m * m);
  const xi = new Float64Array(m);
  while (iterations < p.maxIterations) {
    iterations++;
    grad.fill(0);
    hess.fill(0);
    for (let i = 0; i < n; i++) {
      const row = i * d;
      xi[0] = 1;
      let z = beta[0];
      for (let j = 0; j < d; j++) {
        xi[j + 1] = x[row + j];
        z += x[row + j] * beta[j + 1];
      }
      const mu = sigmoid(z);
      const r = mu - y[i];
      const w = mu * (1 - mu);
      for (let a = 0; a < m; a++) {
        const xa = xi[a];
        if (xa === 0) continue; // one-hot columns are mostly zero
        grad[a] += r * xa;
        const wa = w * xa;
        for (let b = 0; b <= a; b++) hess[a * m + b] += wa * xi[b];
      }
    }
    for (let a = 1; a < m; a++) {
      grad[a] += p.l2 * beta[a];
      hess[a * m + a] += p.l2;
    }
    for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) hess[a * m + b] = hess[b * m + a];
    const step = choleskySolve(hess, grad, m);
    let t = 1;
    const candidate = new Float64Array(m);
    let next = current;
    for (let halvings = 0; halvings < 30; halvings++) {
      for (let a = 0; a < m; a++) candidate[a] = beta[a] - t * step[a];
      next = objective(x, y, candidate, d, p.l2);
      if (next <= current + 1e-12 * Math.abs(current)) break;
      t /= 2;
    }
    if (next > current + 1e-12 * Math.abs(current)) {
      converged = true; // no descent possible: at the optimum up to rounding
      break;
    }
    beta.set(candidate);
    let maxStep = 0;
    for (let a = 0; a < m; a++) maxStep = Math.max(maxStep, Math.abs(t * step[a]));
    current = next;
    if (maxStep < p.tolerance) {
      converged = true;
      break;
    }
  }
  const columnMeans = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) columnMeans[j] += x[i * d + j];
  for (let j = 0; j < d; j++) columnMeans[j] /= n;
  return new LogregModel({
    format: "telco-logreg",
    version: 1,
    encoders,
    columns: encoders.flatMap((e) =>
      e.kind === "numeric"
        ? e.missingIndicator
          ? [e.name, `${e.name}__missing`]
          : [e.name]
        : e.categories.map((c) => `${e.name}=${c}`),
    ),
    intercept: beta[0],
    weights: Array.from(beta.subarray(1)),
    columnMeans,
    params: p,
    fit: { iterations, converged, objective: current },
  });
}

/** A fitted logistic regression; explanations are exact linear contributions in log-odds. */
export class LogregModel implements ChurnModel {
  readonly kind = "logreg" as const;
  readonly features: readonly FeatureSpec[];
  readonly categories: Readonly<Record<string, readonly string[]>>;
  private readonly json: LogregJson;
  private readonly width: number;

  constructor(json: LogregJson) {
    this.json = json;
    this.width = json.weights.length;
    this.features = json.encoders.map((e) => ({ name: e.name, kind: e.kind }));
    const categories: Record<string, string[]> = {};
    for (const e of json.encoders) if (e.kind === "categorical") categories[e.name] = e.categories;
    this.categories = categories;
  }

  /** Loads a model from its JSON form, validating it. */
  static fromJSON(json: unknown): LogregModel {
    const parsed = logregJsonSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ValidationError(`model.${issue.path.join(".")}`, issue.message, {
        hint: 'Expected a "telco-logreg" version 1 document.',
      });
    }
    const j = parsed.data;
    const width = j.encoders.reduce((s, e) => s + columnWidth(e), 0);
    if (j.weights.length !== width || j.columnMeans.length !== width) {
      throw new ValidationError(
        "model.weights",
        `expected ${width} weights for the encoders, got ${j.weights.length}`,
      );
    }
    return new LogregModel(j);
  }

  /** Log-odds per row. */
  predictRaw(data: TabularDataset): Float64Array {
    const n = data.nRows;
    const z = new Float64Array(n).fill(this.json.intercept);
    const w = this.json.weights;
    let offset = 0;
    for (const { encoder: e, column: f, remap } of bindColumns(this.json.encoders, data)) {
      if (e.kind === "numeric" && f.kind === "numeric") {
        const wv = w[offset];
        const wm = e.missingIndicator ? w[offset + 1] : 0;
        for (let i = 0; i < n; i++) {
          const v = f.values[i];
          z[i] += Number.isNaN(v) ? wm : (wv * (v - e.mean)) / e.std;
        }
      } else if (f.kind === "categorical" && remap) {
        for (let i = 0; i < n; i++) {
          const c = f.codes[i];
          const k = c >= 0 && c < remap.length ? remap[c] : -1;
          if (k >= 0) z[i] += w[offset + k];
        }
      }
      offset += columnWidth(e);
    }
    return z;
  }

  predictProba(data: TabularDataset): Float64Array {
    const z = this.predictRaw(data);
    for (let i = 0; i < z.length; i++) z[i] = sigmoid(z[i]);
    return z;
  }

  /** Expected log-odds over the training data: intercept + Σ wⱼ·meanⱼ. */
  get base(): number {
    let b = this.json.intercept;
    for (let j = 0; j < this.width; j++) b += this.json.weights[j] * this.json.columnMeans[j];
    return b;
  }

  /**
   * Per-feature contributions (linear SHAP): Σ over the feature's columns of wⱼ·(xⱼ − meanⱼ);
   * base + Σ contributions equals the row's log-odds exactly. Row-major nRows × nFeatures.
   */
  shapValues(data: TabularDataset): { base: number; values: Float64Array } {
    const n = data.nRows;
    const nf = this.json.encoders.length;
    const d = this.width;
    const x = designMatrix(this.json.encoders, data, d);
    const values = new Float64Array(n * nf);
    let offset = 0;
    this.json.encoders.forEach((e, fi) => {
      const width = columnWidth(e);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = offset; j < offset + width; j++) {
          s += this.json.weights[j] * (x[i * d + j] - this.json.columnMeans[j]);
        }
        values[i * nf + fi] = s;
      }
      offset += width;
    });
    return { base: this.base, values };
  }

  explain(data: TabularDataset, row: number): { base: number; contributions: Contribution[] } {
    if (!Number.isInteger(row) || row < 0 || row >= data.nRows) {
      throw new ValidationError("row", `must be between 0 and ${data.nRows - 1}, got ${row}`);
    }
    const one = sliceRow(data, row);
    const { base, values } = this.shapValues(one);
    const byName = new Map(data.features.map((f) => [f.name, f]));
    const contributions = this.json.encoders.map((e, fi) => {
      const f = byName.get(e.name);
      let value: number | string | null = null;
      if (f?.kind === "numeric") value = Number.isNaN(f.values[row]) ? null : f.values[row];
      else if (f?.kind === "categorical")
        value = f.codes[row] >= 0 ? (f.categories[f.codes[row]] ?? null) : null;
      return { feature: e.name, value, contribution: values[fi] };
    });
    return { base, contributions };
  }

  /** Coefficients per encoded column (on the standardised scale), for reports. */
  coefficients(): { column: string; weight: number }[] {
    return this.json.columns.map((column, j) => ({ column, weight: this.json.weights[j] }));
  }

  get fitInfo(): LogregJson["fit"] {
    return this.json.fit;
  }

  toJSON(): LogregJson {
    return this.json;
  }
}

function sliceRow(data: TabularDataset, row: number): TabularDataset {
  return {
    nRows: 1,
    features: data.features.map((f) =>
      f.kind === "numeric"
        ? { ...f, values: f.values.subarray(row, row + 1) }
        : { ...f, codes: f.codes.subarray(row, row + 1) },
    ),
  };
}
