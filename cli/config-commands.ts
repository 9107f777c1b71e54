import type { Command } from "commander";
import { stringify } from "yaml";
import { action, commandGroup } from "../platform/cli/runtime.ts";
import { redactSecrets } from "../platform/config/redact.ts";

export function registerConfigCommands(program: Command): void {
  const config = commandGroup(program, "config", "inspect the effective configuration");
  config
    .command("show")
    .description("print the effective configuration (file + TELCO_* overrides + defaults) and the workspace")
    .action(
      action(async (rt) => {
        const app = rt.app();
        // Secrets (serving.apiKeys, tokens, app secrets) are never printed, in text or --json.
        const config = redactSecrets(app.config);
        const value = { file: app.configFile ?? null, home: app.paths.home, config };
        rt.result(
          value,
          () => `# file: ${value.file ?? "(none, defaults)"}\n# home: ${value.home}\n${stringify(config)}`,
        );
      }),
    );
}
