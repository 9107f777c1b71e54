import type { AppContext } from "../../platform/context.ts";
import { type AssistantOverrides, openAssistant } from "../agent/compose.ts";
import { knowledgeSearchFromApp } from "../tools/knowledge.ts";
import { GuardedAssistant, type GuardOptions } from "./guarded-assistant.ts";
import { guardKnowledgeSearch } from "./knowledge.ts";

/**
 * The guarded assistant from an AppContext: the knowledge base behind the retrieved-content guardrail,
 * the assistant `openAssistant` builds, and `chat` behind the input and output guardrails of
 * `guardrails.*` config. Idempotent: when openAssistant already returns a GuardedAssistant (wired in
 * compose.ts), that one is returned as is.
 */
export async function openGuardedAssistant(
  app: AppContext,
  o: AssistantOverrides = {},
  opts: { onTurn?: GuardOptions["onTurn"] } = {},
): Promise<GuardedAssistant> {
  const config = app.config.guardrails;
  const knowledge = guardKnowledgeSearch(
    o.knowledge ?? knowledgeSearchFromApp(app),
    config.retrieved.plantedInstructions,
  );
  const a = await openAssistant(app, { ...o, knowledge });
  if (a instanceof GuardedAssistant) return a;
  return new GuardedAssistant(
    { engine: a.engine, store: a.store, config: a.config, now: o.now },
    config,
    opts,
  );
}
