import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local HTTP server standing in for the Cloud Storage JSON API, written from its reference
 * (https://cloud.google.com/storage/docs/json_api/v1/objects): objects.get (metadata, `alt=media`,
 * `generation=`), objects.insert as a media upload (`uploadType=media&name=`) and objects.list
 * (`prefix`, `delimiter`, `pageToken`; pages of `pageSize` items, small by default so paging is
 * exercised). Also, for clients that use the Cloud Storage SDK (the lake): objects.insert as a
 * `uploadType=multipart` upload (multipart/related: JSON metadata, then the bytes), a single-request
 * `uploadType=resumable` session (POST starts it and answers its URI in `Location`, one PUT carries
 * every byte) and objects.delete. Every object has a generation from one increasing counter, and `ifGenerationMatch`
 * is honoured on insert (0 = only if absent) with HTTP 412 when it does not hold, as GCS does.
 *
 * `holdWrites(match, n)` makes the next `n` uploads whose object name matches wait until all `n`
 * have arrived, then applies them in arrival order: it forces two writers that read the same
 * generation to collide on the precondition (a deterministic race).
 * Not tested against the real service: the bodies carry only the fields the adapter reads.
 */
export interface FakeGcs {
  url: string;
  objects: Map<string, { bytes: Buffer; generation: number; updated: string }>;
  /** Every request: method, object (or list prefix) and the HTTP status answered. */
  log: {
    method: string;
    kind: "get" | "media" | "insert" | "list" | "delete";
    name: string;
    status: number;
  }[];
  holdWrites(match: RegExp, n: number): void;
  /**
   * The next request on an object matching `match` answers `status` (e.g. 503). With
   * `afterApply`, an upload is applied first: the write landed but its answer was lost.
   */
  failNext(match: RegExp, status: number, opts?: { afterApply?: boolean; method?: "GET" | "POST" }): void;
  close(): Promise<void>;
}

