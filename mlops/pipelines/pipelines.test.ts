import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import {
  buildCreatePipelineJobRequest,
  buildCreateScheduleRequest,
} from "../../platform/adapters/gcp/vertex-pipelines.ts";
import { SqlitePipelineMetadata as PipelineMetadata } from "../../platform/adapters/local/sqlite-pipeline-metadata.ts";
import { configSchema } from "../../platform/config/schema.ts";
import { contextFromConfig } from "../../platform/context.ts";
import { openRegistry } from "../registry/store.ts";
import { getPipeline, hasPipeline, registerPipeline } from "./catalog.ts";
import { compilePipeline } from "./compile.ts";
import { artifact, constant, definePipeline, defineStep, fromParam, fromTask, param, task } from "./dsl.ts";
import { runPipeline } from "./runner.ts";
import { nextRun, scheduleLocal } from "./schedule.ts";
import { runStepEntry } from "./step-entry.ts";
import { promotionGateStep, registerModelStep } from "./steps/registry.ts";
import { triggerRetraining } from "./trigger.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "telco-pipe-"));

// Steps used across tests: `source` writes text derived from `content`; `upper` transforms it.
let upperCalls = 0;
const source = defineStep({
  name: "source",
  version: "1",
  inputs: { content: param.string({ default: "hello" }), label: param.string({ default: "x" }) },
  outputs: { data: artifact.dataset(), length: param.int() },
  run({ content }, ctx) {
    writeFileSync(ctx.outputs.data.path, content);
    return { length: content.length };
  },
});
const upper = defineStep({
  name: "upper",
  version: "1",
  inputs: { data: artifact.dataset(), suffix: param.string({ default: "" }) },
  outputs: { out: artifact.dataset() },
  run({ data, suffix }, ctx) {
    upperCalls++;
    writeFileSync(ctx.outputs.out.path, readFileSync(data.path, "utf8").toUpperCase() + suffix);
    return {};
  },
});
const chain = (upperStep = upper) =>
  definePipeline({
    name: "chain",
    params: {
      content: param.string({ default: "hello" }),
      label: param.string({ default: "x" }),
      suffix: param.string({ default: "" }),
    },
    tasks: {
      source: task(source, { content: fromParam("content"), label: fromParam("label") }),
      upper: task(upperStep, { data: fromTask("source", "data"), suffix: fromParam("suffix") }),
    },
  });
const statuses = (r: { steps: { name: string; status: string }[] }) =>
  Object.fromEntries(r.steps.map((s) => [s.name, s.status]));

describe("pipeline definition", () => {
  const noop = defineStep({
    name: "noop",
    version: "1",
    inputs: { x: param.int({ default: 1 }) },
    outputs: { n: param.int() },
    run: () => ({ n: 1 }),
  });
  const needsData = defineStep({
    name: "needs",
    version: "1",
    inputs: { data: artifact.dataset() },
    outputs: {},
    run: () => ({}),
  });

  it("rejects cycles and names the tasks on the cycle", () => {
    expect(() =>
      definePipeline({
        name: "cyc",
        params: {},
        tasks: {
          a: task(noop, { x: fromTask("c", "n") }),
          b: task(noop, { x: fromTask("a", "n") }),
          c: task(noop, { x: fromTask("b", "n") }),
        },
      }),
    ).toThrow(/dependency cycle: (a|b|c) → .* → .* → \1/);
    expect(() =>
      definePipeline({ name: "self", params: {}, tasks: { a: task(noop, {}, { after: ["a"] }) } }),
    ).toThrow(/task a.*depends on itself/);
  });

  it("reports unknown tasks, inputs, parameters and type mismatches naming the task", () => {
    expect(() =>
      definePipeline({ name: "p", params: {}, tasks: { a: task(noop, { x: fromTask("ghost", "n") }) } }),
    ).toThrow(/task a: input x: refers to unknown task "ghost"/);
    expect(() =>
      definePipeline({ name: "p", params: {}, tasks: { a: task(noop, { y: constant(1) } as never) } }),
    ).toThrow(/task a: input y: step noop has no input named "y"/);
    expect(() =>
      definePipeline({ name: "p", params: {}, tasks: { a: task(noop, { x: fromParam("nope") }) } }),
    ).toThrow(/unknown pipeline parameter "nope"/);
    expect(() =>
      definePipeline({
        name: "p",
        params: { s: param.string({ default: "a" }) },
        tasks: { a: task(noop, { x: fromParam("s") }) },
      }),
    ).toThrow(/task a: input x: expects int, parameter s is string/);
    expect(() => definePipeline({ name: "p", params: {}, tasks: { a: task(needsData, {}) } })).toThrow(
      /task a: input data: is required but not bound/,
    );
    expect(() =>
      definePipeline({
        name: "p",
        params: {},
        tasks: { a: task(noop, {}), b: task(needsData, { data: fromTask("a", "n") }) },
      }),
    ).toThrow(/expects artifact Dataset, a.n is parameter int/);
    expect(() =>
      definePipeline({ name: "p", params: {}, tasks: { a: task(noop, { x: constant("one") }) } }),
    ).toThrow(/task a: input x: expected int/);
    expect(() =>
      definePipeline({ name: "p", params: {}, tasks: { a: task(noop, {}, { after: ["zz"] }) } }),
    ).toThrow(/task a: after: refers to unknown task "zz"/);
  });

  it("orders tasks topologically", () => {
    const p = getPipeline("demo");
    expect(p.order.indexOf("extract")).toBe(0);
    expect(p.order.at(-1)).toBe("evaluate");
    expect(p.upstream.evaluate).toEqual(["extract", "train"]);
  });
});

