/** Flat tree storage and the column resolver that codes a dataset the way the model was trained. */
import { ValidationError } from "../../../platform/errors.ts";
import type { CategoricalColumn, FeatureSpec } from "../dataset.ts";

/** Numeric values the GBDT reads: float64, or float32 (half the memory; the model only ever uses float32(x)). */
export type NumericValues = Float64Array | Float32Array;

/** Numeric column whose values may be float32. */
export interface GbdtNumericColumn {
  name: string;
  kind: "numeric";
  values: NumericValues;
}

/**
 * What the GBDT trains on and predicts: a TabularDataset (every TabularDataset is one) whose numeric
 * columns may also be Float32Array, so large training sets need not be held as float64.
 */
export interface GbdtDataset {
  nRows: number;
  features: (GbdtNumericColumn | CategoricalColumn)[];
  label?: Uint8Array;
}

/**
 * One regression tree as parallel arrays indexed by node id (root = 0). Leaves have feature = -1.
 * Numeric split: float32(x) <= threshold goes left (thresholds are float32 values); categorical split: code ∈ catLeft goes left;
 * missing (NaN, code -1, unseen category) follows defaultLeft.
 */
export interface GbdtTree {
  feature: Int32Array;
  threshold: Float64Array;
  defaultLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  /** Leaf output (log-odds, learning rate applied); for internal nodes the output had it been a leaf. */
  value: Float64Array;
  /** Sum of training hessians in the node (TreeSHAP cover). */
  cover: Float64Array;
  /** Training rows in the node. */
  count: Float64Array;
  /** Split gain (0 for leaves). */
  gain: Float64Array;
  /** Sorted model category codes that go left, per categorical node (null elsewhere). */
  catLeft: (Int32Array | null)[];
}

/** Maximum depth of a tree (root alone = 0). */
export function treeDepth(tree: GbdtTree): number {
  let best = 0;
  const stack: number[] = [0, 0];
  while (stack.length) {
    const d = stack.pop() as number;
    const n = stack.pop() as number;
    if (tree.feature[n] < 0) best = Math.max(best, d);
    else stack.push(tree.left[n], d + 1, tree.right[n], d + 1);
  }
  return best;
}

/** How one model feature is read from a dataset: numeric values, or codes remapped to model codes. */
export interface ResolvedColumn {
  values: NumericValues | null;
  codes: Int32Array | null;
  /** dataset code → model code (-1 = unseen, treated as missing). */
  remap: Int32Array | null;
}

/** Finds each model feature in `data` BY NAME and maps categorical codes by category name. */
export function resolveColumns(
  data: GbdtDataset,
  features: readonly FeatureSpec[],
  categories: Readonly<Record<string, readonly string[]>>,
): ResolvedColumn[] {
  const byName = new Map(data.features.map((c) => [c.name, c]));
  return features.map((spec) => {
    const col = byName.get(spec.name);
    if (!col) {
      throw new ValidationError(spec.name, "feature required by the model is missing from the dataset", {
        hint: `dataset columns: ${data.features.map((c) => c.name).join(", ")}`,
      });
    }
    if (col.kind !== spec.kind) {
      throw new ValidationError(spec.name, `model expects a ${spec.kind} feature, dataset has ${col.kind}`);
    }
    if (col.kind === "numeric") return { values: col.values, codes: null, remap: null };
    const vocab = new Map((categories[spec.name] ?? []).map((c, i) => [c, i]));
    const remap = new Int32Array(col.categories.length);
    for (let c = 0; c < col.categories.length; c++) remap[c] = vocab.get(col.categories[c]) ?? -1;
    return { values: null, codes: col.codes, remap };
  });
}

/**
 * Writes rows [from, to) as a row-major float64 block: numeric values rounded to float32, categoricals as
 * model codes, missing as NaN. This is exactly the ONNX input encoding, so splits "x <= t" (t float32)
 * decide identically here and in any ONNX runtime, for every input value.
 */
export function encodeBlock(cols: ResolvedColumn[], from: number, to: number, out: Float64Array): void {
  const nF = cols.length;
  for (let j = 0; j < nF; j++) {
    const c = cols[j];
    if (c.values) {
      const v = c.values;
      for (let r = from, o = j; r < to; r++, o += nF) out[o] = Math.fround(v[r]);
    } else {
      const codes = c.codes as Int32Array;
      const remap = c.remap as Int32Array;
      for (let r = from, o = j; r < to; r++, o += nF) {
        const code = codes[r];
        const m = code >= 0 && code < remap.length ? remap[code] : -1;
        out[o] = m < 0 ? Number.NaN : m;
      }
    }
  }
}

