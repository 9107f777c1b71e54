import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { moduleRegistrars } from "../../cli/main.ts";
import { GcsLake } from "../../platform/adapters/gcp/gcs-lake.ts";
import { type FakeGcs, startFakeGcs } from "../../platform/adapters/gcp/testing/fake-gcs.ts";
import { memoryBucket } from "../../platform/adapters/gcp/testing/memory-bucket.ts";
import { DuckDbWarehouse } from "../../platform/adapters/local/duckdb-warehouse.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { type AppContext, contextFromConfig } from "../../platform/context.ts";
import type { Warehouse } from "../../platform/ports/warehouse.ts";
import { runMonitor } from "../monitoring/monitor.ts";
import { PredictionLogWriter } from "../monitoring/prediction-log.ts";
import { buildReferenceProfile } from "../monitoring/reference-profile.ts";
import { loadReferenceProfile, writeReferenceProfile } from "../monitoring/reference-store.ts";
import { FIXTURE_SPECS, fixtureModelBytes, fixtureRows } from "../serving/testing/fixture.ts";
import { datasetFromRows } from "../training/dataset.ts";
import { artifactFile } from "./artifact-file.ts";
import { loadModelVersion } from "./model-loader.ts";
import { promoteIfBetter } from "./policy.ts";
import { openRegistry } from "./store.ts";
import { cliHarness } from "./testing/cli-harness.ts";
import { identityOnnxModel } from "./testing/onnx-fixture.ts";

/**
 * A fresh workspace under the gcp profile, end to end with fakes: the composition root's registry
 * (app.registry(), pointed at a fake Cloud Storage JSON API through STORAGE_EMULATOR_HOST) takes a
 * registration, the promotion gate moves champion, and `runMonitor` reads the version's reference
 * profile back from the bucket. The lake is GcsLake over an in-memory bucket; the warehouse is an
 * empty DuckDB (no labels yet). Nothing of the registry lands in the workspace folder.
 */
const today = new Date().toISOString().slice(0, 10);
let gcs: FakeGcs;
let home: string;
let app: AppContext;
let wh: Warehouse;
const savedEmulator = process.env.STORAGE_EMULATOR_HOST;

beforeAll(async () => {
  gcs = await startFakeGcs({ bucket: "acme-ml" });
  process.env.STORAGE_EMULATOR_HOST = gcs.url;
  home = mkdtempSync(join(tmpdir(), "telco-gcp-registry-"));
  const base = contextFromConfig(
    configSchema.parse({ profile: "gcp", gcp: { project: "acme", bucket: "gs://acme-ml" } }),
    home,
  );
  const lake = new GcsLake({ bucket: "gs://acme-ml", prefix: "lake", client: memoryBucket() });
  wh = await DuckDbWarehouse.open(join(home, "empty.duckdb"));
  app = { ...base, lake: () => lake, warehouse: async () => wh };
});

afterAll(async () => {
  await wh?.close();
  await gcs?.close();
  if (savedEmulator === undefined) delete process.env.STORAGE_EMULATOR_HOST;
  else process.env.STORAGE_EMULATOR_HOST = savedEmulator;
  rmSync(home, { recursive: true, force: true });
});

