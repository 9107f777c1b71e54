import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the Firestore v1 REST API with what the assistant-sessions adapter uses:
 * documents.get, documents:commit with write preconditions (`exists`, `updateTime`; all-or-nothing; an
 * `updateMask` changes only the listed fields, as the API does), and :runQuery (one collection under a
 * parent; fieldFilter/compositeFilter AND with EQUAL,
 * LESS_THAN, LESS_THAN_OR_EQUAL, GREATER_THAN, GREATER_THAN_OR_EQUAL; orderBy; limit). The responses
 * are hand-written from the REST reference, not recorded from Google: a missing document is a 404
 * NOT_FOUND, a failed `exists: false` is 409 ALREADY_EXISTS, a stale `updateTime` is 400
 * FAILED_PRECONDITION, and an empty query answers `[{readTime}]`. Every request is kept; `beforeCommit`
 * lets a test slip another writer in between a read and a commit.
 */
type Value = Record<string, unknown>;
export interface FakeDoc {
  name: string;
  fields: Record<string, Value>;
  createTime: string;
  updateTime: string;
}

export interface FakeFirestoreDocuments {
  url: string;
  docs: Map<string, FakeDoc>;
  requests: { method: string; path: string; body: unknown }[];
  /** Runs once, before the next commit is applied. */
  beforeCommit(fn: () => void): void;
  /** Writes a document as another client would (new updateTime). */
  put(name: string, fields: Record<string, Value>): void;
  close(): Promise<void>;
}

const scalar = (v: Value | undefined): string | number | boolean | null => {
  if (!v || "nullValue" in v) return null;
  if ("integerValue" in v) return Number(v.integerValue);
  if ("doubleValue" in v) return v.doubleValue as number;
  if ("booleanValue" in v) return v.booleanValue as boolean;
  return (v.stringValue as string) ?? null;
};

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return (a as number | string) < (b as number | string) ? -1 : 1;
}

interface FieldFilter {
  field: { fieldPath: string };
  op: string;
  value: Value;
}
type Filter = { fieldFilter?: FieldFilter; compositeFilter?: { op: string; filters: Filter[] } };

function matches(doc: FakeDoc, f: Filter | undefined): boolean {
  if (!f) return true;
  if (f.compositeFilter) {
    if (f.compositeFilter.op !== "AND") throw new Error(`unsupported composite op ${f.compositeFilter.op}`);
    return f.compositeFilter.filters.every((x) => matches(doc, x));
  }
  const ff = f.fieldFilter as FieldFilter;
  const have = doc.fields[ff.field.fieldPath];
  if (have === undefined) return false;
  const c = compare(scalar(have), scalar(ff.value));
  switch (ff.op) {
    case "EQUAL":
      return c === 0;
    case "LESS_THAN":
      return c < 0;
    case "LESS_THAN_OR_EQUAL":
      return c <= 0;
    case "GREATER_THAN":
      return c > 0;
    case "GREATER_THAN_OR_EQUAL":
      return c >= 0;
    default:
      throw new Error(`unsupported op ${ff.op}`);
  }
}

export async function startFakeFirestoreDocuments(): Promise<FakeFirestoreDocuments> {
  const docs = new Map<string, FakeDoc>();
  const requests: FakeFirestoreDocuments["requests"] = [];
  const hooks: (() => void)[] = [];
  let tick = 0;
  // Distinct, increasing timestamps (Firestore's are microsecond precision).
  const stamp = () => `2026-12-07T10:00:00.${String(++tick).padStart(6, "0")}Z`;
  const put = (name: string, fields: Record<string, Value>) => {
    const t = stamp();
    docs.set(name, { name, fields, createTime: docs.get(name)?.createTime ?? t, updateTime: t });
  };

  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const path = decodeURIComponent(url.pathname.replace(/^\/v1\//, ""));
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      requests.push({ method: req.method ?? "", path, body });
      const send = (status: number, payload: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
      const fail = (code: number, status: string, message: string) =>
        send(code, { error: { code, message, status } });

      if (req.method === "POST" && path.endsWith(":commit")) {
        for (const h of hooks.splice(0)) h();
        const writes = (body?.writes ?? []) as Array<{
          update?: { name: string; fields: Record<string, Value> };
          delete?: string;
          updateMask?: { fieldPaths: string[] };
          currentDocument?: { exists?: boolean; updateTime?: string };
        }>;
        for (const w of writes) {
          const name = w.update?.name ?? (w.delete as string);
          const pre = w.currentDocument;
          const have = docs.get(name);
          if (pre?.exists === false && have)
            return fail(409, "ALREADY_EXISTS", `Document already exists: ${name}`);
          if (pre?.exists === true && !have) return fail(404, "NOT_FOUND", `No document to update: ${name}`);
          if (pre?.updateTime && have?.updateTime !== pre.updateTime)
            return fail(
              400,
              "FAILED_PRECONDITION",
              "the stored version does not match the required base version",
            );
        }
        const commitTime = stamp();
        for (const w of writes) {
          if (w.update && w.updateMask) {
            // With a mask only the listed fields change: set when given, removed when absent.
            const fields = { ...(docs.get(w.update.name)?.fields ?? {}) };
            for (const f of w.updateMask.fieldPaths) {
              const v = w.update.fields?.[f];
              if (v === undefined) delete fields[f];
              else fields[f] = v;
            }
            put(w.update.name, fields);
          } else if (w.update) put(w.update.name, w.update.fields ?? {});
          else if (w.delete) docs.delete(w.delete);
        }
        return send(200, { writeResults: writes.map(() => ({ updateTime: commitTime })), commitTime });
      }

      if (req.method === "POST" && path.endsWith(":runQuery")) {
        const parent = path.slice(0, -":runQuery".length);
        const q = body?.structuredQuery as {
          from: { collectionId: string }[];
          where?: Filter;
          orderBy?: { field: { fieldPath: string }; direction?: string }[];
          limit?: number;
        };
        const prefix = `${parent}/${q.from[0].collectionId}/`;
        let found = [...docs.values()].filter(
          (d) =>
            d.name.startsWith(prefix) && !d.name.slice(prefix.length).includes("/") && matches(d, q.where),
        );
        const order = [...(q.orderBy ?? []), { field: { fieldPath: "__name__" }, direction: "ASCENDING" }];
        found.sort((a, b) => {
          for (const o of order) {
            const key = o.field.fieldPath;
            const av = key === "__name__" ? a.name : scalar(a.fields[key]);
            const bv = key === "__name__" ? b.name : scalar(b.fields[key]);
            const c = compare(av, bv) * (o.direction === "DESCENDING" ? -1 : 1);
            if (c !== 0) return c;
          }
          return 0;
        });
        if (q.limit !== undefined) found = found.slice(0, q.limit);
        const readTime = stamp();
        return send(200, found.length ? found.map((document) => ({ document, readTime })) : [{ readTime }]);
      }

      if (req.method === "GET") {
        const doc = docs.get(path);
        return doc ? send(200, doc) : fail(404, "NOT_FOUND", `Document "${path}" not found.`);
      }
      fail(400, "INVALID_ARGUMENT", `unsupported ${req.method} ${path}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    docs,
    requests,
    beforeCommit: (fn) => {
      hooks.push(fn);
    },
    put,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
