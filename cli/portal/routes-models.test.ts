import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { churnTrainingPipeline } from "../../mlops/pipelines/churn-training.ts";
import { openRegistry } from "../../mlops/registry/store.ts";
import { buildServer } from "../../mlops/serving/server.ts";
import { fixtureModelBytes } from "../../mlops/serving/testing/fixture.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import { NotFoundError } from "../../platform/errors.ts";
import { portalAuditFile, portalDeps } from "./index.ts";
import type { LineageDoc, ModelEvaluationDoc, RunDetailDoc } from "./models-data.ts";
import { computeModelEvaluation, trapezoidAuc } from "./models-data.ts";
import { portalRoutes } from "./routes.ts";
import { type ModelsWorkspace, modelsWorkspace } from "./testing/models-fixture.ts";

// The Models and Pipelines views' read endpoints over a workspace built by the real churn-training
// pipeline (two runs, two model versions): curves match the registry's card, lineage reaches the
// delivered raw files, a run comes back as a DAG of the pipeline's definition.

const SERVER_KEY = "server-key-0123456789abcdef";
const VIEWER = "viewer-key-0123456789abcdef";
let ws: ModelsWorkspace;
let server: FastifyInstance;
let close: () => Promise<void>;

const as = (key: string) => ({ authorization: `Bearer ${key}` });
async function get<T>(url: string, key = VIEWER): Promise<T> {
  const r = await server.inject({ url, headers: as(key) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as T;
}

beforeAll(async () => {
  ws = await modelsWorkspace();
  const deps = portalDeps(ws.app, { TELCO_PORTAL_KEYS: `viewer:${VIEWER}` });
  close = deps.close;
  server = await buildServer(ws.app, {
    apiKeys: [SERVER_KEY],
    plugins: [portalRoutes(deps)], // its console routes include the Models and Pipelines reads
    accessLog: { log: { info() {} }, flush() {}, close() {} } as never,
  });
}, 180_000);
afterAll(async () => {
  await server?.close();
  await close?.();
  await ws?.cleanup();
});

describe("model evaluation curves", () => {
  it("recomputes each version's ROC on the card's evaluation rows: monotonic, same AUC as the registry", async () => {
    const registry = openRegistry(ws.app);
    const versions = await registry.listVersions("churn");
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
    for (const v of versions) {
      const e = await get<ModelEvaluationDoc>(`/v1/portal/models/churn/versions/${v.version}/evaluation`);
      expect(e.matches_card).toBe(true);
      expect(e.evaluation_dataset).toEqual(v.card.evaluationDataset);
      expect(e.thinned).toBe(false);
      expect(e.roc[0]).toMatchObject({ fpr: 0, tpr: 0 });
      expect(e.roc.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
      for (let i = 1; i < e.roc.length; i++) {
        expect(e.roc[i].fpr).toBeGreaterThanOrEqual(e.roc[i - 1].fpr);
        expect(e.roc[i].tpr).toBeGreaterThanOrEqual(e.roc[i - 1].tpr);
        if (i > 1) expect(e.roc[i].threshold as number).toBeLessThan(e.roc[i - 1].threshold as number);
      }
      const stored = v.card.metrics.auc.value;
      expect(Math.abs(trapezoidAuc(e.roc) - stored)).toBeLessThan(1e-6);
      expect(Math.abs(e.auc - stored)).toBeLessThan(1e-12);
      expect(Math.abs(e.average_precision - (v.card.metrics.pr_auc?.value ?? Number.NaN))).toBeLessThan(1e-9);
      // PR recall never decreases; calibration bins and deciles cover every evaluation row.
      for (let i = 1; i < e.pr.length; i++) expect(e.pr[i].recall).toBeGreaterThanOrEqual(e.pr[i - 1].recall);
      expect(e.calibration.reduce((s, b) => s + b.rows, 0)).toBe(e.rows);
      expect(e.lift.map((d) => d.decile)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(e.lift.reduce((s, d) => s + d.rows, 0)).toBe(e.rows);
      expect(e.lift.at(-1)?.cumulative_gain).toBeCloseTo(1, 12);
      // SHAP summary: features of the model, largest mean |contribution| first.
      const names = new Set(v.card.features?.map((f) => f.name));
      expect(e.shap?.features.length).toBeGreaterThan(5);
      for (const f of e.shap?.features ?? []) expect(names.has(f.feature)).toBe(true);
      const means = e.shap?.features.map((f) => f.mean_abs) ?? [];
      expect(means).toEqual([...means].sort((a, b) => b - a));
      expect(means[0]).toBeGreaterThan(0);
    }
    // Same data, same seed: both learners were evaluated on the same held-out rows, with different scores.
    const [a, b] = await Promise.all(
      [1, 2].map((n) => get<ModelEvaluationDoc>(`/v1/portal/models/churn/versions/${n}/evaluation`)),
    );
    expect(a.evaluation_dataset).toEqual(b.evaluation_dataset);
    expect(a.rows).toBe(b.rows);
    expect(a.auc).not.toBe(b.auc);
    const sha = (await registry.getVersion("churn", 1)).artifact.sha256.slice(0, 16);
    expect(existsSync(join(ws.app.paths.home, "cache", "model-curves", "churn", `v1-${sha}.json`))).toBe(
      true,
    );
  }, 60_000);

  it("says when the rows are not the card's (a card from other data) and does not cache that", async () => {
    const registry = openRegistry(ws.app);
    const v1 = await registry.getVersion("churn", 1);
    const v3 = await registry.register({
      name: "churn",
      format: v1.format,
      artifact: await registry.readArtifact(v1),
      card: { ...v1.card, evaluationDataset: { name: "synthetic/test", version: "0000000000000000" } },
    });
    const e = await get<ModelEvaluationDoc>(`/v1/portal/models/churn/versions/${v3.version}/evaluation`);
    expect(e.matches_card).toBe(false);
    expect(e.card_evaluation_dataset?.version).toBe("0000000000000000");
    // Same model, the current data's held-out rows with the configured seed: v1's rows and AUC.
    expect(e.evaluation_dataset).toEqual(v1.card.evaluationDataset);
    expect(Math.abs(e.auc - v1.card.metrics.auc.value)).toBeLessThan(1e-12);
    const sha = v3.artifact.sha256.slice(0, 16);
    expect(
      existsSync(join(ws.app.paths.home, "cache", "model-curves", "churn", `v${v3.version}-${sha}.json`)),
    ).toBe(false);
    // A version whose card names no dataset: a clear refusal, not a crash.
    const bare = await registry.register({
      name: "churn",
      format: v1.format,
      artifact: await registry.readArtifact(v1),
      card: { metrics: v1.card.metrics },
    });
    const r = await server.inject({
      url: `/v1/portal/models/churn/versions/${bare.version}/evaluation`,
      headers: as(VIEWER),
    });
    expect(r.statusCode).toBe(409);
    expect(r.json().error.message).toMatch(/names no training or evaluation dataset/);
    const l = await get<LineageDoc>(`/v1/portal/models/churn/versions/${bare.version}/lineage`);
    expect(l.note).toMatch(/no training dataset/);
    expect(l.raw_files).toEqual([]);
  });

  it("answers 404 for an unknown version, 400 for a bad one, 401 without a key", async () => {
    expect(
      (await server.inject({ url: "/v1/portal/models/churn/versions/9/evaluation", headers: as(VIEWER) }))
        .statusCode,
    ).toBe(404);
    expect(
      (await server.inject({ url: "/v1/portal/models/churn/versions/x/evaluation", headers: as(VIEWER) }))
        .statusCode,
    ).toBe(400);
    const anon = await server.inject({ url: "/v1/portal/models/churn/versions/1/lineage" });
    expect(anon.statusCode).toBe(401);
  });
});

describe("lineage", () => {
  it("walks from a version back to the raw files that were ingested", async () => {
    const l = await get<LineageDoc>("/v1/portal/models/churn/versions/1/lineage");
    expect(l.pipeline_run?.run_id).toBe(ws.runs[0].run_id);
    expect(l.training_run_id).toMatch(/\S/);
    expect(l.training_dataset?.table).toBe("gold.synthetic_training");
    expect(l.datasets[0].ref).toBe(`gold.synthetic_training@${l.training_dataset?.version}`);
    expect(
      l.datasets.filter((d) => !["gold", "silver", "bronze", "raw"].includes(d.layer)).map((d) => d.ref),
    ).toEqual([]);
    expect(new Set(l.datasets.map((d) => d.layer))).toEqual(new Set(["gold", "silver", "bronze", "raw"]));
    expect(l.raw_files.map((f) => f.delivered_as).sort()).toEqual(ws.deliveredFiles);
    expect(l.batches).toHaveLength(1);
    expect(new Set(l.raw_files.map((f) => f.batch_id))).toEqual(new Set([l.batches[0].batch_id]));
    // Every raw file is a leaf of the dataset graph (a raw dataset version), and every parent is listed.
    const refs = new Set(l.datasets.map((d) => d.ref));
    for (const d of l.datasets) for (const p of d.parents) expect(refs.has(p)).toBe(true);
    const rawTables = new Set(l.datasets.filter((d) => d.layer === "raw").map((d) => d.table));
    for (const f of l.raw_files) expect(rawTables.has(f.lake_key)).toBe(true);
    // The second version came from the second run, on the same delivery.
    const l2 = await get<LineageDoc>("/v1/portal/models/churn/versions/2/lineage");
    expect(l2.pipeline_run?.run_id).toBe(ws.runs[1].run_id);
    expect(l2.raw_files.map((f) => f.lake_key)).toEqual(l.raw_files.map((f) => f.lake_key));
  });
});

describe("pipeline run as a DAG", () => {
  it("returns the steps with the definition's edges, cache hits and log lines", async () => {
    const run = ws.runs[1];
    const d = await get<RunDetailDoc>(`/v1/portal/pipelines/runs/${run.run_id}`);
    const def = churnTrainingPipeline();
    expect(d.run).toMatchObject({ run_id: run.run_id, pipeline: "churn-training", status: "succeeded" });
    expect(d.edges_from).toBe("definition");
    expect(d.steps.map((s) => s.name)).toEqual(def.order);
    const want = def.order.flatMap((t) => (def.upstream[t] ?? []).map((u) => `${u}>${t}`)).sort();
    expect(d.edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual(want);
    expect(d.edges).toContainEqual({ from: "ingest", to: "validate" });
    // Same delivery: the second run's ingest is a cache hit from the first run.
    const ingest = d.steps.find((s) => s.name === "ingest");
    expect(ingest?.cached).toBe(true);
    expect(ingest?.cache_source).toBe(ws.runs[0].run_id);
    expect(ingest?.log.some((l) => l.startsWith("cache hit"))).toBe(true);
    const train = d.steps.find((s) => s.name === "train");
    expect(train?.cached).toBe(false);
    expect(train?.log.at(-1)).toMatch(/succeeded in \d+\.\d\d s$/);
    // The step's own ctx.log lines, as the runner stored them, inside the record's lines.
    const auc = train?.step_log.find((l) => /^run \S+: test AUC \d\.\d{4}$/.test(l.message));
    expect(auc).toMatchObject({ attempt: 1, level: null });
    expect(train?.log).toContain(`${auc?.at} ${auc?.message}`);
    expect(ingest?.step_log).toEqual([]); // a cache hit executes nothing
    const first = await get<RunDetailDoc>(`/v1/portal/pipelines/runs/${ws.runs[0].run_id}`);
    expect(first.steps.find((s) => s.name === "ingest")?.step_log.map((l) => l.message)).toContainEqual(
      expect.stringMatching(/^ingested \d+ rows, \d+ rejects$/),
    );
    expect(train?.artifacts.some((a) => a.direction === "output" && a.name === "model")).toBe(true);
    expect(
      (await server.inject({ url: "/v1/portal/pipelines/runs/no-such-run", headers: as(VIEWER) })).statusCode,
    ).toBe(404);
    expect(
      (await server.inject({ url: "/v1/portal/pipelines/runs/..%2Fx", headers: as(VIEWER) })).statusCode,
    ).toBe(400);
  });
});

describe("OpenAPI and audit", () => {
  it("declares the endpoints with bearer auth and audits each read with the caller's role", async () => {
    const doc = (await server.inject({ url: "/openapi.json" })).json() as {
      paths: Record<string, { get?: { security?: unknown[]; tags?: string[] } }>;
    };
    for (const p of [
      "/v1/portal/models/{name}/versions/{version}/evaluation",
      "/v1/portal/models/{name}/versions/{version}/lineage",
      "/v1/portal/pipelines/runs/{id}",
    ]) {
      expect(doc.paths[p]?.get?.security).toEqual([{ bearerAuth: [] }]);
      expect(doc.paths[p]?.get?.tags).toEqual(["portal"]);
    }
    const lines = readFileSync(portalAuditFile(ws.app), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      lines.some(
        (a) =>
          a.role === "viewer" && a.url === "/v1/portal/models/churn/versions/1/lineage" && a.status === 200,
      ),
    ).toBe(true);
    expect(
      lines.some(
        (a) => a.role === null && a.url === "/v1/portal/models/churn/versions/1/lineage" && a.status === 401,
      ),
    ).toBe(true);
  });
});

describe("a workspace without a warehouse", () => {
  it("answers not found (naming the warehouse), not an internal error", async () => {
    const home = mkdtempSync(join(tmpdir(), "telco-portal-nowh-"));
    const app = contextFromConfig(configSchema.parse({}), join(home, ".telco"));
    try {
      const registry = openRegistry(app);
      await registry.register({
        name: "churn",
        format: "telco-gbdt",
        artifact: await fixtureModelBytes(7, 5),
        card: {
          metrics: { auc: { value: 0.7 } },
          trainingDataset: { name: "synthetic", version: "abc" },
          evaluationDataset: { name: "synthetic/test", version: "def" },
        },
      });
      const err = await computeModelEvaluation(app, registry, "churn", 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toMatch(/warehouse/);
      expect(existsSync(app.paths.warehouse)).toBe(false);
    } finally {
      await app.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
