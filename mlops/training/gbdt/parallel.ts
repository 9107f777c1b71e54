/**
 * The shared training state (bins, gradients, scores and labels in position order, the histogram pool;
 * all SharedArrayBuffers) and the threads that work on it: histograms (row blocks claimed from a counter,
 * summed in block order), partitions that move whole rows (a big node always in two halves, then one
 * block swap), leaf recording, and the fused score update + gradients (row ranges). Block cuts and halves
 * depend only on the node and every other job is per-row independent, so models are bit-identical for any
 * thread count. Jobs are posted through Atomics on per-worker control blocks: a postMessage round trip
 * per tree node would cost more than the work.
 */
import { Worker } from "node:worker_threads";
import { TelcoError } from "../../../platform/errors.ts";
import type { BinnedData } from "./binning.ts";
import {
  addHistogram,
  assignLeaves,
  buildHistogram,
  buildHistogramBlocks,
  CTRL_ACTIVE,
  CTRL_DONE,
  CTRL_EXIT,
  CTRL_FEATURE,
  CTRL_HIST_BASE,
  CTRL_HIST_SIZE,
  CTRL_KIND,
  CTRL_LEFT_NODE,
  CTRL_LEN,
  CTRL_RESULT,
  CTRL_RIGHT_NODE,
  CTRL_SCRATCH_BASE,
  CTRL_SEQ,
  CTRL_SIZE,
  CTRL_START,
  CTRL_SWAP_WITH,
  FEATURE_SLOTS,
  FLAG_FIRST,
  HIST_BLOCKS,
  HIST_STRIDE,
  JOB_ASSIGN,
  JOB_HISTOGRAM,
  JOB_HISTOGRAM_NO_COUNTS,
  JOB_PARTITION,
  JOB_SWAP,
  JOB_UPDATE_GRADIENT,
  partitionRows,
  swapRowBlocks,
  updateAndGradient,
  WORKER_KIND,
  waitChange,
} from "./histogram.ts";

/** A histogram job never takes this long; past it the worker is considered dead. */
const WORKER_TIMEOUT_MS = 120_000;

/**
 * Below this many rows a gradient update or leaf assignment runs on the main thread only, and a partition
 * is one scan; from it on, a partition always cuts the node into two halves (see partition()).
 */
const MIN_PARALLEL_ROWS = 16_000;

/** Below this many (rows × active features) a node is built on the main thread only (sync costs more). */
const MIN_PARALLEL_WORK = 200_000;

function sharedF64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(1, n) * 8));
}
function sharedI32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4));
}

/** Shared buffers of one training run and the threads that fill histograms from them. */
export class HistogramBuilder {
  readonly data: BinnedData;
  readonly histSize: number;
  /** Interleaved per-position (gradient, hessian): position i at 2i, 2i + 1 (one cache line read per row). */
  readonly gh: Float64Array;
  /** Features used by the current tree (first `nActive` entries). */
  readonly features: Int32Array;
  nActive = 0;
  /** Pool of histograms, `slots` × histSize, then the scratch histograms of block builds. */
  readonly hist: Float64Array;
  /** Next row block of a histogram build (shared claim counter). */
  private readonly counter = sharedI32(1);
  /** Per bin of the split feature: 1 = goes left (filled by the learner before partition()). */
  readonly goLeft = new Uint8Array(new SharedArrayBuffer(FEATURE_SLOTS));
  /** Current raw score per position. */
  readonly scores: Float64Array;
  /** Training labels by position (a shared copy, permuted with the rows). */
  readonly label: Uint8Array;
  /** The bins as 32-bit words, for moving whole rows. */
  private readonly b32: Int32Array;
  /** Node id (in the last tree) of each position's leaf; with nodeValue, what updateGradients adds to scores. */
  readonly leafOfRow: Int32Array;
  /** Output of each node of the last tree (zeros before the first tree). */
  readonly nodeValue: Float64Array;
  private readonly workers: Worker[] = [];
  private readonly ctrls: Int32Array[] = [];
  private seq = 0;
  /** Nodes whose histogram was split across threads (for tests and diagnostics). */
  parallelBuilds = 0;
  /**
   * Row counts per bin slot ((f << 8) + bin) of all rows, counted once: rows only move between trees, so
   * the root's counts never change and its builds skip counting (see buildHistogram's `counts`).
   */
  private allRowCounts: Float64Array | null = null;
  /** First pool slot of the HIST_BLOCKS − 1 scratch histograms of block builds. */
  private readonly scratchSlot: number;

