import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { fakeVertex, pipelineJobBody } from "../../platform/adapters/gcp/testing/fake-vertex.ts";
import { managedRun } from "../../platform/adapters/gcp/vertex-pipelines.ts";
import { registryConfigSchema } from "../../platform/config/sections/registry.ts";
import type { ModelVersion } from "../../platform/ports/registry.ts";
import { evaluatePromotion } from "../registry/policy.ts";
import { cliHarness } from "../registry/testing/cli-harness.ts";
import { registerPipeline } from "./catalog.ts";
import { registerPipelineCommands, renderRun, renderStepLog, renderVertexRuns } from "./cli.ts";
import { definePipeline, defineStep, param, task } from "./dsl.ts";

const repo = join(import.meta.dirname, "..", "..");

/** The real binary, once: proves the command is wired into cli/main.ts. */
function spawnTelco(home: string, args: string[]) {
  const r = spawnSync(process.execPath, [join(repo, "bin/telco.ts"), ...args, "--json"], {
    cwd: home,
    env: { ...process.env, TELCO_HOME: join(home, ".telco") },
    encoding: "utf8",
  });
  return { status: r.status, json: r.stdout.trim() ? JSON.parse(r.stdout) : undefined };
}

describe("telco pipeline (CLI)", () => {
  it("runs, caches, lists and shows runs with lineage", async () => {
    const { home, telco } = cliHarness([registerPipelineCommands]);
    const first = spawnTelco(home, ["pipeline", "run", "demo", "--param", "rows=200"]);
    expect(first.status).toBe(0);
    expect(Object.keys(first.json).sort()).toEqual(["run_id", "status", "steps"]);
    expect(first.json.status).toBe("succeeded");
    expect(first.json.steps.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ["extract", "succeeded"],
      ["profile", "succeeded"],
      ["train", "succeeded"],
      ["evaluate", "succeeded"],
    ]);
    expect(Object.keys(first.json.steps[0]).sort()).toEqual(["duration_ms", "name", "status"]);
    // In-process runs (vitest transforms the source differently from Node, so the first may miss the cache).
    await telco(["pipeline", "run", "demo", "--param", "rows=200"]);
    const second = await telco(["pipeline", "run", "demo", "--param", "rows=200"]);
    expect(second.json.steps.every((s: { status: string }) => s.status === "cached")).toBe(true);

    const show = (await telco(["pipeline", "show", first.json.run_id])).json;
    expect(show.params).toEqual({ rows: 200, seed: 7, work_ms: 0 });
    expect(show.lineage).toContainEqual(
      expect.objectContaining({
        task: "evaluate",
        direction: "input",
        name: "model",
        artifact: expect.objectContaining({ type: "Model" }),
      }),
    );
    const list = (await telco(["pipeline", "list"])).json;
    expect(list).toHaveLength(3);
    expect(list[0].run_id).toBe(second.json.run_id);
    expect(list[2].run_id).toBe(first.json.run_id);
    expect(list[0].cached).toBe(4);

    registerPipeline(
      definePipeline({
        name: "always-fails",
        params: {},
        tasks: {
          boom: task(
            defineStep({
              name: "boom",
              version: "1",
              inputs: {},
              outputs: {},
              run: () => Promise.reject(new Error("no data")),
            }),
            {},
          ),
        },
      }),
      { replace: true },
    );
    const failed = await telco(["pipeline", "run", "always-fails"]);
    expect(failed.status).toBe(1);
    expect(failed.json).toMatchObject({ status: "failed", steps: [{ name: "boom", status: "failed" }] });

    const bad = await telco(["pipeline", "run", "demo", "--param", "rows=lots"]);
    expect(bad.status).toBe(1);
    expect(bad.json.error.message).toMatch(/--param rows/);
  }, 120_000);

  it("show --step and --logs print the lines a step logged, PII masked", async () => {
    const { telco } = cliHarness([registerPipelineCommands]);
    registerPipeline(
      definePipeline({
        name: "talkative",
        params: {},
        tasks: {
          talk: task(
            defineStep({
              name: "talk",
              version: "1",
              inputs: {},
              outputs: { n: param.int() },
              run(_in, ctx) {
                ctx.log("scored 3 customers");
                ctx.log("warning: customer 529.982.247-25 has no plan");
                return { n: 3 };
              },
            }),
            {},
          ),
          quiet: task(
            defineStep({ name: "quiet", version: "1", inputs: {}, outputs: {}, run: () => ({}) }),
            {},
          ),
        },
      }),
      { replace: true },
    );
    const run = await telco(["pipeline", "run", "talkative", "--no-cache"]);
    expect(run.status).toBe(0);
    const one = await telco(["pipeline", "show", run.json.run_id, "--step", "talk"]);
    expect(one.status).toBe(0);
    expect(one.json.step).toMatchObject({ name: "talk", status: "succeeded" });
    expect(one.json.log.map((l: { level: string | null; message: string }) => [l.level, l.message])).toEqual([
      [null, "scored 3 customers"],
      ["warn", "warning: customer ***.***.***-** has no plan"],
    ]);
    const human = renderStepLog(one.json.step, one.json.log);
    expect(human).toContain("scored 3 customers");
    expect(human).toContain("warn warning: customer ***.***.***-** has no plan");
    const all = await telco(["pipeline", "show", run.json.run_id, "--logs"]);
    expect(Object.keys(all.json.logs)).toEqual(["talk"]); // the quiet step logged nothing
    expect(all.json.logs.talk).toEqual(one.json.log);
    expect((await telco(["pipeline", "show", run.json.run_id])).json.logs).toBeUndefined();
    const missing = await telco(["pipeline", "show", run.json.run_id, "--step", "nope"]);
    expect(missing.status).toBe(2);
    expect(missing.json.error.message).toMatch(/--step.*"nope"/);
    expect(missing.json.error.hint).toMatch(/^Steps: (quiet, talk|talk, quiet)\.$/);
  }, 60_000);

  it("compiles, and dry-runs submit and a Vertex schedule", async () => {
    const { home, telco } = cliHarness([registerPipelineCommands]);
    const out = join(home, "demo.json");
    expect(
      (await telco(["pipeline", "compile", "demo", "--target", "vertex", "--image", "img:1", "-o", out]))
        .status,
    ).toBe(0);
    const spec = JSON.parse(readFileSync(out, "utf8"));
    expect(spec.schemaVersion).toBe("2.1.0");
    expect(spec.deploymentSpec.executors["exec-train"].container.image).toBe("img:1");

    const env = {
      TELCO_GCP__PROJECT: "proj",
      TELCO_GCP__BUCKET: "bkt",
      TELCO_GCP__SERVICE_ACCOUNT: "sa@proj.iam.gserviceaccount.com",
    };
    const submit = (
      await telco(
        [
          "pipeline",
          "submit",
          "demo",
          "--target",
          "vertex",
          "--image",
          "img:1",
          "--param",
          "rows=10",
          "--dry-run",
        ],
        env,
      )
    ).json;
    expect(submit.method).toBe("PipelineService.createPipelineJob");
    expect(submit.request).toMatchObject({
      parent: "projects/proj/locations/southamerica-east1",
      pipelineJob: {
        displayName: "demo",
        runtimeConfig: {
          gcsOutputDirectory: "gs://bkt/pipelines",
          parameterValues: { rows: 10, seed: 7, work_ms: 0 },
        },
        serviceAccount: "sa@proj.iam.gserviceaccount.com",
        pipelineSpec: { pipelineInfo: { name: "demo" }, schemaVersion: "2.1.0" },
      },
    });
    const sched = (
      await telco(
        [
          "pipeline",
          "schedule",
          "demo",
          "--cron",
          "0 3 * * 1",
          "--target",
          "vertex",
          "--image",
          "img:1",
          "--dry-run",
        ],
        env,
      )
    ).json;
    expect(sched.request.schedule).toMatchObject({
      cron: "0 3 * * 1",
      createPipelineJobRequest: { parent: "projects/proj/locations/southamerica-east1" },
    });
    const onGcp = (
      await telco(["pipeline", "schedule", "demo", "--cron", "0 3 * * 1", "--image", "img:1", "--dry-run"], {
        ...env,
        TELCO_PROFILE: "gcp",
      })
    ).json;
    expect(onGcp.method).toBe("ScheduleService.createSchedule");
    const local = (await telco(["pipeline", "schedule", "demo", "--cron", "* * * * * *", "--max-runs", "1"]))
      .json;
    expect(local.runs).toHaveLength(1);
    expect(local.runs[0].status).toBe("succeeded");
    const badCron = await telco(["pipeline", "schedule", "demo", "--cron", "every monday"]);
    expect(badCron.status).toBe(2);
    const noImage = await telco(["pipeline", "submit", "demo", "--dry-run"], env);
    expect(noImage.json.error.message).toMatch(/container image/);
  }, 120_000);
});

