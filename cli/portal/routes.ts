import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, extname, join, normalize } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { listKnowledgeBaseDocuments } from "../../data/knowledge-base/documents.ts";
import { SECTION_SEPARATOR } from "../../llmops/rag/chunker.ts";
import { loadDocument } from "../../llmops/rag/loaders.ts";
import { evaluateOffers, loadRules } from "../../llmops/rules/engine.ts";
import { gatherOfferFacts } from "../../llmops/rules/facts.ts";
import type { KnowledgeSearch } from "../../llmops/tools/knowledge.ts";
import { promoteIfBetter, rollbackAlias } from "../../mlops/registry/policy.ts";
import type { ServerPlugin } from "../../mlops/serving/server.ts";
import type { PromotionPolicy } from "../../platform/config/sections/registry.ts";
import { NotFoundError, TelcoError } from "../../platform/errors.ts";
import { errorBody, errorSchema } from "../../platform/http/errors.ts";
import { maskUrl } from "../../platform/pii/mask.ts";
import type { AssistantSessionStore } from "../../platform/ports/assistant-sessions.ts";
import type { ChurnRiskService } from "../../platform/ports/churn-risk.ts";
import type { OperatorSystems } from "../../platform/ports/operator-systems.ts";
import type { ModelRegistry } from "../../platform/ports/registry.ts";
import { PORTAL_DIST } from "./build.ts";
import { type ObserveDeps, registerObserveRoutes } from "./observe-routes.ts";
import { ROLE_RANK, type Role, RoleVerifier } from "./roles.ts";

/** What the portal's read endpoints and actions use (built from the app context by cli/portal/index.ts). */
export interface PortalDeps {
  registry: ModelRegistry;
  promotionPolicy: PromotionPolicy;
  churn: ChurnRiskService;
  systems: () => Promise<OperatorSystems>;
  knowledge: KnowledgeSearch;
  sessions: () => Promise<AssistantSessionStore>;
  /** Customer ids with features (the at-risk table's population), at most `limit`. */
  customerIds(limit: number): Promise<string[]>;
  /** Recent pipeline runs with their steps (status, duration, cache), newest first. */
  pipelineRuns(limit: number): Promise<Record<string, unknown>[]>;
  /** The audit log (JSON lines) every console request is appended to. */
  auditFile: string;
  roleKeys: { role: Role; key: string }[];
  /** The built files served at `/` (default portal/dist). */
  distDir?: string;
  /** The assistant, evals and monitoring views' sources (absent: those endpoints are not mounted). */
  observe?: Omit<ObserveDeps, "sessions">;
  /** More console routes (cli/portal/routes-*.ts), registered in the console scope: role check, audit, errors. */
  consoleRoutes?: ConsoleRoutes[];
}

/** A set of console routes; `need(role)` is a preHandler refusing callers below that role (reads: any role). */
export type ConsoleRoutes = (
  api: FastifyInstance,
  opts: {
    secured: { tags: string[]; security: { bearerAuth: never[] }[] };
    need: (min: Role) => (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  },
) => void | Promise<void>;

type Caller = { role: Role; keyId: string };

const looseObject = { type: "object", additionalProperties: true } as const;
const looseArray = { type: "array", items: looseObject } as const;
const ID = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$";
const MODEL = "^[a-z0-9][a-z0-9_-]{0,63}$";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".ico": "image/x-icon",
};

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Portal not built</title></head><body><main><h1>The portal is not built</h1><p>Run <code>npm run build:portal</code> (needs the dev dependencies), then reload.</p></main></body></html>`;

/**
 * The web portal on the API server: the built single-page app at `/` (static files of portal/dist;
 * hand-served because @fastify/static is not a dependency and the build is a handful of files), and
 * the console's endpoints under `/v1/portal/*`, each checked against the caller's role and audited.
 */
