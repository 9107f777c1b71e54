import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { Span } from "@opentelemetry/api";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Registry } from "prom-client";
import { type ServingConfig, servingConfigSchema } from "../../platform/config/sections/serving.ts";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError, TelcoError, ValidationError } from "../../platform/errors.ts";
import { errorBody, errorSchema } from "../../platform/http/errors.ts";
import {
  type FeatureValue,
  type OnlineFeatureVector,
  type OnlineStore,
  syncReads,
} from "../../platform/ports/online-store.ts";
import type { ModelRegistry } from "../../platform/ports/registry.ts";
import { logger } from "../../platform/telemetry/logger.ts";
import { createTracing, type Tracing } from "../../platform/telemetry/tracing.ts";
import { openOnlineStore } from "../features/online.ts";
import { lastMonitorRunPath } from "../monitoring/last-run.ts";
import {
  PredictionLogWriter,
  type PredictionRecord,
  replayPredictionJournals,
} from "../monitoring/prediction-log.ts";
import { openRegistry } from "../registry/store.ts";
import type { ChurnModel } from "../training/model.ts";
import { type AccessLog, createAccessLog } from "./access-log.ts";
import { ApiKeyVerifier } from "./auth.ts";
import { ConnectionGuard } from "./connections.ts";
import { ExplainThread } from "./explain-thread.ts";
import { type HistogramSeries, ServingMetrics } from "./metrics.ts";
import { type LoadedModel, ModelHolder } from "./models.ts";
import { maskObject, maskUrl } from "./pii.ts";
import { KeyRateLimiter } from "./rate-limit.ts";
import {
  CUSTOMER_ID_PATTERN,
  languageOf,
  type Reason,
  reasonsOnThread,
  riskBand,
  servedRiskBands,
  singleRowDataset,
  singleRowFromVector,
  toDataset,
  validateFeatureRows,
} from "./scoring.ts";
import { vertexContract } from "./vertex-contract.ts";

/**
 * Online-store reads share one read snapshot for up to this long (a lookup skips SQLite's
 * per-statement locking: ~8 → ~2.5 µs); a new materialization is served within this delay.
 */
const STORE_SNAPSHOT_MS = 100;

/** What a test or the CLI may inject instead of the defaults built from the app context. */
export interface ServerOptions {
  config?: Partial<ServingConfig>;
  /** Accepted API keys (required: the CLI resolves them with resolveApiKeys). */
  apiKeys: readonly string[];
  registry?: ModelRegistry;
  store?: OnlineStore;
  holder?: ModelHolder;
  logWriter?: PredictionLogWriter;
  tracing?: Tracing;
  /** Where access-log lines go (default: a buffered async pino destination on stderr). */
  accessLog?: AccessLog;
  /**
   * Routes of other modules mounted on this server (the assistant's `/v1/assistant/*`, the WhatsApp
   * webhook), each in its own encapsulated scope: they keep their own body parsers and error mapping,
   * and share the server's limits, 404/405 answers and API keys (through the context).
   */
  plugins?: readonly ServerPlugin[];
}

/** What the serving layer gives a mounted plugin. */
export interface ServerPluginContext {
  /** Id of a valid operator API key in an Authorization header, or undefined. */
  verifyApiKey(authorization: string | undefined): string | undefined;
  /** Counts one request against `key`'s rate limit; false when over it. */
  rateLimit(key: string): boolean;
  /** Exposes another Prometheus registry on this server's /metrics. */
  includeMetrics(registry: Registry): void;
}

/** A plugin mounted by buildServer (see ServerOptions.plugins). */
export type ServerPlugin = (server: FastifyInstance, ctx: ServerPluginContext) => Promise<void>;

/** Where the prediction journal lives (serving.predictionLog.durability journal). */
export function predictionJournalDir(paths: { logs: string }): string {
  return join(paths.logs, "prediction-journal");
}

/** Handles tests and the CLI need after building the server. */
export interface ServingContext {
  config: ServingConfig;
  holder: ModelHolder;
  metrics: ServingMetrics;
  tracing: Tracing;
  logWriter: PredictionLogWriter;
  /** Undefined when `serving.workerThreads` keeps TreeSHAP on the request thread. */
  explainThread: ExplainThread | undefined;
}

const contexts = new WeakMap<FastifyInstance, ServingContext>();

