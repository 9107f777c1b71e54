import type { OperatorConfig } from "../../config/sections/operator.ts";
import type {
  BillingSystem,
  Dispute,
  Invoice,
  InvoiceCopy,
  InvoiceDetail,
  Payment,
  UsageMonth,
} from "../../ports/billing.ts";
import type {
  Cancellation,
  ConsentRecord,
  Contract,
  CrmSystem,
  CustomerProfile,
  Interaction,
  Protocol,
} from "../../ports/crm.ts";
import type {
  Booking,
  LineStatus,
  LineTest,
  NetworkSystem,
  Outage,
  SpeedTest,
  TechnicianSlot,
} from "../../ports/network.ts";
import type {
  AppliedOffer,
  Catalog,
  OfferDecisionRecord,
  OffersSystem,
  PlanChange,
} from "../../ports/offers.ts";
import { type OperatorSystems, type SystemName, SystemRejectedError } from "../../ports/operator-systems.ts";
import { type ClientOptions, enc, SystemHttpClient } from "./http-client.ts";

/** CRM over HTTP (the sandbox's or an operator's CRM exposing the same API). */
export class HttpCrm implements CrmSystem {
  readonly http: SystemHttpClient;
  constructor(http: SystemHttpClient) {
    this.http = http;
  }
  getCustomer(customerId: string) {
    return this.http.get<CustomerProfile>(`/customers/${enc(customerId)}`, undefined, "customer_not_found");
  }
  findCustomer(query: { cpf?: string; phone?: string }) {
    return this.http.get<CustomerProfile>("/customers/search", query, "customer_not_found");
  }
  async verifyIdentity(query: { cpf: string; birth_date: string }) {
    return (await this.http.postRead<{ customer_id: string | null }>("/identity/verify", query)).customer_id;
  }
  issueLoginCode(customerId: string, opts: { idempotencyKey: string }) {
    return this.http.write<{ code: string; expires_at: string }>(
      "POST",
      `/customers/${enc(customerId)}/login-codes`,
      {},
      opts.idempotencyKey,
    );
  }
  async verifyLoginCode(customerId: string, code: string) {
    return (
      await this.http.postOnce<{ valid: boolean }>(`/customers/${enc(customerId)}/login-codes/verify`, {
        code,
      })
    ).valid;
  }
  listContracts(customerId: string) {
    return this.http.getOrThrow<Contract[]>(`/customers/${enc(customerId)}/contracts`);
  }
  listInteractions(customerId: string, opts: { since?: string; limit?: number } = {}) {
    return this.http.getOrThrow<Interaction[]>(`/customers/${enc(customerId)}/interactions`, opts);
  }
  exportInteractions(opts: { since?: string } = {}) {
    return this.http.getOrThrow<Interaction[]>("/interactions", opts);
  }
  recordInteraction(input: Parameters<CrmSystem["recordInteraction"]>[0], opts: { idempotencyKey: string }) {
    return this.http.write<Interaction>("POST", "/interactions", input, opts.idempotencyKey);
  }
  openProtocol(
    input: { customer_id: string; kind: string; summary: string },
    opts: { idempotencyKey: string },
  ) {
    return this.http.write<Protocol>("POST", "/protocols", input, opts.idempotencyKey);
  }
  recordConsent(input: Omit<ConsentRecord, "consent_id" | "given_at">, opts: { idempotencyKey: string }) {
    return this.http.write<ConsentRecord>("POST", "/consents", input, opts.idempotencyKey);
  }
  getConsent(consentId: string) {
    return this.http.get<ConsentRecord>(`/consents/${enc(consentId)}`, undefined, "consent_not_found");
  }
  updateContactData(
    customerId: string,
    change: { phone?: string; email?: string; cep?: string },
    opts: { idempotencyKey: string },
  ) {
    return this.http.write<CustomerProfile>(
      "PATCH",
      `/customers/${enc(customerId)}/contact`,
      change,
      opts.idempotencyKey,
    );
  }
  requestCancellation(
    input: { customer_id: string; contract_ids?: string[]; reason: string },
    opts: { idempotencyKey: string },
  ) {
    return this.http.write<Cancellation>("POST", "/cancellations", input, opts.idempotencyKey);
  }
}

export class HttpBilling implements BillingSystem {
  readonly http: SystemHttpClient;
  constructor(http: SystemHttpClient) {
    this.http = http;
  }
  listInvoices(customerId: string, opts: { limit?: number } = {}) {
    return this.http.getOrThrow<Invoice[]>(`/customers/${enc(customerId)}/invoices`, opts);
  }
  getInvoice(invoiceId: string) {
    return this.http.get<InvoiceDetail>(`/invoices/${enc(invoiceId)}`, undefined, "invoice_not_found");
  }
  issueCopy(invoiceId: string, opts: { idempotencyKey: string }) {
    return this.http.write<InvoiceCopy>(
      "POST",
      `/invoices/${enc(invoiceId)}/copies`,
      {},
      opts.idempotencyKey,
    );
  }
  listPayments(customerId: string) {
    return this.http.getOrThrow<Payment[]>(`/customers/${enc(customerId)}/payments`);
  }
  listDisputes(customerId: string) {
    return this.http.getOrThrow<Dispute[]>(`/customers/${enc(customerId)}/disputes`);
  }
  openDispute(
    input: { invoice_id: string; customer_id: string; reason: string },
    opts: { idempotencyKey: string },
  ) {
    return this.http.write<Dispute>("POST", "/disputes", input, opts.idempotencyKey);
  }
  listUsage(customerId: string, opts: { months?: number } = {}) {
    return this.http.getOrThrow<UsageMonth[]>(`/customers/${enc(customerId)}/usage`, opts);
  }
}