  constructor(
    data: BinnedData,
    slots: number,
    label: Uint8Array = new Uint8Array(data.nRows),
    baseScore = 0,
  ) {
    this.data = data;
    // Padding features (up to rowStride) get slots too: the word-wise kernel accumulates them unread.
    this.histSize = data.rowStride * FEATURE_SLOTS * HIST_STRIDE;
    this.b32 = new Int32Array(data.bins.buffer, data.bins.byteOffset, data.bins.length >> 2);
    this.gh = sharedF64(2 * data.nRows);
    this.features = sharedI32(data.nFeatures);
    this.scratchSlot = slots;
    this.hist = sharedF64((slots + HIST_BLOCKS - 1) * this.histSize);
    this.scores = sharedF64(data.nRows);
    this.scores.fill(baseScore, 0, data.nRows);
    this.label = new Uint8Array(new SharedArrayBuffer(Math.max(1, data.nRows)));
    this.label.set(label.subarray(0, data.nRows));
    this.leafOfRow = sharedI32(data.nRows);
    // A tree has at most 2 × slots − 1 nodes (slots = leaf budget).
    this.nodeValue = sharedF64(2 * slots);
  }

  /** Starts `n` helper workers (the main thread is one more). Resolves when they are ready. */
  async startWorkers(n: number): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let w = 0; w < n; w++) {
      const ctrlBuf = new SharedArrayBuffer(CTRL_SIZE * 4);
      const worker = new Worker(new URL("./worker.ts", import.meta.url), {
        workerData: {
          kind: WORKER_KIND,
          ctrl: ctrlBuf,
          bins: this.data.bins,
          nFeatures: this.data.nFeatures,
          gh: this.gh,
          features: this.features,
          hist: this.hist,
          counter: this.counter,
          goLeft: this.goLeft,
          scores: this.scores,
          label: this.label,
          leafOfRow: this.leafOfRow,
          nodeValue: this.nodeValue,
        },
      });
      worker.unref();
      ready.push(
        new Promise((resolve, reject) => {
          worker.once("message", () => resolve());
          worker.once("error", reject);
        }),
      );
      this.workers.push(worker);
      this.ctrls.push(new Int32Array(ctrlBuf));
    }
    await Promise.all(ready);
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** Sets the features the current tree uses (column subsampling). */
  setActiveFeatures(active: ArrayLike<number>): void {
    this.nActive = active.length;
    for (let k = 0; k < active.length; k++) this.features[k] = active[k];
  }

  /**
   * Builds the histogram of the rows at positions [start, start+len) into pool slot `slot`. A big node is built in
   * HIST_BLOCKS row blocks (threads claim blocks; see buildHistogramBlocks) whatever the thread count,
   * so the sums, and the model, are the same on one thread and on many.
   */
  build(start: number, len: number, slot: number): void {
    const { gh } = this;
    const histBase = slot * this.histSize;
    const d = this.data;
    if (len * this.nActive < MIN_PARALLEL_WORK) {
      buildHistogram(
        d.bins,
        d.nFeatures,
        start,
        len,
        gh,
        this.features,
        0,
        this.nActive,
        this.hist,
        histBase,
      );
      return;
    }
    Atomics.store(this.counter, 0, 0);
    const scratchBase = this.scratchSlot * this.histSize;
    // All rows: the counts are known (rows moved, they did not change), so the kernels skip them.
    const counts = !(start === 0 && len === d.nRows);
    const blocks = () =>
      buildHistogramBlocks(
        d.bins,
        d.nFeatures,
        start,
        len,
        gh,
        this.features,
        this.nActive,
        this.counter,
        HIST_BLOCKS,
        this.hist,
        histBase,
        scratchBase,
        this.histSize,
        counts,
      );
    if (this.workers.length === 0) blocks();
    else {
      this.parallelBuilds++;
      this.dispatch((c) => {
        c[CTRL_KIND] = counts ? JOB_HISTOGRAM : JOB_HISTOGRAM_NO_COUNTS;
        c[CTRL_START] = start;
        c[CTRL_LEN] = len;
        c[CTRL_HIST_BASE] = histBase;
        c[CTRL_ACTIVE] = this.nActive;
        c[CTRL_SCRATCH_BASE] = scratchBase;
        c[CTRL_HIST_SIZE] = this.histSize;
      }, blocks);
    }
    for (let b = 1; b < HIST_BLOCKS; b++) {
      addHistogram(
        this.hist,
        histBase,
        scratchBase + (b - 1) * this.histSize,
        this.features,
        this.nActive,
        d.binOffset,
      );
    }
    if (!counts) this.copyAllRowCounts(histBase);
  }

  /** Writes the count slots of the active features of the histogram at histBase from allRowCounts. */
  private copyAllRowCounts(histBase: number): void {
    const d = this.data;
    if (!this.allRowCounts) {
      const c = new Float64Array(d.rowStride * FEATURE_SLOTS);
      for (let r = 0; r < d.nRows; r++) {
        const rb = r * d.rowStride;
        for (let f = 0; f < d.nFeatures; f++) c[(f << 8) + d.bins[rb + f]]++;
      }
      this.allRowCounts = c;
    }
    const c = this.allRowCounts;
    for (let k = 0; k < this.nActive; k++) {
      const f = this.features[k];
      for (let j = f << 8; j < (f + 1) << 8; j++) this.hist[histBase + j * HIST_STRIDE + 2] = c[j];
    }
  }

  /**
   * Adds the last tree's outputs (nodeValue at leafOfRow) to every row's score and computes the next
   * gradients, split by row range over the threads.
   */
  updateGradients(): void {
    const n = this.data.nRows;
    const t = this.threads;
    const share = Math.ceil(n / t);
    if (t === 1 || n < MIN_PARALLEL_ROWS) {
      updateAndGradient(this.scores, this.label, this.leafOfRow, this.nodeValue, this.gh, 0, n);
      return;
    }
    this.dispatch(
      (c, w) => {
        const from = Math.min(n, (w + 1) * share);
        c[CTRL_KIND] = JOB_UPDATE_GRADIENT;
        c[CTRL_START] = from;
        c[CTRL_LEN] = Math.min(n, from + share) - from;
      },
      () => updateAndGradient(this.scores, this.label, this.leafOfRow, this.nodeValue, this.gh, 0, share),
    );
  }

  /**
   * Partitions the rows at positions [start, start + len) by feature f (goLeft table): left rows first,
   * then right, moving whole rows (bins, gradients, score, label; see partitionRows). A node of at least
   * MIN_PARALLEL_ROWS rows is always cut into two halves, each partitioned on its own (on two threads when
   * there is a worker), and then the right part of the first half and the left part of the second swap
   * places; a smaller node is one scan. The cut depends only on the node, so the row order, and the
   * model, is the same for any thread count. Returns the number of left rows.
   */
  partition(start: number, len: number, f: number): number {
    const d = this.data;
    const { b32, gh, scores, label, goLeft } = this;
    const end = start + len;
    if (len < MIN_PARALLEL_ROWS) {
      return partitionRows(d.bins, d.rowStride, b32, d.rowStride, gh, scores, label, start, end, f, goLeft);
    }
    const mid = start + (len >> 1);
    let leftA = 0;
    let leftB = 0;
    const first = () => {
      leftA = partitionRows(d.bins, d.rowStride, b32, d.rowStride, gh, scores, label, start, mid, f, goLeft);
    };
    const second = () =>
      partitionRows(d.bins, d.rowStride, b32, d.rowStride, gh, scores, label, mid, end, f, goLeft);
    if (this.workers.length === 0) {
      first();
      leftB = second();
    } else {
      // Only worker 0 takes the second half; any further workers get an empty range.
      this.dispatch((c, w) => {
        c[CTRL_KIND] = JOB_PARTITION;
        c[CTRL_START] = mid;
        c[CTRL_LEN] = w === 0 ? end - mid : 0;
        c[CTRL_FEATURE] = f;
      }, first);
      leftB = this.ctrls[0][CTRL_RESULT];
    }
    // [A-left | A-right | B-left | B-right]: swap A-right's first k rows with B-left's last k.
    const aRight = start + leftA;
    const bLeftEnd = mid + leftB;
    const k = Math.min(mid - aRight, leftB);
    this.swapBlocks(aRight, bLeftEnd - k, k);
    return leftA + leftB;
  }

  /** Moves the rows whose flag is 1 to the front (row sampling); returns how many there are. */
  moveToFront(flags: Uint8Array): number {
    const { b32, gh, scores, label } = this;
    const d = this.data;
    return partitionRows(flags, 1, b32, d.rowStride, gh, scores, label, 0, d.nRows, 0, FLAG_FIRST);
  }

  /** Swaps the k rows at position a with the k rows at position b (two threads for big blocks). */
  private swapBlocks(a: number, b: number, k: number): void {
    const d = this.data;
    const { b32, gh, scores, label } = this;
    if (this.workers.length === 0 || k < MIN_PARALLEL_ROWS) {
      swapRowBlocks(b32, d.rowStride, gh, scores, label, a, b, k);
      return;
    }
    const half = k >> 1;
    this.dispatch(
      (c, w) => {
        c[CTRL_KIND] = JOB_SWAP;
        c[CTRL_START] = a + half;
        c[CTRL_SWAP_WITH] = b + half;
        c[CTRL_LEN] = w === 0 ? k - half : 0;
      },
      () => swapRowBlocks(b32, d.rowStride, gh, scores, label, a, b, half),
    );
  }

  /**
   * For a node whose children are both final leaves: records each row's leaf in leafOfRow without
   * moving rows (split by halves over the threads). Returns the number of left rows.
   */
  assignLeaves(start: number, len: number, f: number, leftNode: number, rightNode: number): number {
    const d = this.data;
    const end = start + len;
    const own = (from: number, to: number) =>
      assignLeaves(d.bins, d.rowStride, this.leafOfRow, from, to, f, this.goLeft, leftNode, rightNode);
    if (this.workers.length === 0 || len < MIN_PARALLEL_ROWS) return own(start, end);
    const mid = start + (len >> 1);
    let left = 0;
    this.dispatch(
      (c, w) => {
        c[CTRL_KIND] = JOB_ASSIGN;
        c[CTRL_START] = mid;
        c[CTRL_LEN] = w === 0 ? end - mid : 0;
        c[CTRL_FEATURE] = f;
        c[CTRL_LEFT_NODE] = leftNode;
        c[CTRL_RIGHT_NODE] = rightNode;
      },
      () => {
        left = own(start, mid);
      },
    );
    return left + this.ctrls[0][CTRL_RESULT];
  }

  /** Posts one job to every worker (`setup` fills its control block), runs `own` here, waits for all. */
  private dispatch(setup: (ctrl: Int32Array, worker: number) => void, own: () => void): void {
    const seq = ++this.seq;
    for (let w = 0; w < this.workers.length; w++) {
      const c = this.ctrls[w];
      setup(c, w);
      Atomics.store(c, CTRL_SEQ, seq);
      Atomics.notify(c, CTRL_SEQ);
    }
    own();
    // Worker errors cannot be delivered while this thread blocks, so a dead worker shows up as a timeout.
    const deadline = performance.now() + WORKER_TIMEOUT_MS;
    for (const c of this.ctrls) {
      for (;;) {
        const done = Atomics.load(c, CTRL_DONE);
        if (done === seq) break;
        if (performance.now() > deadline) {
          throw new TelcoError("gbdt_worker", "a histogram worker thread stopped responding", {
            hint: "retry with threads: 1",
          });
        }
        waitChange(c, CTRL_DONE, done, 1000);
      }
    }
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    for (const c of this.ctrls) {
      Atomics.store(c, CTRL_SEQ, CTRL_EXIT);
      Atomics.notify(c, CTRL_SEQ);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    this.ctrls.length = 0;
  }
}
