import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { ingestBuiltinKnowledgeBase } from "../llmops/rag/api.ts";
import { openOnlineStore } from "../mlops/features/online.ts";
import { churnTrainingPipeline } from "../mlops/pipelines/churn-training.ts";
import { gateDecisions } from "../mlops/pipelines/cli.ts";
import { runPipeline } from "../mlops/pipelines/runner.ts";
import { nextRun, scheduleLocal } from "../mlops/pipelines/schedule.ts";
import { triggerRetraining } from "../mlops/pipelines/trigger.ts";
import { openRegistry } from "../mlops/registry/store.ts";
import { serveUntilStopped, servingPort } from "../mlops/serving/cli.ts";
import { generateOperatorData } from "../mlops/simulator/generate.ts";
import { deliveryFingerprint, seedSystemsFromDelivery } from "../mlops/simulator/systems-seed.ts";
import { action, type CommandRuntime, intOption } from "../platform/cli/runtime.ts";
import type { AppContext } from "../platform/context.ts";
import { TelcoError } from "../platform/errors.ts";
import { sandboxSeeder } from "../platform/sandbox/seed.ts";
import { SandboxStore } from "../platform/sandbox/store.ts";
import { defaultDeliveryDir } from "./deliveries.ts";
import { startSystemsServer } from "./systems.ts";

export { defaultDeliveryDir };

/** One stage of `telco up`; stages run in order and each says what it produced. */
export interface UpStep {
  name: string;
  run(app: AppContext, rt: CommandRuntime): Promise<string>;
}

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
 */
export const upSteps: UpStep[] = [
  {
    name: "workspace",
    async run(app) {
      for (const dir of workspaceFolders(app)) mkdirSync(dir, { recursive: true });
      return `workspace ready at ${app.paths.home}`;
    },
  },
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
  {
    name: "systems",
    async run(app) {
      const dir = defaultDeliveryDir(app);
      const wanted = deliveryFingerprint(dir);
      if (existsSync(app.paths.systems)) {
        let current: string | undefined;
        try {
          const store = SandboxStore.open(app.paths.systems);
          current = store.meta("fingerprint");
          store.close();
        } catch {
          current = undefined; // never seeded: seed below
        }
        if (current && current === wanted) return `operator systems up to date (${app.paths.systems})`;
      }
      const r = seedSystemsFromDelivery(sandboxSeeder(app.paths.systems), dir);
      return `operator systems seeded: ${r.rows.customers} customers, business date ${r.business_date} (${r.read_ms + r.duration_ms} ms)`;
    },
  },
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
  {
    name: "knowledge-base",
    async run(app, rt) {
      const report = await ingestBuiltinKnowledgeBase(app, { warn: (m) => rt.warn(m) });
      return `index ${report.index} version ${report.index_version}: ${report.documents.total} documents, ${report.chunks.total} chunks (${report.chunks.embedded} embedded now)`;
    },
  },
];

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
        const results: { step: string; summary: string; duration_ms: number }[] = [];
        rt.info(`telco up: profile ${app.config.profile}, workspace ${app.paths.home}`);
        for (const step of upSteps) {
          rt.info(`▸ ${step.name}`);
          const started = performance.now();
          const summary = await step.run(app, rt);
          const duration_ms = Math.round(performance.now() - started);
          results.push({ step: step.name, summary, duration_ms });
          rt.info(`  ✓ ${summary} (${(duration_ms / 1000).toFixed(1)} s)`);
        }
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
