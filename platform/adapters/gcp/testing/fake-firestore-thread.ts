import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { FakeDoc } from "./fake-firestore-documents.ts";

/**
 * The fake Firestore REST API of fake-firestore-documents.ts on a thread of its own. An adapter whose
 * calls block the calling thread (the pipeline-metadata store, firestore-pipeline-metadata-sync.ts)
 * would wait forever on a server that answers on the same thread, so its tests start the fake here.
 * `requests()` and `docs()` copy what the fake holds back to the test.
 */
export interface FakeFirestoreThread {
  url: string;
  requests(): Promise<{ method: string; path: string; body: unknown }[]>;
  docs(): Promise<FakeDoc[]>;
  close(): Promise<void>;
}

type Ask = { id: number; what: "requests" | "docs" | "close" };

export async function startFakeFirestoreThread(): Promise<FakeFirestoreThread> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: "fake-firestore" } });
  const pending = new Map<number, (v: unknown) => void>();
  let next = 0;
  const url = await new Promise<string>((resolve, reject) => {
    worker.once("error", reject);
    worker.on("message", (m: { url?: string; id?: number; value?: unknown }) => {
      if (m.url) resolve(m.url);
      else if (m.id !== undefined) {
        pending.get(m.id)?.(m.value);
        pending.delete(m.id);
      }
    });
  });
  const ask = <T>(what: Ask["what"]) =>
    new Promise<T>((resolve) => {
      const id = next++;
      pending.set(id, resolve as (v: unknown) => void);
      worker.postMessage({ id, what } satisfies Ask);
    });
  return {
    url,
    requests: () => ask("requests"),
    docs: () => ask("docs"),
    async close() {
      await ask("close");
      await worker.terminate();
    },
  };
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === "fake-firestore") {
  const { startFakeFirestoreDocuments } = await import("./fake-firestore-documents.ts");
  const fake = await startFakeFirestoreDocuments();
  parentPort?.on("message", async (m: Ask) => {
    if (m.what === "close") await fake.close();
    const value = m.what === "requests" ? fake.requests : m.what === "docs" ? [...fake.docs.values()] : null;
    parentPort?.postMessage({ id: m.id, value });
  });
  parentPort?.postMessage({ url: fake.url });
}
