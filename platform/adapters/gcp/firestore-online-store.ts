import { TelcoError, ValidationError } from "../../errors.ts";
import type {
  FeatureValue,
  OnlineFeatureRecord,
  OnlineFeatureRow,
  OnlineStore,
  OnlineStoreInfo,
  OnlineStoreLoad,
} from "../../ports/online-store.ts";

/**
 * Online store on Firestore (native mode), over its REST API with fetch.
 *
 * Layout: each load writes one document per customer (`<prefix>_<generation>/<customer id>`, the
 * values as one JSON array string in field `v`, aligned with the load's feature names) into a
 * collection of its own; `commit` then rewrites the pointer document `<prefix>/current` (generation,
 * feature names and version, as-of date, rows, loadedAt) in one write, so readers see the previous
 * load or the new one, never a mix. The load before the previous one is deleted after the commit
 * (readers still on the previous pointer keep finding their documents).
 *
 * Endpoint: `FIRESTORE_EMULATOR_HOST` (no credentials, as Google's clients do) or the `endpoint`
 * option (tests), else https://firestore.googleapis.com with Application Default Credentials.
 */
export interface FirestoreOnlineStoreOptions {
  project: string;
  database?: string;
  /** Collection-name prefix (default telco_online). */
  prefix?: string;
  endpoint?: string;
  accessToken?: () => Promise<string>;
  fetch?: typeof globalThis.fetch;
  env?: NodeJS.ProcessEnv;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

type FsValue =
  | { stringValue: string }
  | { integerValue: string }
  | { doubleValue: number }
  | { booleanValue: boolean }
  | { nullValue: null }
  | { arrayValue: { values?: FsValue[] } };

interface FsDocument {
  name: string;
  fields?: Record<string, FsValue>;
}

/** Firestore allows batches of at most 500 writes. */
const MAX_WRITES = 500;
/** Documents per batchGet request. */
const MAX_GETS = 100;

async function adcToken(): Promise<string> {
  const { GoogleAuth } = await import("google-auth-library");
  const auth = new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/datastore"] });
  const token = await auth.getAccessToken();
  if (!token) throw new TelcoError("gcp_auth", "no access token from Application Default Credentials");
  return token;
}

const str = (v: FsValue | undefined): string =>
  v && "stringValue" in v ? v.stringValue : v && "integerValue" in v ? v.integerValue : "";
const num = (v: FsValue | undefined): number =>
  v && "integerValue" in v ? Number(v.integerValue) : v && "doubleValue" in v ? v.doubleValue : Number.NaN;

export class FirestoreOnlineStore implements OnlineStore {
  readonly kind = "firestore" as const;
  private readonly base: string;
  private readonly root: string;
  private readonly prefix: string;
  private readonly token: (() => Promise<string>) | undefined;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly timeoutMs: number;
  private loading = false;

