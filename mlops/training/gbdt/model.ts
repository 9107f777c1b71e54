/** The trained GBDT: fast prediction, TreeSHAP explanations, importance, JSON and ONNX forms. */
import type { FeatureSpec, TabularDataset } from "../dataset.ts";
import type { ChurnModel, Contribution } from "../model.ts";
import { type GbdtModelJson, parseGbdtModelJson } from "./json.ts";
import { gbdtToOnnx } from "./onnx.ts";
import type { GbdtParams } from "./params.ts";
import { encodeBlock, type GbdtTree, PackedForest, type ResolvedColumn, resolveColumns } from "./tree.ts";
import { expectedValue, TreeShapWorkspace } from "./treeshap.ts";

/** Rows encoded per prediction block (keeps the row-major block in cache). */
const BLOCK_ROWS = 512;

export interface GbdtModelState {
  features: FeatureSpec[];
  categories: Record<string, string[]>;
  /** Log-odds of the training positive rate; every prediction starts here. */
  baseScore: number;
  bestIteration: number;
  params: GbdtParams;
  trees: GbdtTree[];
}

/** A gradient-boosted tree ensemble for binary churn classification (log-odds output). */
export class GbdtModel implements ChurnModel {
  readonly kind = "gbdt" as const;
  readonly features: readonly FeatureSpec[];
  readonly categories: Readonly<Record<string, readonly string[]>>;
  readonly baseScore: number;
  /** Number of trees kept (the best validation round when early stopping was used). */
  readonly bestIteration: number;
  readonly params: GbdtParams;
  readonly trees: readonly GbdtTree[];
  private packed: PackedForest | null = null;
  private shapBase: number | null = null;
  private shapWorkspace: TreeShapWorkspace | null = null;

  constructor(state: GbdtModelState) {
    this.features = state.features;
    this.categories = state.categories;
    this.baseScore = state.baseScore;
    this.bestIteration = state.bestIteration;
    this.params = state.params;
    this.trees = state.trees;
  }

  private forest(): PackedForest {
    this.packed ??= new PackedForest(this.trees);
    return this.packed;
  }

  /** Columns of `data` matched to the model's features by name (categoricals by category name). */
  resolve(data: TabularDataset): ResolvedColumn[] {
    return resolveColumns(data, this.features, this.categories);
  }

  /** Model-coded rows as float32, row-major [nRows, nFeatures]: the ONNX input encoding. */
  encodeForOnnx(data: TabularDataset): Float32Array {
    const cols = this.resolve(data);
    const x = new Float64Array(data.nRows * this.features.length);
    encodeBlock(cols, 0, data.nRows, x);
    return Float32Array.from(x);
  }

  /** Raw scores (log-odds) per row. */
  predictRaw(data: TabularDataset): Float64Array {
    const cols = this.resolve(data);
    const nF = this.features.length;
    const forest = this.forest();
    const out = new Float64Array(data.nRows).fill(this.baseScore);
    const block = new Float64Array(Math.min(BLOCK_ROWS, data.nRows) * nF); // one-row serving calls stay cheap
    for (let from = 0; from < data.nRows; from += BLOCK_ROWS) {
      const to = Math.min(data.nRows, from + BLOCK_ROWS);
      encodeBlock(cols, from, to, block);
      forest.accumulate(block, to - from, nF, out, from, 0, this.trees.length);
    }
    return out;
  }

  /** Churn probability per row. */
  predictProba(data: TabularDataset): Float64Array {
    const raw = this.predictRaw(data);
    for (let i = 0; i < raw.length; i++) raw[i] = 1 / (1 + Math.exp(-raw[i]));
    return raw;
  }

  private workspace(): TreeShapWorkspace {
    this.shapWorkspace ??= new TreeShapWorkspace(this.trees);
    return this.shapWorkspace;
  }

  /** Expected raw score over the training distribution (TreeSHAP base value). */
  expectedRaw(): number {
    if (this.shapBase === null) {
      let s = this.baseScore;
      for (const t of this.trees) s += expectedValue(t);
      this.shapBase = s;
    }
    return this.shapBase;
  }