export function portalRoutes(deps: PortalDeps): ServerPlugin {
  const dist = deps.distDir ?? PORTAL_DIST;
  return async (server: FastifyInstance, ctx) => {
    const roles = new RoleVerifier(deps.roleKeys, ctx.verifyApiKey);
    const callers = new WeakMap<FastifyRequest, Caller>();
    mkdirSync(dirname(deps.auditFile), { recursive: true });
    const audit = (entry: Record<string, unknown>) =>
      appendFileSync(deps.auditFile, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);

    // ---- static files ----
    const sendFile = (reply: FastifyReply, rel: string) => {
      const path = normalize(join(dist, rel));
      if (!path.startsWith(dist) || !existsSync(path)) return false;
      reply
        .header("content-type", CONTENT_TYPES[extname(path)] ?? "application/octet-stream")
        .header(
          "cache-control",
          rel.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache",
        )
        .send(readFileSync(path));
      return true;
    };
    server.get("/", { schema: { hide: true } }, async (_req, reply) => {
      if (!sendFile(reply, "index.html")) reply.code(503).type("text/html; charset=utf-8").send(NOT_BUILT);
      return reply;
    });
    server.get<{ Params: { "*": string } }>("/assets/*", { schema: { hide: true } }, async (req, reply) => {
      if (!sendFile(reply, `assets/${req.params["*"]}`))
        reply.code(404).send(errorBody("route_not_found", `no asset ${maskUrl(req.url)}`));
      return reply;
    });

    // ---- the knowledge base, readable by customers (citations link to a document's section) ----
    let kbPaths: Promise<Map<string, string>> | undefined;
    const esc = (t: string) => t.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    server.get<{ Params: { doc: string } }>(
      "/kb/:doc",
      {
        schema: {
          description:
            "A knowledge-base document as a page, one anchor per section (the citations' targets).",
          tags: ["portal"],
          params: { type: "object", properties: { doc: { type: "string", pattern: ID } }, required: ["doc"] },
        },
      },
      async (req, reply) => {
        kbPaths ??= listKnowledgeBaseDocuments().then(
          (docs) => new Map(docs.map((d) => [d.meta.id, d.path])),
        );
        const path = (await kbPaths).get(req.params.doc);
        if (!path)
          return reply.code(404).send(errorBody("not_found", `no knowledge-base document ${req.params.doc}`));
        const doc = await loadDocument(path);
        const title = String((doc.metadata as { title?: string }).title ?? req.params.doc);
        const body = doc.sections
          .map((sec) => {
            const label = sec.path.join(SECTION_SEPARATOR);
            const heading = label ? `<h2 id="${esc(label)}">${esc(label)}</h2>` : "";
            return `<section>${heading}${sec.text
              .split(/\n{2,}/)
              .map((p) => `<p>${esc(p)}</p>`)
              .join("")}</section>`;
          })
          .join("");
        return reply
          .type("text/html; charset=utf-8")
          .send(
            `<!doctype html><html lang="${esc(String((doc.metadata as { language?: string }).language ?? "pt-BR"))}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a2e}h2:target{background:#fff3c4}</style></head><body><main><h1>${esc(title)}</h1>${body}</main></body></html>`,
          );
      },
    );

    // ---- the console API ----
    await server.register(async (api) => {
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
      // Every console request, allowed or refused, is one audit line (who, role, what, outcome).
      api.addHook("onResponse", async (req, reply) => {
        const c = callers.get(req);
        if (!c) return;
        audit({
          key_id: c.keyId,
          role: c.role,
          method: req.method,
          url: maskUrl(req.url),
          status: reply.statusCode,
          ...(req.method === "POST" ? { body: req.body } : {}),
        });
      });
      const need = (min: Role) => async (req: FastifyRequest, reply: FastifyReply) => {
        const c = callers.get(req);
        if (!c || ROLE_RANK[c.role] < ROLE_RANK[min])
          return reply
            .code(403)
            .send(
              errorBody("forbidden", `this action needs the ${min} role (you are ${c?.role ?? "unknown"})`),
            );
      };
      const secured = { tags: ["portal"], security: [{ bearerAuth: [] }] };

      api.get(
        "/v1/portal/me",
        {
          schema: {
            ...secured,
            description: "The console caller's role and key id.",
            response: {
              200: {
                type: "object",
                properties: {
                  role: { type: "string", enum: ["viewer", "operator", "admin"] },
                  key_id: { type: "string" },
                },
              },
              "4xx": errorSchema,
            },
          },
        },
        async (req) => {
          const c = callers.get(req) as Caller;
          return { role: c.role, key_id: c.keyId };
        },
      );

      api.get<{ Querystring: { limit?: string; language?: "pt-BR" | "en" } }>(
        "/v1/portal/customers/at-risk",
        {
          schema: {
            ...secured,
            description:
              "Customers with features, scored by the champion, highest churn probability first, with each one's top reasons and the features the table filters on.",
            querystring: {
              type: "object",
              additionalProperties: false,
              properties: {
                limit: { type: "string", pattern: "^[1-9][0-9]{0,3}$", description: "1–2000 (default 200)" },
                language: { type: "string", enum: ["pt-BR", "en"] },
              },
            },
            response: {
              200: {
                type: "object",
                properties: {
                  columns: { type: "array", items: { type: "string" } },
                  customers: { type: "array", items: looseObject },
                },
              },
              "4xx": errorSchema,
              "5xx": errorSchema,
            },
          },
        },
        async (req) => {
          const ids = await deps.customerIds(Math.min(2000, Number(req.query.limit ?? 200)));
          const rows: Record<string, unknown>[] = [];
          for (const id of ids) {
            const r = await deps.churn.risk(id, { language: req.query.language ?? "en" });
            if (r)
              rows.push({
                customer_id: id,
                probability: r.probability,
                band: r.band,
                reasons: r.reasons.slice(0, 3),
                model_version: r.model_version,
                as_of: r.as_of,
              });
          }
          // Product, region and fidelity come from the CRM when it knows the customer.
          const columns = ["segment", "uf", "product", "fidelity_end_date"];
          try {
            const systems = await deps.systems();
            await Promise.all(
              rows.map(async (row) => {
                const id = row.customer_id as string;
                const [p, contracts] = await Promise.all([
                  systems.crm.getCustomer(id),
                  systems.crm.listContracts(id),
                ]);
                const active = contracts.find((c) => c.status === "active") ?? contracts[0];
                Object.assign(row, {
                  segment: p?.segment ?? null,
                  uf: p?.uf ?? null,
                  product: active?.product ?? null,
                  fidelity_end_date: active?.fidelity_end_date ?? null,
                });
              }),
            );
          } catch {
            // The CRM down or unknown customers: the table still shows scores and reasons.
          }
          rows.sort((a, b) => (b.probability as number) - (a.probability as number));
          return { columns, customers: rows };
        },
      );

      api.get<{ Params: { id: string } }>(
        "/v1/portal/customers/:id",
        {
          schema: {
            ...secured,
            description:
              "Customer 360: CRM profile and contracts, invoices, interactions with assistant transcripts, the churn score with reasons, and the retention offers the rules allow now with why (evaluated, not recorded).",
            params: { type: "object", properties: { id: { type: "string", pattern: ID } }, required: ["id"] },
            response: {
              200: {
                type: "object",
                properties: {
                  profile: looseObject,
                  contracts: looseArray,
                  invoices: looseArray,
                  usage: looseArray,
                  interactions: looseArray,
                  churn: { anyOf: [looseObject, { type: "null" }] },
                  offers: { anyOf: [looseObject, { type: "null" }] },
                },
              },
              "4xx": errorSchema,
              "5xx": errorSchema,
            },
          },
        },
        async (req) => {
          const id = req.params.id;
          const systems = await deps.systems();
          const profile = await systems.crm.getCustomer(id);
          if (!profile) throw new NotFoundError(`customer ${id}`);
          const [contracts, invoices, usage, interactions, churn] = await Promise.all([
            systems.crm.listContracts(id),
            systems.billing.listInvoices(id, { limit: 24 }),
            systems.billing.listUsage(id, { months: 12 }).catch(() => []),
            systems.crm.listInteractions(id, { limit: 50 }),
            deps.churn.risk(id, { language: "en" }).catch(() => null),
          ]);
          const store = await deps.sessions();
          const withTranscripts = await Promise.all(
            interactions.map(async (it) => {
              if (!it.session_id) return it;
              const turns = await store.listTurns(it.session_id, { limit: 100 }).catch(() => []);
              const transcript = turns.flatMap((t) => {
                const r = t.record as { message?: string; reply?: string };
                return [
                  ...(r.message ? [{ role: "customer", text: r.message }] : []),
                  ...(r.reply ? [{ role: "assistant", text: r.reply }] : []),
                ];
              });
              return { ...it, transcript };
            }),
          );
          let offers: Record<string, unknown> | null = null;
          try {
            const rules = loadRules();
            const facts = await gatherOfferFacts(id, { systems, churn: deps.churn, rules });
            const ev = evaluateOffers(rules, facts);
            offers = {
              rules_version: ev.rules_version,
              allowed: ev.allowed.map((a) => ({
                offer_id: a.offer_id,
                rule_id: a.rule_id,
                contract_id: a.contract_id,
                terms: a.terms,
              })),
              explanation: ev.offers.map(
                (o) =>
                  `${o.offer_id}: ${o.allowed ? "allowed" : "not allowed"}${o.reasons.length ? ` — ${o.reasons.join("; ")}` : ""}`,
              ),
            };
          } catch (err) {
            offers = { allowed: [], explanation: [`offers not evaluated: ${(err as Error).message}`] };
          }
          return { profile, contracts, invoices, usage, interactions: withTranscripts, churn, offers };
        },
      );

      api.get(
        "/v1/portal/models",
        {
          schema: {
            ...secured,
            description:
              "Every registered model: versions with their card metrics and aliases, and the alias history (promotions, rollbacks).",
            response: {
              200: { type: "object", properties: { models: looseArray } },
              "4xx": errorSchema,
              "5xx": errorSchema,
            },
          },
        },
        async () => {
          const names = await deps.registry.listModels();
          const models = await Promise.all(
            names.map(async (name) => {
              const [versions, aliases, events] = await Promise.all([
                deps.registry.listVersions(name),
                deps.registry.aliases(name),
                deps.registry.audit(name),
              ]);
              return {
                name,
                aliases,
                versions: versions.map((v) => ({
                  version: v.version,
                  created_at: v.createdAt,
                  created_by: v.createdBy,
                  format: v.format,
                  metrics: Object.fromEntries(
                    Object.entries(v.card.metrics ?? {}).map(([k, m]) => [
                      k,
                      (m as { value?: number })?.value ?? null,
                    ]),
                  ),
                  aliases: Object.entries(aliases)
                    .filter(([, n]) => n === v.version)
                    .map(([a]) => a),
                })),
                events: events.map((e) => ({
                  at: e.at,
                  by: e.by,
                  alias: e.alias,
                  from: e.from,
                  to: e.to,
                  action: e.action,
                  reason: e.reason,
                })),
              };
            }),
          );
          return { models };
        },
      );

      api.post<{
        Params: { name: string };
        Body: { version: number; alias?: string; reason?: string; force?: boolean };
      }>(
        "/v1/portal/models/:name/promote",
        {
          preHandler: need("admin"),
          schema: {
            ...secured,
            description:
              "Admin only: moves an alias (default champion) to a version if the promotion policy passes (or with force and a reason). Audited.",
            params: {
              type: "object",
              properties: { name: { type: "string", pattern: MODEL } },
              required: ["name"],
            },
            body: {
              type: "object",
              additionalProperties: false,
              required: ["version"],
              properties: {
                version: { type: "integer", minimum: 1 },
                alias: { type: "string", pattern: MODEL },
                reason: { type: "string", maxLength: 500 },
                force: { type: "boolean" },
              },
            },
            response: { 200: looseObject, "4xx": errorSchema, "5xx": errorSchema },
          },
        },
        async (req, reply) => {
          const c = callers.get(req) as Caller;
          const decision = await promoteIfBetter(deps.registry, {
            name: req.params.name,
            version: req.body.version,
            alias: req.body.alias ?? "champion",
            policy: deps.promotionPolicy,
            force: req.body.force,
            reason: req.body.reason ?? `portal: promoted by key ${c.keyId}`,
          });
          if (!decision.applied)
            return reply
              .code(409)
              .send(
                errorBody(
                  "promotion_refused",
                  `the promotion policy refused v${req.body.version}: ${decision.reasons.join("; ")}`,
                ),
              );
          return decision;
        },
      );

      api.post<{ Params: { name: string }; Body: { alias?: string; reason?: string } }>(
        "/v1/portal/models/:name/rollback",
        {
          preHandler: need("admin"),
          schema: {
            ...secured,
            description:
              "Admin only: moves an alias (default champion) back to its previous holder. Audited.",
            params: {
              type: "object",
              properties: { name: { type: "string", pattern: MODEL } },
              required: ["name"],
            },
            body: {
              type: "object",
              additionalProperties: false,
              properties: {
                alias: { type: "string", pattern: MODEL },
                reason: { type: "string", maxLength: 500 },
              },
            },
            response: { 200: looseObject, "4xx": errorSchema, "5xx": errorSchema },
          },
        },
        async (req) => {
          const c = callers.get(req) as Caller;
          return rollbackAlias(
            deps.registry,
            req.params.name,
            req.body?.alias ?? "champion",
            req.body?.reason ?? `portal: rolled back by key ${c.keyId}`,
          );
        },
      );

      api.get<{ Querystring: { limit?: string } }>(
        "/v1/portal/pipelines/runs",
        {
          schema: {
            ...secured,
            description:
              "Recent pipeline runs, newest first, each with its steps: status, duration, attempts, cache hits.",
            querystring: {
              type: "object",
              additionalProperties: false,
              properties: {
                limit: { type: "string", pattern: "^[1-9][0-9]{0,2}$", description: "1–999 (default 20)" },
              },
            },
            response: {
              200: { type: "object", properties: { runs: looseArray } },
              "4xx": errorSchema,
              "5xx": errorSchema,
            },
          },
        },
        async (req) => ({ runs: await deps.pipelineRuns(Number(req.query.limit ?? 20)) }),
      );

      api.get<{ Querystring: { q: string; k?: string } }>(
        "/v1/portal/knowledge/search",
        {
          schema: {
            ...secured,
            description: "Search playground over the knowledge base index: ranked chunks with scores.",
            querystring: {
              type: "object",
              additionalProperties: false,
              required: ["q"],
              properties: {
                q: { type: "string", minLength: 1, maxLength: 500 },
                k: { type: "string", pattern: "^([1-9]|1[0-9]|20)$", description: "1–20 (default 5)" },
              },
            },
            response: {
              200: { type: "object", properties: { index_version: { type: "string" }, results: looseArray } },
              "4xx": errorSchema,
              "5xx": errorSchema,
            },
          },
        },
        async (req) => deps.knowledge.search(req.query.q, { k: Number(req.query.k ?? 5) }),
      );

      if (deps.observe) registerObserveRoutes(api, { ...deps.observe, sessions: deps.sessions }, secured);
      for (const register of deps.consoleRoutes ?? []) await register(api, { secured, need });
    });
  };
}
