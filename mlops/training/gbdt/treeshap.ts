/**
 * Exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2), ported from the reference C++
 * implementation. Cover = sum of training hessians per node. The path is kept in flat typed arrays,
 * one segment per recursion depth, so explaining a row allocates nothing.
 */
import { type GbdtTree, goesLeft, PackedForest, treeDepth } from "./tree.ts";

/** Expected output of a tree under the training distribution: Σ leaf value × cover(leaf)/cover(root). */
export function expectedValue(tree: GbdtTree): number {
  const root = tree.cover[0];
  if (!(root > 0)) return tree.value[0];
  let s = 0;
  for (let n = 0; n < tree.feature.length; n++) if (tree.feature[n] < 0) s += tree.value[n] * tree.cover[n];
  return s / root;
}

/** Reusable path storage sized for the deepest tree. */
export class TreeShapWorkspace {
  private pFeature: Int32Array;
  private pZero: Float64Array;
  private pOne: Float64Array;
  private pWeight: Float64Array;
  private tree!: GbdtTree;
  private x!: Float64Array;
  private phi!: Float64Array;

  constructor(trees: readonly GbdtTree[]) {
    let depth = 0;
    for (const t of trees) depth = Math.max(depth, treeDepth(t));
    const d = depth + 2;
    const size = (d * (d + 1)) / 2 + d;
    this.pFeature = new Int32Array(size);
    this.pZero = new Float64Array(size);
    this.pOne = new Float64Array(size);
    this.pWeight = new Float64Array(size);
  }

  /** Adds tree `tree`'s SHAP values for encoded row x to phi (length nFeatures). */
  explainTree(tree: GbdtTree, x: Float64Array, phi: Float64Array): void {
    this.tree = tree;
    this.x = x;
    this.phi = phi;
    this.recurse(0, 0, 0, 0, 1, 1, -1);
  }

  private extend(o: number, depth: number, zero: number, one: number, feature: number): void {
    const { pFeature, pZero, pOne, pWeight } = this;
    pFeature[o + depth] = feature;
    pZero[o + depth] = zero;
    pOne[o + depth] = one;
    pWeight[o + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      pWeight[o + i + 1] += (one * pWeight[o + i] * (i + 1)) / (depth + 1);
      pWeight[o + i] = (zero * pWeight[o + i] * (depth - i)) / (depth + 1);
    }
  }

  private unwind(o: number, depth: number, pathIndex: number): void {
    const { pFeature, pZero, pOne, pWeight } = this;
    const one = pOne[o + pathIndex];
    const zero = pZero[o + pathIndex];
    let next = pWeight[o + depth];
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = pWeight[o + i];
        pWeight[o + i] = (next * (depth + 1)) / ((i + 1) * one);
        next = tmp - (pWeight[o + i] * zero * (depth - i)) / (depth + 1);
      } else {
        pWeight[o + i] = (pWeight[o + i] * (depth + 1)) / (zero * (depth - i));
      }
    }
    for (let i = pathIndex; i < depth; i++) {
      pFeature[o + i] = pFeature[o + i + 1];
      pZero[o + i] = pZero[o + i + 1];
      pOne[o + i] = pOne[o + i + 1];
    }
  }

  private unwoundSum(o: number, depth: number, pathIndex: number): number {
    const { pZero, pOne, pWeight } = this;
    const one = pOne[o + pathIndex];
    const zero = pZero[o + pathIndex];
    let next = pWeight[o + depth];
    let total = 0;
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = (next * (depth + 1)) / ((i + 1) * one);
        total += tmp;
        next = pWeight[o + i] - (tmp * zero * (depth - i)) / (depth + 1);
      } else if (zero !== 0) {
        total += pWeight[o + i] / zero / ((depth - i) / (depth + 1));
      }
    }
    return total;
  }

  /** `parentOffset`/`offset`: path segments of the caller and of this call. */
  private recurse(
    node: number,
    parentOffset: number,
    offset: number,
    depth: number,
    zero: number,
    one: number,
    feature: number,
  ): void {
    const { pFeature, pZero, pOne, pWeight, tree } = this;
    if (offset !== parentOffset) {
      for (let i = 0; i < depth; i++) {
        pFeature[offset + i] = pFeature[parentOffset + i];
        pZero[offset + i] = pZero[parentOffset + i];
        pOne[offset + i] = pOne[parentOffset + i];
        pWeight[offset + i] = pWeight[parentOffset + i];
      }
    }
    this.extend(offset, depth, zero, one, feature);
    const f = tree.feature[node];
    if (f < 0) {
      const v = tree.value[node];
      for (let i = 1; i <= depth; i++) {
        const w = this.unwoundSum(offset, depth, i);
        this.phi[pFeature[offset + i]] += w * (pOne[offset + i] - pZero[offset + i]) * v;
      }
      return;
    }
    const leftHot = goesLeft(tree, node, this.x[f]);
    const hot = leftHot ? tree.left[node] : tree.right[node];
    const cold = leftHot ? tree.right[node] : tree.left[node];
    const w = tree.cover[node];
    const hotZero = w > 0 ? tree.cover[hot] / w : 0;
    const coldZero = w > 0 ? tree.cover[cold] / w : 0;
    let inZero = 1;
    let inOne = 1;
    let d = depth;
    let k = 0;
    for (; k <= d; k++) if (pFeature[offset + k] === f) break;
    if (k !== d + 1) {
      inZero = pZero[offset + k];
      inOne = pOne[offset + k];
      this.unwind(offset, d, k);
      d -= 1;
    }
    const next = offset + d + 1;
    this.recurse(hot, offset, next, d + 1, hotZero * inZero, inOne, f);
    this.recurse(cold, offset, next, d + 1, coldZero * inZero, 0, f);
  }
}

