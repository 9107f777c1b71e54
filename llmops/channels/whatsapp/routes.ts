import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ValidationError } from "../../../platform/errors.ts";
import { errorBody, errorSchema } from "../../../platform/http/errors.ts";
import { QueueFullError, type WhatsAppChannel } from "./channel.ts";

/**
 * The WhatsApp Cloud API webhook, mounted on the API server by the composition root:
 *   GET  /v1/channels/whatsapp/webhook   Meta's subscription handshake (hub.challenge)
 *   POST /v1/channels/whatsapp/webhook   messages and status callbacks, signed (X-Hub-Signature-256)
 * No API key: Meta authenticates with the app secret's signature, checked on the raw bytes before
 * anything is parsed. The plugin keeps its own body parser and error mapping in its own scope.
 */

export const WEBHOOK_PATH = "/v1/channels/whatsapp/webhook";

/** The plugin (the same `(server, ctx)` shape as the assistant's routes; no context is needed). */
export function whatsappRoutes(channel: WhatsAppChannel) {
  return async (server: FastifyInstance, _ctx?: unknown): Promise<void> => {
    await server.register(async (scope) => {
      // The signature covers the exact bytes Meta sent: keep them, parse only after the check.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

      scope.setErrorHandler((err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
        const status = typeof err.statusCode === "number" ? err.statusCode : 500;
        if (status === 413) return reply.code(413).send(errorBody("payload_too_large", err.message, "body"));
        if (status >= 400 && status < 500)
          return reply.code(status).send(errorBody("invalid_request", err.message));
        return reply.code(500).send(errorBody("internal", "internal error; see the server log"));
      });

      scope.addHook("onClose", async () => {
        await channel.close();
      });

      scope.get<{ Querystring: Record<string, string | undefined> }>(
        WEBHOOK_PATH,
        {
          schema: {
            description:
              "WhatsApp Cloud API subscription check: answers hub.challenge when hub.mode is subscribe and hub.verify_token matches the configured token; 403 otherwise.",
            tags: ["channels"],
            querystring: {
              type: "object",
              properties: {
                "hub.mode": { type: "string" },
                "hub.verify_token": { type: "string" },
                "hub.challenge": { type: "string" },
              },
            },
            response: { 200: { type: "string" }, "4xx": errorSchema },
          },
        },
        async (req, reply) => {
          const q = req.query;
          const challenge = channel.verifySubscription({
            mode: q["hub.mode"],
            token: q["hub.verify_token"],
            challenge: q["hub.challenge"],
          });
          // The query holds the verify token: the server's access log reads req.url after the reply,
          // so the token is cut from it here (hand-written: no logger option reaches query values).
          req.raw.url = `${WEBHOOK_PATH}?hub.mode=${encodeURIComponent(String(q["hub.mode"] ?? ""))}&hub.verify_token=[redacted]`;
          if (challenge === null)
            return reply.code(403).send(errorBody("forbidden", "webhook verification failed"));
          return reply.code(200).type("text/plain; charset=utf-8").send(challenge);
        },
      );

      scope.post<{ Body: Buffer }>(
        WEBHOOK_PATH,
        {
          bodyLimit: channel.config.maxBodyBytes,
          schema: {
            description:
              "WhatsApp Cloud API webhook (field `messages`): customer messages, button and list replies, and delivery statuses. Signed with X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the app secret): a bad or missing signature is 401. Answers 200 at once; replies go out through the Graph API afterwards. A message id seen before is not answered again.",
            tags: ["channels"],
            headers: {
              type: "object",
              properties: { "x-hub-signature-256": { type: "string" } },
            },
            response: {
              200: {
                type: "object",
                properties: {
                  received: { type: "integer" },
                  duplicates: { type: "integer" },
                  statuses: { type: "integer" },
                  skipped: { type: "integer" },
                },
              },
              "4xx": errorSchema,
              "5xx": errorSchema,
            },
          },
        },
        async (req, reply) => {
          const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          const header = req.headers["x-hub-signature-256"];
          if (!channel.verifySignature(raw, typeof header === "string" ? header : undefined))
            return reply
              .code(401)
              .send(
                errorBody(
                  "invalid_signature",
                  "missing or invalid X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the app secret)",
                  "x-hub-signature-256",
                ),
              );
          let json: unknown;
          try {
            json = JSON.parse(raw.toString("utf8"));
          } catch (err) {
            return reply
              .code(400)
              .send(errorBody("invalid_request", `body is not JSON: ${(err as Error).message}`, "body"));
          }
          try {
            return await channel.accept(json);
          } catch (err) {
            if (err instanceof ValidationError)
              return reply.code(400).send(errorBody("invalid_request", err.message, err.field));
            if (err instanceof QueueFullError) {
              reply.header("retry-after", "30");
              return reply.code(503).send(errorBody("queue_full", err.message));
            }
            throw err;
          }
        },
      );
    });
  };
}