describe("local runner", () => {
  it("runs independent steps concurrently, and serially with maxConcurrency 1", async () => {
    const spans: Record<string, [number, number]> = {};
    const slow = (name: string) =>
      defineStep({
        name,
        version: "1",
        inputs: {},
        outputs: { done: param.bool() },
        async run() {
          const start = performance.now();
          await sleep(120);
          spans[name] = [start, performance.now()];
          return { done: true };
        },
      });
    const p = definePipeline({
      name: "par",
      params: {},
      tasks: { left: task(slow("left"), {}), right: task(slow("right"), {}) },
    });
    await runPipeline(tmp(), p, { noCache: true, maxConcurrency: 4 });
    const [l, r] = [spans.left as [number, number], spans.right as [number, number]];
    expect(l[0] < r[1] && r[0] < l[1]).toBe(true); // intervals overlap
    await runPipeline(tmp(), p, { noCache: true, maxConcurrency: 1 });
    const [l2, r2] = [spans.left as [number, number], spans.right as [number, number]];
    expect(l2[1] <= r2[0] || r2[1] <= l2[0]).toBe(true); // no overlap
  });

  it("retries a flaky step with backoff, and a failure skips only its downstream", async () => {
    let calls = 0;
    const flaky = defineStep({
      name: "flaky",
      version: "1",
      inputs: { failures: param.int() },
      outputs: { data: artifact.dataset() },
      retry: { maxAttempts: 3, backoffMs: 5 },
      run({ failures }, ctx) {
        calls++;
        if (calls <= failures) throw new Error(`boom ${calls}`);
        writeFileSync(ctx.outputs.data.path, "ok");
        return {};
      },
    });
    const build = () =>
      definePipeline({
        name: "retry",
        params: { failures: param.int({ default: 2 }) },
        tasks: {
          flaky: task(flaky, { failures: fromParam("failures") }),
          after: task(upper, { data: fromTask("flaky", "data") }),
          side: task(source, { content: constant("independent") }),
        },
      });
    const ok = await runPipeline(tmp(), build(), {});
    expect(ok.status).toBe("succeeded");
    expect(ok.steps.find((s) => s.name === "flaky")?.attempts).toBe(3);
    calls = 0;
    const bad = await runPipeline(tmp(), build(), { params: { failures: 5 } });
    expect(bad.status).toBe("failed");
    expect(statuses(bad)).toEqual({ flaky: "failed", after: "skipped", side: "succeeded" });
    expect(bad.steps.find((s) => s.name === "flaky")).toMatchObject({ attempts: 3, error: "boom 3" });
  });

  it("serves unchanged steps from cache and invalidates on parameter, input and code changes", async () => {
    const root = tmp();
    const first = await runPipeline(root, chain(), {});
    expect(statuses(first)).toEqual({ source: "succeeded", upper: "succeeded" });
    const out = first.steps.find((s) => s.name === "upper")?.artifacts?.out as string;
    const meta = new PipelineMetadata(root);
    expect(readFileSync((await meta.artifact(out))?.uri as string, "utf8")).toBe("HELLO");
    await meta.close();

    upperCalls = 0;
    const again = await runPipeline(root, chain(), {});
    expect(statuses(again)).toEqual({ source: "cached", upper: "cached" });
    expect(again.steps[0]?.cache_source).toBe(first.run_id);
    expect(upperCalls).toBe(0);

    // A parameter of the downstream step only: upstream stays cached.
    expect(statuses(await runPipeline(root, chain(), { params: { suffix: "!" } }))).toEqual({
      source: "cached",
      upper: "succeeded",
    });
    // A parameter that changes the upstream artifact's content: both re-run.
    expect(statuses(await runPipeline(root, chain(), { params: { content: "bye" } }))).toEqual({
      source: "succeeded",
      upper: "succeeded",
    });
    // A parameter that changes the upstream step but not its artifact: downstream served by content hash.
    expect(statuses(await runPipeline(root, chain(), { params: { label: "y" } }))).toEqual({
      source: "succeeded",
      upper: "cached",
    });
    // Code change (different function source) and version bump both invalidate.
    const upper2 = defineStep({
      ...upper,
      run: (i: { data: { path: string } }, ctx: { outputs: { out: { path: string } } }) => {
        writeFileSync(ctx.outputs.out.path, readFileSync(i.data.path, "utf8").toLowerCase());
        return {};
      },
    } as never);
    expect(statuses(await runPipeline(root, chain(upper2 as typeof upper), {}))).toEqual({
      source: "cached",
      upper: "succeeded",
    });
    const upperV2 = defineStep({ ...upper, version: "2" });
    expect(statuses(await runPipeline(root, chain(upperV2), {}))).toEqual({
      source: "cached",
      upper: "succeeded",
    });
    // --no-cache executes everything.
    expect(statuses(await runPipeline(root, chain(), { noCache: true }))).toEqual({
      source: "succeeded",
      upper: "succeeded",
    });
  });

  it("re-runs a step whose cached artifact was deleted", async () => {
    const root = tmp();
    const first = await runPipeline(root, chain(), {});
    const meta = new PipelineMetadata(root);
    const id = first.steps[0]?.artifacts?.data as string;
    const { rmSync } = await import("node:fs");
    rmSync((await meta.artifact(id))?.uri as string);
    await meta.close();
    expect(statuses(await runPipeline(root, chain(), {}))).toEqual({ source: "succeeded", upper: "cached" });
  });

  it("resumes a failed run from the failed step, even with caching off", async () => {
    const root = tmp();
    let broken = true;
    const fragile = defineStep({
      name: "fragile",
      version: "1",
      inputs: { data: artifact.dataset() },
      outputs: { out: artifact.model() },
      run({ data }, ctx) {
        if (broken) throw new Error("disk full");
        writeFileSync(ctx.outputs.out.path, readFileSync(data.path));
        return {};
      },
    });
    const p = definePipeline({
      name: "resume",
      params: { content: param.string({ default: "abc" }) },
      tasks: {
        source: task(source, { content: fromParam("content") }),
        fragile: task(fragile, { data: fromTask("source", "data") }),
      },
    });
    const failed = await runPipeline(root, p, { noCache: true, params: { content: "zzz" } });
    expect(statuses(failed)).toEqual({ source: "succeeded", fragile: "failed" });
    broken = false;
    const resumed = await runPipeline(root, p, { noCache: true, resume: failed.run_id });
    expect(statuses(resumed)).toEqual({ source: "cached", fragile: "succeeded" });
    expect(resumed.params.content).toBe("zzz"); // the resumed run's parameters
    expect(resumed.steps[0]?.cache_source).toBe(failed.run_id);
    expect(resumed.resumed_from).toBe(failed.run_id);

    const meta = new PipelineMetadata(root);
    const lineage = await meta.lineage(resumed.run_id);
    await meta.close();
    const input = lineage.find((e) => e.task === "fragile" && e.direction === "input");
    expect(input?.artifact.runId).toBe(failed.run_id); // consumed the artifact produced by the failed run
    expect(
      lineage.some((e) => e.task === "fragile" && e.direction === "output" && e.artifact.type === "Model"),
    ).toBe(true);
  });

  it("gives steps the application context when the caller passes one", async () => {
    const usesApp = defineStep({
      name: "uses-app",
      version: "1",
      inputs: {},
      outputs: { target: param.string() },
      run: (_i, ctx) => ({ target: ctx.app().config.pipelines.retrainPipeline }),
    });
    const p = definePipeline({ name: "with-app", params: {}, tasks: { a: task(usesApp, {}) } });
    const app = contextFromConfig(configSchema.parse({ pipelines: { retrainPipeline: "xyz" } }), tmp());
    const ok = await runPipeline(tmp(), p, { app });
    expect(ok.steps[0]?.outputs).toEqual({ target: "xyz" });
    const without = await runPipeline(tmp(), p, {});
    expect(without.steps[0]?.error).toMatch(/needs an application context/);
  });

  it("reports a run whose process died as failed", async () => {
    const meta = new PipelineMetadata(tmp());
    await meta.createRun({ id: "r1", pipeline: "demo", params: {} });
    expect((await meta.getRun("r1"))?.status).toBe("running"); // our own pid: alive
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
      encoding: "utf8",
    });
    meta.db.prepare("UPDATE runs SET pid = ? WHERE id = 'r1'").run(Number(dead.stdout));
    expect(await meta.getRun("r1")).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/ended without finishing/),
    });
    await meta.close();
  });

  it("refuses a second run while another live process runs one, naming that run", async () => {
    const root = tmp();
    const meta = new PipelineMetadata(root);
    await meta.createRun({ id: "other-run", pipeline: "demo", params: {} });
    // A live process that is not this one (the parent of the test worker is alive while we run).
    meta.db.prepare("UPDATE runs SET pid = ? WHERE id = 'other-run'").run(process.ppid);
    await meta.close();
    await expect(runPipeline(root, chain(), {})).rejects.toThrow(/other-run .*is running in process/);
    // Once that process is gone the run reads as failed and a new run goes ahead.
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
      encoding: "utf8",
    });
    const meta2 = new PipelineMetadata(root);
    meta2.db.prepare("UPDATE runs SET pid = ? WHERE id = 'other-run'").run(Number(dead.stdout));
    meta2.close();
    expect((await runPipeline(root, chain(), {})).status).toBe("succeeded");
  });

  it("rejects unknown and badly typed parameters naming them", async () => {
    await expect(runPipeline(tmp(), chain(), { params: { nope: "1" } })).rejects.toThrow(/--param nope/);
    await expect(runPipeline(tmp(), getPipeline("demo"), { params: { rows: "many" } })).rejects.toThrow(
      /--param rows: expected int/,
    );
  });
});

