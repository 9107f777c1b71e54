/**
 * Seeding the operator's systems: the domain (`mlops/simulator/systems-seed.ts`) reads a delivery folder
 * into plain typed rows (`SystemsSeed`) and hands them to a `SystemsSeeder`; the composition root
 * builds the seeder. Local profile: the operator sandbox (`sandboxSeeder()` in
 * platform/sandbox/seed.ts), which loads the rows and adds the scenario overlays at `as_of`.
 */

/** What loads a seed into the operator's systems (one transaction: the old state, then the new). */
export interface SystemsSeeder<R extends SystemsSeedReport = SystemsSeedReport> {
  seed(seed: SystemsSeed): R;
}

export interface SystemsSeedReport {
  /** Where the systems' state lives (the sandbox's SQLite file). */
  path: string;
  business_date: string;
  delivery: string;
  fingerprint: string;
  /** Rows held per table after seeding. */
  rows: Record<string, number>;
  skipped: Record<string, number>;
  /** Customers per demo scenario at the business date, and their counts. */
  scenarios: {
    business_date: string;
    customers: Record<string, string[]>;
    counts: Record<string, number>;
  };
  duration_ms: number;
}

/**
 * Plain rows of one synthetic delivery, typed. Ids are the delivery's (AUR-…, CTR-…, INV-…), so the
 * lake, the features and the systems agree.
 */
export interface SystemsSeed {
  source: {
    /** Delivery folder the seed was read from. */
    delivery: string;
    /** Content fingerprint of the delivery (hash of its manifest's file hashes): reseed when it changes. */
    fingerprint: string;
    generator: string;
    customers: number;
    months: number;
  };
  /** The sandbox's business date (yyyy-mm-dd): the last day of the delivery's last month. */
  as_of: string;
  customers: SeedCustomer[];
  contracts: SeedContract[];
  invoices: SeedInvoice[];
  invoice_items: SeedInvoiceItem[];
  payments: SeedPayment[];
  disputes: SeedDispute[];
  usage: SeedUsage[];
  outages: SeedOutage[];
  speed_tests: SeedSpeedTest[];
  tickets: SeedTicket[];
  /** Rows left out because they broke their data contract (dirty deliveries), per table. */
  skipped: Record<string, number>;
}

export interface SeedCustomer {
  customer_id: string;
  name: string;
  cpf: string;
  birth_date: string;
  phone: string;
  uf: string;
  city: string;
  cep: string;
  segment: string;
  signup_date: string;
}

export interface SeedContract {
  contract_id: string;
  customer_id: string;
  plan_id: string;
  product: string;
  start_date: string;
  fidelity_months: number;
  fidelity_end_date: string | null;
  fidelity_fine_brl: number;
  monthly_price_brl: number;
  status: "active" | "cancelled";
  cancel_date: string | null;
  cancel_reason: string | null;
}

export interface SeedInvoice {
  invoice_id: string;
  customer_id: string;
  contract_id: string;
  reference_month: string;
  issue_date: string;
  due_date: string;
  amount_brl: number;
  discount_brl: number;
  tax_brl: number;
  status: "paid" | "open" | "overdue" | "disputed";
}

export interface SeedInvoiceItem {
  invoice_id: string;
  line_no: number;
  item_type: string;
  description: string;
  amount_brl: number;
}

export interface SeedPayment {
  payment_id: string;
  invoice_id: string;
  customer_id: string;
  due_date: string;
  paid_date: string | null;
  amount_brl: number;
  method: string;
  days_late: number;
}

export interface SeedDispute {
  dispute_id: string;
  invoice_id: string;
  customer_id: string;
  opened_date: string;
  reason: string;
  status: string;
  resolved_date: string | null;
}

export interface SeedUsage {
  customer_id: string;
  /** yyyy-mm-01 */
  month: string;
  data_gb: number;
  voice_minutes: number;
  sms: number;
  roaming_mb: number;
}

export interface SeedOutage {
  outage_id: string;
  uf: string;
  city: string | null;
  started_at: string;
  ended_at: string;
  cause: string;
  /** mobile, fibra, tv or all. */
  affected_product: string;
}

export interface SeedSpeedTest {
  customer_id: string;
  measured_at: string;
  latency_ms: number;
  packet_loss_pct: number;
  download_mbps: number;
  contracted_mbps: number | null;
}

/** A service-desk ticket of the delivery; the CRM shows it as a past interaction. */
export interface SeedTicket {
  ticket_id: string;
  customer_id: string;
  opened_at: string;
  /** telefone, app, chat, whatsapp, loja, anatel */
  channel: string;
  category: string;
  resolved_at: string | null;
  resolution_hours: number | null;
  repeat_contact: boolean;
  satisfaction: number | null;
}
