import { readFileSync } from "node:fs";
import type { GcsBucketLike } from "../../../platform/adapters/gcp/gcs-lake.ts";

/**
 * An in-memory Cloud Storage bucket with the method shapes of @google-cloud/storage's Bucket, for
 * GcsLake in tests. `uploads` keeps every object ever uploaded (staging objects are deleted after a
 * commit, tests still read what the load job was given); `failUpload` makes an upload throw.
 */
export function memoryBucket(opts: { failUpload?: (destination: string) => boolean } = {}): GcsBucketLike & {
  objects: Map<string, Buffer>;
  uploads: Map<string, Buffer>;
} {
  const objects = new Map<string, Buffer>();
  const uploads = new Map<string, Buffer>();
  return {
    objects,
    uploads,
    file(name) {
      return {
        async exists() {
          return [objects.has(name)];
        },
        async download() {
          const data = objects.get(name);
          if (!data) throw new Error(`No such object: ${name}`);
          return [data];
        },
        async save(data) {
          objects.set(name, Buffer.from(data));
        },
      };
    },
    async getFiles({ prefix }) {
      return [[...objects.keys()].filter((k) => k.startsWith(prefix)).map((name) => ({ name }))];
    },
    async upload(localPath, { destination }) {
      if (opts.failUpload?.(destination))
        throw new Error(`upload of ${destination} failed: 503 Service Unavailable`);
      const data = readFileSync(localPath);
      objects.set(destination, data);
      uploads.set(destination, data);
    },
    async deleteFiles({ prefix }) {
      for (const k of [...objects.keys()]) if (k.startsWith(prefix)) objects.delete(k);
    },
  };
}
