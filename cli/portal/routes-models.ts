import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ServerPlugin } from "../../mlops/serving/server.ts";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError, TelcoError } from "../../platform/errors.ts";
import { errorBody, errorSchema } from "../../platform/http/errors.ts";
import { maskUrl } from "../../platform/pii/mask.ts";
import type { ModelRegistry } from "../../platform/ports/registry.ts";
import {
  type LineageDoc,
  type ModelEvaluationDoc,
  modelEvaluations,
  modelLineage,
  pipelineRunDetail,
  type RunDetailDoc,
} from "./models-data.ts";
import { type Role, RoleVerifier } from "./roles.ts";

/** What the Models and Pipelines views read beyond routes.ts (built by `modelViewDeps`). */
export interface ModelViewDeps {
  /** A version's ROC, PR, calibration and lift curves and SHAP summary on its evaluation rows. */
  evaluation(name: string, version: number): Promise<ModelEvaluationDoc>;
  /** A version's lineage back to the raw files. */
  lineage(name: string, version: number): Promise<LineageDoc>;
  /** One pipeline run as a DAG with its steps' records. */
  pipelineRun(runId: string): Promise<RunDetailDoc>;
  auditFile: string;
  roleKeys: { role: Role; key: string }[];
}

export function modelViewDeps(
  app: AppContext,
  base: { registry: ModelRegistry; auditFile: string; roleKeys: { role: Role; key: string }[] },
): ModelViewDeps {
  const evaluation = modelEvaluations(app, base.registry);
  return {
    evaluation,
    lineage: (name, version) => modelLineage(app, base.registry, name, version),
    pipelineRun: async (runId) => pipelineRunDetail(app, runId),
    auditFile: base.auditFile,
    roleKeys: base.roleKeys,
  };
}

const looseObject = { type: "object", additionalProperties: true } as const;
const looseArray = { type: "array", items: looseObject } as const;
const MODEL = "^[a-z0-9][a-z0-9_-]{0,63}$";
const RUN_ID = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$";

/**
 * Read endpoints of the console's Models (model card curves, SHAP summary, lineage) and Pipelines
 * (one run as a DAG) views. Same rules as routes.ts: a console key of any role (viewer and up),
 * one audit line per request in the portal audit log, the server's rate limit.
 */
