import swagger from "@fastify/swagger";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { z } from "zod";
import { SYSTEM_NAMES, type SystemName, SystemRejectedError } from "../ports/operator-systems.ts";
import { INTERACTION_CHANNELS, INTERACTION_OUTCOMES, SENTIMENTS } from "./crm.ts";
import { openSandbox, type SandboxSystems } from "./index.ts";
import type { SandboxStoreOptions } from "./store.ts";

/** Fault injection of one system (config operator.sandbox.faults, or the test hook). */
export interface SystemFault {
  /** Added before every request of the system. */
  latencyMs: number;
  /** Share of requests answered 503 before reaching the system (0..1). */
  errorRate: number;
  /** The system drops every connection (nothing answers). */
  down: boolean;
  /** The next N requests are answered 503 (deterministic errors for tests). */
  failNext: number;
  /** The next N writes are applied, then their connection is dropped before the answer is sent. */
  dropNext: number;
}

export type FaultConfig = Partial<Record<SystemName, Partial<SystemFault>>>;

export interface SandboxServerOptions {
  /** The workspace store (paths.systems). */
  path: string;
  host?: string;
  port?: number;
  faults?: FaultConfig;
  logger?: boolean;
  store?: Omit<SandboxStoreOptions, "create">;
}

export interface SandboxServer {
  readonly url: string;
  readonly systems: SandboxSystems;
  readonly app: FastifyInstance;
  /** Base URL of one system, e.g. http://127.0.0.1:8090/crm. */
  systemUrl(system: SystemName): string;
  /** Sets (merges) the fault injection of one system; `clearFaults()` resets them all. */
  setFault(system: SystemName, fault: Partial<SystemFault>): SystemFault;
  clearFaults(): void;
  faults(): Record<SystemName, SystemFault>;
  close(): Promise<void>;
}

const NO_FAULT: SystemFault = { latencyMs: 0, errorRate: 0, down: false, failNext: 0, dropNext: 0 };

const faultSchema = z
  .object({
    latencyMs: z.number().int().min(0).max(600_000),
    errorRate: z.number().min(0).max(1),
    down: z.boolean(),
    failNext: z.number().int().min(0),
    dropNext: z.number().int().min(0),
  })
  .partial()
  .strict();