describe("compile to KFP v2 PipelineSpec", () => {
  const spec = compilePipeline(getPipeline("demo"), {
    image: "europe-docker.pkg.dev/p/r/telco:1",
    sdkVersion: "telco-0.1.0",
  }) as Record<string, never>;
  const tasks = (spec.root as { dag: { tasks: Record<string, Record<string, unknown>> } }).dag.tasks;

  it("has the header fields and root parameters", () => {
    expect(spec.schemaVersion).toBe("2.1.0");
    expect(spec.sdkVersion).toBe("telco-0.1.0");
    expect((spec.pipelineInfo as { name: string }).name).toBe("demo");
    expect((spec.root as { inputDefinitions: unknown }).inputDefinitions).toEqual({
      parameters: {
        rows: { parameterType: "NUMBER_INTEGER", defaultValue: 1000, isOptional: true },
        seed: { parameterType: "NUMBER_INTEGER", defaultValue: 7, isOptional: true },
        work_ms: { parameterType: "NUMBER_INTEGER", defaultValue: 0, isOptional: true },
      },
    });
  });

  it("wires tasks with componentRef, dependentTasks, inputs, caching and retries", () => {
    expect(Object.keys(tasks).sort()).toEqual(["evaluate", "extract", "profile", "train"]);
    expect(tasks.evaluate).toMatchObject({
      taskInfo: { name: "evaluate" },
      componentRef: { name: "comp-evaluate" },
      dependentTasks: ["extract", "train"],
      inputs: {
        parameters: { work_ms: { componentInputParameter: "work_ms" } },
        artifacts: {
          dataset: { taskOutputArtifact: { producerTask: "extract", outputArtifactKey: "dataset" } },
          model: { taskOutputArtifact: { producerTask: "train", outputArtifactKey: "model" } },
        },
      },
      cachingOptions: { enableCache: true },
    });
    expect(tasks.extract?.dependentTasks).toBeUndefined();
    expect(tasks.train?.retryPolicy).toEqual({
      maxRetryCount: 1,
      backoffDuration: "0s",
      backoffFactor: 2,
      backoffMaxDuration: "3600s",
    });
    expect(tasks.extract?.retryPolicy).toBeUndefined();
  });

  it("maps task output parameters and constants", () => {
    const a = defineStep({
      name: "a",
      version: "1",
      inputs: {},
      outputs: { n: param.int(), m: artifact.metrics() },
      run: () => ({ n: 1 }),
    });
    const b = defineStep({
      name: "b",
      version: "1",
      inputs: { n: param.double(), flag: param.bool(), cfg: param.struct() },
      outputs: {},
      run: () => ({}),
    });
    const p = definePipeline({
      name: "wiring",
      params: {},
      tasks: {
        a: task(a, {}, { cache: false }),
        b: task(
          b,
          { n: fromTask("a", "n"), flag: constant(true), cfg: constant({ k: 1 }) },
          { retry: { maxAttempts: 4, backoffMs: 30_000, backoffFactor: 3 } },
        ),
      },
    });
    const s = compilePipeline(p, { image: "img", sdkVersion: "t" }) as {
      root: { dag: { tasks: Record<string, unknown> } };
      components: Record<string, unknown>;
    };
    expect(s.root.dag.tasks.b).toMatchObject({
      dependentTasks: ["a"],
      inputs: {
        parameters: {
          n: { taskOutputParameter: { producerTask: "a", outputParameterKey: "n" } },
          flag: { runtimeValue: { constant: true } },
          cfg: { runtimeValue: { constant: { k: 1 } } },
        },
      },
      retryPolicy: { maxRetryCount: 3, backoffDuration: "30s", backoffFactor: 3 },
    });
    expect(s.root.dag.tasks.a).toMatchObject({ cachingOptions: { enableCache: false } });
    expect(s.components["comp-b"]).toEqual({
      executorLabel: "exec-b",
      inputDefinitions: {
        parameters: {
          n: { parameterType: "NUMBER_DOUBLE" },
          flag: { parameterType: "BOOLEAN" },
          cfg: { parameterType: "STRUCT" },
        },
      },
      outputDefinitions: {},
    });
    expect(s.components["comp-a"]).toMatchObject({
      outputDefinitions: {
        parameters: { n: { parameterType: "NUMBER_INTEGER" } },
        artifacts: { m: { artifactType: { schemaTitle: "system.Metrics", schemaVersion: "0.0.1" } } },
      },
    });
  });

  it("declares components and container executors calling `telco pipeline step`", () => {
    const comps = spec.components as Record<string, Record<string, unknown>>;
    expect(comps["comp-evaluate"]).toMatchObject({
      executorLabel: "exec-evaluate",
      inputDefinitions: {
        artifacts: {
          dataset: { artifactType: { schemaTitle: "system.Dataset", schemaVersion: "0.0.1" } },
          model: { artifactType: { schemaTitle: "system.Model", schemaVersion: "0.0.1" } },
        },
      },
      outputDefinitions: {
        parameters: { accuracy: { parameterType: "NUMBER_DOUBLE" } },
        artifacts: {
          metrics: { artifactType: { schemaTitle: "system.ClassificationMetrics", schemaVersion: "0.0.1" } },
        },
      },
    });
    const exec = (
      spec.deploymentSpec as {
        executors: Record<string, { container: { image: string; command: string[]; args: string[] } }>;
      }
    ).executors["exec-evaluate"];
    expect(exec?.container.image).toBe("europe-docker.pkg.dev/p/r/telco:1");
    expect(exec?.container.command).toEqual(["telco"]);
    expect(exec?.container.args.slice(0, 3)).toEqual(["pipeline", "step", "demo/evaluate"]);
    // KFP runtime placeholders: the step records itself under the Vertex job and task names.
    expect(exec?.container.args.slice(3, 7)).toEqual([
      "--run-id",
      "{{$.pipeline_job_name}}",
      "--task",
      "{{$.pipeline_task_name}}",
    ]);
    expect(exec?.container.args).toContain("dataset={{$.inputs.artifacts['dataset'].path}}");
    expect(exec?.container.args).toContain("work_ms={{$.inputs.parameters['work_ms']}}");
    expect(exec?.container.args).toContain("metrics={{$.outputs.artifacts['metrics'].path}}");
    expect(exec?.container.args).toContain("accuracy={{$.outputs.parameters['accuracy'].output_file}}");
  });
});