export class HttpNetwork implements NetworkSystem {
  readonly http: SystemHttpClient;
  constructor(http: SystemHttpClient) {
    this.http = http;
  }
  getLineStatus(customerId: string) {
    return this.http.getOrThrow<LineStatus[]>(`/customers/${enc(customerId)}/line-status`);
  }
  listOutages(query: { uf: string; city?: string; activeAt?: string }) {
    return this.http.getOrThrow<Outage[]>("/outages", {
      uf: query.uf,
      city: query.city,
      active_at: query.activeAt,
    });
  }
  listSpeedTests(customerId: string, opts: { limit?: number } = {}) {
    return this.http.getOrThrow<SpeedTest[]>(`/customers/${enc(customerId)}/speed-tests`, opts);
  }
  runLineTest(customerId: string, opts: { idempotencyKey: string }) {
    return this.http.write<LineTest>(
      "POST",
      `/customers/${enc(customerId)}/line-tests`,
      {},
      opts.idempotencyKey,
    );
  }
  listTechnicianSlots(query: { customer_id: string; days?: number }) {
    return this.http.getOrThrow<TechnicianSlot[]>(`/customers/${enc(query.customer_id)}/technician-slots`, {
      days: query.days,
    });
  }
  bookTechnician(
    input: { customer_id: string; slot_id: string; reason: string },
    opts: { idempotencyKey: string },
  ) {
    return this.http.write<Booking>("POST", "/bookings", input, opts.idempotencyKey);
  }
  cancelBooking(bookingId: string, opts: { idempotencyKey: string }) {
    return this.http.write<Booking>("POST", `/bookings/${enc(bookingId)}/cancel`, {}, opts.idempotencyKey);
  }
  listBookings(customerId: string) {
    return this.http.getOrThrow<Booking[]>(`/customers/${enc(customerId)}/bookings`);
  }
}

export class HttpOffers implements OffersSystem {
  readonly http: SystemHttpClient;
  constructor(http: SystemHttpClient) {
    this.http = http;
  }
  catalog() {
    return this.http.getOrThrow<Catalog>("/catalog");
  }
  recordDecision(
    decision: Omit<OfferDecisionRecord, "decision_id" | "created_at">,
    opts: { idempotencyKey: string },
  ) {
    return this.http.write<OfferDecisionRecord>("POST", "/decisions", decision, opts.idempotencyKey);
  }
  getDecision(decisionId: string) {
    return this.http.get<OfferDecisionRecord>(
      `/decisions/${enc(decisionId)}`,
      undefined,
      "decision_not_found",
    );
  }
  listDecisions(customerId: string) {
    return this.http.getOrThrow<OfferDecisionRecord[]>(`/customers/${enc(customerId)}/decisions`);
  }
  applyOffer(input: Parameters<OffersSystem["applyOffer"]>[0], opts: { idempotencyKey: string }) {
    return this.http.write<AppliedOffer>("POST", "/applications", input, opts.idempotencyKey);
  }
  listAppliedOffers(customerId: string) {
    return this.http.getOrThrow<AppliedOffer[]>(`/customers/${enc(customerId)}/applications`);
  }
  changePlan(input: Parameters<OffersSystem["changePlan"]>[0], opts: { idempotencyKey: string }) {
    return this.http.write<PlanChange>("POST", "/plan-changes", input, opts.idempotencyKey);
  }
  listPlanChanges(customerId: string) {
    return this.http.getOrThrow<PlanChange[]>(`/customers/${enc(customerId)}/plan-changes`);
  }
}

/** The four systems over HTTP, with the clients exposed (breaker state, base URLs) for diagnostics. */
export interface HttpOperatorSystems extends OperatorSystems {
  readonly mode: "http";
  readonly clients: Record<SystemName, SystemHttpClient>;
}

/** Today in Brazil (yyyy-mm-dd): the business date of real systems. */
function brazilToday(): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "America/Sao_Paulo" }).format(new Date());
}

/**
 * Builds the HTTP connectors from config: base URLs per system, client behaviour, and bearer tokens
 * read from the variables `operator.systems.<name>.apiKeyEnv` names.
 */
export function httpOperatorSystems(
  config: Pick<OperatorConfig, "systems" | "client">,
  opts: { env?: NodeJS.ProcessEnv; client?: Partial<ClientOptions> } = {},
): HttpOperatorSystems {
  const env = opts.env ?? process.env;
  const make = (system: SystemName) => {
    const ep = config.systems[system];
    return new SystemHttpClient({
      ...config.client,
      ...opts.client,
      system,
      baseUrl: ep.url,
      token: ep.apiKeyEnv ? env[ep.apiKeyEnv] : undefined,
    });
  };
  const clients = {
    crm: make("crm"),
    billing: make("billing"),
    network: make("network"),
    offers: make("offers"),
  };
  let dateCache: { value: string; at: number } | undefined;
  return {
    mode: "http",
    clients,
    crm: new HttpCrm(clients.crm),
    billing: new HttpBilling(clients.billing),
    network: new HttpNetwork(clients.network),
    offers: new HttpOffers(clients.offers),
    async businessDate() {
      if (dateCache && Date.now() - dateCache.at < 60_000) return dateCache.value;
      let value: string;
      try {
        value = (await clients.crm.getOrThrow<{ business_date: string }>("/clock")).business_date;
      } catch (err) {
        // A real CRM has no simulated clock: its business date is today's date in Brazil.
        if (err instanceof SystemRejectedError && err.status === 404) value = brazilToday();
        else throw err;
      }
      dateCache = { value, at: Date.now() };
      return value;
    },
    async close() {},
  };
}