/** Int32 fields per node in PackedForest.nodes. */
const NODE_STRIDE = 6;

/**
 * All trees packed for fast prediction: one Int32Array of node records
 * [feature (-1 = leaf), left, right, missing child, category-mask offset (-1 = numeric), mask length]
 * with absolute child indices, a Float64Array holding the threshold (split) or output (leaf), and one
 * pool of per-node category masks.
 */
export class PackedForest {
  readonly roots: Int32Array;
  readonly nodes: Int32Array;
  readonly numbers: Float64Array;
  readonly masks: Uint8Array;

  constructor(trees: readonly GbdtTree[]) {
    let total = 0;
    let maskTotal = 0;
    for (const t of trees) {
      total += t.feature.length;
      for (const s of t.catLeft) if (s?.length) maskTotal += s[s.length - 1] + 1;
    }
    this.roots = new Int32Array(trees.length);
    this.nodes = new Int32Array(total * NODE_STRIDE);
    this.numbers = new Float64Array(total);
    this.masks = new Uint8Array(maskTotal);
    let o = 0;
    let mo = 0;
    trees.forEach((t, ti) => {
      this.roots[ti] = o;
      for (let n = 0; n < t.feature.length; n++) {
        const g = o + n;
        const rec = g * NODE_STRIDE;
        const leaf = t.feature[n] < 0;
        this.nodes[rec] = t.feature[n];
        this.nodes[rec + 1] = leaf ? -1 : o + t.left[n];
        this.nodes[rec + 2] = leaf ? -1 : o + t.right[n];
        this.nodes[rec + 3] = leaf ? -1 : o + (t.defaultLeft[n] ? t.left[n] : t.right[n]);
        this.nodes[rec + 4] = -1;
        this.numbers[g] = leaf ? t.value[n] : t.threshold[n];
        const s = t.catLeft[n];
        if (s && !leaf) {
          const len = s.length ? s[s.length - 1] + 1 : 0;
          this.nodes[rec + 4] = mo;
          this.nodes[rec + 5] = len;
          for (let k = 0; k < s.length; k++) this.masks[mo + s[k]] = 1;
          mo += len;
        }
      }
      o += t.feature.length;
    });
  }

  /** Adds the output of trees [t0, t1) for `nRows` encoded rows of block `x` (row-major, nF columns) to `out`. */
  accumulate(
    x: Float64Array,
    nRows: number,
    nF: number,
    out: Float64Array,
    outBase: number,
    t0: number,
    t1: number,
  ) {
    const { roots, nodes, numbers, masks } = this;
    for (let t = t0; t < t1; t++) {
      const root = roots[t];
      for (let r = 0, rb = 0; r < nRows; r++, rb += nF) {
        let n = root;
        let rec = n * NODE_STRIDE;
        let f = nodes[rec];
        while (f >= 0) {
          const v = x[rb + f];
          if (Number.isNaN(v)) n = nodes[rec + 3];
          else {
            const mOff = nodes[rec + 4];
            if (mOff < 0) n = v <= numbers[n] ? nodes[rec + 1] : nodes[rec + 2];
            else n = v < nodes[rec + 5] && masks[mOff + v] === 1 ? nodes[rec + 1] : nodes[rec + 2];
          }
          rec = n * NODE_STRIDE;
          f = nodes[rec];
        }
        out[outBase + r] += numbers[n];
      }
    }
  }
}

/** Leaf reached by one encoded row (x[base + f]) in one tree. */
export function leafOf(tree: GbdtTree, x: Float64Array, base: number): number {
  let n = 0;
  while (tree.feature[n] >= 0)
    n = goesLeft(tree, n, x[base + tree.feature[n]]) ? tree.left[n] : tree.right[n];
  return n;
}

/** Whether value v (encoded; NaN = missing) goes to the left child of node n. */
export function goesLeft(tree: GbdtTree, n: number, v: number): boolean {
  if (Number.isNaN(v)) return tree.defaultLeft[n] === 1;
  const s = tree.catLeft[n];
  if (!s) return v <= tree.threshold[n];
  let lo = 0;
  let hi = s.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid] === v) return true;
    if (s[mid] < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
