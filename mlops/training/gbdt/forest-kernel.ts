/**
 * Prediction kernel over complete trees, shared by the main thread and the predict worker
 * (predict-worker.ts), so it imports nothing. Categorical splits arrive as numeric splits on virtual 0/1
 * columns that the caller lays out after the model's features (VirtualColumns).
 *
 * Every tree is stored as a complete binary tree of its depth D (internal nodes 0..2^D-2 in heap order,
 * 2^D leaves); a leaf that sits above depth D is padded with "always left" nodes (threshold +Infinity,
 * missing left) and its value is stored at the leftmost leaf below it. A row then walks each tree in exactly
 * D branch-free steps, n = 2n + 1 + goRight, reading only the node's packed feature/missing word and its
 * float32 threshold, straight on the raw values (no binning pass):
 *   goRight = (x > thr) | (!(x <= thr) & missingRight)    (both tests are false only for NaN)
 * which equals the model's rule "float32(x) <= threshold goes left, missing follows defaultLeft" exactly.
 * Hand-written because no JS library predicts our tree format; 8 rows are walked at once so their
 * independent dependent-load chains overlap. Comparisons are turned into 0/1 with unary plus, which V8
 * compiles without a branch (a `c ? 1 : 0` becomes a jump that mispredicts half the time: ~4× slower).
 */

/** Flat arrays of a complete-layout forest (may live in SharedArrayBuffers so a worker can read them). */
export interface CompleteForest {
  nTrees: number;
  /** Per tree: depth D (a single leaf has D = 0). */
  depth: Int32Array;
  /** Per tree: index of its root in `word` / `thr` (2^D - 1 nodes each). */
  nodeBase: Int32Array;
  /** Per tree: index of its first leaf in `leaf` (2^D leaves each). */
  leafBase: Int32Array;
  /** Per node: feature << 1 | (missing goes right). */
  word: Int32Array;
  /**
   * Per node: the feature alone, for the kernel without missing values (no shift per step: 0.58 → 0.65M
   * rows/s on one thread, 300 depth-4 trees, 40 features).
   */
  feat: Int32Array;
  /** Per node: float32 threshold; x > thr goes right. */
  thr: Float32Array;
  leaf: Float64Array;
  /**
   * Columns per row the kernel reads: the model's features, then one virtual column per distinct
   * categorical split (see model.ts, buildCompleteForest); the walk itself does not know the difference.
   */
  width: number;
  /** The virtual columns' definitions, used by the thread that lays out the rows (not by the walk). */
  virtual: VirtualColumns | null;
}

/**
 * Categorical splits as virtual columns: column k is 0 when the row's category of model feature
 * feature[k] is in the split's left set (mask[offset[k] + code] = 1), 1 when it is not (unseen codes
 * included), NaN when it is missing; its nodes split at 0.5 with the node's missing direction.
 */
export interface VirtualColumns {
  feature: Int32Array;
  offset: Int32Array;
  length: Int32Array;
  mask: Uint8Array;
}

/**
 * Adds every tree's output for rows [0, nRows) of the row-major float32 block `x` (nF columns, starting at
 * x[xBase]) to out[outBase ..]. Picks the cheaper kernel when the block has no missing value.
 */
export function accumulateComplete(
  forest: CompleteForest,
  x: Float32Array,
  xBase: number,
  nF: number,
  nRows: number,
  out: Float64Array,
  outBase: number,
): void {
  let nan = 0;
  for (let i = xBase, e = xBase + nRows * nF; i < e; i++) nan |= +Number.isNaN(x[i]);
  if (nan) walkWithMissing(forest, x, xBase, nF, nRows, out, outBase);
  else walkNoMissing(forest, x, xBase, nF, nRows, out, outBase);
}

/**
 * Kernel for blocks holding missing values: adds every tree's output for rows [0, nRows) of the row-major float32 block `x` (nF columns, starting at
 * x[xBase]) to out[outBase ..]. Trees are the outer loop so one tree's few nodes stay in L1 for the block.
 */
