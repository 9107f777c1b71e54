import { afterAll, beforeAll } from "vitest";
import { registryContract } from "../../ports/testing/registry.contract.ts";
import { GcsModelRegistry } from "./gcs-model-registry.ts";
import { type FakeGcs, startFakeGcs } from "./testing/fake-gcs.ts";

// The port's shared contract against the Cloud Storage adapter, over HTTP to a fake GCS JSON API
// that honours ifGenerationMatch (platform/adapters/gcp/testing/fake-gcs.ts); never run against
// live Cloud Storage or an emulator.
let gcs: FakeGcs;
let n = 0;
beforeAll(async () => {
  gcs = await startFakeGcs({ bucket: "acme-ml" });
});
afterAll(async () => {
  await gcs.close();
});

registryContract("GcsModelRegistry (fake Cloud Storage JSON API)", async () => {
  // One bucket, a fresh prefix per case: each case starts from an empty registry.
  const prefix = `registry-${++n}`;
  return {
    registry: new GcsModelRegistry({ bucket: "gs://acme-ml", prefix, base: gcs.url }),
    async dispose() {
      for (const k of [...gcs.objects.keys()]) if (k.startsWith(`${prefix}/`)) gcs.objects.delete(k);
    },
  };
});