describe("Vertex AI requests (dry-run shapes)", () => {
  const loc = { project: "proj", region: "southamerica-east1" };
  const pipelineSpec = compilePipeline(getPipeline("demo"), { image: "img", sdkVersion: "t" });
  const job = buildCreatePipelineJobRequest({
    location: loc,
    pipelineName: "demo",
    pipelineSpec,
    parameterValues: { rows: 50 },
    gcsOutputDirectory: "gs://bkt/pipelines",
    serviceAccount: "sa@proj.iam.gserviceaccount.com",
  });

  it("builds CreatePipelineJob with parent, spec, runtimeConfig and service account", () => {
    expect(job.parent).toBe("projects/proj/locations/southamerica-east1");
    expect(job.pipelineJob.displayName).toBe("demo");
    expect(job.pipelineJob.pipelineSpec).toBe(pipelineSpec);
    expect(job.pipelineJob.runtimeConfig).toEqual({
      gcsOutputDirectory: "gs://bkt/pipelines",
      parameterValues: { rows: 50 },
    });
    expect(job.pipelineJob.serviceAccount).toBe("sa@proj.iam.gserviceaccount.com");
  });

  it("builds CreateSchedule wrapping the job request with the cron", () => {
    const s = buildCreateScheduleRequest(job, "0 3 * * 1", { timeZone: "America/Sao_Paulo" });
    expect(s.parent).toBe(job.parent);
    expect(s.schedule).toMatchObject({
      displayName: "demo-schedule",
      cron: "TZ=America/Sao_Paulo 0 3 * * 1",
      maxConcurrentRunCount: 1,
      createPipelineJobRequest: { parent: job.parent, pipelineJob: { displayName: "demo" } },
    });
  });
});

