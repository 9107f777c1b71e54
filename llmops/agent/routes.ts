import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { NotFoundError, TelcoError, ValidationError } from "../../platform/errors.ts";
import { errorBody, errorSchema } from "../../platform/http/errors.ts";
import {
  type Assistant,
  type Channel,
  type ChatResponse,
  CUSTOMER_TOKEN_PREFIX,
  documentedResponse,
  LoginFailedError,
  MAX_MESSAGE_CHARS,
  SessionForbiddenError,
} from "./assistant.ts";
import type { ToolCallView } from "./engine.ts";

/**
 * The assistant's HTTP API, mounted beside the churn API by the composition root:
 *   POST /v1/assistant/login          simulated login → customer session token
 *   POST /v1/assistant/chat           one turn, JSON or text/event-stream
 *   GET  /v1/assistant/sessions/:id   a session (flows, turns)
 * Two ways in: the operator's API key (a trusted channel, which may assert `customer_id`), or a
 * customer token from the login, which reaches only that customer's sessions and data.
 */

/** What the serving layer gives a mounted plugin (mlops/serving/server.ts ServerPluginContext). */
export interface AssistantRoutesContext {
  /** Id of a valid operator API key in an Authorization header, or undefined. */
  verifyApiKey(authorization: string | undefined): string | undefined;
  /** Counts one request against `key`'s rate limit; false when over it. */
  rateLimit(key: string): boolean;
}

type Caller = { kind: "operator"; keyId: string } | { kind: "customer"; customerId: string };

interface ChatBody {
  message: string;
  session_id?: string;
  customer_id?: string;
  channel?: Channel;
  language?: "pt-BR" | "en";
  stream?: boolean;
}

type LoginBody = { cpf: string; birth_date: string } | { customer_id: string; code: string };

const citationSchema = {
  type: "object",
  properties: {
    doc_id: { type: "string" },
    title: { type: "string" },
    section: { type: "string" },
    source: { type: "string" },
  },
  required: ["doc_id", "title", "section", "source"],
} as const;

const chatResponseSchema = {
  type: "object",
  properties: {
    session_id: { type: "string" },
    reply: { type: "string" },
    intent: { type: ["string", "null"] },
    citations: { type: "array", items: citationSchema },
    tool_calls: {
      type: "array",
      items: {
        type: "object",
        properties: { name: { type: "string" }, args: {}, result: {} },
        required: ["name"],
      },
    },
    offers: { type: "array", items: { type: "object", additionalProperties: true } },
    interaction_id: { type: ["string", "null"] },
    trace_id: { type: "string" },
    guardrails: {
      type: "array",
      description:
        "guardrails that fired in this turn: name, action, where (input, retrieved, output), reason",
      items: {
        type: "object",
        properties: {
          name: { type: "string" },
          action: { type: "string" },
          where: { type: "string", enum: ["input", "retrieved", "output"] },
          reason: { type: "string" },
        },
        required: ["name", "action", "where", "reason"],
      },
    },
  },
  required: [
    "session_id",
    "reply",
    "intent",
    "citations",
    "tool_calls",
    "offers",
    "interaction_id",
    "trace_id",
    "guardrails",
  ],
} as const;

const ID = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$";

