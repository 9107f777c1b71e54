import type { Command } from "commander";

/** `telco chat` (placeholder until the dialogue engine lands). */
export function registerAssistantCommands(_program: Command): void {}
