import { readFileSync } from "node:fs";
import type { GcsBucketLike } from "../gcs-lake.ts";

/**
 * An in-memory bucket with the method shapes of @google-cloud/storage's Bucket that GcsLake uses
 * (no preconditions: the lake writes whole objects and needs none; see fake-gcs.ts for those).
 */
export function memoryBucket(): GcsBucketLike & { objects: Map<string, Buffer> } {
  const objects = new Map<string, Buffer>();
  return {
    objects,
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
        async delete() {
          objects.delete(name);
        },
      };
    },
    async getFiles({ prefix }) {
      return [[...objects.keys()].filter((k) => k.startsWith(prefix)).map((name) => ({ name }))];
    },
    async upload(localPath, { destination }) {
      objects.set(destination, readFileSync(localPath));
    },
    async deleteFiles({ prefix }) {
      for (const k of [...objects.keys()]) if (k.startsWith(prefix)) objects.delete(k);
    },
  };
}
