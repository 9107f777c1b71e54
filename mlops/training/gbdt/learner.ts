/**
 * The boosting loop and leaf-wise tree growth on pre-binned data.
 * Hand-written because no maintained TypeScript GBDT exists; hot loops use typed arrays only.
 */
import { availableParallelism } from "node:os";
import { ValidationError } from "../../../platform/errors.ts";
import { type BinnedData, binDataset, fitBinning } from "./binning.ts";
import { warmUpKernels } from "./forest-kernel.ts";
import { HIST_STRIDE, subtractHistogram } from "./histogram.ts";
import { GbdtModel, PARALLEL_MIN_ROWS, prestartPredictWorker } from "./model.ts";
import { HistogramBuilder } from "./parallel.ts";
import { DEFAULT_GBDT_PARAMS, type GbdtParams, gbdtParamsSchema } from "./params.ts";
import { encodeBlock, type GbdtDataset, type GbdtTree, PackedForest, resolveColumns } from "./tree.ts";

export interface TrainGbdtOptions {
  /** Validation set for early stopping (coded by category name, like prediction). */
  valid?: GbdtDataset;
  /** Called after every boosting round with the mean logloss (iter is 1-based). */
  onIteration?(iter: number, trainLoss: number, validLoss?: number): void;
}

/**
 * Subset splits of categories (features with more than `maxCatToOnehot` categories) follow LightGBM's
 * defaults: the hessian smoothing of the gradient/hessian ordering, which is also the fewest rows a
 * category needs to be placed (cat_smooth); extra L2 on the children (cat_l2); rows between two
 * thresholds tried (min_data_per_group).
 */
const CAT_SMOOTH = 10;
const CAT_L2 = 10;
const MIN_DATA_PER_GROUP = 100;
/** Work (rows × features) from which "threads: 0" (auto) uses a second thread. */
const AUTO_THREADS_MIN_WORK = 2_000_000;

/** Seeded 32-bit PRNG (mulberry32): deterministic row and column sampling. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves and validates parameters (unknown fields rejected, error names the field). */
export function resolveParams(params: Partial<GbdtParams> = {}): GbdtParams {
  const merged = { ...DEFAULT_GBDT_PARAMS, ...params };
  const parsed = gbdtParamsSchema.strict().safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`params.${issue.path.join(".") || "?"}`, issue.message, {
      hint: "see DEFAULT_GBDT_PARAMS in mlops/training/gbdt/params.ts",
    });
  }
  return parsed.data;
}

function checkLabels(data: GbdtDataset, field: string): Uint8Array {
  if (!data.label) throw new ValidationError(`${field}.label`, "a label column is required for training");
  if (data.label.length !== data.nRows) {
    throw new ValidationError(`${field}.label`, `has ${data.label.length} values for ${data.nRows} rows`);
  }
  for (let i = 0; i < data.nRows; i++) {
    if (data.label[i] > 1) throw new ValidationError(`${field}.label`, `row ${i}: label must be 0 or 1`);
  }
  return data.label;
}

/** Best split of one leaf. */
interface Split {
  gain: number;
  feature: number;
  /** Numeric: rows with bin in 1..bin go left. */
  bin: number;
  /** Categorical: bins that go left (null for numeric). */
  catBins: number[] | null;
  defaultLeft: boolean;
  leftG: number;
  leftH: number;
  leftC: number;
}

/** One tree in the making: its final arrays plus the bin-space split description used on training rows. */
interface GrownTree {
  tree: GbdtTree;
  splitBin: Int32Array;
  binMask: (Uint8Array | null)[];
}

/** Everything the grower needs that stays fixed over a training run. */
interface GrowContext {
  p: GbdtParams;
  data: BinnedData;
  hb: HistogramBuilder;
}

const score = (g: number, h: number, lambda: number) => (g * g) / (h + lambda);