function walkWithMissing(
  forest: CompleteForest,
  x: Float32Array,
  xBase: number,
  nF: number,
  nRows: number,
  out: Float64Array,
  outBase: number,
): void {
  const { nTrees, depth, nodeBase, leafBase, word, thr, leaf } = forest;
  for (let t = 0; t < nTrees; t++) {
    const D = depth[t];
    const nb = nodeBase[t];
    const lb = leafBase[t] - ((1 << D) - 1);
    let r = 0;
    for (; r + 8 <= nRows; r += 8) {
      const rb = xBase + r * nF;
      let n0 = 0;
      let n1 = 0;
      let n2 = 0;
      let n3 = 0;
      let n4 = 0;
      let n5 = 0;
      let n6 = 0;
      let n7 = 0;
      for (let d = 0; d < D; d++) {
        const w0 = word[nb + n0];
        const w1 = word[nb + n1];
        const w2 = word[nb + n2];
        const w3 = word[nb + n3];
        const w4 = word[nb + n4];
        const w5 = word[nb + n5];
        const w6 = word[nb + n6];
        const w7 = word[nb + n7];
        const x0 = x[rb + (w0 >> 1)];
        const x1 = x[rb + nF + (w1 >> 1)];
        const x2 = x[rb + 2 * nF + (w2 >> 1)];
        const x3 = x[rb + 3 * nF + (w3 >> 1)];
        const x4 = x[rb + 4 * nF + (w4 >> 1)];
        const x5 = x[rb + 5 * nF + (w5 >> 1)];
        const x6 = x[rb + 6 * nF + (w6 >> 1)];
        const x7 = x[rb + 7 * nF + (w7 >> 1)];
        n0 = 2 * n0 + 1 + (+(x0 > thr[nb + n0]) | (+!(x0 <= thr[nb + n0]) & w0));
        n1 = 2 * n1 + 1 + (+(x1 > thr[nb + n1]) | (+!(x1 <= thr[nb + n1]) & w1));
        n2 = 2 * n2 + 1 + (+(x2 > thr[nb + n2]) | (+!(x2 <= thr[nb + n2]) & w2));
        n3 = 2 * n3 + 1 + (+(x3 > thr[nb + n3]) | (+!(x3 <= thr[nb + n3]) & w3));
        n4 = 2 * n4 + 1 + (+(x4 > thr[nb + n4]) | (+!(x4 <= thr[nb + n4]) & w4));
        n5 = 2 * n5 + 1 + (+(x5 > thr[nb + n5]) | (+!(x5 <= thr[nb + n5]) & w5));
        n6 = 2 * n6 + 1 + (+(x6 > thr[nb + n6]) | (+!(x6 <= thr[nb + n6]) & w6));
        n7 = 2 * n7 + 1 + (+(x7 > thr[nb + n7]) | (+!(x7 <= thr[nb + n7]) & w7));
      }
      const o = outBase + r;
      out[o] += leaf[lb + n0];
      out[o + 1] += leaf[lb + n1];
      out[o + 2] += leaf[lb + n2];
      out[o + 3] += leaf[lb + n3];
      out[o + 4] += leaf[lb + n4];
      out[o + 5] += leaf[lb + n5];
      out[o + 6] += leaf[lb + n6];
      out[o + 7] += leaf[lb + n7];
    }
    for (; r < nRows; r++) out[outBase + r] += walkOne(forest, t, x, xBase + r * nF);
  }
}

/**
 * Kernel for blocks without missing values (~20% faster: no missing-direction term): adds every tree's
 * output for rows [0, nRows) of the row-major float32 block `x` (nF columns, starting at x[xBase]) to
 * out[outBase ..]. Trees are the outer loop so one tree's few nodes stay in L1 for the block.
 */
