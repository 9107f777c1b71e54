/**
 * Histogram worker: waits on a shared control block (Atomics, no message round trips) and builds the
 * histograms of the row blocks it claims into the shared histogram pool, partitions its half of a node, or
 * updates scores and gradients for its share of the rows.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
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
  CTRL_START,
  HIST_BLOCKS,
  JOB_PARTITION,
  JOB_UPDATE_GRADIENT,
  partitionRange,
  updateAndGradient,
  WORKER_KIND,
} from "./histogram.ts";

interface WorkerInit {
  kind: typeof WORKER_KIND;
  ctrl: SharedArrayBuffer;
  bins: Uint8Array;
  nFeatures: number;
  idx: Int32Array;
  gh: Float64Array;
  features: Int32Array;
  hist: Float64Array;
  counter: Int32Array;
  tmp: Int32Array;
  goLeft: Uint8Array;
  scores: Float64Array;
  label: Uint8Array;
  leafOfRow: Int32Array;
  nodeValue: Float64Array;
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
    if (ctrl[CTRL_KIND] === JOB_PARTITION) {
      const from = ctrl[CTRL_START];
      const stride = (init.nFeatures + 3) & ~3;
      ctrl[CTRL_RESULT] = partitionRange(
        init.bins,
        stride,
        init.idx,
        init.tmp,
        from,
        from + ctrl[CTRL_LEN],
        ctrl[CTRL_FEATURE],
        init.goLeft,
      );
    } else if (ctrl[CTRL_KIND] === JOB_UPDATE_GRADIENT) {
      const from = ctrl[CTRL_START];
      updateAndGradient(
        init.scores,
        init.label,
        init.leafOfRow,
        init.nodeValue,
        init.gh,
        from,
        from + ctrl[CTRL_LEN],
      );
    } else {
      // JOB_HISTOGRAM: the row blocks of one node (see buildHistogramBlocks).
      buildHistogramBlocks(
        init.bins,
        init.nFeatures,
        init.idx,
        ctrl[CTRL_START],
        ctrl[CTRL_LEN],
        init.gh,
        init.features,
        ctrl[CTRL_ACTIVE],
        init.counter,
        HIST_BLOCKS,
        init.hist,
        ctrl[CTRL_HIST_BASE],
        ctrl[CTRL_SCRATCH_BASE],
        ctrl[CTRL_HIST_SIZE],
      );
    }
    Atomics.store(ctrl, CTRL_DONE, seq);
    Atomics.notify(ctrl, CTRL_DONE);
  }
}

// Only start when spawned by HistogramBuilder (never when merely imported inside another worker).
if (parentPort && (workerData as WorkerInit | null)?.kind === WORKER_KIND) {
  parentPort.postMessage("ready");
  run(workerData as WorkerInit);
}
