import type { FastifyInstance } from "fastify";
import type { AppContext } from "../../platform/context.ts";
import { errorSchema } from "../../platform/http/errors.ts";
import type { ModelRegistry } from "../../platform/ports/registry.ts";
import {
  type LineageDoc,
  type ModelEvaluationDoc,
  modelEvaluations,
  modelLineage,
  pipelineRunDetail,
  type RunDetailDoc,
} from "./models-data.ts";
import type { ConsoleRoutes } from "./routes.ts";

/** What the Models and Pipelines views read beyond routes.ts (built by `modelViewDeps`). */
export interface ModelViewDeps {
  /** A version's ROC, PR, calibration and lift curves and SHAP summary on its evaluation rows. */
  evaluation(name: string, version: number): Promise<ModelEvaluationDoc>;
  /** A version's lineage back to the raw files. */
  lineage(name: string, version: number): Promise<LineageDoc>;
  /** One pipeline run as a DAG with its steps' records. */
  pipelineRun(runId: string): Promise<RunDetailDoc>;
}

export function modelViewDeps(app: AppContext, base: { registry: ModelRegistry }): ModelViewDeps {
  const evaluation = modelEvaluations(app, base.registry);
  return {
    evaluation,
    lineage: (name, version) => modelLineage(app, base.registry, name, version),
    pipelineRun: async (runId) => pipelineRunDetail(app, runId),
  };
}

const looseObject = { type: "object", additionalProperties: true } as const;
const looseArray = { type: "array", items: looseObject } as const;
const MODEL = "^[a-z0-9][a-z0-9_-]{0,63}$";
const RUN_ID = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$";

/**
 * Read endpoints of the console's Models (model card curves, SHAP summary, lineage) and Pipelines
 * (one run as a DAG) views, for any console role; registered in the console scope (role check, audit,
 * rate limit, errors) by routes.ts.
 */
export function modelViewRoutes(deps: ModelViewDeps): ConsoleRoutes {
  return (api: FastifyInstance, { secured }) => {
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
  };
}