  /** Exact TreeSHAP values, row-major [nRows × nFeatures]; base + Σ values = raw score. */
  shapValues(data: TabularDataset): { base: number; values: Float64Array } {
    const cols = this.resolve(data);
    const nF = this.features.length;
    const values = new Float64Array(data.nRows * nF);
    const ws = this.workspace();
    const x = new Float64Array(nF);
    for (let r = 0; r < data.nRows; r++) {
      encodeBlock(cols, r, r + 1, x);
      const phi = values.subarray(r * nF, (r + 1) * nF);
      for (const t of this.trees) ws.explainTree(t, x, phi);
    }
    return { base: this.expectedRaw(), values };
  }

  /** Per-feature TreeSHAP contributions of one row (log-odds), largest magnitude first. */
  explain(data: TabularDataset, row: number): { base: number; contributions: Contribution[] } {
    if (!Number.isInteger(row) || row < 0 || row >= data.nRows) {
      throw new RangeError(`row ${row} is outside the dataset (0..${data.nRows - 1})`);
    }
    const cols = this.resolve(data);
    const nF = this.features.length;
    const x = new Float64Array(nF);
    encodeBlock(cols, row, row + 1, x);
    const phi = new Float64Array(nF);
    const ws = this.workspace();
    for (const t of this.trees) ws.explainTree(t, x, phi);
    const contributions: Contribution[] = this.features.map((f, j) => {
      const v = x[j];
      const rawValues = cols[j].values;
      let value: number | string | null = null;
      if (!Number.isNaN(v)) value = rawValues ? rawValues[row] : (this.categories[f.name]?.[v] ?? null);
      return { feature: f.name, value, contribution: phi[j] };
    });
    contributions.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
    return { base: this.expectedRaw(), contributions };
  }

  /** Total split gain or number of splits per feature, descending. */
  featureImportance(kind: "gain" | "split"): { feature: string; importance: number }[] {
    const imp = new Float64Array(this.features.length);
    for (const t of this.trees) {
      for (let n = 0; n < t.feature.length; n++) {
        const f = t.feature[n];
        if (f >= 0) imp[f] += kind === "gain" ? t.gain[n] : 1;
      }
    }
    return this.features
      .map((f, j) => ({ feature: f.name, importance: imp[j] }))
      .sort((a, b) => b.importance - a.importance || a.feature.localeCompare(b.feature));
  }

  /** Versioned JSON form (format "telco-gbdt", version 1; see docs/mlops/gbdt.md). */
  toJSON(): GbdtModelJson {
    return {
      format: "telco-gbdt",
      version: 1,
      objective: "binary:logloss",
      baseScore: this.baseScore,
      bestIteration: this.bestIteration,
      features: this.features.map((f) =>
        f.kind === "categorical"
          ? { name: f.name, kind: f.kind, categories: [...(this.categories[f.name] ?? [])] }
          : { name: f.name, kind: f.kind },
      ),
      params: { ...this.params },
      trees: this.trees.map((t) => ({
        feature: Array.from(t.feature),
        threshold: Array.from(t.threshold),
        defaultLeft: Array.from(t.defaultLeft, (v) => (v ? 1 : 0) as 0 | 1),
        left: Array.from(t.left),
        right: Array.from(t.right),
        value: Array.from(t.value),
        cover: Array.from(t.cover),
        count: Array.from(t.count),
        gain: Array.from(t.gain),
        catLeft: t.catLeft.map((s) => (s ? Array.from(s) : null)),
      })),
    };
  }

  /** Rebuilds a model from its JSON form; throws ValidationError naming the bad field. */
  static fromJSON(json: unknown): GbdtModel {
    return new GbdtModel(parseGbdtModelJson(json));
  }

  /** ONNX ModelProto bytes (ai.onnx.ml TreeEnsembleClassifier; input encoding in docs/mlops/gbdt.md). */
  toOnnx(): Uint8Array {
    return gbdtToOnnx(this);
  }
}
