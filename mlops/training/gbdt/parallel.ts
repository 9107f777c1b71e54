/**
 * Histogram construction on the main thread plus optional worker threads sharing memory
 * (SharedArrayBuffer). Features are split between threads by bin count; every feature's histogram is
 * built by exactly one thread in the same row order, so models are bit-identical for any thread count.
 */
import { Worker } from "node:worker_threads";
import { TelcoError } from "../../../platform/errors.ts";
import type { BinnedData } from "./binning.ts";
import {
  buildHistogram,
  CTRL_DONE,
  CTRL_EXIT,
  CTRL_F_END,
  CTRL_F_START,
  CTRL_HIST_BASE,
  CTRL_LEN,
  CTRL_SEQ,
  CTRL_SIZE,
  CTRL_START,
  HIST_STRIDE,
  WORKER_KIND,
} from "./histogram.ts";

/** A histogram job never takes this long; past it the worker is considered dead. */
const WORKER_TIMEOUT_MS = 120_000;

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
  readonly grad: Float64Array;
  readonly hess: Float64Array;
  readonly orderedGrad: Float64Array;
  readonly orderedHess: Float64Array;
  /** Features used by the current tree (first `nActive` entries). */
  readonly features: Int32Array;
  nActive = 0;
  /** Pool of histograms, `slots` × histSize. */
  readonly hist: Float64Array;
  private readonly workers: Worker[] = [];
  private readonly ctrls: Int32Array[] = [];
  private seq = 0;
  /** Nodes whose histogram was split across threads (for tests and diagnostics). */
  parallelBuilds = 0;
  /** Per thread [fStart, fEnd) into `features`, recomputed when the active set changes. */
  private ranges: Int32Array = new Int32Array(2);

  constructor(data: BinnedData, slots: number) {
    this.data = data;
    this.histSize = data.binOffset[data.nFeatures] * HIST_STRIDE;
    this.idx = sharedI32(data.nRows);
    this.grad = sharedF64(data.nRows);
    this.hess = sharedF64(data.nRows);
    this.orderedGrad = sharedF64(data.nRows);
    this.orderedHess = sharedF64(data.nRows);
    this.features = sharedI32(data.nFeatures);
    this.hist = sharedF64(slots * this.histSize);
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
          nRows: this.data.nRows,
          idx: this.idx,
          orderedGrad: this.orderedGrad,
          orderedHess: this.orderedHess,
          features: this.features,
          binOffset: this.data.binOffset,
          hist: this.hist,
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

  /** Sets the active features (for column subsampling) and balances them across threads by bin count. */
  setActiveFeatures(active: ArrayLike<number>): void {
    this.nActive = active.length;
    for (let k = 0; k < active.length; k++) this.features[k] = active[k];
    const t = this.threads;
    const off = this.data.binOffset;
    let total = 0;
    for (let k = 0; k < this.nActive; k++) total += off[this.features[k] + 1] - off[this.features[k]];
    this.ranges = new Int32Array(t * 2);
    let k = 0;
    let acc = 0;
    for (let w = 0; w < t; w++) {
      this.ranges[w * 2] = k;
      const goal = (total * (w + 1)) / t;
      while (k < this.nActive && (w === t - 1 || acc < goal)) {
        acc += off[this.features[k] + 1] - off[this.features[k]];
        k++;
      }
      this.ranges[w * 2 + 1] = k;
    }
  }

  /** Builds the histogram of rows idx[start..start+len) into pool slot `slot`. */
  build(start: number, len: number, slot: number): void {
    const { idx, grad, hess, orderedGrad, orderedHess } = this;
    const end = start + len;
    for (let i = start; i < end; i++) {
      const r = idx[i];
      orderedGrad[i] = grad[r];
      orderedHess[i] = hess[r];
    }
    const histBase = slot * this.histSize;
    const d = this.data;
    if (this.workers.length === 0 || len * this.nActive < MIN_PARALLEL_WORK) {
      buildHistogram(
        d.bins,
        d.nRows,
        idx,
        start,
        len,
        orderedGrad,
        orderedHess,
        this.features,
        0,
        this.nActive,
        d.binOffset,
        this.hist,
        histBase,
      );
      return;
    }
    const seq = ++this.seq;
    this.parallelBuilds++;
    for (let w = 0; w < this.workers.length; w++) {
      const c = this.ctrls[w];
      c[CTRL_START] = start;
      c[CTRL_LEN] = len;
      c[CTRL_HIST_BASE] = histBase;
      c[CTRL_F_START] = this.ranges[(w + 1) * 2];
      c[CTRL_F_END] = this.ranges[(w + 1) * 2 + 1];
      Atomics.store(c, CTRL_SEQ, seq);
      Atomics.notify(c, CTRL_SEQ);
    }
    buildHistogram(
      d.bins,
      d.nRows,
      idx,
      start,
      len,
      orderedGrad,
      orderedHess,
      this.features,
      this.ranges[0],
      this.ranges[1],
      d.binOffset,
      this.hist,
      histBase,
    );
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
