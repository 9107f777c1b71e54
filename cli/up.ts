import { mkdirSync } from "node:fs";
import type { Command } from "commander";
import { action, type CommandRuntime } from "../platform/cli/runtime.ts";
import type { AppContext } from "../platform/context.ts";

/** One stage of `telco up`; stages run in order and each says what it produced. */
export interface UpStep {
  name: string;
  run(app: AppContext, rt: CommandRuntime): Promise<string>;
}

const steps: UpStep[] = [
  {
    name: "workspace",
    async run(app) {
      for (const dir of [
        app.paths.home,
        app.paths.lake,
        app.paths.features,
        app.paths.runs,
        app.paths.registry,
      ]) {
        mkdirSync(dir, { recursive: true });
      }
      return `workspace ready at ${app.paths.home}`;
    },
  },
];

export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description("build the whole platform from nothing on the configured profile and print where to look")
    .action(
      action(async (rt) => {
        const app = rt.app();
        const progress = rt.progress("telco up", steps.length);
        const results: { step: string; summary: string; duration_ms: number }[] = [];
        for (const step of steps) {
          const started = performance.now();
          const summary = await step.run(app, rt);
          const duration_ms = Math.round(performance.now() - started);
          results.push({ step: step.name, summary, duration_ms });
          progress.step(`${step.name}: ${summary} (${duration_ms} ms)`);
        }
        progress.done("platform is up");
        rt.result({ profile: app.config.profile, home: app.paths.home, steps: results }, () =>
          [
            `Profile: ${app.config.profile}`,
            `Workspace: ${app.paths.home}`,
            ...results.map((r) => `  ${r.step}: ${r.summary}`),
          ].join("\n"),
        );
      }),
    );
}