export async function startFakeGcs(opts: { bucket?: string; pageSize?: number } = {}): Promise<FakeGcs> {
  const bucket = opts.bucket ?? "bkt";
  const pageSize = opts.pageSize ?? 3;
  const objects: FakeGcs["objects"] = new Map();
  const log: FakeGcs["log"] = [];
  let generation = 1_700_000_000_000_000;
  let lastUpdated = 0;
  let hold: { match: RegExp; n: number; waiting: (() => void)[] } | undefined;
  let uploads = 0;
  let fault: { match: RegExp; status: number; afterApply: boolean; method?: string } | undefined;
  /** The armed fault if this request triggers it (then disarmed). */
  const trip = (method: string, name: string) => {
    const f = fault;
    if (!f?.match.test(name) || (f.method && f.method !== method)) return undefined;
    fault = undefined;
    return f;
  };

  const meta = (name: string) => {
    const o = objects.get(name);
    if (!o) return undefined;
    return {
      kind: "storage#object",
      bucket,
      name,
      generation: String(o.generation),
      size: String(o.bytes.length),
      updated: o.updated,
      // The object's checksums, which the Cloud Storage SDK compares with what it uploaded.
      md5Hash: createHash("md5").update(o.bytes).digest("base64"),
      crc32c: crc32c(o.bytes),
    };
  };
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, message: string): void =>
    json(res, status, { error: { code: status, message, errors: [{ message, reason: "x" }] } });

  const handle = async (req: IncomingMessage, res: ServerResponse, received: Buffer): Promise<void> => {
    let body = received;
    const url = new URL(req.url ?? "/", "http://x");
    const q = url.searchParams;
    // With STORAGE_EMULATOR_HOST set, the Storage client sends JSON-API calls as `/b/…` (no
    // `/storage/v1`) and media downloads as `/download/storage/v1/b/…`: the same routes.
    const path = url.pathname.startsWith("/b/")
      ? `/storage/v1${url.pathname}`
      : url.pathname.replace(/^\/download\/storage\/v1\//, "/storage/v1/");
    const objectPath = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path);
    const listPath = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    const uploadPath = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    const b = decodeURIComponent((objectPath ?? listPath ?? uploadPath)?.[1] ?? "");
    if (b !== bucket) return error(res, 404, `bucket ${b} not found`);

    if (req.method === "GET" && objectPath) {
      const name = decodeURIComponent(objectPath[2] as string);
      const f = trip("GET", name);
      if (f) {
        log.push({ method: "GET", kind: q.get("alt") === "media" ? "media" : "get", name, status: f.status });
        return error(res, f.status, "injected fault");
      }
      const m = meta(name);
      const wanted = q.get("generation");
      const media = q.get("alt") === "media";
      const status = !m || (wanted && wanted !== m.generation) ? 404 : 200;
      log.push({ method: "GET", kind: media ? "media" : "get", name, status });
      if (status === 404 || !m) return error(res, 404, `No such object: ${bucket}/${name}`);
      if (!media) return json(res, 200, m);
      res
        .writeHead(200, { "content-type": "application/octet-stream", "x-goog-generation": m.generation })
        .end(objects.get(name)?.bytes);
      return;
    }
    if (req.method === "GET" && listPath) {
      const prefix = q.get("prefix") ?? "";
      const delimiter = q.get("delimiter");
      const start = Number(q.get("pageToken") ?? 0);
      const items: string[] = [];
      const prefixes = new Set<string>();
      for (const name of [...objects.keys()].sort()) {
        if (!name.startsWith(prefix)) continue;
        const rest = name.slice(prefix.length);
        const cut = delimiter ? rest.indexOf(delimiter) : -1;
        if (delimiter && cut >= 0) prefixes.add(prefix + rest.slice(0, cut + delimiter.length));
        else items.push(name);
      }
      const page = items.slice(start, start + pageSize);
      const next = start + pageSize < items.length ? String(start + pageSize) : undefined;
      log.push({ method: "GET", kind: "list", name: prefix, status: 200 });
      return json(res, 200, {
        kind: "storage#objects",
        ...(page.length ? { items: page.map(meta) } : {}),
        ...(start === 0 && prefixes.size ? { prefixes: [...prefixes] } : {}),
        ...(next ? { nextPageToken: next } : {}),
      });
    }
    if (req.method === "DELETE" && objectPath) {
      const name = decodeURIComponent(objectPath[2] as string);
      const found = objects.delete(name);
      log.push({ method: "DELETE", kind: "delete", name, status: found ? 204 : 404 });
      if (!found) return error(res, 404, `No such object: ${bucket}/${name}`);
      res.writeHead(204).end();
      return;
    }
    // Resumable upload, step 1: the session's URI (the metadata names the object when the query does not).
    if (req.method === "POST" && uploadPath && q.get("uploadType") === "resumable" && !q.get("upload_id")) {
      const metaName = body.length
        ? (JSON.parse(body.toString("utf8")) as { name?: string }).name
        : undefined;
      const name = q.get("name") ?? metaName;
      if (!name) return error(res, 400, "resumable upload without an object name");
      const session = new URLSearchParams(q);
      session.set("name", name);
      session.set("upload_id", String(++uploads));
      res
        .writeHead(200, {
          location: `${base()}/upload/storage/v1/b/${bucket}/o?${session}`,
          "content-length": "0",
        })
        .end();
      return;
    }
    if ((req.method === "POST" || req.method === "PUT") && uploadPath) {
      const uploadType = q.get("uploadType");
      let name = q.get("name");
      if (uploadType === "multipart") {
        // multipart/related (RFC 2387): part 1 the object's JSON metadata, part 2 the bytes.
        const boundary = /boundary="?([^";]+)"?/.exec(req.headers["content-type"] ?? "")?.[1];
        if (!boundary) return error(res, 400, "multipart upload without a boundary");
        const parts = multipartParts(body, boundary);
        if (parts.length < 2) return error(res, 400, "multipart upload needs metadata and media parts");
        name ??= (JSON.parse(parts[0].toString("utf8")) as { name?: string }).name ?? null;
        body = parts[1];
      } else if (uploadType === "resumable") {
        if (req.method !== "PUT" || !q.get("upload_id")) return error(res, 400, "resumable data goes by PUT");
      } else if (uploadType !== "media") return error(res, 400, "uploadType=media&name= required");
      if (!name) return error(res, 400, "uploadType=media&name= required");
      if (hold?.match.test(name)) {
        const h = hold;
        await new Promise<void>((release) => {
          h.waiting.push(release);
          if (h.waiting.length >= h.n) {
            hold = undefined;
            for (const r of h.waiting) r();
          }
        });
      }
      const f = trip("POST", name);
      if (f && !f.afterApply) {
        log.push({ method: req.method ?? "POST", kind: "insert", name, status: f.status });
        return error(res, f.status, "injected fault");
      }
      const cond = q.get("ifGenerationMatch");
      const current = objects.get(name);
      const holds =
        cond === null ||
        (cond === "0" ? current === undefined : current !== undefined && String(current.generation) === cond);
      if (!holds) {
        log.push({ method: req.method ?? "POST", kind: "insert", name, status: 412 });
        return error(res, 412, "At least one of the pre-conditions you specified did not hold.");
      }
      generation += 1;
      // Strictly increasing update times, as consecutive writes in GCS are ordered.
      lastUpdated = Math.max(Date.now(), lastUpdated + 1);
      objects.set(name, { bytes: body, generation, updated: new Date(lastUpdated).toISOString() });
      if (f) {
        log.push({ method: req.method ?? "POST", kind: "insert", name, status: f.status });
        return error(res, f.status, "injected fault (the write was applied)");
      }
      log.push({ method: req.method ?? "POST", kind: "insert", name, status: 200 });
      return json(res, 200, meta(name));
    }
    return error(res, 400, `unsupported ${req.method} ${url.pathname}`);
  };

  const base = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      handle(req, res, Buffer.concat(chunks)).catch((err: Error) => error(res, 500, err.message));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: base(),
    objects,
    log,
    holdWrites(match, n) {
      hold = { match, n, waiting: [] };
    },
    failNext(match, status, o = {}) {
      fault = { match, status, afterApply: o.afterApply ?? false, method: o.method };
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The bodies of a multipart/related payload's parts (each part's headers dropped). */
function multipartParts(body: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break; // the closing delimiter
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start, next);
    const headersEnd = part.indexOf("\r\n\r\n");
    // The part ends with the CRLF that precedes the next delimiter.
    parts.push(part.subarray(headersEnd + 4, part.length - 2));
    at = next;
  }
  return parts;
}

// CRC-32C (Castagnoli) by hand: node:zlib has only the IEEE CRC-32, and GCS sends the Castagnoli one.
const CRC32C_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** Base64 of the big-endian CRC-32C, as the `crc32c` field of an object's metadata. */
function crc32c(bytes: Buffer): string {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString("base64");
}