/** Finds the best split of a leaf from its histogram (null when no split beats minSplitGain). */
export function findBestSplit(
  ctx: GrowContext,
  histBase: number,
  G: number,
  H: number,
  C: number,
): Split | null {
  const { p, data, hb } = ctx;
  const hist = hb.hist;
  const lambda = p.lambdaL2;
  const minData = p.minDataInLeaf;
  const minH = p.minChildWeight;
  const parentScore = score(G, H, lambda);
  // Splits on a subset of many categories score their children with extra L2 (LightGBM cat_l2): such a
  // subset is chosen after sorting by the gradients themselves, so it fits noise easily.
  const catLambda = lambda + CAT_L2;
  // Boxed so the closure's updates stay visible to the type checker.
  const found: { best: Split | null } = { best: null };
  let bestGain = p.minSplitGain;
  const consider = (
    f: number,
    bin: number,
    catBins: number[] | null,
    dl: boolean,
    gl: number,
    hl: number,
    cl: number,
    childLambda = lambda,
  ) => {
    const cr = C - cl;
    const hr = H - hl;
    if (cl < minData || cr < minData || hl < minH || hr < minH) return false;
    const gain = score(gl, hl, childLambda) + score(G - gl, hr, childLambda) - parentScore;
    if (!(gain > bestGain)) return false;
    bestGain = gain;
    found.best = { gain, feature: f, bin, catBins, defaultLeft: dl, leftG: gl, leftH: hl, leftC: cl };
    return true;
  };
  for (let k = 0; k < hb.nActive; k++) {
    const f = hb.features[k];
    const bn = data.binnings[f];
    const nb = bn.nBins;
    const base = histBase + data.binOffset[f] * HIST_STRIDE;
    const gM = hist[base];
    const hM = hist[base + 1];
    const cM = hist[base + 2];
    if (bn.kind === "numeric") {
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 1; b < nb - 1; b++) {
        const o = base + b * HIST_STRIDE;
        if (hist[o + 2] === 0) continue;
        gl += hist[o];
        hl += hist[o + 1];
        cl += hist[o + 2];
        // Missing rows go right (or, when the node has none, to the larger side).
        consider(f, b, null, cM > 0 ? false : cl >= C - cl, gl, hl, cl);
        if (cM > 0) consider(f, b, null, true, gl + gM, hl + hM, cl + cM);
      }
    } else {
      const present: number[] = [];
      for (let b = 1; b < nb; b++)
        if (bn.binToCode[b] >= 0 && hist[base + b * HIST_STRIDE + 2] > 0) present.push(b);
      if (present.length === 0 || (present.length === 1 && cM === 0)) continue;
      if (present.length <= p.maxCatToOnehot) {
        // One category against the rest (as XGBoost sees one-hot columns). The default for every
        // categorical: sorted subsets fitted noise in high-cardinality columns such as a US state
        // (bench:train --quality, interaction data: CV AUC 0.846 with subsets, 0.868 one-vs-rest).
        for (const b of present) {
          const o = base + b * HIST_STRIDE;
          const gl = hist[o];
          const hl = hist[o + 1];
          const cl = hist[o + 2];
          if (consider(f, 0, null, cM > 0 ? false : cl >= C - cl, gl, hl, cl)) found.best!.catBins = [b];
          if (cM > 0 && consider(f, 0, null, true, gl + gM, hl + hM, cl + cM)) found.best!.catBins = [b];
        }
        continue;
      }
      // Many categories: sort those seen often enough by smoothed gradient/hessian ratio and try prefixes
      // from either end, at most half of them and maxCatThreshold on the left, a threshold only after at
      // least MIN_DATA_PER_GROUP more rows (LightGBM cat_smooth, min_data_per_group, max_cat_threshold).
      const cats = present.filter((b) => hist[base + b * HIST_STRIDE + 2] >= CAT_SMOOTH);
      if (cats.length === 0) continue;
      const ratio = (b: number) =>
        hist[base + b * HIST_STRIDE] / (hist[base + b * HIST_STRIDE + 1] + CAT_SMOOTH);
      cats.sort((a, b) => ratio(a) - ratio(b) || a - b);
      const maxK = Math.min(p.maxCatThreshold, Math.max(1, (cats.length + 1) >> 1));
      for (let dir = 0; dir < 2; dir++) {
        let gl = 0;
        let hl = 0;
        let cl = 0;
        let group = 0;
        for (let k2 = 0; k2 < maxK; k2++) {
          const b = dir === 0 ? cats[k2] : cats[cats.length - 1 - k2];
          const o = base + b * HIST_STRIDE;
          gl += hist[o];
          hl += hist[o + 1];
          cl += hist[o + 2];
          group += hist[o + 2];
          if (C - cl < MIN_DATA_PER_GROUP) break;
          if (group < MIN_DATA_PER_GROUP) continue;
          group = 0;
          const prefix = () => (dir === 0 ? cats.slice(0, k2 + 1) : cats.slice(cats.length - 1 - k2));
          if (consider(f, 0, null, cM > 0 ? false : cl >= C - cl, gl, hl, cl, catLambda))
            found.best!.catBins = prefix();
          if (cM > 0 && consider(f, 0, null, true, gl + gM, hl + hM, cl + cM, catLambda))
            found.best!.catBins = prefix();
        }
      }
    }
  }
  return found.best;
}