/** The serving context of a server built by buildServer. */
export function servingContext(server: FastifyInstance): ServingContext {
  const ctx = contexts.get(server);
  if (!ctx) throw new TelcoError("serving", "not a server built by buildServer");
  return ctx;
}

interface PredictBody {
  customer_ids?: string[];
  features?: Record<string, unknown>[];
  model?: string;
  explain?: boolean;
}

function predictSchemas(cfg: ServingConfig) {
  const reason = {
    type: "object",
    properties: {
      feature: { type: "string" },
      label: { type: "string" },
      value: { type: ["number", "string", "null"] },
      contribution: { type: "number" },
      direction: { type: "string", enum: ["raises_risk", "lowers_risk"] },
      text: { type: "string" },
    },
  };
  return {
    body: {
      type: "object",
      additionalProperties: false,
      properties: {
        customer_ids: {
          type: "array",
          minItems: 1,
          maxItems: cfg.maxBatch,
          items: { type: "string", pattern: CUSTOMER_ID_PATTERN },
          description: "Score these customers with their features from the online store.",
        },
        features: {
          type: "array",
          minItems: 1,
          maxItems: cfg.maxBatch,
          items: {
            type: "object",
            maxProperties: 1024,
            properties: { customer_id: { type: ["string", "null"], pattern: CUSTOMER_ID_PATTERN } },
            additionalProperties: { type: ["number", "string", "boolean", "null"] },
          },
          description:
            "Full feature payloads: one object per customer with exactly the model's features (null for an unknown value) and an optional customer_id. Any other key is rejected (400 naming it), so nothing but features reaches the prediction log.",
        },
        model: {
          type: "string",
          minLength: 1,
          maxLength: 128,
          description: `Alias or version of model "${cfg.modelName}" (default: ${cfg.alias}).`,
        },
        explain: { type: "boolean", default: true, description: "Return TreeSHAP reasons." },
      },
      oneOf: [{ required: ["customer_ids"] }, { required: ["features"] }],
    },
    response: {
      200: {
        type: "object",
        properties: {
          predictions: {
            type: "array",
            items: {
              type: "object",
              properties: {
                customer_id: { type: ["string", "null"] },
                probability: { type: "number" },
                risk_band: { type: "string", enum: ["low", "medium", "high"] },
                reasons: { type: "array", items: reason },
                reasons_note: { type: "string" },
                model_name: { type: "string" },
                model_version: { type: "string" },
                prediction_id: { type: "string" },
              },
            },
          },
        },
      },
      "4xx": errorSchema,
      "5xx": errorSchema,
    },
  };
}

/** Field and code of an ajv validation error, in our error format. */
function validationFailure(err: FastifyError): { code: string; field: string; message: string } {
  const v = err.validation?.[0];
  if (!v) return { code: "invalid_request", field: "body", message: err.message };
  const path = v.instancePath
    .split("/")
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join("")
    .replace(/^\./, "");
  const params = v.params as { missingProperty?: string; additionalProperty?: string; limit?: number };
  if (v.keyword === "oneOf")
    return {
      code: "invalid_request",
      field: "body",
      message: "send exactly one of customer_ids or features",
    };
  if (v.keyword === "maxItems")
    return { code: "too_many_items", field: path, message: `at most ${params.limit} items per request` };
  if (v.keyword === "pattern" && /customer_id/.test(path))
    return {
      code: "invalid_request",
      field: path,
      message: "is not a customer id (letters, digits, _ . : -, up to 64 characters)",
    };
  if (v.keyword === "additionalProperties" && params.additionalProperty)
    return {
      code: "invalid_request",
      field: path ? `${path}.${params.additionalProperty}` : params.additionalProperty,
      message: "is not a known field",
    };
  return { code: "invalid_request", field: path || "body", message: v.message ?? "is invalid" };
}

/**
 * Builds the churn prediction server (not listening: call `listen`, or use `inject` in tests).
 * Loads the served model before returning; a missing model or online store leaves the server
 * up but not ready (/readyz 503), so Cloud Run keeps it out of rotation instead of crash-looping.
 */