function walkNoMissing(
  forest: CompleteForest,
  x: Float32Array,
  xBase: number,
  nF: number,
  nRows: number,
  out: Float64Array,
  outBase: number,
): void {
  const { nTrees, depth, nodeBase, leafBase, feat, thr, leaf } = forest;
  for (let t = 0; t < nTrees; t++) {
    const D = depth[t];
    const nb = nodeBase[t];
    const lb = leafBase[t] - ((1 << D) - 1);
    if (D === 0) {
      for (let r = 0; r < nRows; r++) out[outBase + r] += leaf[lb];
      continue;
    }
    // Every row starts at the root: its feature and threshold are read once per tree, not per row.
    const rootF = feat[nb];
    const rootT = thr[nb];
    let r = 0;
    for (; r + 8 <= nRows; r += 8) {
      const rb = xBase + r * nF;
      let n0 = 1 + +(x[rb + rootF] > rootT);
      let n1 = 1 + +(x[rb + nF + rootF] > rootT);
      let n2 = 1 + +(x[rb + 2 * nF + rootF] > rootT);
      let n3 = 1 + +(x[rb + 3 * nF + rootF] > rootT);
      let n4 = 1 + +(x[rb + 4 * nF + rootF] > rootT);
      let n5 = 1 + +(x[rb + 5 * nF + rootF] > rootT);
      let n6 = 1 + +(x[rb + 6 * nF + rootF] > rootT);
      let n7 = 1 + +(x[rb + 7 * nF + rootF] > rootT);
      for (let d = 1; d < D; d++) {
        const w0 = feat[nb + n0];
        const w1 = feat[nb + n1];
        const w2 = feat[nb + n2];
        const w3 = feat[nb + n3];
        const w4 = feat[nb + n4];
        const w5 = feat[nb + n5];
        const w6 = feat[nb + n6];
        const w7 = feat[nb + n7];
        const x0 = x[rb + w0];
        const x1 = x[rb + nF + w1];
        const x2 = x[rb + 2 * nF + w2];
        const x3 = x[rb + 3 * nF + w3];
        const x4 = x[rb + 4 * nF + w4];
        const x5 = x[rb + 5 * nF + w5];
        const x6 = x[rb + 6 * nF + w6];
        const x7 = x[rb + 7 * nF + w7];
        n0 = 2 * n0 + 1 + +(x0 > thr[nb + n0]);
        n1 = 2 * n1 + 1 + +(x1 > thr[nb + n1]);
        n2 = 2 * n2 + 1 + +(x2 > thr[nb + n2]);
        n3 = 2 * n3 + 1 + +(x3 > thr[nb + n3]);
        n4 = 2 * n4 + 1 + +(x4 > thr[nb + n4]);
        n5 = 2 * n5 + 1 + +(x5 > thr[nb + n5]);
        n6 = 2 * n6 + 1 + +(x6 > thr[nb + n6]);
        n7 = 2 * n7 + 1 + +(x7 > thr[nb + n7]);
      }
      const o = outBase + r;
      out[o] += leaf[lb + n0];
      out[o + 1] += leaf[lb + n1];
      out[o + 2] += leaf[lb + n2];
      out[o + 3] += leaf[lb + n3];
      out[o + 4] += leaf[lb + n4];
      out[o + 5] += leaf[lb + n5];
      out[o + 6] += leaf[lb + n6];
      out[o + 7] += leaf[lb + n7];
    }
    for (; r < nRows; r++) {
      const rb = xBase + r * nF;
      let n = 1 + +(x[rb + rootF] > rootT);
      for (let d = 1; d < D; d++) {
        const v = x[rb + feat[nb + n]];
        n = 2 * n + 1 + +(v > thr[nb + n]);
      }
      out[outBase + r] += leaf[lb + n];
    }
  }
}

/**
 * Adds every tree's output for one row (x[xBase ..]) to out[o]: the serving call. The kernels above walk
 * one tree at a time for a row that has no 7 companions, a chain of dependent loads; here 8 trees of
 * equal depth are walked together so their chains overlap (a group of mixed depths walks tree by tree).
 * Leaf values are added in tree order, so the sum equals theirs exactly.
 */
