/**
 * Predict worker: scores the chunks the main thread stages in shared memory (see forest-kernel.ts).
 * One long-lived worker per process serves every large predictRaw call; a job arrives as one message
 * whose arrays are SharedArrayBuffer views, so nothing is copied.
 */
import { parentPort, workerData } from "node:worker_threads";
import { PREDICT_WORKER_KIND, type PredictJob, runPredictJob, warmUpKernels } from "./forest-kernel.ts";

// Only start when spawned by the model (never when merely imported inside another worker).
if (parentPort && (workerData as { kind?: string } | null)?.kind === PREDICT_WORKER_KIND) {
  parentPort.on("message", (job: PredictJob) => runPredictJob(job));
  // A job that arrives meanwhile waits in the queue; the main thread scores chunks on its own.
  warmUpKernels();
}