describe("pipeline run shows the promotion gate's decision", () => {
  it("a refused candidate is reported with its failed checks, not just 'succeeded'", async () => {
    const version = (v: number, auc: number, evalVersion: string) =>
      ({
        name: "churn",
        version: v,
        format: "telco-gbdt",
        card: {
          metrics: { auc: { value: auc } },
          evaluationDataset: { name: "synthetic/test", version: evalVersion },
        },
      }) as unknown as ModelVersion;
    const policy = registryConfigSchema.parse({}).promotion;
    registerPipeline(
      definePipeline({
        name: "gate-refuses",
        params: {},
        tasks: {
          gate: task(
            defineStep({
              name: "promotion-gate",
              version: "1",
              inputs: {},
              outputs: { decision: param.struct() },
              cache: false,
              run: async () => ({
                decision: evaluatePromotion(
                  version(1, 0.8, "e1"),
                  version(2, 0.81, "e2"),
                  policy,
                ) as unknown as Record<string, unknown>,
              }),
            }),
            {},
          ),
        },
      }),
      { replace: true },
    );
    const { telco } = cliHarness([registerPipelineCommands]);
    const run = await telco(["pipeline", "run", "gate-refuses"]);
    expect(run.status).toBe(0);
    expect(run.json.steps).toEqual([expect.objectContaining({ name: "gate", status: "succeeded" })]);
    expect(run.json.decisions).toEqual([
      {
        step: "gate",
        model: "churn",
        alias: "champion",
        challenger: 2,
        champion: 1,
        promoted: false,
        forced: false,
        failed: [{ check: "same-evaluation-set", detail: expect.stringMatching(/synthetic\/test@e1/) }],
      },
    ]);
    const text = renderRun({
      run_id: "r1",
      pipeline: "gate-refuses",
      status: "succeeded",
      duration_ms: 1,
      params: {},
      steps: [
        {
          name: "gate",
          step: "promotion-gate",
          status: "succeeded",
          duration_ms: 1,
          attempts: 1,
          outputs: {
            decision: evaluatePromotion(
              version(1, 0.8, "e1"),
              version(2, 0.79, "e1"),
              policy,
            ) as unknown as Record<string, unknown>,
          },
        },
      ],
    });
    expect(text).toMatch(/gate: churn v2 .*refused.* champion stays v1 \(1 check failed\)/);
    expect(text).toMatch(/✗ primary:auc: auc 0\.7900 vs 0\.8000/);
  }, 60_000);
});

