/**
 * Runs `scanFile` on a worker thread, so a large file's scan (hash, UTF-8, record structure: about
 * 1.8 CPU-s per GB) uses a core of its own instead of the main thread, which only schedules.
 * Small files are scanned in place: starting a worker costs more than scanning a few MB.
 */
import { stat } from "node:fs/promises";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { TelcoError, ValidationError } from "../../platform/errors.ts";
import { type FileScan, scanFile } from "./scan.ts";

type ScanOptions = Parameters<typeof scanFile>[1];

/** Files at least this big are scanned on a worker thread. */
export const OFF_THREAD_BYTES = 64 * 1024 * 1024;

interface WorkerError {
  name: string;
  message: string;
  code?: string;
  field?: string;
  hint?: string;
  details?: Record<string, unknown>;
}

/**
 * `scanFile` on a worker thread when the file has at least `minBytes` (default
 * OFF_THREAD_BYTES), in place otherwise; same result, same errors.
 */
export async function scanFileOffThread(
  path: string,
  opts: ScanOptions,
  minBytes = OFF_THREAD_BYTES,
): Promise<FileScan> {
  const size = await stat(path).then(
    (s) => s.size,
    () => -1,
  );
  if (size < minBytes) return scanFile(path, opts);
  return new Promise<FileScan>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { path, opts } });
    let settled = false;
    worker.once("message", (m: { scan?: FileScan; error?: WorkerError }) => {
      settled = true;
      if (m.scan) resolve(m.scan);
      else reject(reviveError(m.error as WorkerError));
    });
    worker.once("error", (err) => {
      settled = true;
      reject(err);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`scan worker for ${path} exited with code ${code}`));
    });
  });
}

/** The worker's error as the class the caller would have seen from `scanFile` itself. */
function reviveError(e: WorkerError): Error {
  if (e.name === "ValidationError" && e.field !== undefined) {
    const prefix = `${e.field}: `;
    const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    const { field: _, ...details } = e.details ?? {};
    return new ValidationError(e.field, message, { hint: e.hint, details });
  }
  if (e.code !== undefined) return new TelcoError(e.code, e.message, { hint: e.hint, details: e.details });
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

if (!isMainThread && workerData?.path !== undefined && parentPort) {
  const port = parentPort;
  const { path, opts } = workerData as { path: string; opts: ScanOptions };
  scanFile(path, opts).then(
    (scan) => port.postMessage({ scan }),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      const t = err instanceof TelcoError ? err : undefined;
      port.postMessage({
        error: {
          name: e.name,
          message: e.message,
          code: t?.code,
          field: err instanceof ValidationError ? err.field : undefined,
          hint: t?.hint,
          details: t?.details,
        } satisfies WorkerError,
      });
    },
  );
}
