/**
 * TreeSHAP on a worker thread for the online server. Exact TreeSHAP of a row the SHAP cache has not
 * seen was the largest single cost of a request with reasons (~45–80 µs of the request thread's
 * ~250 µs under load), and the request thread is what limits the server's throughput; here the rows
 * of the requests that arrive in one event-loop turn go to the thread in one message (one
 * postMessage and one reply per turn, not per request) and their φ come back transferred.
 *
 * The thread builds its own block tables (tree-shap-blocks.ts) from the model's trees, once per model;
 * until it reports them ready, `explain` returns undefined and the caller computes φ on its own thread
 * (same values: the same code on the same tables). A thread failure is logged and the caller falls back
 * the same way for every later row; rows in flight are rejected.
 */
import { Worker } from "node:worker_threads";
import { logger } from "../../platform/telemetry/logger.ts";
import type { GbdtModel } from "../training/gbdt/index.ts";

/** Messages to the thread. */
export type ToExplainThread =
  | { kind: "model"; id: number; trees: GbdtModel["trees"] }
  | { kind: "drop"; id: number }
  | { kind: "rows"; seq: number; model: number; nF: number; rows: Float64Array };

/** Messages from the thread. */
export type FromExplainThread =
  | { kind: "ready"; id: number; ok: boolean }
  | { kind: "phi"; seq: number; phi: Float64Array }
  | { kind: "failed"; seq: number; message: string };

interface Job {
  x: Float64Array;
  resolve: (phi: Float64Array) => void;
  reject: (err: Error) => void;
}

interface ModelEntry {
  id: number;
  /** null while the thread builds the tables; false when it cannot (caller computes φ itself). */
  ready: boolean | null;
  nF: number;
  queue: Job[];
}

/** Rows queued or in flight beyond which `explain` declines (the caller computes φ itself). */
const MAX_PENDING_ROWS = 2048;

export class ExplainThread {
  private worker: Worker | undefined;
  /** Rows queued or sent and not yet answered. */
  private pendingRows = 0;
  private readonly maxPending: number;
  private failed = false;
  private readonly models = new WeakMap<GbdtModel, ModelEntry>();
  private readonly byId = new Map<number, ModelEntry>();
  private nextId = 0;
  private nextSeq = 0;
  private readonly inFlight = new Map<number, Job[]>();
  private scheduled = false;
  /** Rows whose φ came back from the thread. */
  rowsExplained = 0;
  /** Tells the thread to drop a model's tables once the model object is garbage. */
  private readonly finalizer = new FinalizationRegistry<number>((id) => {
    this.byId.delete(id);
    this.worker?.postMessage({ kind: "drop", id } satisfies ToExplainThread);
  });

  /** `maxPendingRows`: backpressure; past it the request thread computes φ itself (default 2048). */
  constructor(opts: { maxPendingRows?: number } = {}) {
    this.maxPending = opts.maxPendingRows ?? MAX_PENDING_ROWS;
  }

  /**
   * φ of the model-encoded row `x` (copied, so the caller may reuse it), or undefined when the thread
   * cannot take it now: it is still building this model's tables, it cannot build them, it failed, or
   * `maxPendingRows` rows are already waiting for it (the thread is behind: backpressure).
   */
  explain(model: GbdtModel, x: Float64Array): Promise<Float64Array> | undefined {
    if (this.failed || this.pendingRows >= this.maxPending) return undefined;
    const entry = this.models.get(model) ?? this.register(model);
    if (entry?.ready !== true) return undefined;
    this.pendingRows++;
    return new Promise((resolve, reject) => {
      entry.queue.push({ x: Float64Array.from(x), resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.send());
      }
    });
  }

  /** False once the thread failed or was closed (the request thread computes φ from then on). */
  get inUse(): boolean {
    return !this.failed;
  }

  /** Starts building `model`'s tables on the thread (explain calls this on first sight). */
  register(model: GbdtModel): ModelEntry | undefined {
    const worker = this.start();
    if (!worker) return undefined;
    const entry: ModelEntry = { id: this.nextId++, ready: null, nF: model.features.length, queue: [] };
    this.models.set(model, entry);
    this.byId.set(entry.id, entry);
    this.finalizer.register(model, entry.id);
    worker.postMessage({ kind: "model", id: entry.id, trees: model.trees } satisfies ToExplainThread);
    return entry;
  }

  /** Sends every queued row, one message per model. */
  private send(): void {
    this.scheduled = false;
    const worker = this.worker;
    if (!worker) return;
    for (const entry of this.byId.values()) {
      const jobs = entry.queue;
      if (jobs.length === 0) continue;
      entry.queue = [];
      const rows = new Float64Array(jobs.length * entry.nF);
      for (let i = 0; i < jobs.length; i++) rows.set(jobs[i].x, i * entry.nF);
      const seq = this.nextSeq++;
      this.inFlight.set(seq, jobs);
      worker.ref(); // answers are awaited
      worker.postMessage(
        { kind: "rows", seq, model: entry.id, nF: entry.nF, rows } satisfies ToExplainThread,
        [rows.buffer],
      );
    }
  }

  private start(): Worker | undefined {
    if (this.worker) return this.worker;
    if (this.failed) return undefined;
    try {
      const worker = new Worker(new URL("./explain-thread-worker.ts", import.meta.url));
      worker.unref();
      worker.on("message", (m: FromExplainThread) => this.onMessage(m));
      worker.on("error", (err) => this.fail(worker, err));
      worker.on("exit", (code) => this.fail(worker, new Error(`explain thread exited with code ${code}`)));
      this.worker = worker;
      return worker;
    } catch (err) {
      this.fail(undefined, err instanceof Error ? err : new Error(String(err)));
      return undefined;
    }
  }

  private onMessage(m: FromExplainThread): void {
    if (m.kind === "ready") {
      const entry = this.byId.get(m.id);
      if (entry) entry.ready = m.ok;
      return;
    }
    const jobs = this.inFlight.get(m.seq);
    if (!jobs) return;
    this.inFlight.delete(m.seq);
    this.pendingRows -= jobs.length;
    if (this.inFlight.size === 0) this.worker?.unref();
    if (m.kind === "failed") {
      const err = new Error(m.message);
      for (const j of jobs) j.reject(err);
      return;
    }
    const nF = m.phi.length / jobs.length;
    this.rowsExplained += jobs.length;
    for (let i = 0; i < jobs.length; i++) jobs[i].resolve(m.phi.subarray(i * nF, (i + 1) * nF));
  }

  private fail(worker: Worker | undefined, err: Error): void {
    if (worker !== this.worker || this.failed) return;
    logger().error({ err: err.message }, "explain thread failed; reasons are computed on the request thread");
    void this.stop(err)?.terminate();
  }

  /** Stops the thread (rows in flight are rejected). */
  async close(): Promise<void> {
    await this.stop(new Error("explain thread closed"))?.terminate();
  }

  /** No more rows for the thread: rejects every waiting row with `err`; returns the worker to end. */
  private stop(err: Error): Worker | undefined {
    const worker = this.worker;
    this.worker = undefined;
    this.failed = true;
    for (const jobs of this.inFlight.values()) for (const j of jobs) j.reject(err);
    this.inFlight.clear();
    for (const entry of this.byId.values()) for (const j of entry.queue.splice(0)) j.reject(err);
    return worker;
  }
}