/** Largest number of distinct features on one root-to-leaf path that gets a precomputed table (2^d × d entries). */
const MAX_TABLE_PATH_FEATURES = 10;
/** Total precomputed entries (float64) across the forest; trees beyond it use the recursive algorithm. */
const MAX_TABLE_ENTRIES = 4_000_000;

/**
 * Writes one leaf's exact SHAP table (Fast TreeSHAP v2) to out[offset …] as [mask][slot] over the leaf's
 * distinct path features `feats`: φ_i = v·(o_i − z_i)·Σ_s s!(d−1−s)!/d!·[t^s] Π_{j≠i} (z_j + o_j t), where
 * z_j is the cover fraction along the path when feature j is absent. `fact` holds factorials up to d.
 */
export function writeLeafShapTable(
  tree: GbdtTree,
  leaf: number,
  path: readonly number[],
  left: readonly number[],
  feats: readonly number[],
  fact: readonly number[],
  out: Float64Array,
  offset: number,
): void {
  const d = feats.length;
  const zero = new Float64Array(d).fill(1);
  for (let p = 0; p < path.length; p++) {
    const n = path[p];
    const slot = feats.indexOf(tree.feature[n]);
    const child = left[p] ? tree.left[n] : tree.right[n];
    const w = tree.cover[n];
    zero[slot] *= w > 0 ? tree.cover[child] / w : 0;
  }
  const v = tree.value[leaf];
  const poly = new Float64Array(Math.max(1, d));
  for (let mask = 0; mask < 1 << d; mask++) {
    for (let i = 0; i < d; i++) {
      // poly = Π_{j≠i} (z_j + o_j t), coefficients by degree.
      poly.fill(0);
      poly[0] = 1;
      let deg = 0;
      for (let j = 0; j < d; j++) {
        if (j === i) continue;
        const o = (mask >> j) & 1;
        const z = zero[j];
        for (let s = deg + 1; s >= 0; s--) {
          const prev = s > 0 ? poly[s - 1] : 0;
          poly[s] = (s <= deg ? poly[s] * z : 0) + o * prev;
        }
        deg++;
      }
      let sum = 0;
      for (let s = 0; s < d; s++) sum += (poly[s] * fact[s] * fact[d - 1 - s]) / fact[d];
      out[offset + mask * d + i] = v * (((mask >> i) & 1) - zero[i]) * sum;
    }
  }
}