describe("telco pipeline submit/schedule --target vertex (fake Vertex REST API, answers hand-written from the REST reference)", () => {
  it("sends the body --dry-run prints, prints the job and schedule names and states, and a refusal names the field", async () => {
    const PARENT = "projects/aurora-ml/locations/southamerica-east1";
    const env = {
      TELCO_GCP__PROJECT: "aurora-ml",
      TELCO_GCP__REGION: "southamerica-east1",
      TELCO_GCP__BUCKET: "aurora-lake",
      GOOGLE_OAUTH_ACCESS_TOKEN: "test-token",
    };
    const { telco } = cliHarness([registerPipelineCommands]);
    const submitArgs = [
      "pipeline",
      "submit",
      "demo",
      "--target",
      "vertex",
      "--image",
      "img:1",
      "--param",
      "rows=10",
    ];
    const dry = (await telco([...submitArgs, "--dry-run"], env)).json;
    const schedArgs = [
      "pipeline",
      "schedule",
      "demo",
      "--cron",
      "0 3 * * 1",
      "--target",
      "vertex",
      "--image",
      "img:1",
    ];
    const dryS = (await telco([...schedArgs, "--dry-run"], env)).json;
    const jobPath = new RegExp(`^/v1/${PARENT}/pipelineJobs\\?pipelineJobId=demo-\\d{14}$`);
    // PipelineJob / Schedule as the create methods answer them (REST reference), states PENDING / ACTIVE.
    const fake = await fakeVertex([
      {
        method: "POST",
        path: jobPath,
        body: pipelineJobBody({
          parent: PARENT,
          id: "demo-20261207100000",
          pipeline: "demo",
          state: "PIPELINE_STATE_PENDING",
          created: "2026-12-07T10:00:00Z",
          withDetail: false,
        }),
      },
      {
        method: "POST",
        path: `/v1/${PARENT}/schedules`,
        body: {
          ...dryS.request.schedule,
          name: `${PARENT}/schedules/77`,
          state: "ACTIVE",
          nextRunTime: "2026-12-14T03:00:00Z",
        },
      },
      {
        method: "POST",
        path: jobPath,
        status: 400,
        body: {
          error: {
            code: 400,
            status: "INVALID_ARGUMENT",
            message: "Invalid value at 'pipeline_job.service_account'",
            details: [
              {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                fieldViolations: [{ field: "pipeline_job.service_account", description: "Invalid value" }],
              },
            ],
          },
        },
      },
    ]);
    try {
      const sent = await telco(submitArgs, { ...env, VERTEX_API_ENDPOINT: fake.url });
      expect(sent.status).toBe(0);
      expect(sent.json).toEqual({
        dryRun: false,
        job: {
          name: `${PARENT}/pipelineJobs/demo-20261207100000`,
          state: "PIPELINE_STATE_PENDING",
          displayName: "demo",
          createTime: "2026-12-07T10:00:00Z",
        },
      });
      const sched = await telco(schedArgs, { ...env, VERTEX_API_ENDPOINT: fake.url });
      expect(sched.status).toBe(0);
      expect(sched.json.schedule).toMatchObject({ name: `${PARENT}/schedules/77`, state: "ACTIVE" });
      const refused = await telco(submitArgs, { ...env, VERTEX_API_ENDPOINT: fake.url });
      expect(refused.status).toBe(1);
      expect(refused.json.error.message).toMatch(
        /400 INVALID_ARGUMENT: .*field pipeline_job\.service_account/,
      );
      expect(fake.unexpected).toEqual([]);
      // What was sent is what --dry-run printed: the pipelineJob / schedule as the body.
      expect(JSON.parse(fake.received[0].body)).toEqual(dry.request.pipelineJob);
      expect(JSON.parse(fake.received[1].body)).toEqual(dryS.request.schedule);
      expect(fake.received.every((r) => r.authorization === "Bearer test-token")).toBe(true);
    } finally {
      await fake.close();
    }
  }, 60_000);
});

