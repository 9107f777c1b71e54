import { join } from "node:path";
import type { AppContext } from "../../platform/context.ts";
import type { AssistantSessionStore } from "../../platform/ports/assistant-sessions.ts";
import type { ChurnRisk, ChurnRiskService } from "../../platform/ports/churn-risk.ts";
import type { OperatorSystems } from "../../platform/ports/operator-systems.ts";
import { DialogueEngine, type Phraser } from "../agent/engine.ts";
import { LocalUnderstanding } from "../agent/understanding/local.ts";
import type { UnderstandingEngine } from "../conversation/commands.ts";
import { shieldedApp } from "../guardrails/llm-shield.ts";
import type { AssistantObserver } from "../observability/observer.ts";
import { knowledgeSearchFromApp } from "../tools/knowledge.ts";
import { createToolbox, type KnowledgeSearch, type ToolDeps } from "../tools/toolbox.ts";
import { GuardedAssistant } from "./guarded-assistant.ts";
import { guardedKnowledge } from "./guarded-knowledge.ts";

/**
 * Builds the assistant from an AppContext: the operator systems, the churn-risk service and the
 * knowledge base behind the tools; the understanding engine `assistant.understanding` selects; a
 * phraser when `llm.provider` is generative; the session store in the workspace. Tests and the
 * golden runner override any part (a fixture's systems, the churn band a scenario presets).
 */
export interface AssistantOverrides {
  systems?: OperatorSystems;
  churn?: ChurnRiskService;
  knowledge?: KnowledgeSearch;
  understanding?: UnderstandingEngine;
  store?: AssistantSessionStore;
  /** null: templates only, even with a generative provider configured. */
  phraser?: Phraser | null;
  audit?: ToolDeps["audit"];
  now?: () => Date;
  /** Train the offline classifier now rather than on the first message (servers). */
  warm?: boolean;
  /** Tracing, tokens, cost and metrics (default: the app's, llmops/observability); null: none. */
  observer?: AssistantObserver | null;
}

export async function openAssistant(app: AppContext, o: AssistantOverrides = {}): Promise<GuardedAssistant> {
  const systems = o.systems ?? (await app.operator());
  const obs =
    o.observer !== undefined ? o.observer : await (await import("../observability/open.ts")).observerFor(app);
  const closers: (() => Promise<void>)[] = obs ? [() => obs.flush()] : [];
  let churn = o.churn;
  if (!churn) {
    const own = new LazyChurnRisk(app);
    closers.push(() => own.close());
    churn = own;
  }
  const knowledge = guardedKnowledge(o.knowledge ?? knowledgeSearchFromApp(app), app.config.guardrails);
  const toolDeps: ToolDeps = {
    systems,
    churn: obs?.churn(churn) ?? churn,
    knowledge: obs?.knowledge(knowledge) ?? knowledge,
    ...(o.audit ? { audit: o.audit } : {}),
  };
  const llmApp = shieldedApp(obs?.app(app) ?? app, app.config.guardrails);
  const understanding = o.understanding ?? (await createUnderstanding(llmApp, systems, { warm: o.warm }));
  const phraser = o.phraser !== undefined ? o.phraser : await createPhraserFor(llmApp);
  const toolbox = (session: Parameters<typeof createToolbox>[1]) => createToolbox(toolDeps, session);
  const engine = new DialogueEngine({
    understanding: obs?.understanding(understanding) ?? understanding,
    toolbox: obs?.toolbox(toolbox) ?? toolbox,
    config: app.config.assistant,
    phraser: obs ? obs.phraser(phraser) : phraser,
  });
  const store = o.store ?? (await app.assistantSessions());
  // Behind its guardrails (llmops/guardrails); `guardrails.enabled: false` passes turns straight through.
  return new GuardedAssistant(
    { engine, store, config: app.config.assistant, now: o.now, closers, ...(obs ? { observer: obs } : {}) },
    app.config.guardrails,
  );
}

/**
 * The in-process churn model, loaded on the first risk asked (a retention offer): its module pulls in
 * the model registry, ONNX Runtime and the online store, which most turns — and a one-turn `telco chat`
 * about anything else — never need.
 */
class LazyChurnRisk implements ChurnRiskService {
  private readonly app: AppContext;
  private inner: Promise<ChurnRiskService & { close(): Promise<void> }> | undefined;

  constructor(app: AppContext) {
    this.app = app;
  }

  async risk(customerId: string, opts?: { language?: "pt-BR" | "en" }): Promise<ChurnRisk | null> {
    this.inner ??= import("../../mlops/serving/churn-risk.ts").then(
      (m) => new m.InProcessChurnRisk(this.app),
    );
    return (await this.inner).risk(customerId, opts);
  }

  async close(): Promise<void> {
    if (this.inner) await (await this.inner).close();
  }
}

/** The understanding engine `assistant.understanding` names (the local one reads the business date). */
export async function createUnderstanding(
  app: AppContext,
  systems: OperatorSystems,
  opts: { warm?: boolean } = {},
): Promise<UnderstandingEngine> {
  // The trained classifier is cached in the workspace (keyed on the utterance files), so a one-turn
  // `telco chat` loads it instead of training for a second or more.
  const local = new LocalUnderstanding({
    businessDate: () => systems.businessDate(),
    modelCacheFile: join(app.paths.assistant, "nlu-model.json"),
  });
  if (opts.warm) local.warmUp();
  if (app.config.assistant.understanding === "local") return local;
  const { LlmUnderstanding } = await import("../agent/understanding/llm.ts");
  return new LlmUnderstanding({ llm: await app.llm(), local, businessDate: () => systems.businessDate() });
}

/** A phraser over the configured model, or null with `llm.provider: local`. */
export async function createPhraserFor(app: AppContext): Promise<Phraser | null> {
  if (app.config.llm.provider === "local") return null;
  const llm = await app.llm();
  if (!llm.model) return null;
  const m = await import("../agent/phrasing.ts");
  return m.createPhraser(llm, app.config.assistant);
}
