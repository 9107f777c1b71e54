import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the Firestore v1 REST API, enough for the online-store adapter: documents.get,
 * documents.list (one collection, paged), documents:batchGet and documents:commit (update and delete
 * writes), with the response shapes of the API reference (a missing document is a 404 with
 * `error.status` NOT_FOUND; batchGet answers `found` or `missing` per name). Documents live in memory;
 * every request is kept so a test can assert what was sent. `failNext` makes the next commit fail.
 */
export interface FakeFirestore {
  url: string;
  docs: Map<string, { name: string; fields: unknown }>;
  requests: { method: string; path: string; body: unknown }[];
  failNextCommit(status: number): void;
  close(): Promise<void>;
}

export async function startFakeFirestore(): Promise<FakeFirestore> {
  const docs = new Map<string, { name: string; fields: unknown }>();
  const requests: FakeFirestore["requests"] = [];
  let failStatus = 0;
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const path = decodeURIComponent(url.pathname.replace(/^\/v1\//, ""));
      const body = raw ? JSON.parse(raw) : undefined;
      requests.push({ method: req.method ?? "", path: `${path}${url.search}`, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
      };
      if (req.method === "POST" && path.endsWith(":commit")) {
        if (failStatus) {
          const status = failStatus;
          failStatus = 0;
          return send(status, { error: { code: status, message: "commit refused", status: "UNAVAILABLE" } });
        }
        const writes = (body?.writes ?? []) as Array<{
          update?: { name: string; fields: unknown };
          delete?: string;
        }>;
        for (const w of writes) {
          if (w.update)
            docs.set(decodeURIComponent(w.update.name), { name: w.update.name, fields: w.update.fields });
          else if (w.delete) docs.delete(decodeURIComponent(w.delete));
        }
        return send(200, { writeResults: writes.map(() => ({})), commitTime: new Date().toISOString() });
      }
      if (req.method === "POST" && path.endsWith(":batchGet")) {
        const names = (body?.documents ?? []) as string[];
        return send(
          200,
          names.map((n) => {
            const d = docs.get(decodeURIComponent(n));
            return d
              ? { found: d, readTime: new Date().toISOString() }
              : { missing: n, readTime: new Date().toISOString() };
          }),
        );
      }
      if (req.method === "GET") {
        const doc = docs.get(path);
        if (doc) return send(200, doc);
        // A collection: documents directly under it, in name order, paged.
        const prefix = `${path}/`;
        const under = [...docs.keys()]
          .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes("/"))
          .sort();
        if (under.length > 0 || /\/documents\/[^/]+_[^/]+$/.test(path)) {
          const size = Number(url.searchParams.get("pageSize") ?? 300);
          const page = under.slice(0, size).map((k) => docs.get(k));
          return send(200, page.length ? { documents: page } : {});
        }
        return send(404, {
          error: { code: 404, message: `Document "${path}" not found.`, status: "NOT_FOUND" },
        });
      }
      send(400, {
        error: { code: 400, message: `unsupported ${req.method} ${path}`, status: "INVALID_ARGUMENT" },
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    docs,
    requests,
    failNextCommit(status) {
      failStatus = status;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