describe("telco pipeline list/show --target vertex (fake Vertex REST API, answers hand-written from the REST reference)", () => {
  it("prints Vertex AI pipeline jobs with state, times and task states, as JSON and for a person", async () => {
    const PARENT = "projects/aurora-ml/locations/southamerica-east1";
    const job = pipelineJobBody({
      parent: PARENT,
      id: "demo-20261207100000",
      pipeline: "demo",
      state: "PIPELINE_STATE_RUNNING",
      created: "2026-12-07T10:00:00Z",
      started: "2026-12-07T10:00:05Z",
      tasks: [
        {
          name: "extract",
          state: "SUCCEEDED",
          started: "2026-12-07T10:00:10Z",
          ended: "2026-12-07T10:00:40Z",
        },
        { name: "train", state: "RUNNING", started: "2026-12-07T10:00:41Z" },
      ],
    });
    const fake = await fakeVertex([
      {
        method: "GET",
        path: `/v1/${PARENT}/pipelineJobs?pageSize=3&orderBy=create_time+desc&filter=display_name%3D%22demo%22`,
        body: { pipelineJobs: [job] },
      },
      { method: "GET", path: `/v1/${PARENT}/pipelineJobs/demo-20261207100000`, body: job },
      {
        method: "GET",
        path: `/v1/${PARENT}/pipelineJobs/gone`,
        status: 404,
        body: { error: { code: 404, message: "not found", status: "NOT_FOUND" } },
      },
    ]);
    const env = {
      TELCO_GCP__PROJECT: "aurora-ml",
      TELCO_GCP__REGION: "southamerica-east1",
      VERTEX_API_ENDPOINT: fake.url,
      GOOGLE_OAUTH_ACCESS_TOKEN: "test-token",
    };
    try {
      const { telco } = cliHarness([registerPipelineCommands]);
      const list = await telco(
        ["pipeline", "list", "--target", "vertex", "--pipeline", "demo", "--limit", "3"],
        env,
      );
      expect(list.status).toBe(0);
      expect(list.json).toEqual([
        {
          source: "vertex",
          run_id: "demo-20261207100000",
          name: `${PARENT}/pipelineJobs/demo-20261207100000`,
          pipeline: "demo",
          status: "running",
          service_state: "PIPELINE_STATE_RUNNING",
          created_at: "2026-12-07T10:00:00Z",
          started_at: "2026-12-07T10:00:05Z",
          finished_at: null,
          tasks: [
            {
              task: "extract",
              state: "succeeded",
              started_at: "2026-12-07T10:00:10Z",
              finished_at: "2026-12-07T10:00:40Z",
            },
            { task: "train", state: "running", started_at: "2026-12-07T10:00:41Z", finished_at: null },
          ],
        },
      ]);
      const show = await telco(["pipeline", "show", "demo-20261207100000", "--target", "vertex"], env);
      expect(show.json).toEqual(list.json[0]);
      const gone = await telco(["pipeline", "show", "gone", "--target", "vertex"], env);
      expect(gone.status).toBe(1);
      const bad = await telco(["pipeline", "list", "--target", "moon"], env);
      expect(bad.status).toBe(2);
      expect(fake.unexpected).toEqual([]);
      expect(fake.received.every((r) => r.authorization === "Bearer test-token")).toBe(true);
    } finally {
      await fake.close();
    }
    const text = stripVTControlCharacters(renderVertexRuns([managedRun(job)]));
    expect(text.split("\n")).toEqual([
      "demo-20261207100000  running    demo  created 2026-12-07T10:00:00Z  since 2026-12-07T10:00:05Z",
      "    succeeded     extract          30 s",
      "    running       train            since 2026-12-07T10:00:41Z",
    ]);
    expect(renderVertexRuns([])).toMatch(/no Vertex AI pipeline jobs/);
  });
});
