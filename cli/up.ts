import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Command } from "commander";
import { openOnlineStore } from "../mlops/features/online.ts";
import { churnTrainingPipeline } from "../mlops/pipelines/churn-training.ts";
import { gateDecisions } from "../mlops/pipelines/cli.ts";
import { runPipeline } from "../mlops/pipelines/runner.ts";
import { nextRun, scheduleLocal } from "../mlops/pipelines/schedule.ts";
import { triggerRetraining } from "../mlops/pipelines/trigger.ts";
import { openRegistry } from "../mlops/registry/store.ts";
import { serveUntilStopped, servingPort } from "../mlops/serving/cli.ts";
import { generateOperatorData } from "../mlops/simulator/generate.ts";
import { action, type CommandRuntime, intOption } from "../platform/cli/runtime.ts";
import type { AppContext } from "../platform/context.ts";
import { TelcoError } from "../platform/errors.ts";
import { defaultDeliveryDir } from "./deliveries.ts";
import { startSystemsServer } from "./systems.ts";
import type { UpStep } from "./up-step.ts";
import type { UpThreadInput, UpThreadMessage, UpThreadRequest } from "./up-thread.ts";
import { assistantStep, knowledgeBaseStep, portalStep, systemsStep } from "./up-thread-steps.ts";

export type { UpStep };
export { defaultDeliveryDir };

/**
 * The folders `telco up` creates: those the profile's adapters use. Training runs stay in the
 * workspace under every profile; the lake, the online store's file and the registry only under
 * local (gcp keeps them in Cloud Storage and Firestore, see platform/context.ts).
 */
export function workspaceFolders(app: Pick<AppContext, "config" | "paths">): string[] {
  const { paths } = app;
  return app.config.profile === "gcp"
    ? [paths.home, paths.runs]
    : [paths.home, paths.lake, paths.features, paths.runs, paths.registry];
}

/**
 * What `telco up` (and so `npm start`) does, in order. Every step is idempotent: a second `up`
 * reuses the delivery, is served from the pipeline cache and re-indexes only changed documents.
 * The portal build, the knowledge base, the assistant's model and the operator systems read nothing
 * the pipeline writes and the pipeline reads none of theirs: they run in worker threads
 * (cli/up-thread-steps.ts) while generate and churn-training run on this one.
 */
export const upSteps: UpStep[] = [
  {
    name: "workspace",
    async run(app) {
      for (const dir of workspaceFolders(app)) mkdirSync(dir, { recursive: true });
      return `workspace ready at ${app.paths.home}`;
    },
  },
  portalStep,
  knowledgeBaseStep,
  assistantStep,
  {
    name: "generate",
    async run(app, rt) {
      const out = defaultDeliveryDir(app);
      if (existsSync(join(out, "manifest.json"))) return `reusing synthetic delivery ${out}`;
      const g = app.config.data.generate;
      const progress = rt.progress("generating customers", g.customers);
      const result = await generateOperatorData(
        {
          customers: g.customers,
          months: g.months,
          seed: g.seed,
          start: g.start,
          dirtyRate: g.dirtyRate,
          outDir: out,
        },
        (done, total) => progress.update(done, total),
      );
      progress.done();
      const rows = result.manifest.files.reduce((s, f) => s + f.rows, 0);
      return `${g.customers} customers × ${g.months} months (${rows} rows) → ${out}`;
    },
  },
  systemsStep,
  {
    name: "churn-training",
    async run(app, rt) {
      const result = await runPipeline(app.paths.pipelines, churnTrainingPipeline(), {
        app,
        params: { delivery: defaultDeliveryDir(app) },
        onEvent: (e) => {
          if (!e.message && (e.status === "succeeded" || e.status === "cached" || e.status === "failed")) {
            const ms = e.duration_ms === undefined ? "" : ` ${e.duration_ms} ms`;
            rt.info(`    ${e.status.padEnd(9)} ${e.task}${ms}`);
          }
        },
      });
      if (result.status !== "succeeded") {
        const failed = result.steps.find((s) => s.status === "failed");
        throw new TelcoError(
          "pipeline_failed",
          `churn-training failed at ${failed?.name}: ${failed?.error}`,
          {
            hint: `Inspect it with \`telco pipeline show ${result.run_id}\`.`,
          },
        );
      }
      const champion = await openRegistry(app).resolve("churn@champion");
      const cached = result.steps.filter((s) => s.status === "cached").length;
      // A refused candidate is part of the outcome, not only of `pipeline show --json`.
      const refused = gateDecisions(result)
        // A cached rebuild re-registers the champion itself (same content, same version): nothing was refused.
        .filter((d) => !d.promoted && d.challenger !== d.champion)
        .map(
          (d) =>
            `; candidate ${d.model}@${d.challenger} refused by ${d.step} (${d.failed.map((f) => f.check).join(", ")}): telco pipeline show ${result.run_id}`,
        );
      return `run ${result.run_id} (${cached}/${result.steps.length} steps cached); champion churn@${champion.version} AUC ${champion.card.metrics.auc.value.toFixed(3)}${refused.join("")}`;
    },
  },
];

