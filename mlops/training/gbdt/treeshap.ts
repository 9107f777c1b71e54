/**
 * Exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2), ported from the reference C++
 * implementation. Cover = sum of training hessians per node. The path is kept in flat typed arrays,
 * one segment per recursion depth, so explaining a row allocates nothing.
 */
import { type GbdtTree, goesLeft, treeDepth } from "./tree.ts";

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
