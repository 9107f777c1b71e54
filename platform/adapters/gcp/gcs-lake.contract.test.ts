import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Storage } from "@google-cloud/storage";
import { afterAll, beforeAll } from "vitest";
import { lakeContract } from "../../ports/testing/lake.contract.ts";
import { type GcsBucketLike, GcsLake } from "./gcs-lake.ts";
import { type FakeGcs, startFakeGcs } from "./testing/fake-gcs.ts";

// The port's shared contract against the Cloud Storage lake, through the real @google-cloud/storage
// client (its multipart and resumable uploads, media downloads, paged lists and deletes) over HTTP to
// a fake GCS JSON API written from the REST reference (platform/adapters/gcp/testing/fake-gcs.ts,
// pages of 3 items); never run against live Cloud Storage or an emulator.
let gcs: FakeGcs;
let n = 0;
beforeAll(async () => {
  gcs = await startFakeGcs({ bucket: "acme-lake" });
});
afterAll(async () => {
  await gcs.close();
});

lakeContract("GcsLake (@google-cloud/storage against a fake Cloud Storage JSON API)", async () => {
  // One bucket, a fresh lake prefix per case: each case starts from an empty lake.
  const prefix = `lake-${++n}`;
  const scratch = mkdtempSync(join(tmpdir(), "telco-gcs-lake-contract-"));
  const bucket = new Storage({
    apiEndpoint: gcs.url,
    projectId: "acme",
    retryOptions: { autoRetry: false },
  }).bucket("acme-lake") as unknown as GcsBucketLike;
  return {
    lake: new GcsLake({ bucket: "gs://acme-lake", prefix, client: bucket }),
    scratch,
    async dispose() {
      for (const k of [...gcs.objects.keys()]) if (k.startsWith(`${prefix}/`)) gcs.objects.delete(k);
      rmSync(scratch, { recursive: true, force: true });
    },
  };
});

// The same contract on the lake the composition root builds (no client passed): the Storage client
// finds the fake through STORAGE_EMULATOR_HOST, as it would an emulator, and then sends `/b/…` paths.
lakeContract("GcsLake (client built from STORAGE_EMULATOR_HOST, against the fake)", async () => {
  const prefix = `emulator-${++n}`;
  const scratch = mkdtempSync(join(tmpdir(), "telco-gcs-lake-contract-"));
  const before = process.env.STORAGE_EMULATOR_HOST;
  process.env.STORAGE_EMULATOR_HOST = gcs.url;
  return {
    lake: new GcsLake({ bucket: "gs://acme-lake", prefix, project: "acme" }),
    scratch,
    async dispose() {
      if (before === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = before;
      for (const k of [...gcs.objects.keys()]) if (k.startsWith(`${prefix}/`)) gcs.objects.delete(k);
      rmSync(scratch, { recursive: true, force: true });
    },
  };
});