/** Splits a reply into the chunks a stream sends (paragraphs, then sentences), keeping all the text. */
export function replyChunks(reply: string): string[] {
  // Lines first (a numbered list stays whole per item), then sentences within a line.
  return reply.split(/(?<=\n)|(?<=[.!?] )(?=[A-ZÀ-Ý"“(])/).filter((c) => c.length > 0);
}

/**
 * The plugin: registers the routes and their error mapping in their own Fastify scope, and sweeps idle
 * sessions (closed and registered) every `assistant.idleSweepIntervalMs` while the server runs.
 */
export function assistantRoutes(assistant: Assistant, opts: { sweep?: boolean } = {}) {
  return async (server: FastifyInstance, ctx: AssistantRoutesContext): Promise<void> => {
    if (opts.sweep !== false) {
      const timer = setInterval(() => {
        void assistant.sweepIdle().catch(() => {});
      }, assistant.config.idleSweepIntervalMs);
      timer.unref();
      server.addHook("onClose", async () => clearInterval(timer));
    }

    const callers = new WeakMap<FastifyRequest, Caller>();
    const callerOf = (req: FastifyRequest): Caller => {
      const c = callers.get(req);
      if (!c) throw new TelcoError("unauthorized", "not authenticated");
      return c;
    };

    server.setErrorHandler((err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
      if (err.validation) {
        const v = err.validation[0];
        const field = v?.instancePath ? v.instancePath.replace(/^\//, "").replace(/\//g, ".") : "body";
        const params = v?.params as { missingProperty?: string; additionalProperty?: string } | undefined;
        const name = params?.missingProperty ?? params?.additionalProperty;
        return reply
          .code(400)
          .send(
            errorBody(
              "invalid_request",
              v?.message ?? err.message,
              name ? (field === "body" ? name : `${field}.${name}`) : field,
            ),
          );
      }
      if (err instanceof ValidationError)
        return reply.code(400).send(errorBody("invalid_request", err.message, err.field));
      if (err instanceof LoginFailedError)
        return reply.code(401).send(errorBody("login_failed", err.message));
      if (err instanceof SessionForbiddenError)
        return reply.code(403).send(errorBody("forbidden", err.message));
      if (err instanceof NotFoundError)
        return reply.code(404).send(errorBody((err.details?.code as string) ?? "not_found", err.message));
      if (err instanceof TelcoError && err.code === "session_conflict")
        return reply.code(409).send(errorBody("session_conflict", err.message));
      if (err instanceof TelcoError && err.code === "system_unavailable")
        return reply.code(503).send(errorBody("system_unavailable", err.message));
      if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500)
        return reply.code(err.statusCode).send(errorBody("invalid_request", err.message));
      return reply.code(500).send(errorBody("internal", "internal error; see the server log"));
    });

    /** Operator key or customer token; anything else is 401. Rate-limited per key or customer. */
    const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
      const header = req.headers.authorization;
      const keyId = ctx.verifyApiKey(header);
      let caller: Caller | undefined;
      if (keyId) caller = { kind: "operator", keyId };
      else {
        const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
        const customerId = m?.[1].startsWith(CUSTOMER_TOKEN_PREFIX)
          ? await assistant.customerForToken(m[1])
          : null;
        if (customerId) caller = { kind: "customer", customerId };
      }
      if (!caller) {
        reply.header("www-authenticate", 'Bearer realm="telco"');
        return reply
          .code(401)
          .send(
            errorBody(
              "unauthorized",
              "send the operator API key or a customer token (Authorization: Bearer …)",
            ),
          );
      }
      if (!ctx.rateLimit(caller.kind === "operator" ? caller.keyId : `customer:${caller.customerId}`))
        return reply.code(429).send(errorBody("rate_limited", "rate limit exceeded; retry later"));
      callers.set(req, caller);
    };

    server.post<{ Body: LoginBody }>(
      "/v1/assistant/login",
      {
        schema: {
          description:
            "Simulated customer login: CPF + birth date, or customer id + the one-time code the sandbox CRM issued (POST /crm/customers/{id}/login-codes). Returns a customer session token for the chat API.",
          tags: ["assistant"],
          body: {
            oneOf: [
              {
                type: "object",
                additionalProperties: false,
                required: ["cpf", "birth_date"],
                properties: {
                  cpf: { type: "string", minLength: 11, maxLength: 14 },
                  birth_date: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" },
                },
              },
              {
                type: "object",
                additionalProperties: false,
                required: ["customer_id", "code"],
                properties: {
                  customer_id: { type: "string", pattern: ID },
                  code: { type: "string", pattern: "^\\d{4,8}$" },
                },
              },
            ],
          },
          response: {
            200: {
              type: "object",
              properties: {
                token: { type: "string" },
                customer_id: { type: "string" },
                first_name: { type: "string" },
                method: { type: "string", enum: ["cpf_birth_date", "login_code"] },
                expires_at: { type: "string" },
              },
            },
            "4xx": errorSchema,
            "5xx": errorSchema,
          },
        },
      },
      async (req, reply) => {
        // Logins are public (a customer has no operator key): limit attempts per client address.
        if (!ctx.rateLimit(`login:${req.ip}`))
          return reply.code(429).send(errorBody("rate_limited", "too many login attempts; retry later"));
        return assistant.login(req.body);
      },
    );

    server.post<{ Body: ChatBody }>(
      "/v1/assistant/chat",
      {
        preHandler: authenticate,
        schema: {
          description:
            "One turn of the support and retention assistant. JSON by default; with `Accept: text/event-stream` (or `stream: true`) server-sent events: `tool` per tool call, `chunk` per piece of the reply, then `message` with the whole answer.",
          tags: ["assistant"],
          security: [{ bearerAuth: [] }],
          body: {
            type: "object",
            additionalProperties: false,
            required: ["message"],
            properties: {
              message: { type: "string", minLength: 1, maxLength: MAX_MESSAGE_CHARS },
              session_id: {
                type: "string",
                pattern: ID,
                description: "Continue this session (omit to start one).",
              },
              customer_id: {
                type: "string",
                pattern: ID,
                description:
                  "With the operator key: the customer this trusted channel vouches for (omit for an anonymous channel: the assistant checks identity). With a customer token: omit, or the token's own customer.",
              },
              channel: { type: "string", enum: ["chat", "whatsapp", "api"], default: "api" },
              language: { type: "string", enum: ["pt-BR", "en"] },
              stream: { type: "boolean", description: "Answer as text/event-stream." },
            },
          },
          response: { 200: chatResponseSchema, "4xx": errorSchema, "5xx": errorSchema },
        },
      },
      async (req, reply) => {
        const caller = callerOf(req);
        const body = req.body;
        let customer: string | null;
        if (caller.kind === "customer") {
          if (body.customer_id !== undefined && body.customer_id !== caller.customerId)
            return reply
              .code(403)
              .send(errorBody("forbidden", "a customer token acts only for its own customer", "customer_id"));
          customer = caller.customerId;
          // A customer may continue only a session of theirs (an anonymous one is refused too).
          if (body.session_id) {
            const s = await assistant.store.get(body.session_id);
            if (s && s.customer_id !== caller.customerId) throw new SessionForbiddenError(body.session_id);
          }
        } else customer = body.customer_id ?? null;
        const request = {
          session_id: body.session_id,
          customer_id: customer,
          channel: body.channel ?? ("api" as Channel),
          message: body.message,
          language: body.language,
        };
        const wantsStream = body.stream === true || (req.headers.accept ?? "").includes("text/event-stream");
        if (!wantsStream) return documentedResponse((await assistant.chat(request)).response);
        return streamTurn(reply, (onToolCall) =>
          assistant.chat(request, { onToolCall }).then((o) => o.response),
        );
      },
    );

    server.get<{ Params: { id: string }; Querystring: { turns?: number } }>(
      "/v1/assistant/sessions/:id",
      {
        preHandler: authenticate,
        schema: {
          description:
            "A session: its customer, status, language, open flows and last turns. A customer token sees only its own sessions.",
          tags: ["assistant"],
          security: [{ bearerAuth: [] }],
          params: { type: "object", properties: { id: { type: "string", pattern: ID } }, required: ["id"] },
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: { turns: { type: "integer", minimum: 0, maximum: 500, default: 50 } },
          },
          response: {
            200: {
              type: "object",
              properties: {
                session_id: { type: "string" },
                customer_id: { type: ["string", "null"] },
                channel: { type: "string" },
                status: { type: "string", enum: ["open", "closed"] },
                language: { type: "string" },
                created_at: { type: "string" },
                updated_at: { type: "string" },
                flows: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      flow: { type: "string" },
                      step: { type: "string" },
                      awaiting: { type: ["string", "null"] },
                    },
                  },
                },
                turns: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      turn_no: { type: "integer" },
                      trace_id: { type: "string" },
                      created_at: { type: "string" },
                      message: { type: "string" },
                      reply: { type: "string" },
                      intent: { type: ["string", "null"] },
                    },
                  },
                },
              },
            },
            "4xx": errorSchema,
            "5xx": errorSchema,
          },
        },
      },
      async (req) => {
        const caller = callerOf(req);
        return assistant.session(req.params.id, {
          turns: req.query.turns,
          ...(caller.kind === "customer" ? { customerId: caller.customerId } : {}),
        });
      },
    );
  };
}

/**
 * Server-sent events of one turn: `tool` as each tool call completes, then the reply in `chunk`s
 * (template pieces; a generative reply is streamed only after its grounding check passed), then
 * `message` with the whole JSON answer. An error after the stream started is an `error` event.
 */
async function streamTurn(
  reply: FastifyReply,
  run: (onToolCall: (c: ToolCallView) => void) => Promise<ChatResponse>,
): Promise<FastifyReply> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  const send = (event: string, data: unknown) => {
    if (!raw.writableEnded) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  try {
    const response = await run((c) => send("tool", c));
    for (const text of replyChunks(response.reply)) send("chunk", { text });
    send("message", documentedResponse(response));
  } catch (err) {
    const code = err instanceof TelcoError ? err.code : "internal";
    send(
      "error",
      errorBody(code, err instanceof TelcoError ? err.message : "internal error; see the server log").error,
    );
  } finally {
    raw.end();
  }
  return reply;
}
