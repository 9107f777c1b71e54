/**
 * The request thread of SyncJsonClient (firestore-pipeline-metadata-sync.ts): answers each request
 * with the shared GoogleJsonClient, posts the answer, then wakes the waiting thread.
 */
import { type MessagePort, workerData } from "node:worker_threads";
import { TelcoError } from "../../errors.ts";
import type {
  SyncJsonClientOptions,
  WorkerAnswer,
  WorkerRequest,
} from "./firestore-pipeline-metadata-sync.ts";
import { GoogleApiError, GoogleJsonClient, googleAccessToken } from "./google-rest.ts";

const data = workerData as SyncJsonClientOptions & { flag: Int32Array; port: MessagePort };
const client = new GoogleJsonClient({
  base: data.base,
  token: data.authenticate ? googleAccessToken() : undefined,
  errorCode: data.errorCode,
  service: data.service,
  timeoutMs: data.timeoutMs,
});

data.port.on("message", async (req: WorkerRequest) => {
  let answer: WorkerAnswer;
  try {
    const value = await client.call(req.method, req.path, req.body);
    answer = { ok: true, value: value ?? null, missing: value === undefined };
  } catch (err) {
    answer =
      err instanceof GoogleApiError
        ? {
            ok: false,
            message: err.message,
            code: err.code,
            httpStatus: err.httpStatus,
            rpcStatus: err.rpcStatus,
          }
        : err instanceof TelcoError
          ? { ok: false, message: err.message, code: err.code, hint: err.hint }
          : { ok: false, message: (err as Error).message, code: data.errorCode };
  }
  data.port.postMessage(answer);
  Atomics.store(data.flag, 0, 1);
  Atomics.notify(data.flag, 0);
});