  constructor(opts: FirestoreOnlineStoreOptions) {
    const env = opts.env ?? process.env;
    const emulator = env.FIRESTORE_EMULATOR_HOST;
    const endpoint = opts.endpoint ?? (emulator ? `http://${emulator}` : "https://firestore.googleapis.com");
    this.base = `${endpoint.replace(/\/$/, "")}/v1`;
    this.root = `projects/${opts.project}/databases/${opts.database ?? "(default)"}/documents`;
    this.prefix = opts.prefix ?? "telco_online";
    // The emulator (and a test endpoint) takes no credentials.
    this.token = opts.accessToken ?? (opts.endpoint || emulator ? undefined : adcToken);
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T | undefined> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.token) headers.authorization = `Bearer ${await this.token()}`;
    const res = await this.fetchImpl(`${this.base}/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (res.status === 404 && method === "GET") return undefined;
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {}
      throw new TelcoError(
        "online_store",
        `Firestore ${method} ${path.split("?")[0]} failed: HTTP ${res.status} ${message}`,
      );
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  private docName(collection: string, id: string): string {
    return `${this.root}/${collection}/${encodeURIComponent(id)}`;
  }

  private pointerName(): string {
    return `${this.root}/${this.prefix}/current`;
  }

  private async pointer(): Promise<(OnlineStoreInfo & { generation: string; previous: string }) | undefined> {
    const doc = await this.call<FsDocument>("GET", this.pointerName());
    const f = doc?.fields;
    if (!f) return undefined;
    const names =
      f.featureNames && "arrayValue" in f.featureNames ? (f.featureNames.arrayValue.values ?? []) : [];
    return {
      generation: str(f.generation),
      previous: str(f.previous),
      featureNames: names.map((v) => str(v)),
      featureVersion: str(f.featureVersion),
      asOf: str(f.asOf),
      rows: num(f.rows),
      loadedAt: str(f.loadedAt),
    };
  }

  async info(): Promise<OnlineStoreInfo | undefined> {
    const p = await this.pointer();
    if (!p) return undefined;
    const { generation: _g, previous: _p, ...info } = p;
    return info;
  }

  private toRecord(doc: FsDocument, names: readonly string[], asOf: string): OnlineFeatureRecord {
    const id = decodeURIComponent(doc.name.slice(doc.name.lastIndexOf("/") + 1));
    const values = JSON.parse(str(doc.fields?.v) || "[]") as FeatureValue[];
    const features: Record<string, FeatureValue> = {};
    names.forEach((n, i) => {
      features[n] = values[i] ?? null;
    });
    return { customerId: id, asOf, features };
  }

  async get(customerId: string): Promise<OnlineFeatureRecord | undefined> {
    return (await this.getMany([customerId])).get(customerId);
  }

  async getMany(customerIds: readonly string[]): Promise<Map<string, OnlineFeatureRecord>> {
    const out = new Map<string, OnlineFeatureRecord>();
    const p = await this.pointer();
    if (!p || customerIds.length === 0) return out;
    const collection = `${this.prefix}_${p.generation}`;
    for (let i = 0; i < customerIds.length; i += MAX_GETS) {
      const names = customerIds.slice(i, i + MAX_GETS).map((id) => this.docName(collection, id));
      const answers = await this.call<Array<{ found?: FsDocument; missing?: string }>>(
        "POST",
        `${this.root}:batchGet`,
        { documents: names },
      );
      for (const a of answers ?? []) {
        if (!a.found) continue;
        const rec = this.toRecord(a.found, p.featureNames, p.asOf);
        out.set(rec.customerId, rec);
      }
    }
    return out;
  }

  private async commitWrites(writes: unknown[]): Promise<void> {
    for (let i = 0; i < writes.length; i += MAX_WRITES)
      await this.call("POST", `${this.root}:commit`, { writes: writes.slice(i, i + MAX_WRITES) });
  }

  /** Deletes every document of one load's collection. */
  private async dropCollection(collection: string): Promise<void> {
    for (;;) {
      const page = await this.call<{ documents?: FsDocument[] }>(
        "GET",
        `${this.root}/${collection}?pageSize=${MAX_WRITES}&mask.fieldPaths=__name__`,
      );
      const docs = page?.documents ?? [];
      if (docs.length === 0) return;
      await this.commitWrites(docs.map((d) => ({ delete: d.name })));
    }
  }

  beginLoad(meta: {
    featureNames: readonly string[];
    featureVersion: string;
    asOf: string;
  }): OnlineStoreLoad {
    if (this.loading) throw new TelcoError("online_store", "a load is already in progress on this store");
    this.loading = true;
    const generation = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const collection = `${this.prefix}_${generation}`;
    const seen = new Set<string>();
    const width = meta.featureNames.length;
    let done = false;
    const finish = () => {
      done = true;
      this.loading = false;
    };
    const put = async (rows: readonly OnlineFeatureRow[]) => {
      if (done) throw new TelcoError("online_store", "this load is already committed or aborted");
      const writes = rows.map((r) => {
        if (r.values.length !== width)
          throw new ValidationError(
            `customer ${r.customerId}`,
            `has ${r.values.length} feature values, the load declares ${width}`,
          );
        if (seen.has(r.customerId))
          throw new ValidationError(`customer ${r.customerId}`, "appears twice in one load");
        seen.add(r.customerId);
        const values = r.values.map((v) => (typeof v === "number" && !Number.isFinite(v) ? null : v));
        return {
          update: {
            name: this.docName(collection, r.customerId),
            fields: { v: { stringValue: JSON.stringify(values) } },
          },
        };
      });
      await this.commitWrites(writes);
    };
    return {
      put,
      commit: async () => {
        try {
          const previous = await this.pointer();
          const fields: Record<string, FsValue> = {
            generation: { stringValue: generation },
            previous: { stringValue: previous?.generation ?? "" },
            featureNames: { arrayValue: { values: meta.featureNames.map((n) => ({ stringValue: n })) } },
            featureVersion: { stringValue: meta.featureVersion },
            asOf: { stringValue: meta.asOf },
            rows: { integerValue: String(seen.size) },
            loadedAt: { stringValue: new Date().toISOString() },
          };
          await this.commitWrites([{ update: { name: this.pointerName(), fields } }]);
          // Readers may still hold the previous pointer: keep its load, drop the one before.
          if (previous?.previous) await this.dropCollection(`${this.prefix}_${previous.previous}`);
          return seen.size;
        } finally {
          finish();
        }
      },
      abort: async () => {
        try {
          await this.dropCollection(collection);
        } finally {
          finish();
        }
      },
    };
  }

  async close(): Promise<void> {}
}