export function accumulateOneRow(
  forest: CompleteForest,
  x: Float32Array,
  xBase: number,
  out: Float64Array,
  o: number,
): void {
  const { nTrees, depth, nodeBase, leafBase, word, thr, leaf } = forest;
  let s = out[o];
  let t = 0;
  for (; t + 8 <= nTrees; t += 8) {
    const D = depth[t];
    let same = true;
    for (let k = 1; k < 8; k++) same &&= depth[t + k] === D;
    if (!same) {
      for (let k = t; k < t + 8; k++) s += walkOne(forest, k, x, xBase);
      continue;
    }
    const b0 = nodeBase[t];
    const b1 = nodeBase[t + 1];
    const b2 = nodeBase[t + 2];
    const b3 = nodeBase[t + 3];
    const b4 = nodeBase[t + 4];
    const b5 = nodeBase[t + 5];
    const b6 = nodeBase[t + 6];
    const b7 = nodeBase[t + 7];
    let n0 = 0;
    let n1 = 0;
    let n2 = 0;
    let n3 = 0;
    let n4 = 0;
    let n5 = 0;
    let n6 = 0;
    let n7 = 0;
    for (let d = 0; d < D; d++) {
      const w0 = word[b0 + n0];
      const w1 = word[b1 + n1];
      const w2 = word[b2 + n2];
      const w3 = word[b3 + n3];
      const w4 = word[b4 + n4];
      const w5 = word[b5 + n5];
      const w6 = word[b6 + n6];
      const w7 = word[b7 + n7];
      const x0 = x[xBase + (w0 >> 1)];
      const x1 = x[xBase + (w1 >> 1)];
      const x2 = x[xBase + (w2 >> 1)];
      const x3 = x[xBase + (w3 >> 1)];
      const x4 = x[xBase + (w4 >> 1)];
      const x5 = x[xBase + (w5 >> 1)];
      const x6 = x[xBase + (w6 >> 1)];
      const x7 = x[xBase + (w7 >> 1)];
      n0 = 2 * n0 + 1 + (+(x0 > thr[b0 + n0]) | (+!(x0 <= thr[b0 + n0]) & w0));
      n1 = 2 * n1 + 1 + (+(x1 > thr[b1 + n1]) | (+!(x1 <= thr[b1 + n1]) & w1));
      n2 = 2 * n2 + 1 + (+(x2 > thr[b2 + n2]) | (+!(x2 <= thr[b2 + n2]) & w2));
      n3 = 2 * n3 + 1 + (+(x3 > thr[b3 + n3]) | (+!(x3 <= thr[b3 + n3]) & w3));
      n4 = 2 * n4 + 1 + (+(x4 > thr[b4 + n4]) | (+!(x4 <= thr[b4 + n4]) & w4));
      n5 = 2 * n5 + 1 + (+(x5 > thr[b5 + n5]) | (+!(x5 <= thr[b5 + n5]) & w5));
      n6 = 2 * n6 + 1 + (+(x6 > thr[b6 + n6]) | (+!(x6 <= thr[b6 + n6]) & w6));
      n7 = 2 * n7 + 1 + (+(x7 > thr[b7 + n7]) | (+!(x7 <= thr[b7 + n7]) & w7));
    }
    const first = (1 << D) - 1;
    s += leaf[leafBase[t] + n0 - first];
    s += leaf[leafBase[t + 1] + n1 - first];
    s += leaf[leafBase[t + 2] + n2 - first];
    s += leaf[leafBase[t + 3] + n3 - first];
    s += leaf[leafBase[t + 4] + n4 - first];
    s += leaf[leafBase[t + 5] + n5 - first];
    s += leaf[leafBase[t + 6] + n6 - first];
    s += leaf[leafBase[t + 7] + n7 - first];
  }
  for (; t < nTrees; t++) s += walkOne(forest, t, x, xBase);
  out[o] = s;
}

/** Output of tree t for the row at x[xBase ..]. */
function walkOne(forest: CompleteForest, t: number, x: Float32Array, xBase: number): number {
  const { depth, nodeBase, leafBase, word, thr, leaf } = forest;
  const D = depth[t];
  const nb = nodeBase[t];
  let n = 0;
  for (let d = 0; d < D; d++) {
    const w = word[nb + n];
    const v = x[xBase + (w >> 1)];
    n = 2 * n + 1 + (+(v > thr[nb + n]) | (+!(v <= thr[nb + n]) & w));
  }
  return leaf[leafBase[t] + n - ((1 << D) - 1)];
}

/**
 * Writes columns' rows [from, to) row-major as float32 into x[xBase ..], `stride` values per row (default:
 * one per column; wider rows leave room for virtual columns); null columns (unused) become 0.
 */
export function transposeBlock(
  cols: readonly (ArrayLike<number> | null)[],
  from: number,
  to: number,
  x: Float32Array,
  xBase: number,
  stride = cols.length,
): void {
  const nF = cols.length;
  for (let j = 0; j < nF; j++) {
    const v = cols[j];
    if (v) for (let r = from, o = xBase + j; r < to; r++, o += stride) x[o] = v[r];
    else for (let r = from, o = xBase + j; r < to; r++, o += stride) x[o] = 0;
  }
}

/** In-place logistic function over out[from, to). */
export function sigmoidRange(out: Float64Array, from: number, to: number): void {
  for (let i = from; i < to; i++) out[i] = 1 / (1 + Math.exp(-out[i]));
}

