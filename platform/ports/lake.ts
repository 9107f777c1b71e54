/**
 * Lake port: object storage organised in layers. Local adapter: Parquet/raw files under
 * $TELCO_HOME/lake; GCP adapter: Cloud Storage. Keys are relative, '/'-separated paths
 * such as "raw/crm/2026-11-25/customers.csv".
 */
export type LakeLayer = "raw" | "bronze" | "silver" | "gold" | "logs" | "rejects";

export interface Lake {
  readonly kind: "local" | "gcs";
  /** Where a key lives, as the warehouse can read it (absolute path or gs:// URI). */
  uri(key: string): string;
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  read(key: string): Promise<Buffer>;
  /** Writes atomically: readers see the old object or the new one, never a partial one. */
  write(key: string, data: Buffer | string): Promise<void>;
  /** Copies a local file into the lake (used for immutable raw deliveries). */
  putFile(localPath: string, key: string): Promise<void>;
  /**
   * Moves a local file (e.g. a staged Parquet file) into the lake; adapters on the same
   * filesystem rename instead of copying. Optional: callers fall back to putFile + delete.
   */
  moveIn?(localPath: string, key: string): Promise<void>;
  /** Removes every key under a prefix. */
  deletePrefix(prefix: string): Promise<void>;
}
