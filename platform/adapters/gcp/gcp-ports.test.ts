import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertNotice } from "../../ports/alert-sink.ts";
import type { ModelVersion } from "../../ports/registry.ts";
import { CloudMonitoringAlertSink } from "./cloud-monitoring-alerts.ts";
import { VertexRegistryMirror } from "./vertex-model-registry.ts";
import { VertexPipelineService } from "./vertex-pipelines.ts";

const LOC = { project: "aurora-prod", region: "southamerica-east1" };

const version: ModelVersion = {
  name: "churn",
  version: 3,
  format: "telco-gbdt",
  createdAt: "2026-12-07T10:00:00.000Z",
  createdBy: "ana",
  artifact: { file: "model.json", bytes: 10, sha256: "ab" },
  card: { metrics: { auc: { value: 0.81234 } }, codeVersion: "f00dbabe12345678" },
  lineage: {},
};

describe("VertexRegistryMirror (registry mirror port)", () => {
  const mirror = new VertexRegistryMirror(LOC);

  it("plans the artifact copy and a model upload carrying the aliases, metrics and serving image", () => {
    const plan = mirror.planVersion({
      version,
      artifactPath: "/ws/registry/models/churn/versions/3/model.json",
      aliases: ["champion", "shadow_v2"],
      modelExists: false,
      artifactPrefix: "gs://bkt/models/",
      servingImage: "southamerica-east1-docker.pkg.dev/aurora-prod/telco/telco:1",
    });
    expect(plan.map((c) => c.method)).toEqual(["storage.upload", "ModelService.uploadModel"]);
    expect(plan[0].request).toEqual({
      source: "/ws/registry/models/churn/versions/3/model.json",
      destination: "gs://bkt/models/churn/v3/model.json",
    });
    expect(plan[1].request).toMatchObject({
      parent: "projects/aurora-prod/locations/southamerica-east1",
      modelId: "churn",
      model: {
        displayName: "churn",
        artifactUri: "gs://bkt/models/churn/v3/",
        versionAliases: ["champion", "shadow-v2"],
        versionDescription: "telco churn v3 (telco-gbdt) auc=0.8123",
        containerSpec: { imageUri: "southamerica-east1-docker.pkg.dev/aurora-prod/telco/telco:1" },
        labels: { telco_version: "3", telco_format: "telco-gbdt", code_version: "f00dbabe12345678" },
      },
    });
  });

  it("uploads a new version under parentModel when the model exists, and moves aliases alone", () => {
    const [, upload] = mirror.planVersion({
      version,
      artifactPath: "/x",
      aliases: [],
      modelExists: true,
      artifactPrefix: "gs://bkt/models",
      servingImage: "img",
    });
    expect(upload.request).toMatchObject({
      parentModel: "projects/aurora-prod/locations/southamerica-east1/models/churn",
    });
    expect(upload.request).not.toHaveProperty("modelId");
    expect(mirror.planAliases("churn", "7", ["champion"])).toEqual({
      method: "ModelService.mergeVersionAliases",
      request: {
        name: "projects/aurora-prod/locations/southamerica-east1/models/churn@7",
        versionAliases: ["champion"],
      },
    });
  });
});

describe("VertexPipelineService (pipeline service port)", () => {
  const service = new VertexPipelineService(LOC);
  const spec = {
    pipelineName: "churn-training",
    pipelineSpec: { pipelineInfo: { name: "churn-training" } },
    parameterValues: { seed: 7 },
    outputDirectory: "gs://bkt/pipelines",
  };

  it("plans a run and a schedule as the Vertex requests `--dry-run` prints", () => {
    const run = service.planRun(spec);
    expect(run.method).toBe("PipelineService.createPipelineJob");
    expect(run.request).toMatchObject({
      parent: "projects/aurora-prod/locations/southamerica-east1",
      pipelineJob: {
        displayName: "churn-training",
        runtimeConfig: { gcsOutputDirectory: "gs://bkt/pipelines", parameterValues: { seed: 7 } },
        labels: { "telco-pipeline": "churn-training" },
      },
    });
    const schedule = service.planSchedule(spec, "0 3 * * 1", { timeZone: "America/Sao_Paulo" });
    expect(schedule.method).toBe("ScheduleService.createSchedule");
    expect(schedule.request).toMatchObject({
      schedule: { cron: "TZ=America/Sao_Paulo 0 3 * * 1", maxConcurrentRunCount: 1 },
    });
  });

  it("refuses to execute a call it did not plan", async () => {
    await expect(service.execute({ method: "Nope.create", request: {} })).rejects.toThrow(/Nope\.create/);
  });
});

describe("CloudMonitoringAlertSink (alert sink port) against a fake Cloud Monitoring API", () => {
  let server: Server;
  let endpoint: string;
  const received: { url: string; authorization?: string; body: unknown }[] = [];
  let status = 200;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        received.push({
          url: req.url ?? "",
          authorization: req.headers.authorization,
          body: JSON.parse(body),
        });
        res
          .writeHead(status, { "content-type": "application/json" })
          .end(status === 200 ? "{}" : '{"error":{}}');
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const alert: AlertNotice = {
    rule: "feature-drift",
    when: "drift",
    severity: "critical",
    message: "2 features drifted",
    model: "churn@3",
    at: "2026-12-07T10:00:00.000Z",
    details: {},
  };

  it("writes one point of the alert metric with a bearer token, and reports HTTP errors", async () => {
    const sink = new CloudMonitoringAlertSink({
      project: "aurora-prod",
      dryRun: false,
      timeoutMs: 2000,
      endpoint,
      accessToken: async () => "token-1",
    });
    expect(await sink.send(alert)).toEqual({ ok: true, status: 200 });
    expect(received[0]).toMatchObject({
      url: "/v3/projects/aurora-prod/timeSeries",
      authorization: "Bearer token-1",
      body: {
        timeSeries: [
          {
            metric: {
              type: "custom.googleapis.com/telco/churn_monitoring_alert",
              labels: { rule: "feature-drift", model: "churn@3", severity: "critical" },
            },
            points: [{ interval: { endTime: "2026-12-07T10:00:00.000Z" }, value: { int64Value: "1" } }],
          },
        ],
      },
    });
    status = 403;
    expect(await sink.send(alert)).toEqual({ ok: false, status: 403, error: "HTTP 403" });
    const noToken = new CloudMonitoringAlertSink({
      project: "aurora-prod",
      dryRun: false,
      timeoutMs: 2000,
      endpoint,
      accessToken: async () => {
        throw new Error("no credentials");
      },
    });
    expect(await noToken.send(alert)).toEqual({ ok: false, error: "no credentials" });
  });
});