export async function buildServer(app: AppContext, opts: ServerOptions): Promise<FastifyInstance> {
  const cfg = servingConfigSchema.parse({ ...app.config.serving, ...opts.config });
  const registry = opts.registry ?? openRegistry(app);
  const holder =
    opts.holder ??
    new ModelHolder(registry, {
      name: cfg.modelName,
      alias: cfg.alias,
      shadowAlias: cfg.shadowAlias,
      pollIntervalMs: cfg.pollIntervalMs,
    });
  const metrics = new ServingMetrics({ driftFile: lastMonitorRunPath(app.paths) });
  const tracing = opts.tracing ?? createTracing(cfg.tracing);
  const threads = cfg.workerThreads === "on" || (cfg.workerThreads === "auto" && availableParallelism() > 1);
  // Predictions a killed server left in its journal reach the lake before this one serves.
  const journalDir = predictionJournalDir(app.paths);
  const replayed = await replayPredictionJournals(app.lake(), journalDir);
  if (replayed.segments > 0)
    logger().warn(
      { ...replayed, journal: journalDir },
      "replayed the prediction journal of a server that stopped without flushing it",
    );
  const durability = cfg.predictionLog.durability;
  const logWriter =
    opts.logWriter ??
    new PredictionLogWriter(app.lake(), {
      maxBuffer: cfg.logBufferSize,
      flushIntervalMs: cfg.logFlushIntervalMs,
      thread: threads,
      journal: durability === "buffered" ? undefined : { dir: journalDir, durability },
    });
  const explainThread = threads ? new ExplainThread() : undefined;
  metrics.watchThreads(() => ({
    logThreadUp: logWriter.threadInUse,
    explainThreadUp: explainThread?.inUse ?? false,
    explainRows: explainThread?.rowsExplained ?? 0,
    logRecords: logWriter.persisted,
  }));
  const verifier = new ApiKeyVerifier(opts.apiKeys);
  const limiter = new KeyRateLimiter(cfg.rateLimit.max, cfg.rateLimit.timeWindowMs);
  const log = logger();
  const accessLog = opts.accessLog ?? createAccessLog();
  metrics.watchAccessLog(() => accessLog.dropped?.() ?? 0);
  let store = opts.store;
  let storeError: string | undefined;
  const onlineStore = (): OnlineStore | undefined => {
    if (!store) {
      try {
        store = openOnlineStore(app, { readOnly: true });
        syncReads(store)?.setReadSnapshotMs(STORE_SNAPSHOT_MS);
        storeError = undefined;
      } catch (err) {
        storeError = err instanceof Error ? err.message : String(err);
      }
    }
    return store;
  };

  holder.onModelSwap((m) => metrics.setModel(m.name, m.version, cfg.alias));
  await holder.start();
  const first = holder.current();
  if (first) metrics.setModel(first.name, first.version, cfg.alias);

  const limits = cfg.http;
  const server = Fastify({
    logger: false,
    bodyLimit: cfg.bodyLimitBytes,
    genReqId: () => randomUUID(),
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, allowUnionTypes: true },
    },
    return503OnClosing: true,
    // Bounded sockets (Node's defaults wait forever for a silent client): see ConnectionGuard for the cap.
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      // How often Node checks the header and request deadlines (its default, 30 s, would let a
      // 10 s header timeout run to 40 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, limits.headersTimeoutMs / 4)),
    },
    // Fastify's own answers in our error shape (see errorBody): a malformed URL …
    frameworkErrors: (err, req, rawReply) => {
      const bad = err.code === "FST_ERR_BAD_URL" || err.code === "FST_ERR_MAX_PARAM_LENGTH";
      (rawReply as FastifyReply)
        .code(bad ? 400 : 500)
        .send(
          errorBody(
            bad ? "invalid_url" : "internal",
            bad
              ? `the URL ${maskUrl(req.url)} is not valid (bad percent-encoding or too long)`
              : "internal error",
            bad ? "url" : undefined,
          ),
        );
    },
    // … and what Node's HTTP parser rejects before any route runs (malformed request, timeouts).
    clientErrorHandler: (err, socket) => clientError(err, socket as Socket),
  });
  contexts.set(server, { config: cfg, holder, metrics, tracing, logWriter, explainThread });
  const guard = new ConnectionGuard(server.server, limits.maxConnections);
  metrics.watchConnections(() => ({ open: guard.open, evicted: guard.evicted, refused: guard.refused }));

  // Which methods each route pattern answers, for 405 + Allow on a known path with another method.
  const routeMethods: { pattern: RegExp; methods: Set<string> }[] = [];
  server.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const pattern = routePattern(route.url ?? route.path);
    const known = routeMethods.find((r) => r.pattern.source === pattern.source);
    if (known) for (const m of methods) known.methods.add(m);
    else routeMethods.push({ pattern, methods: new Set(methods) });
  });

  // Per-request telemetry: one span, one counter/histogram sample and one masked access-log line.
  const spans = new WeakMap<FastifyRequest, Span>();
  const tracingOn = cfg.tracing !== "none" || opts.tracing !== undefined;
  if (tracingOn) {
    server.addHook("onRequest", (req, _reply, done) => {
      spans.set(
        req,
        tracing.tracer.startSpan(`HTTP ${req.method}`, { attributes: { "http.method": req.method } }),
      );
      done();
    });
  }
  // Labelled metric series cached per (method, route, status) and per (version, shadow).
  const requestSeries = new Map<string, HistogramSeries>();
  const seriesFor = (method: string, route: string, status: number) => {
    const key = `${method} ${route} ${status}`;
    let series = requestSeries.get(key);
    if (!series) {
      series = metrics.latency.labels({ method, route, status: String(status) });
      requestSeries.set(key, series);
    }
    return series;
  };
  const scoreSeries = new Map<string, HistogramSeries>();
  const scoresFor = (version: string, shadow: "true" | "false") => {
    const key = `${version} ${shadow}`;
    let series = scoreSeries.get(key);
    if (!series) {
      series = metrics.scores.labels({ model_version: version, shadow });
      scoreSeries.set(key, series);
    }
    return series;
  };
  // Callback-style hooks (here and for auth): an async hook costs a promise and a microtask per request.
  server.addHook("onResponse", (req, reply, done) => {
    const route = req.routeOptions.url ?? "unmatched";
    seriesFor(req.method, route, reply.statusCode).observe(reply.elapsedTime / 1000);
    const span = spans.get(req);
    if (span) {
      span.updateName(`${req.method} ${route}`);
      span.setAttribute("http.route", route);
      span.setAttribute("http.status_code", reply.statusCode);
      span.end();
    }
    // One access line per request (Fastify's own request/response lines are off); only the URL can
    // carry PII here (ids go in bodies, which are never logged).
    if (log.isLevelEnabled("info"))
      accessLog.log.info(
        {
          reqId: req.id,
          method: req.method,
          url: maskUrl(req.url),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
          key: (req as FastifyRequest & { apiKeyId?: string }).apiKeyId,
        },
        "request",
      );
    done();
  });

  // An unauthenticated caller gets its 401 and the connection closes (it cannot hold the socket to
  // try keys); also for the mounted plugins' 401s.
  server.addHook("onSend", (_req, reply, payload, done) => {
    if (reply.statusCode === 401) reply.header("connection", "close");
    done(null, payload);
  });

  server.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err.validation) {
      const f = validationFailure(err);
      return reply.code(400).send(errorBody(f.code, f.message, f.field));
    }
    if (err instanceof ValidationError)
      return reply.code(400).send(errorBody("invalid_request", err.message, err.field));
    if (err instanceof NotFoundError)
      return reply
        .code(404)
        .send(
          errorBody(
            (err.details?.code as string) ?? "not_found",
            err.message,
            err.details?.field as string | undefined,
          ),
        );
    if (
      err instanceof TelcoError &&
      (err.code === "not_ready" || err.code === "prediction_log_unavailable")
    ) {
      if (err.code !== "not_ready") log.error({ reqId: req.id, err: err.message }, "prediction refused");
      return reply.code(503).send(errorBody(err.code, err.message));
    }
    const status = typeof err.statusCode === "number" ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      const code =
        status === 413
          ? "payload_too_large"
          : status === 429
            ? "rate_limited"
            : status === 415
              ? "unsupported_media_type"
              : "invalid_request";
      const message =
        status === 415
          ? `send the body as application/json (got ${String(req.headers["content-type"] ?? "no content type").slice(0, 80)})`
          : status === 413
            ? `the body is larger than ${cfg.bodyLimitBytes} bytes (serving.bodyLimitBytes)`
            : err.message;
      // A body the server refused unread may still be arriving: close the connection after answering.
      if (status === 413 || status === 415) reply.header("connection", "close");
      return reply
        .code(status)
        .send(
          errorBody(code, message, status === 413 || status === 400 || status === 415 ? "body" : undefined),
        );
    }
    log.error(
      { reqId: req.id, err: maskObject({ message: err.message, stack: err.stack }) },
      "request failed",
    );
    return reply.code(500).send(errorBody("internal", "internal error; see the server log", undefined));
  });
  server.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0];
    const allowed = new Set<string>();
    for (const r of routeMethods) if (r.pattern.test(path)) for (const m of r.methods) allowed.add(m);
    if (allowed.size > 0) {
      const allow = [...allowed].sort().join(", ");
      return reply
        .code(405)
        .header("allow", allow)
        .send(
          errorBody("method_not_allowed", `${req.method} is not allowed on ${maskUrl(path)}; use ${allow}`),
        );
    }
    return reply.code(404).send(errorBody("route_not_found", `no route ${req.method} ${maskUrl(req.url)}`));
  });

  await server.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Aurora Telecom churn prediction API",
        version: "1.0.0",
        description: "Churn probability, risk band and reasons per customer. See docs/api/README.md.",
      },
      components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } } },
    },
  });
  await server.register(swaggerUi, { routePrefix: "/docs" });

  server.get("/openapi.json", { schema: { hide: true } }, async () => server.swagger());

  server.get(
    "/healthz",
    { schema: { description: "Liveness: the process answers.", tags: ["probes"] } },
    async () => ({ status: "ok" }),
  );

  server.get(
    "/readyz",
    {
      schema: {
        description: "Readiness: a model is loaded and the online store is reachable.",
        tags: ["probes"],
      },
    },
    async (_req, reply) => {
      const model = holder.current();
      let storeOk = false;
      let storeDetail = storeError;
      try {
        const s = onlineStore();
        const info = s ? await s.info() : undefined;
        storeOk = info !== undefined;
        if (s && !info) storeDetail = "online store is empty; run `telco features materialize`";
        else if (s) storeDetail = undefined;
        else storeDetail = storeError;
      } catch (err) {
        storeDetail = err instanceof Error ? err.message : String(err);
      }
      const ready = Boolean(model) && storeOk;
      return reply.code(ready ? 200 : 503).send({
        status: ready ? "ready" : "not_ready",
        model: model ? { name: model.name, version: model.version, alias: cfg.alias } : null,
        model_error: model
          ? undefined
          : (holder.lastError ?? `no ${cfg.modelName}@${cfg.alias} registered yet`),
        online_store: storeOk ? "ok" : storeDetail,
      });
    },
  );

  server.get("/metrics", { schema: { hide: true } }, async (_req, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.render();
  });

  // Operator API: bearer auth, then the per-key rate limit, both before the body is parsed.
  const windowText =
    cfg.rateLimit.timeWindowMs % 60_000 === 0
      ? `${cfg.rateLimit.timeWindowMs / 60_000} min`
      : `${cfg.rateLimit.timeWindowMs / 1000} s`;
  await server.register(async (api) => {
    // JSON only: Fastify's built-in text/plain parser would hand the schema a string (a 400), where the
    // API answers 415.
    api.removeContentTypeParser("text/plain");
    api.addHook("onRequest", (req, reply, done) => {
      const keyId = verifier.verify(req.headers.authorization);
      if (!keyId) {
        reply.header("www-authenticate", 'Bearer realm="telco"');
        reply
          .code(401)
          .send(errorBody("unauthorized", "missing or invalid API key (Authorization: Bearer KEY)"));
        return;
      }
      (req as FastifyRequest & { apiKeyId?: string }).apiKeyId = keyId;
      if (limiter.hit(keyId) < 0) {
        const resetSeconds = Math.max(1, Math.ceil((limiter.resetAt - Date.now()) / 1000));
        reply.headers({
          "retry-after": resetSeconds,
          "x-ratelimit-limit": limiter.max,
          "x-ratelimit-remaining": 0,
          "x-ratelimit-reset": resetSeconds,
        });
        reply
          .code(429)
          .send(
            errorBody(
              "rate_limited",
              `rate limit of ${limiter.max} requests per ${windowText} exceeded for this API key`,
            ),
          );
        return;
      }
      done();
    });

    api.post<{ Body: PredictBody }>(
      "/v1/churn/predict",
      {
        schema: {
          description:
            "Churn probability, risk band and top reasons for customers (by id, features from the online store) or for full feature payloads.",
          tags: ["churn"],
          security: [{ bearerAuth: [] }],
          ...predictSchemas(cfg),
        },
      },
      (req) => predict(req),
    );
  });

  // Routes of other modules, each in its own scope (their parsers and error handlers stay theirs).
  const pluginCtx: ServerPluginContext = {
    verifyApiKey: (authorization) => verifier.verify(authorization),
    rateLimit: (key) => limiter.hit(key) >= 0,
    includeMetrics: (registry) => metrics.include(registry),
  };
  for (const plugin of opts.plugins ?? []) await server.register(async (scope) => plugin(scope, pluginCtx));
  // Vertex AI Prediction's routes (AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE) when Vertex runs this image.
  await server.register(vertexContract, {
    maxInstances: cfg.maxBatch,
    predict: (req) => predict(req),
    notReady: () =>
      holder.current()
        ? undefined
        : (holder.lastError ?? `no ${cfg.modelName}@${cfg.alias} model is loaded yet`),
  });

  /**
   * Scores one request: model selection, features, probabilities, reasons, logging. Synchronous
   * (no promise, no microtask) for the common request: served model, one id, a store with `getVector`.
   */
  function predict(req: FastifyRequest<{ Body: PredictBody }>) {
    const started = performance.now();
    const body = req.body;
    if (body.model) return holder.get(body.model).then((served) => predictWith(req, served, started));
    return predictWith(req, holder.current(), started);
  }

  function predictWith(
    req: FastifyRequest<{ Body: PredictBody }>,
    served: LoadedModel | undefined,
    started: number,
  ) {
    if (!served) throw new TelcoError("not_ready", `no ${cfg.modelName}@${cfg.alias} model is loaded yet`);
    const body = req.body;
    if (!body.customer_ids) {
      const rows = validateFeatureRows(served.model, body.features ?? []);
      const ids = rows.map((r) => (typeof r.customer_id === "string" ? r.customer_id : null));
      return respond(req, served, started, ids, rows, undefined);
    }
    const s = onlineStore();
    if (!s) throw new TelcoError("not_ready", `online store unavailable: ${storeError ?? "unknown"}`);
    const ids = body.customer_ids;
    if (ids.length === 1) {
      const fast = syncReads(s);
      if (fast) {
        const vec = fast.getVector(ids[0]);
        if (!vec) throw unknownCustomer(ids[0], 0);
        return respond(req, served, started, ids, undefined, vec);
      }
      return s.get(ids[0]).then((rec) => {
        if (!rec) throw unknownCustomer(ids[0], 0);
        return respond(req, served, started, ids, [rec.features], undefined);
      });
    }
    return s.getMany(ids).then((found) => {
      const rows: Record<string, FeatureValue>[] = new Array(ids.length);
      for (let i = 0; i < ids.length; i++) {
        const rec = found.get(ids[i]);
        if (!rec) throw unknownCustomer(ids[i], i);
        rows[i] = rec.features;
      }
      return respond(req, served, started, ids, rows, undefined);
    });
  }

  /** The one-row dataset of `model` for a store vector, or the dataset of `rows`. */
  function datasetOf(
    model: ChurnModel,
    rows: Record<string, FeatureValue>[] | undefined,
    vec: OnlineFeatureVector | undefined,
  ) {
    if (vec) return singleRowFromVector(model, vec.featureNames, vec.values);
    const r = rows as Record<string, FeatureValue>[];
    return r.length === 1 ? singleRowDataset(model, r[0]) : toDataset(model, r);
  }

  /** Predicts, explains and logs `rows` (or the single store vector `vec`). */
  function respond(
    req: FastifyRequest<{ Body: PredictBody }>,
    served: LoadedModel,
    started: number,
    ids: readonly (string | null)[],
    rows: Record<string, FeatureValue>[] | undefined,
    vec: OnlineFeatureVector | undefined,
  ) {
    const body = req.body;
    const model = served.model;
    const n = vec ? 1 : (rows as Record<string, FeatureValue>[]).length;
    const data = datasetOf(model, rows, vec);
    const proba = model.predictProba(data);
    const explain = body.explain !== false;
    const lang = languageOf(req.headers["accept-language"]);
    const version = String(served.version);
    const latency = performance.now() - started;
    const ts = new Date().toISOString();
    const predictions = new Array(n);
    const scores = scoresFor(version, "false");
    // The card's cut-offs (set at training from the score distribution) unless config says otherwise.
    const bands = servedRiskBands(served, cfg);
    /** Reasons still being computed on the explain thread. */
    let waiting: Promise<void>[] | undefined;
    for (let i = 0; i < n; i++) {
      const p = proba[i];
      const band = riskBand(p, bands);
      const predictionId = randomUUID();
      let reasons: Reason[] = [];
      let note: string | undefined;
      if (explain) {
        if (model.explain) {
          const r = reasonsOnThread(model, data, i, cfg.topReasons, lang, explainThread);
          if (r instanceof Promise) {
            if (!waiting) waiting = [];
            waiting.push(
              r.then((rs) => {
                predictions[i].reasons = rs;
              }),
            );
          } else reasons = r;
        } else note = `${model.kind} models carry no explanations; reasons are empty`;
      }
      predictions[i] = {
        customer_id: ids[i],
        probability: p,
        risk_band: band,
        reasons,
        reasons_note: note,
        model_name: served.name,
        model_version: version,
        prediction_id: predictionId,
      };
      scores.observe(p);
      const record = {
        prediction_id: predictionId,
        ts,
        source: "online" as const,
        model_name: served.name,
        model_version: version,
        customer_id: ids[i],
      };
      if (vec)
        logWriter.appendVector(
          { ...record, probability: p, risk_band: band, latency_ms: latency },
          vec.featureNames,
          vec.values,
          vec.valuesJson,
        );
      else
        logWriter.append({
          ...record,
          features: (rows as Record<string, FeatureValue>[])[i] as PredictionRecord["features"],
          probability: p,
          risk_band: band,
          latency_ms: latency,
        });
    }
    if (!body.model) shadowScore(ids, ts, rows, vec);
    // With a journal, this request's records are on disk before its answer leaves (throws → 503).
    logWriter.commit();
    return waiting ? Promise.all(waiting).then(() => ({ predictions })) : { predictions };
  }

  /** Scores the challenger on the same rows and logs it with shadow: true (never returned). */
  function shadowScore(
    ids: readonly (string | null)[],
    ts: string,
    rows: Record<string, FeatureValue>[] | undefined,
    vec: OnlineFeatureVector | undefined,
  ): void {
    const shadow = holder.shadow();
    if (!shadow) return;
    try {
      const started = performance.now();
      const proba = shadow.model.predictProba(datasetOf(shadow.model, rows, vec));
      const latency = performance.now() - started;
      const version = String(shadow.version);
      for (let i = 0; i < proba.length; i++) {
        scoresFor(version, "true").observe(proba[i]);
        const record = {
          prediction_id: randomUUID(),
          ts,
          source: "online" as const,
          model_name: shadow.name,
          model_version: version,
          customer_id: ids[i],
        };
        const tail = {
          probability: proba[i],
          risk_band: riskBand(proba[i], servedRiskBands(shadow, cfg)),
          latency_ms: latency,
          shadow: true,
        };
        if (vec) logWriter.appendVector({ ...record, ...tail }, vec.featureNames, vec.values, vec.valuesJson);
        else
          logWriter.append({
            ...record,
            features: (rows as Record<string, FeatureValue>[])[i] as PredictionRecord["features"],
            ...tail,
          });
      }
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, "shadow scoring failed");
    }
  }

  // Drain: Fastify stops accepting and waits for in-flight requests before onClose runs.
  server.addHook("onClose", async () => {
    holder.stop();
    await logWriter.close();
    await explainThread?.close();
    if (opts.accessLog) accessLog.flush();
    else accessLog.close();
    await tracing.shutdown();
    if (store && !opts.store) await store.close();
  });

  return server;
}

function unknownCustomer(id: string, index: number): NotFoundError {
  return new NotFoundError(`customer ${JSON.stringify(id)}`, {
    hint: "Check the id, or send full features instead.",
    details: { code: "unknown_customer", field: `customer_ids[${index}]` },
  });
}

/** A route URL pattern (`/v1/assistant/sessions/:id`, `/docs/*`) as a path regex. */
function routePattern(url: string): RegExp {
  const source = url
    .split("/")
    .map((seg) =>
      seg.startsWith(":") ? "[^/]+" : seg === "*" ? ".*" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("/");
  return new RegExp(`^${source}/?$`);
}

/**
 * Answers what Node's HTTP parser rejected before Fastify saw a request (malformed request line or
 * headers, header or request timeout, oversized headers) in the API's error shape, then closes the
 * socket. Fastify's default writes `{"error":"Bad Request","message":"Client Error",…}`.
 */
function clientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, code, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [
          408,
          "request_timeout",
          "the request did not arrive in time (serving.http.requestTimeoutMs / headersTimeoutMs)",
        ]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "headers_too_large", "the request headers are too large"]
        : [400, "bad_request", "the request is not valid HTTP/1.1"];
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}
