import type { Command } from "commander";
import { assistantRoutes } from "../llmops/agent/routes.ts";
import { openAssistant } from "../llmops/assistant/compose.ts";
import { registerServingCommands } from "../mlops/serving/cli.ts";
import type { ServerPlugin } from "../mlops/serving/server.ts";
import type { AppContext } from "../platform/context.ts";
import { logger } from "../platform/telemetry/logger.ts";
import { registerChatCommands, scenarioCustomers } from "./chat.ts";
import { portalServerPlugins } from "./portal/index.ts";
import { whatsappPluginFor } from "./whatsapp.ts";

// `telco chat` lives in chat.ts (cli/main.ts loads it alone); re-exported for existing importers.
export { registerChatCommands, scenarioCustomers };

/**
 * Composition of the assistant into the API server: `telco serve` / `telco up` mounting `/v1/assistant/*`
 * beside the churn API (`telco chat` is cli/chat.ts).
 */

/** `telco serve` (and `telco predict`) with the assistant's routes mounted. */
export function registerServeCommands(program: Command): void {
  registerServingCommands(program, {
    plugins: assistantServerPlugins,
    // Loaded on use: Vertex AI batch prediction (cli/vertex.ts).
    batchTargets: { vertex: async (rt, o) => (await import("./vertex.ts")).vertexBatch(rt, o) },
  });
}

/** The assistant as a server plugin: routes, idle sweep, and its resources closed with the server. */
export async function assistantServerPlugins(app: AppContext): Promise<readonly ServerPlugin[]> {
  // Trained at start: the first customer does not wait for the classifier.
  let assistant: Awaited<ReturnType<typeof openAssistant>>;
  try {
    assistant = await openAssistant(app, { warm: true });
  } catch (err) {
    // The churn API must not depend on the assistant: without its systems (e.g. a workspace that only
    // has a model), its routes answer 503 saying why, and everything else is served.
    const reason = err instanceof Error ? err.message : String(err);
    logger().warn({ err: reason }, "assistant not available; /v1/assistant answers 503");
    return [
      async (scope) => {
        scope.all("/v1/assistant/*", async (_req, reply) =>
          reply.code(503).send({ error: { code: "assistant_unavailable", message: reason } }),
        );
      },
      ...(await portalServerPlugins(app)),
    ];
  }
  const routes = assistantRoutes(assistant);
  // The WhatsApp webhook over the same assistant (null unless channels.whatsapp.enabled).
  const whatsapp = await whatsappPluginFor(app, assistant);
  return [
    async (scope, ctx) => {
      // The assistant's series (turns, latency, tools, guardrails, tokens, cost) on the API's /metrics.
      if (assistant.observer?.metrics) ctx.includeMetrics(assistant.observer.metrics.registry);
      await routes(scope, ctx);
      scope.addHook("onClose", async () => assistant.close());
    },
    ...(whatsapp ? [whatsapp] : []),
    // The web portal at `/` and its console API (cli/portal).
    ...(await portalServerPlugins(app)),
  ];
}
