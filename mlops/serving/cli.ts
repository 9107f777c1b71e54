import type { Command } from "commander";
import { action, type CommandRuntime, commandGroup, intOption } from "../../platform/cli/runtime.ts";
import type { AppContext } from "../../platform/context.ts";
import { TelcoError, UsageError } from "../../platform/errors.ts";
import { setLogLevel } from "../../platform/telemetry/logger.ts";
import { resolveApiKeys } from "./auth.ts";
import { type BatchScoreSummary, scoreBatch } from "./batch.ts";
import { buildServer, type ServerPlugin } from "./server.ts";
import { vertexRoutes } from "./vertex-contract.ts";

/** Routes the composition root mounts beside the churn API (built from the app context when serving). */
export type ServerPlugins = (app: AppContext) => Promise<readonly ServerPlugin[]>;

/** Another place `predict batch --target NAME` runs (supplied by the composition root: `vertex`). */
export type BatchTarget = (
  rt: CommandRuntime,
  opts: { model?: string; dryRun?: boolean; wait?: boolean },
) => Promise<void>;

/** `telco serve` (online API) and `telco predict batch` (scores every active customer). */
export function registerServingCommands(
  program: Command,
  opts: { plugins?: ServerPlugins; batchTargets?: Record<string, BatchTarget> } = {},
): void {
  program
    .command("serve")
    .description(
      "start the API: churn predictions (POST /v1/churn/predict) and the routes the CLI mounts beside them (the assistant's /v1/assistant/*); /docs, /metrics, /healthz, /readyz",
    )
    .option(
      "--port <port>",
      "port to listen on (default: env PORT, else serving.port = 8080)",
      intOption("--port", 0, 65535),
    )
    .option("--host <host>", "interface to bind (default serving.host; 0.0.0.0 in containers)")
    .action(
      action(async (rt, o: { port?: number; host?: string }) =>
        serveUntilStopped(rt, { ...o, plugins: opts.plugins }),
      ),
    );
  registerPredictCommands(program, opts.batchTargets);
}

/**
 * Starts the API and stays until SIGTERM/SIGINT: Fastify drains in-flight requests, then the
 * prediction log is flushed (onClose) before the app context is closed. Used by `telco serve`
 * and at the end of `telco up`.
 */
export async function serveUntilStopped(
  rt: CommandRuntime,
  opts: { port?: number; host?: string; plugins?: ServerPlugins } = {},
): Promise<void> {
  const app = rt.app();
  if (!process.env.TELCO_LOG_LEVEL) setLogLevel("info");
  const keys = resolveApiKeys({
    env: process.env,
    configured: app.config.serving.apiKeys,
    profile: app.config.profile,
    secretsDir: app.paths.secrets,
  });
  if (keys.generated) rt.info(`generated an API key for the local profile in ${keys.keyFile} (mode 0600)`);
  else if (keys.keyFile) rt.info(`API key: ${keys.keyFile}`);
  const port = servingPort(app, opts.port);
  const host = opts.host ?? app.config.serving.host;
  const plugins = opts.plugins ? await opts.plugins(app) : [];
  const server = await buildServer(app, { apiKeys: keys.keys, plugins });
  let address: string;
  try {
    address = await server.listen({ port, host });
  } catch (err) {
    await server.close().catch(() => {});
    throw listenError(err, port, host);
  }
  rt.info(`serving churn predictions on ${address} (docs ${address}/docs); Ctrl+C to stop`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      rt.info(`${signal}: draining requests and flushing the prediction log…`);
      void server.close().then(resolve, resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  rt.result({ stopped: true, address }, () => "stopped");
}

/** The port the API listens on: --port, else env PORT, else serving.port (one rule for serve, up and the banner). */
export function servingPort(app: AppContext, port?: number): number {
  const envPort =
    vertexRoutes().port ?? (process.env.PORT ? intOption("PORT", 0, 65535)(process.env.PORT) : undefined);
  return port ?? envPort ?? app.config.serving.port;
}

/** A busy or forbidden port as one line naming the port and the fix, instead of a raw EADDRINUSE stack. */
export function listenError(err: unknown, port: number, host: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "EADDRINUSE")
    return new TelcoError("port_in_use", `port ${port} on ${host} is already in use`, {
      hint: `Stop the process holding it (\`lsof -i :${port}\`), or pick another port: --port N or PORT=N.`,
    });
  if (code === "EACCES")
    return new TelcoError("port_denied", `not allowed to listen on port ${port} on ${host}`, {
      hint: "Ports below 1024 need privileges: use --port 8080 or PORT=8080.",
    });
  return err;
}

export function registerPredictCommands(program: Command, targets: Record<string, BatchTarget> = {}): void {
  const predict = commandGroup(program, "predict", "churn scoring outside the API");
  predict
    .command("batch")
    .description(
      "score every active customer into gold.churn_scores (one partition per scoring date, re-runs replace it)",
    )
    .option("--model <ref>", "alias or version of the served model (default: serving.alias, champion)")
    .option(
      "--as-of <date>",
      "scoring date YYYY-MM-DD: features as of that date (default: gold.customer_features' date)",
    )
    .option(
      "--reasons <n>",
      "top reasons per customer (default serving.topReasons; 0 is fastest)",
      intOption("--reasons", 0, 50),
    )
    .option("--no-log", "do not write the batch predictions to the prediction log")
    .option(
      "--target <target>",
      `local (default) or ${Object.keys(targets).join(", ") || "none other"}: vertex submits a Vertex AI batch prediction job over the BigQuery features table`,
    )
    .option("--dry-run", "with --target vertex: print the exact request instead of sending it")
    .option("--wait", "with --target vertex: wait for the job to finish (exit 1 unless it succeeds)")
    .action(
      action(
        async (
          rt,
          opts: {
            model?: string;
            asOf?: string;
            reasons?: number;
            log: boolean;
            target?: string;
            dryRun?: boolean;
            wait?: boolean;
          },
        ) => {
          if (opts.target && opts.target !== "local") {
            const target = targets[opts.target];
            if (!target)
              throw new UsageError(
                `--target must be local or ${Object.keys(targets).join(", ") || "(none configured)"}, got "${opts.target}"`,
              );
            return target(rt, opts);
          }
          if (opts.dryRun || opts.wait)
            throw new UsageError(
              "--dry-run and --wait apply to --target vertex only; local scoring runs now",
            );
          const progress = rt.progress("scoring customers");
          const summary = await scoreBatch(rt.app(), {
            model: opts.model,
            asOf: opts.asOf,
            reasons: opts.reasons,
            log: opts.log,
            onProgress: (rows, total) => progress.update(rows, total),
          });
          progress.done(`${summary.rows} customers scored`);
          rt.result(summary, () => renderBatch(summary));
        },
      ),
    );
}

function renderBatch(s: BatchScoreSummary): string {
  return [
    `${s.table} partition scoring_date=${s.scoringDate}: ${s.rows} customers, model ${s.model}@${s.modelVersion}`,
    `  bands: high ${s.bands.high}, medium ${s.bands.medium}, low ${s.bands.low}; mean probability ${s.meanProbability.toFixed(4)}`,
    `  ${s.elapsedMs} ms (${s.rowsPerSecond} rows/s) in ${s.parts} part(s)`,
  ].join("\n");
}
