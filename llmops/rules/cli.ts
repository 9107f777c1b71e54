import type { Command } from "commander";

/** `telco offers explain` (placeholder until the rules engine lands). */
export function registerOffersCommands(_program: Command): void {}
