import type { WriteOptions } from "./write-options.ts";

/**
 * CRM port: customer profile (PII lives here and nowhere else), contracts, interaction history,
 * protocols, consents and contact data. Ids are those of the synthetic delivery (AUR-…).
 */
export interface CustomerProfile {
  customer_id: string;
  name: string;
  cpf: string;
  birth_date: string;
  phone: string;
  email: string | null;
  uf: string;
  city: string;
  cep: string;
  segment: string;
  signup_date: string;
  /** active: at least one active contract; cancelled: none left. */
  status: "active" | "cancelled";
}

export interface Contract {
  contract_id: string;
  customer_id: string;
  plan_id: string;
  product: string;
  start_date: string;
  fidelity_months: number;
  fidelity_end_date: string | null;
  /** The full fidelity benefit (the fine is proportional to the months left: see the offers rules). */
  fidelity_fine_brl: number;
  monthly_price_brl: number;
  status: "active" | "cancelled" | "suspended" | "cancel_requested";
  cancel_date: string | null;
  cancel_reason: string | null;
}

export type InteractionOutcome =
  | "resolved"
  | "retained"
  | "cancel_requested"
  | "escalated"
  | "visit_scheduled"
  | "plan_changed"
  | "invoice_copy_issued"
  | "abandoned"
  | "unresolved";

export interface Interaction {
  interaction_id: string;
  customer_id: string;
  channel: "chat" | "whatsapp" | "api" | "cli" | "phone" | "store";
  category: string;
  summary: string;
  sentiment: "positive" | "neutral" | "negative";
  outcome: InteractionOutcome;
  offers_made: string[];
  offer_accepted: string | null;
  protocol: string | null;
  session_id: string | null;
  created_at: string;
}

export type NewInteraction = Omit<Interaction, "interaction_id" | "created_at" | "protocol"> & {
  protocol?: string | null;
};

/** An Anatel protocol number (RGC): every registered request gets one, given to the customer. */
export interface Protocol {
  protocol: string;
  customer_id: string;
  kind: string;
  summary: string;
  created_at: string;
}

/** Recorded consent of the session's customer to one side-effecting action. */
export interface ConsentRecord {
  consent_id: string;
  customer_id: string;
  session_id: string;
  /** The action consented to, e.g. "apply_offer", "change_plan", "schedule_technician". */
  action: string;
  /** What exactly: an offer id, a plan id, a slot id. */
  subject: string;
  given_at: string;
}

export interface Cancellation {
  customer_id: string;
  contract_ids: string[];
  protocol: string;
  reason: string;
  requested_at: string;
  /** When the cancellation takes effect (at most 48 hours after the request). */
  effective_by: string;
}

export interface CrmSystem {
  getCustomer(customerId: string): Promise<CustomerProfile | null>;
  /** Finds a customer by CPF (digits or formatted) or phone (+55…, any format). */
  findCustomer(query: { cpf?: string; phone?: string }): Promise<CustomerProfile | null>;
  /** Simulated login: CPF + birth date; returns the customer id or null. */
  verifyIdentity(query: { cpf: string; birth_date: string }): Promise<string | null>;
  /** Simulated login by one-time code: the sandbox CRM issues a 6-digit code and shows it. */
  issueLoginCode(customerId: string, opts: WriteOptions): Promise<{ code: string; expires_at: string }>;
  verifyLoginCode(customerId: string, code: string): Promise<boolean>;
  listContracts(customerId: string): Promise<Contract[]>;
  /** Newest first. */
  listInteractions(customerId: string, opts?: { since?: string; limit?: number }): Promise<Interaction[]>;
  /**
   * Every interaction registered through the systems at or after `since` (for the export back into
   * the data platform), oldest first; the delivery's own service-desk tickets are not re-exported.
   */
  exportInteractions(opts?: { since?: string }): Promise<Interaction[]>;
  recordInteraction(input: NewInteraction, opts: WriteOptions): Promise<Interaction>;
  openProtocol(
    input: { customer_id: string; kind: string; summary: string },
    opts: WriteOptions,
  ): Promise<Protocol>;
  recordConsent(
    input: Omit<ConsentRecord, "consent_id" | "given_at">,
    opts: WriteOptions,
  ): Promise<ConsentRecord>;
  getConsent(consentId: string): Promise<ConsentRecord | null>;
  updateContactData(
    customerId: string,
    change: { phone?: string; email?: string; cep?: string },
    opts: WriteOptions,
  ): Promise<CustomerProfile>;
  /** Registers the cancellation at once with a protocol (Anatel RGC); never refused for an active customer. */
  requestCancellation(
    input: { customer_id: string; contract_ids?: string[]; reason: string },
    opts: WriteOptions,
  ): Promise<Cancellation>;
}