/** The worker thread running the `thread` steps one after another (cli/up-thread.ts). */
interface UpLane {
  /** Queues a step; resolves with its summary and the milliseconds it ran (not the time queued). */
  run(step: string): Promise<{ summary: string; ms: number }>;
  /** Lets the thread close its context and exit once its queued steps are done. */
  close(): void;
  /** Stops it now (another step failed). */
  stop(): Promise<void>;
}

/**
 * Starts the lane's worker on its own AppContext; the steps' info and warnings come out through `rt`.
 * Where a worker cannot start, the steps run here, in turn, after the main thread's.
 */
function startLane(app: AppContext, rt: CommandRuntime): UpLane {
  let worker: Worker;
  try {
    worker = new Worker(new URL("./up-thread.ts", import.meta.url), {
      workerData: {
        config: app.config,
        home: app.paths.home,
        configFile: app.configFile,
      } satisfies UpThreadInput,
    });
  } catch {
    let later: Promise<unknown> = Promise.resolve();
    return {
      run(name) {
        const step = upSteps.find((s) => s.name === name);
        const done = later.then(async () => {
          const started = performance.now();
          const summary = step ? await step.run(app, rt) : "";
          return { summary, ms: performance.now() - started };
        });
        later = done.catch(() => {});
        return done;
      },
      close() {},
      async stop() {},
    };
  }
  const waiting = new Map<
    string,
    { resolve(r: { summary: string; ms: number }): void; reject(err: Error): void }
  >();
  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on("message", (m: UpThreadMessage) => {
    if (m.kind === "info") rt.info(`    ${m.step}: ${m.message}`);
    else if (m.kind === "warn") rt.warn(`${m.step}: ${m.message}`);
    else {
      const w = waiting.get(m.step);
      waiting.delete(m.step);
      if (m.kind === "done") w?.resolve({ summary: m.summary, ms: m.ms });
      else if (m.kind === "failed")
        w?.reject(
          new TelcoError(
            m.code ?? "up_step_failed",
            `${m.step}: ${m.message}`,
            m.hint ? { hint: m.hint } : {},
          ),
        );
    }
  });
  worker.on("error", (err) =>
    failAll(
      new TelcoError("up_step_failed", `${[...waiting.keys()].join(", ")}: ${err.message}`, { cause: err }),
    ),
  );
  worker.on("exit", (code) =>
    failAll(
      new TelcoError(
        "up_step_failed",
        `${[...waiting.keys()].join(", ")}: the thread exited with code ${code}`,
      ),
    ),
  );
  return {
    run(step) {
      const done = new Promise<{ summary: string; ms: number }>((resolve, reject) =>
        waiting.set(step, { resolve, reject }),
      );
      // Awaited at the end of `up`; until then a failure must not be an unhandled rejection.
      done.catch(() => {});
      worker.postMessage({ kind: "run", step } satisfies UpThreadRequest);
      return done;
    },
    close() {
      worker.postMessage({ kind: "close" } satisfies UpThreadRequest);
    },
    async stop() {
      await worker.terminate();
    },
  };
}

/** The first active customer of gold.customer_features that the online store also serves. */
export async function exampleCustomer(app: AppContext): Promise<string | undefined> {
  const wh = await app.warehouse();
  if (!(await wh.tables()).includes("gold.customer_features")) return undefined;
  const rows = await wh.query<{ customer_id: string }>(
    "select customer_id from gold.customer_features order by customer_id limit 20",
  );
  const store = openOnlineStore(app, { readOnly: true });
  try {
    for (const r of rows) if (await store.get(String(r.customer_id))) return String(r.customer_id);
    return undefined;
  } finally {
    await store.close();
  }
}