describe("gcp profile: the registry in Cloud Storage, register → promote → monitor", () => {
  it("monitors a promoted version against the reference profile stored in the bucket", async () => {
    const registry = openRegistry(app);
    const v1 = await registry.register({
      name: "churn",
      format: "telco-gbdt",
      artifact: await fixtureModelBytes(7),
      card: { metrics: { auc: { value: 0.7 } }, features: FIXTURE_SPECS.map((f) => ({ name: f.name })) },
    });
    expect(v1.version).toBe(1);
    const decision = await promoteIfBetter(registry, {
      name: "churn",
      version: 1,
      policy: app.config.registry.promotion,
    });
    expect(decision.promote).toBe(true);
    expect(await registry.aliases("churn")).toEqual({ champion: 1 });

    // The champion's artifact comes back from the bucket, verified, and scores.
    const loaded = await loadModelVersion(registry, await registry.resolve("churn@champion"));
    const refRows = fixtureRows(600, 3);
    const ref = datasetFromRows(refRows, FIXTURE_SPECS);
    const where = await writeReferenceProfile(
      registry,
      "churn",
      1,
      buildReferenceProfile(ref, loaded.model.predictProba(ref), { bins: 5 }),
    );
    expect(where).toBe("gs://acme-ml/registry/models/churn/versions/1/reference-profile.json");

    // Served predictions of v1 after a price increase of 60 BRL.
    const cur = fixtureRows(400, 5, 60);
    const scores = loaded.model.predictProba(datasetFromRows(cur, FIXTURE_SPECS));
    const writer = new PredictionLogWriter(app.lake(), { writerId: "t" });
    cur.forEach((row, i) => {
      writer.append({
        prediction_id: `p${i}`,
        ts: `${today}T10:00:00.000Z`,
        source: "online",
        model_name: "churn",
        model_version: "1",
        customer_id: String(row.customer_id),
        features: Object.fromEntries(FIXTURE_SPECS.map((f) => [f.name, row[f.name] as number | string])),
        probability: scores[i] as number,
        risk_band: "low",
        latency_ms: 1,
      });
    });
    await writer.close();

    const reads = gcs.log.length;
    const report = join(home, "report.html");
    const result = await runMonitor(app, { window: "1d", until: today, report, dryRun: true });
    // The profile was read from the bucket by this run…
    expect(
      gcs.log
        .slice(reads)
        .filter(
          (l) => l.kind === "media" && l.name === "registry/models/churn/versions/1/reference-profile.json",
        )
        .map((l) => l.status),
    ).toEqual([200]);
    // …and the drift it shows is the price increase.
    expect(result.drift).toBe(true);
    expect(JSON.stringify(result)).toContain("monthly_price_brl");
    expect(readFileSync(report, "utf8")).toContain("churn@1");
    expect((await loadReferenceProfile(registry, "churn", 1)).nRows).toBe(600);

    // The registry is in the bucket only: versions, artifact, alias document, audit, profile.
    expect(existsSync(join(home, "registry"))).toBe(false);
    expect([...gcs.objects.keys()].filter((k) => !k.includes("/artifacts/")).sort()).toEqual([
      "registry/models/churn/aliases.json",
      "registry/models/churn/audit/0000000001.json",
      "registry/models/churn/versions/1/model.json",
      "registry/models/churn/versions/1/reference-profile.json",
    ]);
    expect((await registry.audit("churn")).map((e) => [e.alias, e.to])).toEqual([["champion", 1]]);

    // `models mirror` / `models deploy` hand the upload a local file: the verified bytes, copied once.
    const file = await artifactFile(registry, v1, home);
    expect(file).toBe(join(home, "tmp", "artifacts", "churn", "v1", "artifact.json"));
    expect(readFileSync(file)).toEqual(Buffer.from(await fixtureModelBytes(7)));
  }, 120_000);

  it("telco models register/promote/list/audit/mirror under TELCO_PROFILE=gcp keep the registry in the bucket", async () => {
    const { home: cliHome, telco } = cliHarness(await moduleRegistrars(["registry"]));
    const env = {
      USER: "ana",
      TELCO_PROFILE: "gcp",
      TELCO_GCP__PROJECT: "acme",
      TELCO_GCP__BUCKET: "cli-ml",
    };
    const file = join(cliHome, "m.onnx");
    writeFileSync(file, identityOnnxModel());
    const run = (args: string[]) => telco(args, env);
    const bucket = await startFakeGcs({ bucket: "cli-ml" });
    const saved = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = bucket.url;
    try {
      for (const auc of ["0.8", "0.7"])
        expect(
          (await run(["models", "register", file, "--name", "churn", "--metrics", `{"auc":${auc}}`])).status,
        ).toBe(0);
      expect((await run(["models", "promote", "churn", "1"])).json).toMatchObject({ applied: true });
      const listed = await run(["models", "list"]);
      expect(listed.status).toBe(0);
      expect(JSON.stringify(listed.json)).toContain("champion");
      const audit = await run(["models", "audit", "churn"]);
      expect(JSON.stringify(audit.json)).toContain('"by":"ana"');
      const mirror = await run([
        "models",
        "mirror",
        "churn@champion",
        "--dry-run",
        "--serving-image",
        "img:1",
      ]);
      expect(mirror.status).toBe(0);
      expect(mirror.json.requests[0].request.source).toBe(
        join(cliHome, ".telco", "tmp", "artifacts", "churn", "v1", "artifact.onnx"),
      );
      expect([...bucket.objects.keys()].filter((k) => k.endsWith("model.json")).sort()).toEqual([
        "registry/models/churn/versions/1/model.json",
        "registry/models/churn/versions/2/model.json",
      ]);
      expect(existsSync(join(cliHome, ".telco", "registry"))).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = saved;
      await bucket.close();
      rmSync(cliHome, { recursive: true, force: true });
    }
  }, 120_000);
});