/**
 * Exact path-dependent TreeSHAP with per-leaf precomputed tables (the "Fast TreeSHAP v2" idea,
 * Yang 2021). A leaf's share of φ depends on the row only through which of its path's d distinct
 * features the row satisfies (o_j ∈ {0,1}); the zero fractions z_j (cover ratios) are fixed. So for every
 * leaf and every one of the 2^d satisfaction masks we store leaf value × Shapley weight per path feature:
 *   φ_i += v · (o_i − z_i) · Σ_s s!(d−1−s)!/d! · [t^s] Π_{j≠i} (z_j + o_j t).
 * Explaining a row is then one split test per internal node plus d table reads per leaf, instead of the
 * O(L·D²) recursion. Trees whose tables would not fit the budget fall back to TreeShapWorkspace.
 */
export class TreeShapTables {
  private readonly trees: readonly GbdtTree[];
  /** Per tree: 1 = tabled, 0 = recursive fallback. */
  private readonly tabled: Uint8Array;
  private readonly leafSlotStart: Int32Array;
  private readonly leafSlots: Int32Array;
  private readonly leafTable: Int32Array;
  private readonly slotFeature: Int32Array;
  private readonly table: Float64Array;
  /** Flat node records (global node ids): split tests identical to prediction's. */
  private readonly forest: PackedForest;
  private readonly allTabled: boolean;
  /** Preorder (global node ids) of the tabled trees: parents before children. */
  private readonly order: Int32Array;
  /** Per internal node: bit of its feature's slot on the path (1 << slot). */
  private readonly nodeBit: Int32Array;
  /** Per node: its leaf index in the leaf arrays, or -1. */
  private readonly leafOfNode: Int32Array;
  /** Per node, while explaining: slots whose path condition the row failed above it. */
  private readonly failed: Int32Array;
  private readonly fallback: TreeShapWorkspace;

  /** `maxEntries`: table budget (float64 entries); trees past it are explained recursively. */
  constructor(trees: readonly GbdtTree[], opts: { maxEntries?: number } = {}) {
    const budget = opts.maxEntries ?? MAX_TABLE_ENTRIES;
    this.trees = trees;
    this.fallback = new TreeShapWorkspace(trees);
    this.tabled = new Uint8Array(trees.length);
    const leafSlotStart: number[] = [];
    const leafSlots: number[] = [];
    const leafTable: number[] = [];
    const slotFeature: number[] = [];
    const leafNode: number[] = [];
    const order: number[] = [];
    const tableChunks: Float64Array[] = [];
    let entries = 0;
    let maxNodes = 0;
    for (const t of trees) maxNodes += t.feature.length;
    const nodeBit = new Int32Array(maxNodes);
    const fact = [1];
    for (let k = 1; k <= MAX_TABLE_PATH_FEATURES; k++) fact[k] = fact[k - 1] * k;

    let nodeBase = 0;
    for (let ti = 0; ti < trees.length; ti++) {
      const tree = trees[ti];
      if (ti > 0) nodeBase += trees[ti - 1].feature.length;
      // Collect every leaf's path (node, went-left) first, to check the budget before building.
      const leaves: { leaf: number; path: number[]; left: number[] }[] = [];
      const walk = (node: number, path: number[], left: number[]) => {
        if (tree.feature[node] < 0) {
          leaves.push({ leaf: node, path: [...path], left: [...left] });
          return;
        }
        path.push(node);
        left.push(1);
        walk(tree.left[node], path, left);
        left[left.length - 1] = 0;
        walk(tree.right[node], path, left);
        path.pop();
        left.pop();
      };
      walk(0, [], []);
      let need = 0;
      let fits = true;
      const uniques = leaves.map(({ path }) => {
        const feats: number[] = [];
        for (const n of path) if (!feats.includes(tree.feature[n])) feats.push(tree.feature[n]);
        if (feats.length > MAX_TABLE_PATH_FEATURES) fits = false;
        need += (1 << Math.min(feats.length, 30)) * feats.length;
        return feats;
      });
      if (!fits || entries + need > budget) continue;
      this.tabled[ti] = 1;
      const chunk = new Float64Array(need);
      let co = 0;
      leaves.forEach(({ leaf, path, left }, li) => {
        const feats = uniques[li];
        const d = feats.length;
        if (d === 0) return; // a single-leaf tree contributes nothing
        leafNode.push(nodeBase + leaf);
        leafSlotStart.push(slotFeature.length);
        leafSlots.push(d);
        for (const f of feats) slotFeature.push(f);
        leafTable.push(entries + co);
        writeLeafShapTable(tree, leaf, path, left, feats, fact, chunk, co);
        co += (1 << d) * d;
      });
      // Preorder of the tree (parents before children) with each split's slot bit on its path.
      const visit = (node: number, feats: number[]) => {
        order.push(nodeBase + node);
        const f = tree.feature[node];
        if (f < 0) return;
        let slot = feats.indexOf(f);
        const next = slot < 0 ? [...feats, f] : feats;
        if (slot < 0) slot = feats.length;
        nodeBit[nodeBase + node] = 1 << slot;
        visit(tree.left[node], next);
        visit(tree.right[node], next);
      };
      visit(0, []);
      tableChunks.push(chunk.subarray(0, co));
      entries += co;
    }
    this.leafSlotStart = Int32Array.from(leafSlotStart);
    this.leafSlots = Int32Array.from(leafSlots);
    this.leafTable = Int32Array.from(leafTable);
    this.slotFeature = Int32Array.from(slotFeature);
    this.table = new Float64Array(entries);
    let o = 0;
    for (const c of tableChunks) {
      this.table.set(c, o);
      o += c.length;
    }
    this.failed = new Int32Array(maxNodes);
    this.nodeBit = nodeBit;
    this.order = Int32Array.from(order);
    this.leafOfNode = new Int32Array(maxNodes).fill(-1);
    leafNode.forEach((g, l) => {
      this.leafOfNode[g] = l;
    });
    this.forest = new PackedForest(trees);
    let tabledLeaves = 0;
    for (let ti = 0; ti < trees.length; ti++) if (this.tabled[ti]) tabledLeaves++;
    this.allTabled = tabledLeaves === trees.length;
  }

