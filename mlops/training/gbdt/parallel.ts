/**
 * The shared training state (bins, row partition, gradients, scores, histogram pool in SharedArrayBuffers)
 * and the threads that work on it: histograms (row blocks claimed from a counter, summed in block order),
 * partitions (two halves stitched in order) and the fused score update + gradients (row ranges). The
 * block cut of a histogram depends only on the node and every other job is per-row independent, so
 * models are bit-identical for any thread count. Jobs are posted through
 * Atomics on per-worker control blocks: a postMessage round trip per tree node would cost more than the work.
 */
import { Worker } from "node:worker_threads";
import { TelcoError } from "../../../platform/errors.ts";
import type { BinnedData } from "./binning.ts";
import {
  addHistogram,
  buildHistogram,
  buildHistogramBlocks,
  CTRL_ACTIVE,
  CTRL_DONE,
  CTRL_EXIT,
  CTRL_FEATURE,
  CTRL_HIST_BASE,
  CTRL_HIST_SIZE,
  CTRL_KIND,
  CTRL_LEN,
  CTRL_RESULT,
  CTRL_SCRATCH_BASE,
  CTRL_SEQ,
  CTRL_SIZE,
  CTRL_START,
  FEATURE_SLOTS,
  HIST_BLOCKS,
  HIST_STRIDE,
  JOB_HISTOGRAM,
  JOB_PARTITION,
  JOB_UPDATE_GRADIENT,
  partitionRange,
  updateAndGradient,
  WORKER_KIND,
} from "./histogram.ts";

/** A histogram job never takes this long; past it the worker is considered dead. */
const WORKER_TIMEOUT_MS = 120_000;

/** Below this many rows a partition or a gradient update runs on the main thread only. */
const MIN_PARALLEL_ROWS = 50_000;

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
  /** Row partition: each tree leaf owns a contiguous segment. */
  readonly idx: Int32Array;
  /** Interleaved per-row (gradient, hessian): row r at 2r, 2r + 1 (one cache line read per row). */
  readonly gh: Float64Array;
  /** Features used by the current tree (first `nActive` entries). */
  readonly features: Int32Array;
  nActive = 0;
  /** Pool of histograms, `slots` × histSize, then the scratch histograms of block builds. */
  readonly hist: Float64Array;
  /** Next row block of a histogram build (shared claim counter). */
  private readonly counter = sharedI32(1);
  /** Scratch for partitioning (right-going rows). */
  readonly tmp: Int32Array;
  /** Per bin of the split feature: 1 = goes left (filled by the learner before partition()). */
  readonly goLeft = new Uint8Array(new SharedArrayBuffer(FEATURE_SLOTS));
  /** Current raw score per row. */
  readonly scores: Float64Array;
  /** Training labels (a shared copy). */
  readonly label: Uint8Array;
  /** Node id (in the last tree) of each row's leaf; with nodeValue, what updateGradients adds to scores. */
  readonly leafOfRow: Int32Array;
  /** Output of each node of the last tree (zeros before the first tree). */
  readonly nodeValue: Float64Array;
  private readonly workers: Worker[] = [];
  private readonly ctrls: Int32Array[] = [];
  private seq = 0;
  /** Nodes whose histogram was split across threads (for tests and diagnostics). */
  parallelBuilds = 0;
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
    this.idx = sharedI32(data.nRows);
    this.gh = sharedF64(2 * data.nRows);
    this.features = sharedI32(data.nFeatures);
    this.scratchSlot = slots;
    this.hist = sharedF64((slots + HIST_BLOCKS - 1) * this.histSize);
    this.tmp = sharedI32(data.nRows);
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
          idx: this.idx,
          gh: this.gh,
          features: this.features,
          hist: this.hist,
          counter: this.counter,
          tmp: this.tmp,
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
   * Builds the histogram of rows idx[start..start+len) into pool slot `slot`. A big node is built in
   * HIST_BLOCKS row blocks (threads claim blocks; see buildHistogramBlocks) whatever the thread count,
   * so the sums, and the model, are the same on one thread and on many.
   */
  build(start: number, len: number, slot: number): void {
    const { idx, gh } = this;
    const histBase = slot * this.histSize;
    const d = this.data;
    if (len * this.nActive < MIN_PARALLEL_WORK) {
      buildHistogram(
        d.bins,
        d.nFeatures,
        idx,
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
    const blocks = () =>
      buildHistogramBlocks(
        d.bins,
        d.nFeatures,
        idx,
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
      );
    if (this.workers.length === 0) blocks();
    else {
      this.parallelBuilds++;
      this.dispatch((c) => {
        c[CTRL_KIND] = JOB_HISTOGRAM;
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
   * Stable partition of idx[start..start+len) by feature f (goLeft table): left rows first, then right.
   * With a worker, each thread partitions one half and the halves are stitched in order (A-left, B-left,
   * A-right, B-right), which is exactly the single-thread order. Returns the number of left rows.
   */
  partition(start: number, len: number, f: number): number {
    const { idx, tmp } = this;
    const d = this.data;
    const end = start + len;
    if (this.workers.length === 0 || len < MIN_PARALLEL_ROWS) {
      const left = partitionRange(d.bins, d.rowStride, idx, tmp, start, end, f, this.goLeft);
      idx.set(tmp.subarray(start, start + len - left), start + left);
      return left;
    }
    const mid = start + (len >> 1);
    let leftA = 0;
    this.dispatch(
      (c) => {
        c[CTRL_KIND] = JOB_PARTITION;
        c[CTRL_START] = mid;
        c[CTRL_LEN] = end - mid;
        c[CTRL_FEATURE] = f;
      },
      () => {
        leftA = partitionRange(d.bins, d.rowStride, idx, tmp, start, mid, f, this.goLeft);
      },
    );
    const leftB = this.ctrls[0][CTRL_RESULT];
    const rightA = mid - start - leftA;
    const rightB = end - mid - leftB;
    idx.copyWithin(start + leftA, mid, mid + leftB);
    idx.set(tmp.subarray(start, start + rightA), start + leftA + leftB);
    idx.set(tmp.subarray(mid, mid + rightB), start + leftA + leftB + rightA);
    return leftA + leftB;
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
        Atomics.wait(c, CTRL_DONE, done, 1000);
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
