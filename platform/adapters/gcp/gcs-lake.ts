import type { Lake } from "../../ports/lake.ts";
import { gcpPreflight, storageEndpoint } from "./preflight.ts";

/** The slice of @google-cloud/storage's Bucket this adapter uses (lets tests pass a fake). */
export interface GcsBucketLike {
  file(name: string): {
    exists(): Promise<[boolean]>;
    download(): Promise<[Buffer]>;
    save(data: Buffer | string, options?: { resumable?: boolean }): Promise<unknown>;
    /** Deletes this one object (the SDK has it; in-memory doubles may not). */
    delete?(options?: { ignoreNotFound?: boolean }): Promise<unknown>;
  };
  getFiles(query: { prefix: string; autoPaginate?: boolean }): Promise<[{ name: string }[], ...unknown[]]>;
  upload(localPath: string, options: { destination: string }): Promise<unknown>;
  deleteFiles(query: { prefix: string }): Promise<unknown>;
}

/**
 * Lake on Cloud Storage: keys become objects under gs://BUCKET/PREFIX/. Object writes are
 * atomic in GCS (an object is visible only once its upload completes), which gives the port's
 * write-then-publish guarantee without temp objects.
 */
export class GcsLake implements Lake {
  readonly kind = "gcs" as const;
  private readonly bucketName: string;
  private readonly prefix: string;
  private readonly bucketPromise: Promise<GcsBucketLike>;

  constructor(opts: { bucket: string; prefix?: string; project?: string; client?: GcsBucketLike }) {
    this.bucketName = opts.bucket.replace(/^gs:\/\//, "").replace(/\/.*$/, "");
    this.prefix = (opts.prefix ?? "lake").replace(/^\/+|\/+$/g, "");
    this.bucketPromise = opts.client
      ? Promise.resolve(opts.client)
      : openBucket(this.bucketName, opts.project);
    // Rejections (no credentials, no network) reach the first call, not the process as unhandled.
    this.bucketPromise.catch(() => {});
  }

  private objectName(key: string): string {
    const clean = key.split("/").filter((p) => p.length > 0);
    if (clean.some((p) => p === ".." || p === "."))
      throw new RangeError(`lake key "${key}" may not contain . or ..`);
    return [this.prefix, ...clean].filter((p) => p.length > 0).join("/");
  }

  uri(key: string): string {
    return `gs://${this.bucketName}/${this.objectName(key)}`;
  }

  async exists(key: string): Promise<boolean> {
    const [found] = await (await this.bucketPromise).file(this.objectName(key)).exists();
    return found;
  }

  /**
   * Object names at or under a key path (the path itself, or names below `path/`): GCS prefixes
   * are plain strings, so `raw/crm` would also match `raw/crm2/…`, which the port's folders do not.
   */
  private async namesUnder(prefix: string): Promise<string[]> {
    const base = this.objectName(prefix);
    const [files] = await (await this.bucketPromise).getFiles({ prefix: base, autoPaginate: true });
    return files
      .map((f) => f.name)
      .filter((name) => base === "" || name === base || name.startsWith(`${base}/`));
  }

  async list(prefix: string): Promise<string[]> {
    const strip = this.prefix ? `${this.prefix}/` : "";
    return (await this.namesUnder(prefix))
      .map((name) => (name.startsWith(strip) ? name.slice(strip.length) : name))
      .sort();
  }

  async read(key: string): Promise<Buffer> {
    const [data] = await (await this.bucketPromise).file(this.objectName(key)).download();
    return data;
  }

  async write(key: string, data: Buffer | string): Promise<void> {
    await (await this.bucketPromise).file(this.objectName(key)).save(data, { resumable: false });
  }

  async putFile(localPath: string, key: string): Promise<void> {
    await (await this.bucketPromise).upload(localPath, { destination: this.objectName(key) });
  }

  async deletePrefix(prefix: string): Promise<void> {
    const bucket = await this.bucketPromise;
    const base = this.objectName(prefix);
    const names = await this.namesUnder(prefix);
    if (names.some((name) => name !== base)) await bucket.deleteFiles({ prefix: base ? `${base}/` : "" });
    if (!names.includes(base)) return;
    const file = bucket.file(base);
    // A double without per-object delete: by prefix, as before (it may also take `base…` siblings).
    if (file.delete) await file.delete({ ignoreNotFound: true });
    else await bucket.deleteFiles({ prefix: base });
  }
}

async function openBucket(bucket: string, project: string | undefined): Promise<GcsBucketLike> {
  await gcpPreflight(storageEndpoint());
  // Loaded on first use so the local profile never pays for the SDK's import time.
  const { Storage } = await import("@google-cloud/storage");
  return new Storage(project ? { projectId: project } : {}).bucket(bucket) as unknown as GcsBucketLike;
}