/** Grows one tree leaf-wise on the rows at positions [0, nRows) (their leaves end up in hb.leafOfRow). */
function growTree(ctx: GrowContext, nRows: number): GrownTree {
  const { p, data, hb } = ctx;
  const leafOfRow = hb.leafOfRow;
  const { gh } = hb;
  const lambda = p.lambdaL2;
  const lr = p.learningRate;
  const maxLeaves = p.numLeaves;
  const maxDepth = p.maxDepth < 0 ? Number.POSITIVE_INFINITY : p.maxDepth;
  // Per-leaf state (leaves are few; rows never become objects).
  const lStart: number[] = [];
  const lCount: number[] = [];
  const lSlot: number[] = [];
  const lDepth: number[] = [];
  const lNode: number[] = [];
  const lG: number[] = [];
  const lH: number[] = [];
  const lBest: (Split | null)[] = [];
  /** Leaves whose rows already have leafOfRow set (children of a node that was not partitioned). */
  const lAssigned: boolean[] = [];
  // Tree nodes.
  const feature: number[] = [];
  const threshold: number[] = [];
  const defaultLeft: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const cover: number[] = [];
  const count: number[] = [];
  const gain: number[] = [];
  const catLeft: (Int32Array | null)[] = [];
  const splitBin: number[] = [];
  const binMask: (Uint8Array | null)[] = [];
  const addNode = (g: number, h: number, c: number) => {
    feature.push(-1);
    threshold.push(0);
    defaultLeft.push(0);
    left.push(-1);
    right.push(-1);
    value.push((-g / (h + lambda)) * lr);
    cover.push(h);
    count.push(c);
    gain.push(0);
    catLeft.push(null);
    splitBin.push(0);
    binMask.push(null);
    return feature.length - 1;
  };
  const evaluate = (leaf: number) => {
    const canSplit =
      lStart.length < maxLeaves && lDepth[leaf] < maxDepth && lCount[leaf] >= 2 * p.minDataInLeaf;
    lBest[leaf] = canSplit
      ? findBestSplit(ctx, lSlot[leaf] * hb.histSize, lG[leaf], lH[leaf], lCount[leaf])
      : null;
  };

  let G = 0;
  let H = 0;
  for (let i = 0; i < nRows; i++) {
    G += gh[2 * i];
    H += gh[2 * i + 1];
  }
  hb.build(0, nRows, 0);
  lStart.push(0);
  lCount.push(nRows);
  lSlot.push(0);
  lDepth.push(0);
  lNode.push(addNode(G, H, nRows));
  lG.push(G);
  lH.push(H);
  lBest.push(null);
  lAssigned.push(false);
  evaluate(0);

  while (lStart.length < maxLeaves) {
    let pick = -1;
    for (let l = 0; l < lStart.length; l++) {
      const s = lBest[l];
      if (s && (pick < 0 || s.gain > (lBest[pick] as Split).gain)) pick = l;
    }
    if (pick < 0) break;
    const s = lBest[pick] as Split;
    const f = s.feature;
    const bn = data.binnings[f];
    // Split the leaf's rows into left then right.
    const start = lStart[pick];
    const cnt = lCount[pick];
    let mask: Uint8Array | null = null;
    if (s.catBins) {
      mask = new Uint8Array(bn.nBins);
      for (const b of s.catBins) mask[b] = 1;
    }
    const dl = s.defaultLeft;
    const thrBin = s.bin;
    // Bin → goes-left table (bin 0 = missing), so the partition needs no per-row branch.
    const goLeft = hb.goLeft;
    goLeft.fill(0);
    goLeft[0] = dl ? 1 : 0;
    if (mask) goLeft.set(mask.subarray(1), 1);
    else goLeft.fill(1, 1, thrBin + 1);
    const depth = lDepth[pick] + 1;
    // Children that can never be split (depth limit, too few rows, leaf budget spent) need no histogram
    // and no row movement: a node whose children are both such leaves only records each row's leaf
    // (that saves the whole last level of a depth-limited tree). The counts come from the histogram.
    const splittable = (c: number) => depth < maxDepth && c >= 2 * p.minDataInLeaf;
    const terminal = !(lStart.length + 1 < maxLeaves && (splittable(s.leftC) || splittable(cnt - s.leftC)));
    const leftNode = feature.length;
    const rightNode = leftNode + 1;
    const leftCount = terminal
      ? hb.assignLeaves(start, cnt, f, leftNode, rightNode)
      : hb.partition(start, cnt, f);
    const rightCount = cnt - leftCount;

    // Turn the leaf's node into a split node.
    const node = lNode[pick];
    feature[node] = f;
    defaultLeft[node] = dl ? 1 : 0;
    gain[node] = s.gain;
    splitBin[node] = thrBin;
    binMask[node] = mask;
    if (s.catBins) {
      const codes = s.catBins.map((b) => bn.binToCode[b]).sort((a, b) => a - b);
      catLeft[node] = Int32Array.from(codes);
    } else {
      threshold[node] = bn.upperBounds[thrBin - 1];
    }
    const gl = s.leftG;
    const hl = s.leftH;
    const gr = lG[pick] - gl;
    const hr = lH[pick] - hl;
    addNode(gl, hl, leftCount);
    addNode(gr, hr, rightCount);
    left[node] = leftNode;
    right[node] = rightNode;

    // Histograms: build the smaller child, derive the larger one as parent − smaller (in the parent's slot).
    const newLeaf = lStart.length;
    const parentSlot = lSlot[pick];
    const newSlot = newLeaf;
    const leftSmaller = leftCount <= rightCount;
    const smallStart = leftSmaller ? start : start + leftCount;
    const smallCount = leftSmaller ? leftCount : rightCount;
    if (!terminal) {
      hb.build(smallStart, smallCount, newSlot);
      subtractHistogram(
        hb.hist,
        parentSlot * hb.histSize,
        hb.hist,
        newSlot * hb.histSize,
        hb.hist,
        parentSlot * hb.histSize,
        hb.features,
        hb.nActive,
        data.binOffset,
      );
    }
    lAssigned[pick] = terminal;
    lAssigned.push(terminal);
    // `pick` becomes the left child, the new leaf the right child.
    lCount[pick] = leftCount;
    lDepth[pick] = depth;
    lNode[pick] = leftNode;
    lG[pick] = gl;
    lH[pick] = hl;
    lStart.push(start + leftCount);
    lCount.push(rightCount);
    lDepth.push(depth);
    lNode.push(rightNode);
    lG.push(gr);
    lH.push(hr);
    lBest.push(null);
    lSlot[pick] = leftSmaller ? newSlot : parentSlot;
    lSlot.push(leftSmaller ? parentSlot : newSlot);
    evaluate(pick);
    evaluate(newLeaf);
  }
  for (let l = 0; l < lStart.length; l++) {
    if (!lAssigned[l]) leafOfRow.fill(lNode[l], lStart[l], lStart[l] + lCount[l]);
  }
  return {
    tree: {
      feature: Int32Array.from(feature),
      threshold: Float64Array.from(threshold),
      defaultLeft: Uint8Array.from(defaultLeft),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      value: Float64Array.from(value),
      cover: Float64Array.from(cover),
      count: Float64Array.from(count),
      gain: Float64Array.from(gain),
      catLeft,
    },
    splitBin: Int32Array.from(splitBin),
    binMask,
  };
}

