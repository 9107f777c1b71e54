import type { Command } from "commander";
import { stringify } from "yaml";
import { action, commandGroup } from "../platform/cli/runtime.ts";

export function registerConfigCommands(program: Command): void {
  const config = commandGroup(program, "config", "inspect the effective configuration");
  config
    .command("show")
    .description("print the effective configuration (file + TELCO_* overrides + defaults) and the workspace")
    .action(
      action(async (rt) => {
        const app = rt.app();
        const value = { file: app.configFile ?? null, home: app.paths.home, config: app.config };
        rt.result(
          value,
          () =>
            `# file: ${value.file ?? "(none, defaults)"}\n# home: ${value.home}\n${stringify(app.config)}`,
        );
      }),
    );
}
