import type { Command } from "commander";

/** `telco systems serve|reset|status` and `telco interactions list` (placeholder until the sandbox lands). */
export function registerSystemsCommands(_program: Command): void {}
