import type { GuardrailsConfig } from "../../platform/config/sections/guardrails.ts";
import type { AppContext } from "../../platform/context.ts";
import { knowledgeSearchFromApp } from "../tools/knowledge.ts";
import { type AssistantOverrides, openAssistant } from "./compose.ts";
import { GuardedAssistant, type GuardOptions } from "./guarded-assistant.ts";
import { guardKnowledgeSearch } from "./guarded-knowledge.ts";

/**
 * The guarded assistant from an AppContext: the knowledge base behind the retrieved-content guardrail,
 * the assistant `openAssistant` builds, and `chat` behind the input and output guardrails of
 * `guardrails.*` config (or `opts.config`, e.g. an evaluation comparing settings). When openAssistant
 * already returns a GuardedAssistant (wired in compose.ts), its parts are reused, not wrapped twice.
 */
export async function openGuardedAssistant(
  app: AppContext,
  o: AssistantOverrides = {},
  opts: { onTurn?: GuardOptions["onTurn"]; config?: GuardrailsConfig } = {},
): Promise<GuardedAssistant> {
  const config = opts.config ?? app.config.guardrails;
  const base = o.knowledge ?? knowledgeSearchFromApp(app);
  const knowledge = config.enabled ? guardKnowledgeSearch(base, config.retrieved.plantedInstructions) : base;
  const a = await openAssistant(app, { ...o, knowledge });
  if (a instanceof GuardedAssistant && !opts.config && !opts.onTurn) return a;
  // The inner assistant keeps what it opened (the churn service…); closing the guarded one closes it.
  return new GuardedAssistant(
    {
      engine: a.engine,
      store: a.store,
      config: a.config,
      now: o.now,
      closers: [() => a.close()],
      // The same tracing as the inner assistant: the guarded turn is the root span (llmops/observability).
      ...(a.observer ? { observer: a.observer } : {}),
    },
    config,
    { onTurn: opts.onTurn },
  );
}
