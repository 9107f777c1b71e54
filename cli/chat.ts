import { existsSync } from "node:fs";
import type { Command } from "commander";
import { type PickableCustomer, registerAssistantCommands } from "../llmops/assistant/cli.ts";
import type { AppContext } from "../platform/context.ts";

/**
 * `telco chat` composed on its own (not beside `telco serve`), so a one-turn chat loads the assistant
 * and nothing of the API server, the portal or the WhatsApp channel.
 */

/** `telco chat`, its REPL picker offering two customers of each sandbox scenario. */
export function registerChatCommands(program: Command): void {
  registerAssistantCommands(program, { customers: scenarioCustomers });
}

/** Up to two customers of each scenario of the workspace sandbox (none when it was never seeded). */
export async function scenarioCustomers(app: AppContext): Promise<PickableCustomer[]> {
  if (!existsSync(app.paths.systems)) return [];
  const { SCENARIO_DESCRIPTIONS, SCENARIO_NAMES, sandboxStatus } = await import(
    "../platform/sandbox/index.ts"
  );
  const { SandboxStore } = await import("../platform/sandbox/store.ts");
  const store = SandboxStore.open(app.paths.systems);
  try {
    const scenarios = sandboxStatus(store).scenarios;
    if (!scenarios) return [];
    return SCENARIO_NAMES.filter((s) => s !== "cancelled").flatMap((s) =>
      scenarios.customers[s]
        .slice(0, 2)
        .map((id) => ({ customer_id: id, label: `${s}: ${SCENARIO_DESCRIPTIONS[s]}` })),
    );
  } finally {
    store.close();
  }
}
