import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { StoreReferenceProfile } from "../mlops/registry/evaluation.ts";
import { createProgram, runProgram } from "../platform/cli/runtime.ts";
import { registerConfigCommands } from "./config-commands.ts";

/**
 * Composition root of the `telco` CLI: every domain module contributes its commands here.
 * Domain modules expose `register…Commands(program)`; this is the only place that knows them all.
 *
 * Modules are imported lazily by top-level command name: `telco sql …` loads only the ingestion
 * module instead of DuckDB, Fastify, Vega, ONNX Runtime and the rest, which keeps every command's
 * start-up short. Root `--help` (or an unknown command) loads everything.
 */
type Registrar = (program: Command) => void;

/** The monitoring reference-profile writer, loaded when a registration stores a profile. */
const storeProfile: StoreReferenceProfile = async (app, ref, opts) =>
  (await import("../mlops/monitoring/reference-store.ts")).storeReferenceProfile(app, ref, opts);

const MODULES: Record<string, () => Promise<Registrar>> = {
  up: async () => (await import("./up.ts")).registerUpCommand,
  simulator: async () => (await import("../mlops/simulator/cli.ts")).registerSimulatorCommands,
  ingestion: async () => (await import("../mlops/ingestion/cli.ts")).registerIngestionCommands,
  rag: async () => (await import("../llmops/rag/cli.ts")).registerRagCommands,
  // The registry receives the reference-profile writer and training receives registerRun here, so
  // mlops/registry never imports mlops/monitoring and mlops/training never imports mlops/registry.
  training: async () => {
    const { registerTrainingCommands } = await import("../mlops/training/cli.ts");
    return (program) =>
      registerTrainingCommands(program, {
        registerRun: async (app, runId, opts) =>
          (await import("../mlops/registry/evaluation.ts")).registerRun(app, runId, opts, { storeProfile }),
      });
  },
  features: async () => (await import("../mlops/features/cli.ts")).registerFeatureCommands,
  registry: async () => {
    const { registerRegistryCommands } = await import("../mlops/registry/cli.ts");
    return (program) => registerRegistryCommands(program, { storeProfile });
  },
  pipelines: async () => (await import("../mlops/pipelines/cli.ts")).registerPipelineCommands,
  // `telco serve` mounts the assistant beside the churn API (cli/assistant.ts composes both).
  serving: async () => (await import("./assistant.ts")).registerServeCommands,
  // Retraining is injected into monitoring here, so mlops/monitoring never imports mlops/pipelines.
  monitoring: async () => {
    const { registerMonitoringCommands } = await import("../mlops/monitoring/cli.ts");
    return (program) =>
      registerMonitoringCommands(program, {
        retrain: async (app, reason) =>
          (await import("../mlops/pipelines/trigger.ts")).triggerRetraining(reason, { app, kind: "drift" }),
      });
  },
  systems: async () => (await import("./systems.ts")).registerSystemsCommands,
  offers: async () => (await import("../llmops/rules/cli.ts")).registerOffersCommands,
  assistant: async () => (await import("./chat.ts")).registerChatCommands,
  evals: async () => (await import("../llmops/evaluations/cli.ts")).registerEvalCommands,
  observability: async () => (await import("../llmops/observability/cli.ts")).registerTraceCommands,
  // After registry: adds `models deploy` (Vertex AI endpoints) to its `models` group.
  vertex: async () => (await import("./vertex.ts")).registerVertexCommands,
};

/** Which modules define each top-level command (a group such as `data` spans two modules). */
const COMMAND_MODULES: Record<string, string[]> = {
  up: ["up"],
  data: ["simulator", "ingestion"],
  sql: ["ingestion"],
  rag: ["rag"],
  train: ["training"],
  runs: ["training"],
  features: ["features"],
  models: ["registry", "vertex"],
  pipeline: ["pipelines"],
  serve: ["serving"],
  predict: ["serving"],
  monitor: ["monitoring"],
  systems: ["systems"],
  interactions: ["systems"],
  offers: ["offers"],
  chat: ["assistant"],
  eval: ["evals"],
  traces: ["observability"],
};

/** The top-level command named in argv (first argument that is not an option or its value). */
export function commandName(argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-c" || a === "--config") {
      i++;
      continue;
    }
    if (a.startsWith("-")) continue;
    return a;
  }
  return undefined;
}

/** Builds the program; with argv, only the modules its command needs are loaded. */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  const program = createProgram(pkg.version);
  registerConfigCommands(program);
  const name = argv ? commandName(argv) : undefined;
  const needed =
    name === "config" ? [] : name && COMMAND_MODULES[name] ? COMMAND_MODULES[name] : Object.keys(MODULES);
  for (const registrar of await moduleRegistrars(needed)) registrar(program);
  return program;
}

/**
 * The registrars of the named modules (keys of MODULES: "training", "registry", …), wired as `telco`
 * wires them; tests that run a few command groups in-process use it so they exercise the real wiring.
 */
export async function moduleRegistrars(names: readonly string[]): Promise<Registrar[]> {
  const unknown = names.filter((n) => !(n in MODULES));
  if (unknown.length > 0) throw new Error(`unknown CLI module(s): ${unknown.join(", ")}`);
  return Promise.all(names.map((m) => MODULES[m]()));
}

export async function main(argv: string[] = process.argv): Promise<number> {
  return runProgram(await buildProgram(argv), argv);
}
