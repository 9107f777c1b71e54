import type { FastifyInstance, FastifyRequest } from "fastify";
import { NotFoundError, TelcoError, ValidationError } from "../../platform/errors.ts";
import { errorBody, errorSchema } from "../../platform/http/errors.ts";
import { CUSTOMER_ID_PATTERN } from "./scoring.ts";

/**
 * Vertex AI custom-container contract (https://cloud.google.com/vertex-ai/docs/predictions/custom-container-requirements):
 * Vertex starts the image with AIP_HTTP_PORT, AIP_HEALTH_ROUTE and AIP_PREDICT_ROUTE set, probes the
 * health route until it answers 200 and sends `{ "instances": [...], "parameters": {...} }` to the
 * predict route, expecting `{ "predictions": [...] }` with one prediction per instance, in order.
 *
 * Instances, decided here: each instance is EITHER a feature row (an object with exactly the model's
 * features, null for unknown, and an optional `customer_id`; what a batch prediction job over the
 * BigQuery features table sends, one object per row) OR a customer id string (features read from the
 * online store, as `customer_ids` on /v1/churn/predict). One request holds one kind. `parameters` may
 * carry `model` (alias or version) and `explain` (default true). A prediction is the same object
 * /v1/churn/predict returns (probability, risk_band, reasons, model_version, prediction_id).
 *
 * No API key on these routes: on Vertex the endpoint's IAM authenticates callers, and the container
 * is reachable only from Vertex's proxy. The routes exist only when the AIP_* variables are set.
 */

/** The body /v1/churn/predict's scoring takes (the server's PredictBody). */
export interface ChurnPredictBody {
  customer_ids?: string[];
  features?: Record<string, unknown>[];
  model?: string;
  explain?: boolean;
}

export interface VertexContractOptions {
  /** Where AIP_* are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Most instances per request (serving.maxBatch). */
  maxInstances: number;
  /** Undefined when ready to predict, else why not (the health route answers 503 with it). */
  notReady(): string | undefined;
  /** The churn API's scoring, given the request with its body translated to ChurnPredictBody. */
  predict(req: FastifyRequest<{ Body: ChurnPredictBody }>): unknown;
}

export interface VertexRoutes {
  port: number | undefined;
  health: string | undefined;
  predict: string | undefined;
}

/** The AIP_* variables Vertex sets (undefined when not running under Vertex AI Prediction). */
export function vertexRoutes(env: NodeJS.ProcessEnv = process.env): VertexRoutes {
  const raw = env.AIP_HTTP_PORT?.trim();
  let port: number | undefined;
  if (raw) {
    port = Number(raw);
    if (!/^\d+$/.test(raw) || port < 1 || port > 65535)
      throw new TelcoError(
        "config",
        `AIP_HTTP_PORT must be a port number 1-65535, got "${raw.slice(0, 20)}"`,
      );
  }
  const route = (name: string, v: string | undefined) => {
    if (!v) return undefined;
    if (!v.startsWith("/"))
      throw new TelcoError("config", `${name} must start with "/", got "${v.slice(0, 80)}"`);
    return v;
  };
  return {
    port,
    health: route("AIP_HEALTH_ROUTE", env.AIP_HEALTH_ROUTE),
    predict: route("AIP_PREDICT_ROUTE", env.AIP_PREDICT_ROUTE),
  };
}

/** Fastify reads ":x" as a path parameter; Vertex's default predict route ends in ":predict" (a literal). */
function literalRoute(path: string): string {
  return path.replace(/:/g, "::");
}

interface VertexBody {
  instances: unknown[];
  parameters?: { model?: string; explain?: boolean };
}

/** Renames the churn API's field names (customer_ids[i], features[i].x) to the Vertex ones (instances[i]…). */
function asInstancesError(err: unknown): unknown {
  const rename = (f: string) => f.replace(/^(customer_ids|features)(?=\[|$)/, "instances");
  if (err instanceof ValidationError) {
    const rest = err.message.startsWith(`${err.field}: `)
      ? err.message.slice(err.field.length + 2)
      : err.message;
    const details = { ...err.details };
    if (Array.isArray(details.problems))
      details.problems = (details.problems as { field: string }[]).map((p) => ({
        ...p,
        field: rename(p.field),
      }));
    return new ValidationError(rename(err.field), rest, { hint: err.hint, details });
  }
  if (err instanceof NotFoundError && typeof err.details?.field === "string")
    (err.details as Record<string, unknown>).field = rename(err.details.field);
  return err;
}

/** Mounts the health and predict routes named by AIP_HEALTH_ROUTE / AIP_PREDICT_ROUTE (none when unset). */
export async function vertexContract(server: FastifyInstance, opts: VertexContractOptions): Promise<void> {
  const routes = vertexRoutes(opts.env);
  if (routes.health && !server.hasRoute({ method: "GET", url: literalRoute(routes.health) }))
    server.get(
      literalRoute(routes.health),
      {
        schema: {
          description: "Vertex AI health check (AIP_HEALTH_ROUTE): 200 once a model is loaded.",
          tags: ["vertex"],
        },
      },
      async (_req, reply) => {
        const why = opts.notReady();
        return why ? reply.code(503).send(errorBody("not_ready", why)) : reply.send({ status: "ready" });
      },
    );
  if (!routes.predict) return;
  // JSON only (as on /v1/churn/predict): a text/plain body is a 415, not a schema error on a string.
  server.removeContentTypeParser("text/plain");
  server.post<{ Body: VertexBody }>(
    literalRoute(routes.predict),
    {
      schema: {
        description:
          "Vertex AI prediction (AIP_PREDICT_ROUTE): instances are feature rows or customer ids; predictions as /v1/churn/predict.",
        tags: ["vertex"],
        body: {
          type: "object",
          required: ["instances"],
          additionalProperties: false,
          properties: {
            instances: {
              type: "array",
              minItems: 1,
              maxItems: opts.maxInstances,
              items: {
                type: ["object", "string"],
                pattern: CUSTOMER_ID_PATTERN,
                maxProperties: 1024,
              },
            },
            parameters: {
              type: "object",
              additionalProperties: false,
              properties: {
                model: { type: "string", minLength: 1, maxLength: 128 },
                explain: { type: "boolean" },
              },
            },
          },
        },
        response: { "4xx": errorSchema, "5xx": errorSchema },
      },
    },
    async (req) => {
      const { instances, parameters } = req.body;
      const ids = instances.every((i) => typeof i === "string");
      if (!ids && !instances.every((i) => typeof i === "object" && i !== null && !Array.isArray(i))) {
        const first = instances.findIndex((i) => typeof i !== typeof instances[0] || Array.isArray(i));
        throw new ValidationError(
          `instances[${Math.max(first, 0)}]`,
          "mixes customer ids and feature rows; send one kind per request",
        );
      }
      const body: ChurnPredictBody = {
        ...(ids
          ? { customer_ids: instances as string[] }
          : { features: instances as Record<string, unknown>[] }),
        ...(parameters?.model ? { model: parameters.model } : {}),
        ...(parameters?.explain === undefined ? {} : { explain: parameters.explain }),
      };
      (req as unknown as { body: ChurnPredictBody }).body = body;
      try {
        return await opts.predict(req as unknown as FastifyRequest<{ Body: ChurnPredictBody }>);
      } catch (err) {
        throw asInstancesError(err);
      }
    },
  );
}
