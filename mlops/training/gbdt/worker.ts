/**
 * Histogram worker: waits on a shared control block (Atomics, no message round trips) and builds the
 * histograms of the row blocks it claims into the shared histogram pool, partitions its half of a node,
 * swaps its share of a row block, records leaves for its half of a final split, or updates scores and
 * gradients for its share of the rows.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  assignLeaves,
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
  CTRL_START,
  CTRL_SWAP_WITH,
  HIST_BLOCKS,
  JOB_ASSIGN,
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

interface WorkerInit {
  kind: typeof WORKER_KIND;
  ctrl: SharedArrayBuffer;
  bins: Uint8Array;
  nFeatures: number;
  gh: Float64Array;
  features: Int32Array;
  hist: Float64Array;
  counter: Int32Array;
  goLeft: Uint8Array;
  scores: Float64Array;
  label: Uint8Array;
  leafOfRow: Int32Array;
  nodeValue: Float64Array;
}

function run(init: WorkerInit): void {
  const ctrl = new Int32Array(init.ctrl);
  const stride = (init.nFeatures + 3) & ~3;
  const b32 = new Int32Array(init.bins.buffer, init.bins.byteOffset, init.bins.length >> 2);
  let seen = 0;
  for (;;) {
    const seq = waitChange(ctrl, CTRL_SEQ, seen, Number.POSITIVE_INFINITY);
    if (seq === CTRL_EXIT) return;
    if (seq === seen) continue;
    seen = seq;
    const kind = ctrl[CTRL_KIND];
    if (kind === JOB_PARTITION) {
      const from = ctrl[CTRL_START];
      ctrl[CTRL_RESULT] = partitionRows(
        init.bins,
        stride,
        b32,
        stride,
        init.gh,
        init.scores,
        init.label,
        from,
        from + ctrl[CTRL_LEN],
        ctrl[CTRL_FEATURE],
        init.goLeft,
      );
    } else if (kind === JOB_ASSIGN) {
      const from = ctrl[CTRL_START];
      ctrl[CTRL_RESULT] = assignLeaves(
        init.bins,
        stride,
        init.leafOfRow,
        from,
        from + ctrl[CTRL_LEN],
        ctrl[CTRL_FEATURE],
        init.goLeft,
        ctrl[CTRL_LEFT_NODE],
        ctrl[CTRL_RIGHT_NODE],
      );
    } else if (kind === JOB_SWAP) {
      swapRowBlocks(
        b32,
        stride,
        init.gh,
        init.scores,
        init.label,
        ctrl[CTRL_START],
        ctrl[CTRL_SWAP_WITH],
        ctrl[CTRL_LEN],
      );
    } else if (kind === JOB_UPDATE_GRADIENT) {
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
        kind !== JOB_HISTOGRAM_NO_COUNTS,
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
