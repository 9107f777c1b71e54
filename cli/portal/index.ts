import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { knowledgeSearchFromApp } from "../../llmops/tools/knowledge.ts";
import { PipelineMetadata } from "../../mlops/pipelines/metadata.ts";
import { openRegistry } from "../../mlops/registry/store.ts";
import { createChurnRiskService } from "../../mlops/serving/churn-risk.ts";
import type { ServerPlugin } from "../../mlops/serving/server.ts";
import type { AppContext } from "../../platform/context.ts";
import type { OperatorSystems } from "../../platform/ports/operator-systems.ts";
import { ensurePortalBuilt } from "./build.ts";
import { parsePortalKeys } from "./roles.ts";
import { type PortalDeps, portalRoutes } from "./routes.ts";

/** Where every console request is audited (JSON lines in the workspace). */
export function portalAuditFile(app: AppContext): string {
  return join(app.paths.logs, "portal-audit.jsonl");
}

/** Customer ids of the online feature store (read-only; the at-risk table's population). */
function onlineStoreIds(path: string, limit: number): string[] {
  if (!existsSync(path)) return [];
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (
      db.prepare("select customer_id from features order by customer_id limit ?").all(limit) as {
        customer_id: string;
      }[]
    ).map((r) => r.customer_id);
  } finally {
    db.close();
  }
}

/** The portal's dependencies, built from the app context (the composition root's job). */
export function portalDeps(
  app: AppContext,
  env: NodeJS.ProcessEnv = process.env,
): PortalDeps & { close(): Promise<void> } {
  const churn = createChurnRiskService(app);
  let systems: Promise<OperatorSystems> | undefined;
  return {
    registry: openRegistry(app),
    promotionPolicy: app.config.registry.promotion,
    churn,
    systems: () => (systems ??= app.operator()),
    knowledge: knowledgeSearchFromApp(app),
    sessions: () => app.assistantSessions(),
    customerIds: async (limit) => onlineStoreIds(app.paths.onlineStore, limit),
    pipelineRuns: async (limit) => {
      const meta = new PipelineMetadata(app.paths.pipelines);
      try {
        return meta.listRuns(limit).map((r) => ({
          run_id: r.id,
          pipeline: r.pipeline,
          status: r.status,
          started_at: r.startedAt,
          finished_at: r.finishedAt,
          trigger: r.trigger,
          error: r.error,
          steps: meta.steps(r.id).map((st) => ({
            name: st.name,
            status: st.status,
            duration_ms: st.duration_ms,
            attempts: st.attempts,
            cached: st.status === "cached",
            error: st.error ?? null,
          })),
        }));
      } finally {
        meta.close();
      }
    },
    auditFile: portalAuditFile(app),
    roleKeys: parsePortalKeys(env.TELCO_PORTAL_KEYS),
    close: () => churn.close(),
  };
}

/**
 * The portal as a server plugin: builds portal/ when its build is missing or stale (a content-hash
 * stamp; ~1 s), then serves it at `/` with the console API under `/v1/portal/*`.
 */
export async function portalServerPlugins(
  app: AppContext,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<readonly ServerPlugin[]> {
  try {
    const r = await ensurePortalBuilt();
    if (r.built) log(`portal built in ${r.ms} ms`);
  } catch (err) {
    log(`portal not built (${(err as Error).message.split("\n")[0]}); run \`npm run build:portal\``);
  }
  const deps = portalDeps(app);
  const routes = portalRoutes(deps);
  return [
    async (scope, ctx) => {
      await routes(scope, ctx);
      scope.addHook("onClose", async () => deps.close());
    },
  ];
}
