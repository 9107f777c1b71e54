/**
 * Histogram worker: waits on a shared control block (Atomics, no message round trips) and builds the
 * histograms of its share of the features into the shared histogram pool.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  buildHistogram,
  CTRL_DONE,
  CTRL_EXIT,
  CTRL_F_END,
  CTRL_F_START,
  CTRL_HIST_BASE,
  CTRL_LEN,
  CTRL_SEQ,
  CTRL_START,
  WORKER_KIND,
} from "./histogram.ts";

interface WorkerInit {
  kind: typeof WORKER_KIND;
  ctrl: SharedArrayBuffer;
  bins: Uint8Array;
  nRows: number;
  idx: Int32Array;
  orderedGrad: Float64Array;
  orderedHess: Float64Array;
  features: Int32Array;
  binOffset: Int32Array;
  hist: Float64Array;
}

function run(init: WorkerInit): void {
  const ctrl = new Int32Array(init.ctrl);
  let seen = 0;
  for (;;) {
    Atomics.wait(ctrl, CTRL_SEQ, seen);
    const seq = Atomics.load(ctrl, CTRL_SEQ);
    if (seq === CTRL_EXIT) return;
    if (seq === seen) continue;
    seen = seq;
    buildHistogram(
      init.bins,
      init.nRows,
      init.idx,
      ctrl[CTRL_START],
      ctrl[CTRL_LEN],
      init.orderedGrad,
      init.orderedHess,
      init.features,
      ctrl[CTRL_F_START],
      ctrl[CTRL_F_END],
      init.binOffset,
      init.hist,
      ctrl[CTRL_HIST_BASE],
    );
    Atomics.store(ctrl, CTRL_DONE, seq);
    Atomics.notify(ctrl, CTRL_DONE);
  }
}

// Only start when spawned by HistogramBuilder (never when merely imported inside another worker).
if (parentPort && (workerData as WorkerInit | null)?.kind === WORKER_KIND) {
  parentPort.postMessage("ready");
  run(workerData as WorkerInit);
}