/** Leaf of training row r in a grown tree, walking the bins. */
function binnedLeaf(g: GrownTree, data: BinnedData, r: number): number {
  const t = g.tree;
  let n = 0;
  while (t.feature[n] >= 0) {
    const b = data.bins[r * data.rowStride + t.feature[n]];
    const m = g.binMask[n];
    const goLeft = b === 0 ? t.defaultLeft[n] === 1 : m ? m[b] === 1 : b <= g.splitBin[n];
    n = goLeft ? t.left[n] : t.right[n];
  }
  return n;
}

function meanLogloss(scores: Float64Array, y: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < scores.length; i++) {
    const z = scores[i];
    // log(1 + e^-|z|) + max(z,0) − y·z, stable for large |z|.
    s += Math.log1p(Math.exp(-Math.abs(z))) + Math.max(z, 0) - y[i] * z;
  }
  return scores.length ? s / scores.length : 0;
}

/** Picks the histogram thread count: explicit, or for 0 (auto) two threads on large data when ≥ 2 cores. */
export function chooseThreads(threads: number, nRows: number, nFeatures: number): number {
  if (threads > 0) return threads;
  return availableParallelism() >= 2 && nRows * nFeatures >= AUTO_THREADS_MIN_WORK ? 2 : 1;
}

/** Trains a binary-classification GBDT (logloss) on `train`; early-stops on `opts.valid` when given. */
export async function trainGbdt(
  train: GbdtDataset,
  params: Partial<GbdtParams> = {},
  opts: TrainGbdtOptions = {},
): Promise<GbdtModel> {
  const p = resolveParams(params);
  const y = checkLabels(train, "train");
  const n = train.nRows;
  if (n === 0) throw new ValidationError("train", "dataset has no rows");
  if (train.features.length === 0) throw new ValidationError("train.features", "dataset has no features");
  for (const f of train.features) {
    const len = f.kind === "numeric" ? f.values.length : f.codes.length;
    if (len !== n) throw new ValidationError(`train.${f.name}`, `column has ${len} values for ${n} rows`);
  }
  const features = train.features.map((f) => ({ name: f.name, kind: f.kind }));
  const categories: Record<string, string[]> = {};
  for (const f of train.features) if (f.kind === "categorical") categories[f.name] = [...f.categories];

  let pos = 0;
  for (let i = 0; i < n; i++) pos += y[i];
  const rate = Math.min(Math.max(pos / n, 1e-6), 1 - 1e-6);
  const baseScore = Math.log(rate / (1 - rate));

  const data = binDataset(train, fitBinning(train, p.maxBins));
  const nF = data.nFeatures;
  const hb = new HistogramBuilder(data, p.numLeaves, y, baseScore);
  const threads = chooseThreads(p.threads, n, nF);
  const ctx: GrowContext = { p, data, hb };

  // Validation rows, coded like prediction (by name), as one row-major block.
  let validX: Float64Array | null = null;
  let validY: Uint8Array | null = null;
  let validScores: Float64Array | null = null;
  if (opts.valid) {
    validY = checkLabels(opts.valid, "valid");
    const cols = resolveColumns(opts.valid, features, categories);
    validX = new Float64Array(opts.valid.nRows * nF);
    encodeBlock(cols, 0, opts.valid.nRows, validX);
    validScores = new Float64Array(opts.valid.nRows).fill(baseScore);
  }

  // Big training sets are usually scored next (evaluation, batch): the predict worker boots and warms up
  // while the trees grow, instead of during the first prediction (measured: the first 1M-row call of a
  // cold worker ran ~10% below a warm one).
  const prestarted = threads > 1 && n >= PARALLEL_MIN_ROWS && prestartPredictWorker();
  const rng = mulberry32(p.seed);
  const scores = hb.scores;
  const trees: GbdtTree[] = [];
  let bestIteration = 0;
  let bestValid = Number.POSITIVE_INFINITY;
  const allFeatures = Array.from({ length: nF }, (_, f) => f);
  let bagFlags: Uint8Array | null = null;
  try {
    if (threads > 1) await hb.startWorkers(threads - 1);
    hb.updateGradients(); // first gradients, at the base score (leafOfRow and nodeValue are still zero)
    for (let iter = 0; iter < p.numTrees; iter++) {
      let m = n;
      if (p.baggingFraction < 1) {
        // Row sampling: the sampled positions are moved to the front, [0, m).
        const sampled: Uint8Array = bagFlags ?? new Uint8Array(n);
        bagFlags = sampled;
        m = 0;
        for (let i = 0; i < n; i++) {
          sampled[i] = rng() < p.baggingFraction ? 1 : 0;
          m += sampled[i];
        }
        if (m === 0) sampled[Math.floor(rng() * n)] = 1;
        m = hb.moveToFront(sampled);
      }
      if (p.featureFraction < 1) {
        const k = Math.max(1, Math.round(nF * p.featureFraction));
        const perm = allFeatures.slice();
        for (let i = 0; i < k; i++) {
          const j = i + Math.floor(rng() * (nF - i));
          [perm[i], perm[j]] = [perm[j], perm[i]];
        }
        hb.setActiveFeatures(perm.slice(0, k).sort((a, b) => a - b));
      } else if (iter === 0) hb.setActiveFeatures(allFeatures);

      const grown = growTree(ctx, m);
      const tree = grown.tree;
      trees.push(tree);
      // growTree set leafOfRow for the rows it grew on; rows left out by bagging walk the tree.
      for (let r = m; r < n; r++) hb.leafOfRow[r] = binnedLeaf(grown, data, r);
      hb.nodeValue.set(tree.value);
      // scores += this tree, and the next tree's gradients, in one pass split over the threads.
      hb.updateGradients();
      let validLoss: number | undefined;
      if (validX && validScores && validY) {
        new PackedForest([tree]).accumulate(validX, validY.length, nF, validScores, 0, 0, 1);
        validLoss = meanLogloss(validScores, validY);
        if (validLoss < bestValid - 1e-12) {
          bestValid = validLoss;
          bestIteration = iter + 1;
        }
      } else bestIteration = iter + 1;
      // The training loss costs a pass over all rows, so it is only computed for a listener.
      if (opts.onIteration) opts.onIteration(iter + 1, meanLogloss(scores, hb.label), validLoss);
      if (validX && iter + 1 - bestIteration >= p.earlyStoppingRounds) break;
      if (iter % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    await hb.close();
  }
  // This thread's share of that first prediction should not start in the interpreter either (~2%).
  if (prestarted) warmUpKernels();
  return new GbdtModel({
    features,
    categories,
    baseScore,
    bestIteration,
    params: p,
    trees: trees.slice(0, bestIteration),
  });
}
