import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { registerRagCommands } from "../llmops/rag/cli.ts";
import { registerFeatureCommands } from "../mlops/features/cli.ts";
import { registerIngestionCommands } from "../mlops/ingestion/cli.ts";
import { registerMonitoringCommands } from "../mlops/monitoring/cli.ts";
import { registerPipelineCommands } from "../mlops/pipelines/cli.ts";
import { registerRegistryCommands } from "../mlops/registry/cli.ts";
import { registerServingCommands } from "../mlops/serving/cli.ts";
import { registerSimulatorCommands } from "../mlops/simulator/cli.ts";
import { registerTrainingCommands } from "../mlops/training/cli.ts";
import { createProgram, runProgram } from "../platform/cli/runtime.ts";
import { registerConfigCommands } from "./config-commands.ts";
import { registerUpCommand } from "./up.ts";

/**
 * Composition root of the `telco` CLI: every domain module contributes its commands here.
 * Domain modules expose `register…Commands(program)`; this is the only place that knows them all.
 */
export function buildProgram(): Command {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  const program = createProgram(pkg.version);
  registerConfigCommands(program);
  registerUpCommand(program);
  // domain command registrations (one line each) ↓
  registerSimulatorCommands(program);
  registerIngestionCommands(program);
  registerRagCommands(program);
  registerTrainingCommands(program);
  registerFeatureCommands(program);
  registerRegistryCommands(program);
  registerPipelineCommands(program);
  registerServingCommands(program);
  registerMonitoringCommands(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  return runProgram(buildProgram(), argv);
}
