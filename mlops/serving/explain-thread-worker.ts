/** The explain thread (explain-thread.ts): block TreeSHAP tables per model, φ for batches of rows. */
import { parentPort } from "node:worker_threads";
import type { FromExplainThread, ToExplainThread } from "./explain-thread.ts";
import { BlockTreeShap } from "./tree-shap-blocks.ts";

const port = parentPort;
if (!port) throw new Error("explain-thread-worker.ts runs as a worker thread");

const tables = new Map<number, BlockTreeShap>();

port.on("message", (m: ToExplainThread) => {
  if (m.kind === "model") {
    let shap: BlockTreeShap | undefined;
    try {
      shap = BlockTreeShap.build(m.trees);
    } catch {
      shap = undefined;
    }
    if (shap) tables.set(m.id, shap);
    port.postMessage({ kind: "ready", id: m.id, ok: shap !== undefined } satisfies FromExplainThread);
  } else if (m.kind === "drop") tables.delete(m.id);
  else if (m.kind === "rows") {
    const shap = tables.get(m.model);
    if (!shap) {
      port.postMessage({
        kind: "failed",
        seq: m.seq,
        message: "no tables for this model",
      } satisfies FromExplainThread);
      return;
    }
    const phi = new Float64Array(m.rows.length);
    for (let o = 0; o < m.rows.length; o += m.nF)
      shap.explain(m.rows.subarray(o, o + m.nF), phi.subarray(o, o + m.nF));
    port.postMessage({ kind: "phi", seq: m.seq, phi } satisfies FromExplainThread, [phi.buffer]);
  }
});