  /** Number of trees explained from tables (the rest use the recursive algorithm). */
  get tabledTrees(): number {
    let n = 0;
    for (const t of this.tabled) n += t;
    return n;
  }

  /** Adds the SHAP values of encoded row x (model coding, NaN = missing) to phi (length nFeatures). */
  explain(x: Float64Array, phi: Float64Array): void {
    const { order, nodeBit, leafOfNode, failed, slotFeature, table } = this;
    const { leafSlots, leafSlotStart, leafTable } = this;
    const { nodes, numbers, masks } = this.forest;
    // One preorder pass: a split passes its "failed slots" mask to both children, adding its own slot's
    // bit on the side the row does not take; at a leaf the satisfied mask picks the table row.
    for (let k = 0; k < order.length; k++) {
      const g = order[k];
      const rec = g * 6;
      const f = nodes[rec];
      if (f >= 0) {
        const v = x[f];
        let left: boolean;
        if (Number.isNaN(v)) left = nodes[rec + 3] === nodes[rec + 1];
        else {
          const mOff = nodes[rec + 4];
          left = mOff < 0 ? v <= numbers[g] : v < nodes[rec + 5] && masks[mOff + v] === 1;
        }
        const fl = failed[g];
        const withBit = fl | nodeBit[g];
        failed[nodes[rec + 1]] = left ? fl : withBit;
        failed[nodes[rec + 2]] = left ? withBit : fl;
        continue;
      }
      const l = leafOfNode[g];
      if (l < 0) continue; // single-leaf tree
      const d = leafSlots[l];
      const base = leafTable[l] + (((1 << d) - 1) & ~failed[g]) * d;
      const s0 = leafSlotStart[l];
      for (let j = 0; j < d; j++) phi[slotFeature[s0 + j]] += table[base + j];
    }
    if (this.allTabled) return;
    for (let ti = 0; ti < this.trees.length; ti++)
      if (this.tabled[ti] === 0) this.fallback.explainTree(this.trees[ti], x, phi);
  }
}