/** Shared control block of one parallel prediction (Int32Array slots). */
export const PCTRL_STATE = 0; // + slot: 0 free, 1 staged, 2 claimed by the worker, (back to 0 when done)
export const PCTRL_FROM = 4; // + slot: first row of the staged chunk
export const PCTRL_LEN = 8; // + slot: rows in the staged chunk
export const PCTRL_END = 12; // 1 once the main thread will stage nothing more
export const PCTRL_WORKER_EXITED = 13; // 1 once the worker has left the job
export const PCTRL_WORKER_CHUNKS = 14; // chunks the worker scored (diagnostics)
export const PCTRL_SIZE = 16;
/** Staging slots for the worker (double buffering). */
export const PREDICT_SLOTS = 2;
/** Tag in workerData identifying a predict worker. */
export const PREDICT_WORKER_KIND = "telco-gbdt-predict";

/** One prediction job handed to the worker (all arrays shared). */
export interface PredictJob {
  forest: CompleteForest;
  nF: number;
  ctrl: Int32Array;
  /** PREDICT_SLOTS × chunkRows × nF staged float32 rows. */
  staging: Float32Array;
  chunkRows: number;
  /** PREDICT_SLOTS × chunkRows scores, one chunk per staging slot (the caller copies them out). */
  out: Float64Array;
  baseScore: number;
  proba: boolean;
}

/** Scores the chunk staged in `slot` (len rows) into that slot's part of job.out. */
export function scoreChunk(job: PredictJob, slot: number, len: number): void {
  const { out, nF } = job;
  const o = slot * job.chunkRows;
  out.fill(job.baseScore, o, o + len);
  const xBase = slot * job.chunkRows * nF;
  for (let b = 0; b < len; b += BLOCK) {
    const n = Math.min(BLOCK, len - b);
    accumulateComplete(job.forest, job.staging, xBase + b * nF, nF, n, out, o + b);
  }
  if (job.proba) sigmoidRange(out, o, o + len);
}

/** Rows per traversal block: the block (BLOCK × nF float32) stays in L1/L2 while every tree walks it. */
export const BLOCK = 256;

/**
 * Runs both tree-walk kernels on a small made-up forest until V8 has optimized them, so a freshly
 * started predict worker walks its first real chunk at full speed instead of in the interpreter.
 */
export function warmUpKernels(nF = 8, rounds = 300): void {
  const D = 4;
  const nodes = (1 << D) - 1;
  const trees = 4;
  const forest: CompleteForest = {
    nTrees: trees,
    depth: new Int32Array(trees).fill(D),
    nodeBase: Int32Array.from({ length: trees }, (_, t) => t * nodes),
    leafBase: Int32Array.from({ length: trees }, (_, t) => t * (1 << D)),
    word: Int32Array.from({ length: trees * nodes }, (_, i) => ((i % nF) << 1) | (i & 1)),
    feat: Int32Array.from({ length: trees * nodes }, (_, i) => i % nF),
    thr: Float32Array.from({ length: trees * nodes }, (_, i) => (i % 7) / 7 - 0.5),
    leaf: Float64Array.from({ length: trees * (1 << D) }, (_, i) => (i % 5) / 50),
    width: nF,
    virtual: null,
  };
  const rows = 64;
  const x = Float32Array.from({ length: rows * nF }, (_, i) => ((i * 37) % 101) / 101 - 0.5);
  const withNaN = x.slice();
  withNaN[3] = Number.NaN;
  const out = new Float64Array(rows);
  for (let k = 0; k < rounds; k++) {
    accumulateComplete(forest, x, 0, nF, rows, out, 0);
    accumulateComplete(forest, withNaN, 0, nF, rows, out, 0);
  }
  sigmoidRange(out, 0, rows);
}

/** Worker side of a job: claims staged chunks until the main thread ends the job. */
export function runPredictJob(job: PredictJob): void {
  const c = job.ctrl;
  for (;;) {
    let worked = false;
    for (let s = 0; s < PREDICT_SLOTS; s++) {
      if (Atomics.compareExchange(c, PCTRL_STATE + s, 1, 2) === 1) {
        scoreChunk(job, s, c[PCTRL_LEN + s]);
        Atomics.add(c, PCTRL_WORKER_CHUNKS, 1);
        Atomics.store(c, PCTRL_STATE + s, 0);
        Atomics.notify(c, PCTRL_STATE + s);
        worked = true;
      }
    }
    if (worked) continue;
    if (Atomics.load(c, PCTRL_END) === 1) break;
    Atomics.wait(c, PCTRL_END, 0, 5);
  }
  Atomics.store(c, PCTRL_WORKER_EXITED, 1);
  Atomics.notify(c, PCTRL_WORKER_EXITED);
}