export function modelViewRoutes(deps: ModelViewDeps): ServerPlugin {
  return async (server: FastifyInstance, ctx) => {
    const roles = new RoleVerifier(deps.roleKeys, ctx.verifyApiKey);
    mkdirSync(dirname(deps.auditFile), { recursive: true });
    const audit = (entry: Record<string, unknown>) =>
      appendFileSync(deps.auditFile, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
    await server.register(async (api) => {
      const callers = new WeakMap<FastifyRequest, { role: Role; keyId: string }>();
      api.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number }, req, reply) => {
        if (err.validation) return reply.code(400).send(errorBody("invalid_request", err.message));
        if (err instanceof NotFoundError) return reply.code(404).send(errorBody("not_found", err.message));
        if (err instanceof TelcoError)
          return reply
            .code(err.code === "system_unavailable" || err.code === "not_ready" ? 503 : 409)
            .send(errorBody(err.code, err.message));
        const status = typeof err.statusCode === "number" && err.statusCode < 500 ? err.statusCode : 500;
        if (status === 500) req.log.error({ err }, `console read ${maskUrl(req.url)} failed`);
        return reply
          .code(status)
          .send(
            errorBody(
              status === 500 ? "internal" : "invalid_request",
              status === 500 ? "internal error; see the server log" : err.message,
            ),
          );
      });
      api.addHook("onRequest", async (req, reply) => {
        const caller = roles.verify(req.headers.authorization);
        if (!caller) {
          audit({ key_id: null, role: null, method: req.method, url: maskUrl(req.url), status: 401 });
          reply.header("www-authenticate", 'Bearer realm="telco"');
          return reply
            .code(401)
            .send(errorBody("unauthorized", "send a console API key (Authorization: Bearer KEY)"));
        }
        if (!ctx.rateLimit(caller.keyId))
          return reply.code(429).send(errorBody("rate_limited", "rate limit exceeded; retry later"));
        callers.set(req, caller);
      });
      api.addHook("onResponse", async (req, reply) => {
        const c = callers.get(req);
        if (c)
          audit({
            key_id: c.keyId,
            role: c.role,
            method: req.method,
            url: maskUrl(req.url),
            status: reply.statusCode,
          });
      });
      const secured = { tags: ["portal"], security: [{ bearerAuth: [] }] };
      const resp = (ok: object) => ({ 200: ok, "4xx": errorSchema, "5xx": errorSchema });
      const versionParams = {
        type: "object",
        properties: {
          name: { type: "string", pattern: MODEL },
          version: { type: "string", pattern: "^[1-9][0-9]{0,8}$", description: "version number" },
        },
        required: ["name", "version"],
      } as const;

      api.get<{ Params: { name: string; version: string } }>(
        "/v1/portal/models/:name/versions/:version/evaluation",
        {
          schema: {
            ...secured,
            description:
              "A version's model-card curves on its evaluation rows (the dataset's held-out split, the card's when the data still matches: `matches_card`): ROC and PR points (highest threshold first), calibration bins, lift by decile, and the SHAP summary (mean |contribution| per feature). Computed from the registered model once, then cached.",
            params: versionParams,
            response: resp({
              type: "object",
              additionalProperties: true,
              properties: {
                model: { type: "string" },
                version: { type: "integer" },
                matches_card: { type: "boolean" },
                rows: { type: "integer" },
                auc: { type: "number" },
                card_auc: { type: ["number", "null"] },
                roc: looseArray,
                pr: looseArray,
                calibration: looseArray,
                lift: looseArray,
                shap: { anyOf: [looseObject, { type: "null" }] },
              },
            }),
          },
        },
        async (req) => deps.evaluation(req.params.name, Number(req.params.version)),
      );

      api.get<{ Params: { name: string; version: string } }>(
        "/v1/portal/models/:name/versions/:version/lineage",
        {
          schema: {
            ...secured,
            description:
              "Lineage of a version back to the raw files: the pipeline and training runs that made it, the dataset versions from its training table down to the raw lake files (gold → silver → bronze → raw), the ingestion batches and the delivered files.",
            params: versionParams,
            response: resp({
              type: "object",
              additionalProperties: true,
              properties: {
                model: looseObject,
                pipeline_run: { anyOf: [looseObject, { type: "null" }] },
                training_run_id: { type: ["string", "null"] },
                training_dataset: { anyOf: [looseObject, { type: "null" }] },
                datasets: looseArray,
                batches: looseArray,
                raw_files: looseArray,
                note: { type: ["string", "null"] },
              },
            }),
          },
        },
        async (req) => deps.lineage(req.params.name, Number(req.params.version)),
      );

      api.get<{ Params: { id: string } }>(
        "/v1/portal/pipelines/runs/:id",
        {
          schema: {
            ...secured,
            description:
              "One pipeline run as a DAG: its steps (status, duration, attempts, cache hit and source, inputs and outputs, error, the step's record as log lines around the lines the step logged itself, and those lines as step_log: time, level, attempt, PII-masked message, at most 500 lines of 2 KB per step) and the edges between them from the pipeline definition (or, for a pipeline this server does not know, from the run's artifacts).",
            params: {
              type: "object",
              properties: { id: { type: "string", pattern: RUN_ID } },
              required: ["id"],
            },
            response: resp({
              type: "object",
              additionalProperties: true,
              properties: {
                run: looseObject,
                edges_from: { type: "string", enum: ["definition", "artifacts", "none"] },
                edges: looseArray,
                steps: looseArray,
              },
            }),
          },
        },
        async (req) => deps.pipelineRun(req.params.id),
      );
    });
  };
}
