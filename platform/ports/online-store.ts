/**
 * Online feature store port (version 1): the latest feature vector of each customer, read by the
 * serving layer at prediction time. Loads replace the whole store atomically: readers see the
 * previous load or the new one, never a mix. The composition root builds it (`app.onlineStore()`).
 *
 * Adapters: platform/adapters/local/sqlite-online-store.ts (node:sqlite file in the workspace) and
 * platform/adapters/gcp/firestore-online-store.ts (Firestore REST).
 * Contract: platform/ports/testing/online-store.contract.ts (run by each adapter's tests).
 */
export type FeatureValue = number | string | boolean | null;

/** One customer's feature values, aligned with the load's `featureNames`. */
export interface OnlineFeatureRow {
  customerId: string;
  values: readonly FeatureValue[];
}

/** What a reader gets back: values keyed by feature name, plus when they were computed. */
export interface OnlineFeatureRecord {
  customerId: string;
  /** Date the features describe (ISO yyyy-mm-dd): every event before it was used. */
  asOf: string;
  features: Record<string, FeatureValue>;
}

/**
 * One customer's values in the load's feature-name order, without a per-feature object: readers on a
 * hot path map `values` to their own columns by an index precomputed per `featureNames` array.
 */
export interface OnlineFeatureVector {
  customerId: string;
  asOf: string;
  /** The load's feature names; the same array instance for every read of one load (do not mutate). */
  featureNames: readonly string[];
  /** Changes with every committed load. */
  generation: number;
  /** `values[i]` belongs to `featureNames[i]` (null = missing). */
  values: readonly FeatureValue[];
  /** `values` as the JSON array text the store keeps, when it keeps one (copied into logs as is). */
  valuesJson?: string;
}

/** Describes the load currently being served. */
export interface OnlineStoreInfo {
  featureNames: string[];
  /** Hash of the feature definitions the values were computed with (models record it too). */
  featureVersion: string;
  asOf: string;
  rows: number;
  /** ISO timestamp of the commit that made this load visible. */
  loadedAt: string;
}

/** A load in progress: rows put here stay invisible to readers until `commit()`. */
export interface OnlineStoreLoad {
  put(rows: readonly OnlineFeatureRow[]): void | Promise<void>;
  /** Makes the load visible in one atomic step; returns the number of rows served. */
  commit(): Promise<number>;
  /** Discards the load; the previous one keeps being served. */
  abort(): Promise<void>;
}

export interface OnlineStore {
  /** Adapter name (sqlite, …). */
  readonly kind: string;
  /** The load being served, or undefined when nothing was ever materialized. */
  info(): Promise<OnlineStoreInfo | undefined>;
  get(customerId: string): Promise<OnlineFeatureRecord | undefined>;
  /** Looks up several customers at once; unknown ids are absent from the map. */
  getMany(customerIds: readonly string[]): Promise<Map<string, OnlineFeatureRecord>>;
  /** Starts a full replacement of the store's contents. One load at a time. */
  beginLoad(meta: { featureNames: readonly string[]; featureVersion: string; asOf: string }): OnlineStoreLoad;
  close(): Promise<void>;
}

/**
 * Optional capability of an embedded store: synchronous reads for a server's hot path. Only the
 * SQLite adapter has it; a store reached over the network cannot answer synchronously.
 *
 * Fallback (what callers do without it): `get(id)` returns the same data as `getVector(id)` (as a
 * record keyed by feature name), one promise later; reads see each commit at once. The contract
 * suite checks that both paths agree.
 */
export interface OnlineStoreSyncReads {
  /** One customer's values in the load's feature order (same data as `get`), synchronously. */
  getVector(customerId: string): OnlineFeatureVector | undefined;
  /**
   * Lets reads share one read snapshot for up to `ms` (cheaper lookups for a server); a load
   * committed elsewhere then becomes visible within `ms`. 0 turns it off.
   */
  setReadSnapshotMs(ms: number): void;
}

/** The store's synchronous-read capability, or undefined when it has none (use `get`). */
export function syncReads(store: OnlineStore): OnlineStoreSyncReads | undefined {
  const s = store as OnlineStore & Partial<OnlineStoreSyncReads>;
  return typeof s.getVector === "function" && typeof s.setReadSnapshotMs === "function"
    ? (s as OnlineStore & OnlineStoreSyncReads)
    : undefined;
}

/** Streams batches into a new load and commits it; aborts (keeping the old load) on any error. */
export async function replaceOnlineStore(
  store: OnlineStore,
  meta: { featureNames: readonly string[]; featureVersion: string; asOf: string },
  batches: AsyncIterable<readonly OnlineFeatureRow[]> | Iterable<readonly OnlineFeatureRow[]>,
): Promise<number> {
  const load = store.beginLoad(meta);
  try {
    for await (const batch of batches) await load.put(batch);
  } catch (err) {
    await load.abort();
    throw err;
  }
  return load.commit();
}
