import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { loadRuns, runsDir } from "../../llmops/evaluations/report/store.ts";
import { listPrompts, loadPrompt } from "../../llmops/prompts/loader.ts";
import { readLock } from "../../llmops/prompts/lock.ts";
import { knowledgeSearchFromApp } from "../../llmops/tools/knowledge.ts";
import { lastMonitorRunPath } from "../../mlops/monitoring/monitor.ts";
import { openRegistry } from "../../mlops/registry/store.ts";
import { createChurnRiskService } from "../../mlops/serving/churn-risk.ts";
import type { ServerPlugin } from "../../mlops/serving/server.ts";
import type { AppContext } from "../../platform/context.ts";
import { ValidationError } from "../../platform/errors.ts";
import type { OperatorSystems } from "../../platform/ports/operator-systems.ts";
import { ensurePortalBuilt } from "./build.ts";
import { portalPipelineRuns } from "./pipeline-runs.ts";
import { resolvePortalKeys } from "./roles.ts";
import { type PortalDeps, portalRoutes } from "./routes.ts";
import { insightsDeps, insightsRoutes } from "./routes-insights.ts";
import { knowledgeDeps, knowledgeRoutes } from "./routes-knowledge.ts";
import { modelViewDeps, modelViewRoutes } from "./routes-models.ts";

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
  const registry = openRegistry(app);
  let systems: Promise<OperatorSystems> | undefined;
  return {
    registry,
    promotionPolicy: app.config.registry.promotion,
    churn,
    systems: () => (systems ??= app.operator()),
    knowledge: knowledgeSearchFromApp(app),
    sessions: () => app.assistantSessions(),
    customerIds: async (limit) => onlineStoreIds(app.paths.onlineStore, limit),
    pipelineRuns: (limit) => portalPipelineRuns(app, limit),
    observe: {
      traces: () => app.traceStore(),
      evalRuns: async (limit) =>
        loadRuns(runsDir(app.paths.assistant))
          .reverse()
          .slice(0, limit)
          .map((r) => ({
            run_id: r.run_id,
            created_at: r.created_at,
            engine: r.engine,
            llm: r.llm,
            k: r.k,
            git: r.git,
            duration_ms: r.duration_ms,
            gate: r.gate,
            suites: r.suites.map((su) => ({
              suite: su.suite,
              status: su.status,
              summary: su.summary,
              metrics: su.metrics,
              cases: su.cases.length,
              passed: su.cases.filter((c) => c.passed).length,
              // Failing cases only: a run holds hundreds of passing ones the view does not show.
              failures: su.cases
                .filter((c) => !c.passed)
                .slice(0, 50)
                .map((c) => ({ id: c.id, failures: c.failures })),
            })),
          })),
      prompts: async () => {
        const lock = readLock();
        return listPrompts().map((name) => {
          const p = loadPrompt(name);
          const locked = lock[name] ?? null;
          return {
            name,
            version: p.version,
            hash: p.hash,
            ref: p.ref,
            description: p.description,
            locked_version: locked?.version ?? null,
            locked_hash: locked?.hash ?? null,
            in_lock: locked !== null && locked.version === p.version && locked.hash === p.hash,
          };
        });
      },
      lastMonitorRun: async () => {
        const file = lastMonitorRunPath(app.paths);
        if (!existsSync(file)) return null;
        try {
          return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
        } catch (err) {
          throw new ValidationError(file, `not a readable monitor snapshot: ${(err as Error).message}`);
        }
      },
    },
    consoleRoutes: [
      insightsRoutes(insightsDeps(app)),
      knowledgeRoutes(knowledgeDeps(app)),
      modelViewRoutes(modelViewDeps(app, { registry })),
    ],
    auditFile: portalAuditFile(app),
    roleKeys: resolvePortalKeys(app.config.portal?.keys ?? [], env),
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