describe("step entry, scheduling and retraining trigger", () => {
  it("runs one step the way a Vertex executor does", async () => {
    const dir = tmp();
    const ds = join(dir, "in", "dataset");
    const r1 = await runStepEntry("demo/extract", {
      params: ["rows=40", "seed=3"],
      inputArtifacts: [],
      outputArtifacts: [`dataset=${ds}`],
      outputParams: [`row_count=${join(dir, "out", "row_count")}`],
    });
    expect(r1.outputs.row_count).toBe(40);
    expect(readFileSync(join(dir, "out", "row_count"), "utf8")).toBe("40");
    expect(readFileSync(ds, "utf8").trim().split("\n")).toHaveLength(41);
    await runStepEntry("demo/train", {
      params: [],
      inputArtifacts: [`dataset=${ds}`],
      outputArtifacts: [`model=${join(dir, "model")}`],
      outputParams: [`threshold=${join(dir, "threshold")}`],
    });
    expect(JSON.parse(readFileSync(join(dir, "model"), "utf8")).threshold).toBe(
      Number(readFileSync(join(dir, "threshold"), "utf8")),
    );
    await expect(
      runStepEntry("demo/train", { params: [], inputArtifacts: [], outputArtifacts: [], outputParams: [] }),
    ).rejects.toThrow(/--input-artifact dataset=PATH is required/);
    await expect(
      runStepEntry("demo/nope", { params: [], inputArtifacts: [], outputArtifacts: [], outputParams: [] }),
    ).rejects.toThrow(/no step "nope"/);
  });

  it("validates cron expressions and fires a local schedule", async () => {
    expect(() => nextRun("61 * * * *")).toThrow(/--cron "61 \* \* \* \*" is not a valid cron expression/);
    expect(nextRun("0 3 * * 1", "UTC").getUTCDay()).toBe(1);
    let fired = 0;
    const runs = await scheduleLocal(
      "* * * * * *",
      async () => {
        fired++;
      },
      { maxRuns: 1 },
    );
    expect([runs, fired]).toEqual([1, 1]);
  }, 5000);

  it("triggerRetraining runs the configured pipeline and records the reason", async () => {
    if (!hasPipeline("retrain-test")) registerPipeline(definePipeline({ ...chain(), name: "retrain-test" }));
    const home = tmp();
    const app = contextFromConfig(
      configSchema.parse({ pipelines: { retrainPipeline: "retrain-test" } }),
      home,
    );
    const r = await triggerRetraining("PSI 0.31 on tenure_months", { app });
    expect(r.status).toBe("succeeded");
    const meta = new PipelineMetadata(app.paths.pipelines);
    const row = await meta.getRun(r.run_id);
    await meta.close();
    expect(row?.trigger).toMatchObject({ kind: "drift", reason: "PSI 0.31 on tenure_months" });
    expect(existsSync(join(home, "pipelines", "metadata.sqlite"))).toBe(true);
    await expect(triggerRetraining("x", { app, pipeline: "missing" })).rejects.toThrow(
      /pipeline missing not found/,
    );
  });
});

