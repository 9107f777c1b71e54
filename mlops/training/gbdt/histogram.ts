/**
 * Gradient/hessian histogram kernels. A histogram holds, for every bin of every feature, three float64
 * slots (sum gradient, sum hessian, row count) at (binOffset[f] + bin) * 3. Shared by the main thread and
 * the worker (worker.ts), so it imports nothing.
 */

/** Layout of the per-worker control block (Int32Array slots). */
export const CTRL_SEQ = 0;
export const CTRL_DONE = 1;
export const CTRL_START = 2;
export const CTRL_LEN = 3;
export const CTRL_HIST_BASE = 4;
export const CTRL_F_START = 5;
export const CTRL_F_END = 6;
export const CTRL_SIZE = 8;
/** A negative sequence number asks the worker to exit. */
export const CTRL_EXIT = -1;
/** Tag in workerData identifying a histogram worker. */
export const WORKER_KIND = "telco-gbdt-histogram";

/** Number of float64 slots per bin. */
export const HIST_STRIDE = 3;

/**
 * Builds the histograms of features `features[fStart..fEnd)` for the rows idx[start..start+len).
 * `orderedGrad/orderedHess` hold the gradients already gathered in that same order (at positions start+i),
 * so the inner loop reads them sequentially and only the bins are random accesses.
 */
export function buildHistogram(
  bins: Uint8Array,
  nRows: number,
  idx: Int32Array,
  start: number,
  len: number,
  orderedGrad: Float64Array,
  orderedHess: Float64Array,
  features: Int32Array,
  fStart: number,
  fEnd: number,
  binOffset: Int32Array,
  hist: Float64Array,
  histBase: number,
): void {
  const end = start + len;
  for (let k = fStart; k < fEnd; k++) {
    const f = features[k];
    const colBase = f * nRows;
    const hb = histBase + binOffset[f] * HIST_STRIDE;
    hist.fill(0, hb, hb + (binOffset[f + 1] - binOffset[f]) * HIST_STRIDE);
    for (let i = start; i < end; i++) {
      const b = hb + bins[colBase + idx[i]] * HIST_STRIDE;
      hist[b] += orderedGrad[i];
      hist[b + 1] += orderedHess[i];
      hist[b + 2] += 1;
    }
  }
}

/** sibling = parent − child for the given features (histogram subtraction trick); writes into `out`. */
export function subtractHistogram(
  parent: Float64Array,
  parentBase: number,
  child: Float64Array,
  childBase: number,
  out: Float64Array,
  outBase: number,
  features: Int32Array,
  nActive: number,
  binOffset: Int32Array,
): void {
  for (let k = 0; k < nActive; k++) {
    const f = features[k];
    const from = binOffset[f] * HIST_STRIDE;
    const to = binOffset[f + 1] * HIST_STRIDE;
    for (let j = from; j < to; j++) out[outBase + j] = parent[parentBase + j] - child[childBase + j];
  }
}