export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description(
      "build the whole platform from nothing (data, pipeline, champion, knowledge base), then serve the API",
    )
    .option("--no-serve", "stop after building instead of starting the API server")
    .option(
      "--port <port>",
      "port of the API (default: env PORT, else serving.port = 8080)",
      intOption("--port", 0, 65535),
    )
    .action(
      action(async (rt, opts: { serve: boolean; port?: number }) => {
        const app = rt.app();
        const results: { step: string; summary: string; duration_ms: number; thread?: boolean }[] = [];
        rt.info(`telco up: profile ${app.config.profile}, workspace ${app.paths.home}`);
        const upStarted = performance.now();
        // Steps marked `thread` queue on one worker thread beside this one (see startLane).
        let lane: UpLane | undefined;
        const threaded: { step: string; done: Promise<void> }[] = [];
        try {
          for (const step of upSteps) {
            if (step.serveOnly && !opts.serve) continue;
            const started = performance.now();
            const finish = (summary: string, ms: number, prefix = "") => {
              const duration_ms = Math.round(ms);
              results.push({
                step: step.name,
                summary,
                duration_ms,
                ...(step.thread ? { thread: true } : {}),
              });
              rt.info(`  ✓ ${prefix}${summary} (${(duration_ms / 1000).toFixed(1)} s)`);
            };
            if (step.thread) {
              rt.info(`▸ ${step.name} (queued on the worker thread, beside the next steps)`);
              lane ??= startLane(app, rt);
              const done = lane.run(step.name);
              threaded.push({
                step: step.name,
                done: done.then(({ summary, ms }) => finish(summary, ms, `${step.name}: `)),
              });
              continue;
            }
            rt.info(`▸ ${step.name}`);
            const summary = await step.run(app, rt);
            finish(summary, performance.now() - started);
          }
          lane?.close();
          if (threaded.length > 0) {
            const waitStarted = performance.now();
            await Promise.all(threaded.map((t) => t.done));
            const waited = performance.now() - waitStarted;
            if (waited >= 50)
              rt.info(`  (waited ${(waited / 1000).toFixed(1)} s for the worker thread's steps)`);
          }
        } catch (err) {
          // One failed step fails `up`: the worker thread stops instead of writing on.
          await lane?.stop();
          throw err;
        }
        results.sort(
          (a, b) => upSteps.findIndex((s) => s.name === a.step) - upSteps.findIndex((s) => s.name === b.step),
        );
        rt.info(`built in ${((performance.now() - upStarted) / 1000).toFixed(1)} s`);
        const port = servingPort(app, opts.port);
        // A customer the API can score: active, with a row in the online store (the README's example).
        const example = opts.serve ? await exampleCustomer(app) : undefined;
        const next = [
          ...(opts.serve
            ? [
                `curl -H "Authorization: Bearer $(cat ${app.paths.secrets}/api-key)" -H 'content-type: application/json' -d '{"customer_ids":["${example ?? "CUSTOMER_ID"}"]}' http://127.0.0.1:${port}/v1/churn/predict`,
              ]
            : []),
          "telco models show churn@champion     # model card, metrics with confidence intervals",
          `telco runs list                      # training runs; plots under ${join(app.paths.runs, "<run>", "plots")}`,
          "telco pipeline list                  # pipeline runs, cache hits, lineage",
          'telco rag query "como pedir a segunda via da fatura?"',
          'telco sql "select * from gold.customer_features limit 5"',
          "telco systems status                 # operator systems: business date, scenario customers",
        ];
        rt.result({ profile: app.config.profile, home: app.paths.home, steps: results, next }, () =>
          [
            "",
            "The platform is up. Where to look:",
            ...next.map((n) => (n.startsWith("telco ") ? `  npm run telco -- ${n.slice(6)}` : `  ${n}`)),
          ].join("\n"),
        );
        if (opts.serve) {
          // The server never needs the DuckDB warehouse: release it (and its file lock) so
          // `telco sql`, `telco predict batch`… work from a second shell while this one serves.
          await app.close();
          // Scheduled retraining runs in this process while it serves (config pipelines.schedules).
          const stopSchedules = new AbortController();
          for (const s of app.config.pipelines.schedules) {
            rt.info(`scheduled ${s.pipeline} on "${s.cron}" (next ${nextRun(s.cron).toISOString()})`);
            void scheduleLocal(
              s.cron,
              async () => {
                const run = await triggerRetraining(`schedule ${s.cron}`, {
                  app,
                  pipeline: s.pipeline,
                  params: s.params,
                  kind: "schedule",
                });
                rt.info(`scheduled ${s.pipeline}: ${run.status} (${run.run_id})`);
              },
              { signal: stopSchedules.signal },
            );
          }
          // The operator systems' sandbox beside the churn API (the assistant's tools call it).
          let systems: Awaited<ReturnType<typeof startSystemsServer>> | undefined;
          try {
            systems = await startSystemsServer(app);
            rt.info(`serving the operator systems on ${systems.url} (/crm, /billing, /network, /offers)`);
          } catch (err) {
            rt.warn(
              `operator systems not served on port ${app.config.operator.sandbox.port}: ${(err as Error).message}; commands open the store in-process`,
            );
          }
          try {
            // The assistant's routes beside the churn API (cli/assistant.ts).
            const { assistantServerPlugins } = await import("./assistant.ts");
            await serveUntilStopped(rt, { plugins: assistantServerPlugins, port: opts.port });
          } finally {
            stopSchedules.abort();
            await systems?.close();
          }
        }
      }),
    );
}