describe("registry steps (register + promotion gate)", () => {
  it("registers once per distinct model and promotes only on merit", async () => {
    const trainToy = defineStep({
      name: "train-toy",
      version: "1",
      inputs: { auc: param.double() },
      outputs: { model: artifact.model(), card: artifact.metrics() },
      run({ auc }, ctx) {
        writeFileSync(ctx.outputs.model.path, JSON.stringify({ kind: "toy", auc }));
        writeFileSync(
          ctx.outputs.card.path,
          JSON.stringify({
            metrics: { auc: { value: auc } },
            evaluationDataset: { name: "toy", version: "e1" },
          }),
        );
        return {};
      },
    });
    const p = definePipeline({
      name: "toy-training",
      params: { auc: param.double({ default: 0.7 }) },
      tasks: {
        train: task(trainToy, { auc: fromParam("auc") }),
        register: task(registerModelStep, {
          model: fromTask("train", "model"),
          card: fromTask("train", "card"),
          model_name: constant("toy"),
          format: constant("telco-gbdt"),
        }),
        gate: task(promotionGateStep, {
          model_name: constant("toy"),
          version: fromTask("register", "version"),
        }),
      },
    });
    const home = tmp();
    const app = contextFromConfig(configSchema.parse({}), home);
    const first = await runPipeline(app.paths.pipelines, p, { app });
    expect(first.steps.map((s) => [s.name, s.status])).toEqual([
      ["train", "succeeded"],
      ["register", "succeeded"],
      ["gate", "succeeded"],
    ]);
    expect(first.steps[2]?.outputs?.promoted).toBe(true);
    const again = await runPipeline(app.paths.pipelines, p, { app });
    expect(again.steps.map((s) => s.status)).toEqual(["cached", "succeeded", "succeeded"]);
    expect(again.steps[1]?.outputs?.version).toBe(1); // no duplicate version
    expect(again.steps[2]?.outputs?.promoted).toBe(false);
    const better = await runPipeline(app.paths.pipelines, p, { app, params: { auc: 0.75 } });
    expect(better.steps[1]?.outputs?.version).toBe(2);
    expect(better.steps[2]?.outputs?.promoted).toBe(true);
    const worse = await runPipeline(app.paths.pipelines, p, { app, params: { auc: 0.6 } });
    expect(worse.steps[2]?.outputs).toMatchObject({
      promoted: false,
      decision: { reasons: [expect.stringMatching(/primary:auc/)] },
    });
    const registry = openRegistry(app);
    expect((await registry.aliases("toy")).champion).toBe(2);
    expect((await registry.getVersion("toy", 2)).lineage.pipelineRunId).toBe(better.run_id);
  });
});