// ---- request schemas (validation and the OpenAPI documents) ----
const id = z.string().min(1).max(64);
const customerParams = z.object({ customerId: id });
const limitQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() });
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "yyyy-mm-dd");
const sinceQuery = z.object({
  since: z.string().max(40).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
const interactionBody = z.object({
  customer_id: id,
  channel: z.enum(INTERACTION_CHANNELS),
  category: z.string().min(1).max(64),
  summary: z.string().max(4000),
  sentiment: z.enum(SENTIMENTS),
  outcome: z.enum(INTERACTION_OUTCOMES),
  offers_made: z.array(z.string().min(1).max(64)).max(20).default([]),
  offer_accepted: z.string().max(64).nullable().default(null),
  protocol: z.string().max(40).nullable().optional(),
  session_id: z.string().max(128).nullable().default(null),
});
const anyJson = z.record(z.string(), z.unknown());

interface RouteDef<P, Q, B> {
  method: "GET" | "POST" | "PATCH";
  url: string;
  summary: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Writes need an Idempotency-Key header. */
  write?: boolean;
  handler: (
    s: SandboxSystems,
    input: { params: P; query: Q; body: B; key: string },
  ) => Promise<unknown> | unknown;
}

function def<P = unknown, Q = unknown, B = unknown>(
  d: RouteDef<P, Q, B>,
): RouteDef<unknown, unknown, unknown> {
  return d as unknown as RouteDef<unknown, unknown, unknown>;
}

function notFound(system: SystemName, code: string, what: string): never {
  throw new SystemRejectedError(system, 404, code, `no ${what}`);
}

const ROUTES: Record<
  SystemName,
  { title: string; description: string; routes: RouteDef<unknown, unknown, unknown>[] }
> = {
  crm: {
    title: "Aurora Telecom CRM (sandbox)",
    description:
      "Customer profile (PII), contracts, interactions, protocols (Anatel RGC), consents, contact data and cancellations.",
    routes: [
      def({
        method: "GET",
        url: "/clock",
        summary: "The system's business date and current time",
        handler: async (s) => ({ business_date: await s.businessDate(), now: s.store.now() }),
      }),
      def({
        method: "GET",
        url: "/customers/search",
        summary: "Find a customer by CPF or phone (404 when none)",
        query: z.object({ cpf: z.string().max(32).optional(), phone: z.string().max(32).optional() }),
        handler: async (s, { query }) =>
          (await s.crm.findCustomer(query)) ??
          notFound("crm", "customer_not_found", "customer with that cpf/phone"),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId",
        summary: "Customer profile",
        params: customerParams,
        handler: async (s, { params }) =>
          (await s.crm.getCustomer(params.customerId)) ??
          notFound("crm", "customer_not_found", `customer ${params.customerId}`),
      }),
      def({
        method: "POST",
        url: "/identity/verify",
        summary: "Simulated login: CPF + birth date → customer id (null when they do not match)",
        body: z.object({ cpf: z.string().min(1).max(32), birth_date: isoDate }),
        handler: async (s, { body }) => ({ customer_id: await s.crm.verifyIdentity(body) }),
      }),
      def({
        method: "POST",
        url: "/customers/:customerId/login-codes",
        summary: "Issue a 6-digit one-time login code (valid 10 minutes)",
        params: customerParams,
        write: true,
        handler: (s, { params, key }) => s.crm.issueLoginCode(params.customerId, { idempotencyKey: key }),
      }),
      def({
        method: "POST",
        url: "/customers/:customerId/login-codes/verify",
        summary: "Check (and use up) a login code",
        params: customerParams,
        body: z.object({ code: z.string().min(1).max(12) }),
        handler: async (s, { params, body }) => ({
          valid: await s.crm.verifyLoginCode(params.customerId, body.code),
        }),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId/contracts",
        summary: "Contracts of a customer",
        params: customerParams,
        handler: (s, { params }) => s.crm.listContracts(params.customerId),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId/interactions",
        summary: "Interaction history, newest first",
        params: customerParams,
        query: sinceQuery,
        handler: (s, { params, query }) => s.crm.listInteractions(params.customerId, query),
      }),
      def({
        method: "GET",
        url: "/interactions",
        summary: "Interactions registered through the systems since a date (export to the data platform)",
        query: z.object({ since: z.string().max(40).optional() }),
        handler: (s, { query }) => s.crm.exportInteractions(query),
      }),
      def({
        method: "POST",
        url: "/interactions",
        summary: "Register an interaction (a protocol is opened when none is given)",
        body: interactionBody,
        write: true,
        handler: (s, { body, key }) => s.crm.recordInteraction(body, { idempotencyKey: key }),
      }),
      def({
        method: "POST",
        url: "/protocols",
        summary: "Open a protocol number (AUR + yyyymmdd + 8 digits)",
        body: z.object({ customer_id: id, kind: z.string().min(1).max(64), summary: z.string().max(2000) }),
        write: true,
        handler: (s, { body, key }) => s.crm.openProtocol(body, { idempotencyKey: key }),
      }),
      def({
        method: "POST",
        url: "/consents",
        summary: "Record a customer's consent to one action",
        body: z.object({
          customer_id: id,
          session_id: z.string().min(1).max(128),
          action: z.string().min(1).max(64),
          subject: z.string().min(1).max(128),
        }),
        write: true,
        handler: (s, { body, key }) => s.crm.recordConsent(body, { idempotencyKey: key }),
      }),
      def({
        method: "GET",
        url: "/consents/:consentId",
        summary: "One consent record",
        params: z.object({ consentId: id }),
        handler: async (s, { params }) =>
          (await s.crm.getConsent(params.consentId)) ??
          notFound("crm", "consent_not_found", `consent ${params.consentId}`),
      }),
      def({
        method: "PATCH",
        url: "/customers/:customerId/contact",
        summary: "Change phone, e-mail or CEP",
        params: customerParams,
        body: z.object({
          phone: z.string().max(32).optional(),
          email: z.string().max(254).optional(),
          cep: z.string().max(16).optional(),
        }),
        write: true,
        handler: (s, { params, body, key }) =>
          s.crm.updateContactData(params.customerId, body, { idempotencyKey: key }),
      }),
      def({
        method: "POST",
        url: "/cancellations",
        summary: "Register a cancellation at once, with a protocol (effective within 48 h)",
        body: z.object({
          customer_id: id,
          contract_ids: z.array(id).max(20).optional(),
          reason: z.string().max(2000),
        }),
        write: true,
        handler: (s, { body, key }) => s.crm.requestCancellation(body, { idempotencyKey: key }),
      }),
    ],
  },
  billing: {
    title: "Aurora Telecom billing (sandbox)",
    description: "Invoices with line items, payments, disputes, usage and second copies (boleto and Pix).",
    routes: [
      def({
        method: "GET",
        url: "/customers/:customerId/invoices",
        summary: "Invoices, newest reference month first",
        params: customerParams,
        query: limitQuery,
        handler: (s, { params, query }) => s.billing.listInvoices(params.customerId, query),
      }),
      def({
        method: "GET",
        url: "/invoices/:invoiceId",
        summary: "One invoice with its line items",
        params: z.object({ invoiceId: id }),
        handler: async (s, { params }) =>
          (await s.billing.getInvoice(params.invoiceId)) ??
          notFound("billing", "invoice_not_found", `invoice ${params.invoiceId}`),
      }),
      def({
        method: "POST",
        url: "/invoices/:invoiceId/copies",
        summary: "Second copy: linha digitável (FEBRABAN) and Pix copia e cola (EMV BR Code)",
        params: z.object({ invoiceId: id }),
        write: true,
        handler: (s, { params, key }) => s.billing.issueCopy(params.invoiceId, { idempotencyKey: key }),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId/payments",
        summary: "Payments",
        params: customerParams,
        handler: (s, { params }) => s.billing.listPayments(params.customerId),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId/disputes",
        summary: "Invoice disputes",
        params: customerParams,
        handler: (s, { params }) => s.billing.listDisputes(params.customerId),
      }),
      def({
        method: "POST",
        url: "/disputes",
        summary: "Open a dispute (contestação) on an invoice",
        body: z.object({ invoice_id: id, customer_id: id, reason: z.string().min(1).max(500) }),
        write: true,
        handler: (s, { body, key }) => s.billing.openDispute(body, { idempotencyKey: key }),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId/usage",
        summary: "Monthly usage, newest month first",
        params: customerParams,
        query: z.object({ months: z.coerce.number().int().min(1).max(60).optional() }),
        handler: (s, { params, query }) => s.billing.listUsage(params.customerId, query),
      }),
    ],
  },
  network: {
    title: "Aurora Telecom network/OSS (sandbox)",
    description:
      "Line and ONT status, regional outages with ETA, speed tests, remote line tests and technician visits.",
    routes: [
      def({
        method: "GET",
        url: "/customers/:customerId/line-status",
        summary: "Line and ONT status per active contract",
        params: customerParams,
        handler: (s, { params }) => s.network.getLineStatus(params.customerId),
      }),
      def({
        method: "GET",
        url: "/outages",
        summary: "Outages of a region; active_at keeps those active at that instant",
        query: z.object({
          uf: z.string().min(2).max(2),
          city: z.string().max(80).optional(),
          active_at: z.string().max(40).optional(),
        }),
        handler: (s, { query }) =>
          s.network.listOutages({ uf: query.uf, city: query.city, activeAt: query.active_at }),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId/speed-tests",
        summary: "Speed tests, newest first",
        params: customerParams,
        query: limitQuery,
        handler: (s, { params, query }) => s.network.listSpeedTests(params.customerId, query),
      }),
      def({
        method: "POST",
        url: "/customers/:customerId/line-tests",
        summary: "Run a remote line test",
        params: customerParams,
        write: true,
        handler: (s, { params, key }) => s.network.runLineTest(params.customerId, { idempotencyKey: key }),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId/technician-slots",
        summary: "Free technician slots in the customer's region over the next days",
        params: customerParams,
        query: z.object({ days: z.coerce.number().int().min(1).max(14).optional() }),
        handler: (s, { params, query }) =>
          s.network.listTechnicianSlots({ customer_id: params.customerId, days: query.days }),
      }),
      def({
        method: "POST",
        url: "/bookings",
        summary: "Book a technician visit in one offered slot",
        body: z.object({
          customer_id: id,
          slot_id: z.string().min(1).max(64),
          reason: z.string().min(1).max(500),
        }),
        write: true,
        handler: (s, { body, key }) => s.network.bookTechnician(body, { idempotencyKey: key }),
      }),
      def({
        method: "POST",
        url: "/bookings/:bookingId/cancel",
        summary: "Cancel a booked visit",
        params: z.object({ bookingId: id }),
        write: true,
        handler: (s, { params, key }) => s.network.cancelBooking(params.bookingId, { idempotencyKey: key }),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId/bookings",
        summary: "Technician visits, newest first",
        params: customerParams,
        handler: (s, { params }) => s.network.listBookings(params.customerId),
      }),
    ],
  },
  offers: {
    title: "Aurora Telecom offers (sandbox)",
    description:
      "Catalog (data/sample/operator-catalog.json), recorded rule decisions, retention offers (no stacking, supervisor approval) and plan changes.",
    routes: [
      def({
        method: "GET",
        url: "/catalog",
        summary: "Plans and retention offers; version is the catalog file's content hash",
        handler: (s) => s.offers.catalog(),
      }),
      def({
        method: "POST",
        url: "/decisions",
        summary: "Record a rules-engine decision (inputs, rule version, allowed and rejected offers)",
        body: z.object({
          customer_id: id,
          session_id: z.string().max(128).nullable().default(null),
          rules_version: z.string().min(1).max(64),
          churn_model_version: z.string().max(64).nullable().default(null),
          inputs: anyJson.default({}),
          allowed: z
            .array(
              z.object({ offer_id: id, rule_id: z.string().min(1).max(128), terms: anyJson.default({}) }),
            )
            .max(50),
          rejected: z
            .array(z.object({ offer_id: id, reasons: z.array(z.string().max(500)).max(50) }))
            .max(50),
        }),
        write: true,
        handler: (s, { body, key }) => s.offers.recordDecision(body, { idempotencyKey: key }),
      }),
      def({
        method: "GET",
        url: "/decisions/:decisionId",
        summary: "One recorded decision",
        params: z.object({ decisionId: id }),
        handler: async (s, { params }) =>
          (await s.offers.getDecision(params.decisionId)) ??
          notFound("offers", "decision_not_found", `decision ${params.decisionId}`),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId/decisions",
        summary: "Decisions of a customer, newest first",
        params: customerParams,
        handler: (s, { params }) => s.offers.listDecisions(params.customerId),
      }),
      def({
        method: "POST",
        url: "/applications",
        summary: "Apply a retention offer a recorded decision allowed (409/422 otherwise)",
        body: z.object({ customer_id: id, contract_id: id, offer_id: id, decision_id: id, consent_id: id }),
        write: true,
        handler: (s, { body, key }) => s.offers.applyOffer(body, { idempotencyKey: key }),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId/applications",
        summary: "Applied retention offers",
        params: customerParams,
        handler: (s, { params }) => s.offers.listAppliedOffers(params.customerId),
      }),
      def({
        method: "POST",
        url: "/plan-changes",
        summary: "Change a contract's plan within its product family",
        body: z.object({ customer_id: id, contract_id: id, to_plan_id: id, consent_id: id }),
        write: true,
        handler: (s, { body, key }) => s.offers.changePlan(body, { idempotencyKey: key }),
      }),
      def({
        method: "GET",
        url: "/customers/:customerId/plan-changes",
        summary: "Plan changes",
        params: customerParams,
        handler: (s, { params }) => s.offers.listPlanChanges(params.customerId),
      }),
    ],
  },
};

function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

function zodMessage(where: string, err: z.ZodError): string {
  const issue = err.issues[0];
  const path = issue?.path.length ? `.${issue.path.join(".")}` : "";
  return `${where}${path}: ${issue?.message ?? "invalid"}`;
}

function docSchema(schema: z.ZodType | undefined): Record<string, unknown> | undefined {
  if (!schema) return undefined;
  try {
    return z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", unrepresentable: "any" }) as Record<
      string,
      unknown
    >;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Serves the four sandbox systems on one port: /crm, /billing, /network, /offers, each with /openapi.json. */
export async function startSandboxServer(opts: SandboxServerOptions): Promise<SandboxServer> {
  const systems = openSandbox(opts.path, opts.store);
  const faults = Object.fromEntries(
    SYSTEM_NAMES.map((s) => [s, { ...NO_FAULT, ...(opts.faults?.[s] ?? {}) }]),
  ) as Record<SystemName, SystemFault>;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 256 * 1024 });
  // Validation is zod in each route (one message naming the field); JSON Schemas are for the documents.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.setErrorHandler((err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof SystemRejectedError) {
      return reply.code(err.status).send(errorBody(err.code, err.message.replace(/^[a-z]+: /, "")));
    }
    const status = typeof err.statusCode === "number" ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      const code =
        status === 413 ? "payload_too_large" : status === 415 ? "unsupported_media_type" : "invalid_request";
      return reply.code(status).send(errorBody(code, err.message));
    }
    app.log.error(err);
    return reply.code(500).send(errorBody("internal", "internal error"));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(errorBody("route_not_found", `no route ${req.method} ${req.url.split("?")[0]}`)),
  );

  app.get("/healthz", async () => ({ status: "ok", business_date: await systems.businessDate() }));
  app.get("/_sandbox/status", async () => systems.status());
  app.get("/_faults", async () => faults);
  app.put<{ Params: { system: string } }>("/_faults/:system", async (req, reply) => {
    const system = req.params.system as SystemName;
    if (!SYSTEM_NAMES.includes(system))
      return reply.code(404).send(errorBody("unknown_system", `no system ${req.params.system}`));
    const parsed = faultSchema.safeParse(req.body ?? {});
    if (!parsed.success)
      return reply.code(400).send(errorBody("invalid_request", zodMessage("body", parsed.error)));
    faults[system] = { ...faults[system], ...parsed.data };
    return faults[system];
  });
  app.delete("/_faults", async () => {
    for (const s of SYSTEM_NAMES) faults[s] = { ...NO_FAULT };
    return faults;
  });

  for (const system of SYSTEM_NAMES) {
    const spec = ROUTES[system];
    await app.register(
      async (child) => {
        await child.register(swagger, {
          openapi: {
            openapi: "3.0.3",
            info: { title: spec.title, version: "1.0.0", description: spec.description },
            servers: [{ url: `/${system}` }],
          },
          transform: ({ schema, url }) => ({
            schema,
            url: url.replace(new RegExp(`^/${system}`), "") || "/",
          }),
        });
        child.addHook("onRequest", async (req, reply) => {
          const f = faults[system];
          if (req.url.endsWith("/openapi.json")) return;
          if (f.down) {
            reply.hijack();
            req.raw.socket.destroy();
            return reply;
          }
          if (f.failNext > 0 || (f.errorRate > 0 && Math.random() < f.errorRate)) {
            if (f.failNext > 0) f.failNext--;
            return reply
              .code(503)
              .send(errorBody("fault_injected", `${system} is failing (fault injection)`));
          }
        });
        // Latency after the body is read: a slow system that still does the work (a timed-out write may be applied).
        child.addHook("preHandler", async (req) => {
          const ms = faults[system].latencyMs;
          if (ms > 0 && !req.url.endsWith("/openapi.json")) await sleep(ms);
        });
        child.get("/openapi.json", { schema: { hide: true } }, async () =>
          (child as unknown as { swagger(): unknown }).swagger(),
        );
        for (const r of spec.routes) {
          child.route({
            method: r.method,
            url: r.url,
            schema: Object.fromEntries(
              Object.entries({
                summary: r.summary,
                tags: [system],
                params: docSchema(r.params),
                querystring: docSchema(r.query),
                body: docSchema(r.body),
                headers: r.write
                  ? {
                      type: "object",
                      properties: {
                        "idempotency-key": { type: "string", description: "Same key → applied once" },
                      },
                      required: ["idempotency-key"],
                    }
                  : undefined,
              }).filter(([, v]) => v !== undefined),
            ),
            handler: async (req, reply) => {
              const input = { params: {}, query: {}, body: {}, key: "" } as {
                params: unknown;
                query: unknown;
                body: unknown;
                key: string;
              };
              for (const part of ["params", "query", "body"] as const) {
                const schema = r[part];
                if (!schema) continue;
                const parsed = schema.safeParse(part === "body" ? (req.body ?? {}) : req[part]);
                if (!parsed.success)
                  return reply.code(400).send(errorBody("invalid_request", zodMessage(part, parsed.error)));
                input[part] = parsed.data;
              }
              if (r.write) {
                const key = req.headers["idempotency-key"];
                if (typeof key !== "string" || !key || key.length > 200)
                  return reply
                    .code(400)
                    .send(
                      errorBody(
                        "idempotency_key_required",
                        "writes need an Idempotency-Key header (1-200 chars)",
                      ),
                    );
                input.key = key;
              }
              const result = await r.handler(systems, input);
              const f = faults[system];
              if (r.write && f.dropNext > 0) {
                // The write is applied; the answer is lost on the way (the client must not apply it twice).
                f.dropNext--;
                reply.hijack();
                req.raw.socket.destroy();
                return reply;
              }
              return reply.send(result);
            },
          });
        }
      },
      { prefix: `/${system}` },
    );
  }

  let address: string;
  try {
    address = await app.listen({ host: opts.host ?? "127.0.0.1", port: opts.port ?? 0 });
  } catch (err) {
    await systems.close();
    throw err;
  }
  const addr = app.server.address();
  const url =
    typeof addr === "object" && addr
      ? `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`
      : address;
  let closed = false;
  return {
    url,
    systems,
    app,
    systemUrl: (s) => `${url}/${s}`,
    setFault(s, fault) {
      const parsed = faultSchema.parse(fault);
      faults[s] = { ...faults[s], ...parsed };
      return faults[s];
    },
    clearFaults() {
      for (const s of SYSTEM_NAMES) faults[s] = { ...NO_FAULT };
    },
    faults: () => faults,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await systems.close();
    },
  };
}
