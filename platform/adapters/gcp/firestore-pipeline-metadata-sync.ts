import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { TelcoError } from "../../errors.ts";
import { GoogleApiError } from "./google-rest.ts";

/**
 * Blocking JSON-over-HTTPS calls for the pipeline-metadata port, whose methods are synchronous (the
 * runner records each status change before it moves on). fetch is asynchronous, so the request runs
 * on a worker thread (`firestore-pipeline-metadata-worker.ts`, the shared GoogleJsonClient there) and
 * this thread waits on a shared flag with Atomics.wait, then takes the answer off the port with
 * receiveMessageOnPort. Written by hand: no dependency in package.json makes a call synchronous.
 *
 * The calling thread is blocked for the round trip, so a server (the portal) that reads runs through
 * this store pauses its event loop for each call. The worker starts on the first call.
 */
export interface SyncJsonClientOptions {
  /** Base URL including the API version, e.g. https://firestore.googleapis.com/v1. */
  base: string;
  /** Send a Google access token (GOOGLE_OAUTH_ACCESS_TOKEN, else Application Default Credentials). */
  authenticate: boolean;
  errorCode: string;
  service: string;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

export type WorkerAnswer =
  | { ok: true; value: unknown; missing: boolean }
  | { ok: false; message: string; code: string; httpStatus?: number; rpcStatus?: string; hint?: string };

export interface WorkerRequest {
  method: "GET" | "POST" | "DELETE";
  path: string;
  body?: unknown;
}

/** Worker boot (module loading) on top of the request timeout. */
const BOOT_MS = 15_000;

export class SyncJsonClient {
  readonly #opts: SyncJsonClientOptions;
  #worker: Worker | undefined;
  #port: MessageChannel["port1"] | undefined;
  readonly #flag = new Int32Array(new SharedArrayBuffer(4));

  constructor(opts: SyncJsonClientOptions) {
    this.#opts = opts;
  }

  get base(): string {
    return this.#opts.base;
  }

  /** GET/POST `{base}/{path}`; undefined for a 404 on GET (a missing resource). Blocks until answered. */
  call<T>(method: WorkerRequest["method"], path: string, body?: unknown): T | undefined {
    const port = this.#start();
    const timeout = (this.#opts.timeoutMs ?? 10_000) + BOOT_MS;
    Atomics.store(this.#flag, 0, 0);
    port.postMessage({ method, path, body } satisfies WorkerRequest);
    const waited = Atomics.wait(this.#flag, 0, 0, timeout);
    const msg = receiveMessageOnPort(port);
    if (waited === "timed-out" && !msg)
      throw new TelcoError(
        this.#opts.errorCode,
        `${this.#opts.service} ${method} ${path.split("?")[0]}: no answer in ${timeout} ms`,
      );
    const answer = msg?.message as WorkerAnswer | undefined;
    if (!answer)
      throw new TelcoError(this.#opts.errorCode, `${this.#opts.service}: the request thread gave no answer`);
    if (answer.ok) return answer.missing ? undefined : (answer.value as T);
    if (answer.httpStatus !== undefined)
      throw new GoogleApiError(answer.code, answer.message, answer.httpStatus, answer.rpcStatus ?? "");
    throw new TelcoError(answer.code, answer.message, { hint: answer.hint });
  }

  #start(): MessageChannel["port1"] {
    if (this.#port) return this.#port;
    const { port1, port2 } = new MessageChannel();
    this.#worker = new Worker(new URL("./firestore-pipeline-metadata-worker.ts", import.meta.url), {
      workerData: { ...this.#opts, flag: this.#flag, port: port2 },
      transferList: [port2],
    });
    // The worker must not keep a finished command alive; close() ends it.
    this.#worker.unref();
    this.#port = port1;
    return port1;
  }

  close(): void {
    this.#port?.close();
    void this.#worker?.terminate();
    this.#port = undefined;
    this.#worker = undefined;
  }
}
