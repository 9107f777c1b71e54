import type { WriteOptions } from "./write-options.ts";

/** Billing port: invoices with line items, payments, disputes, usage, and second copies. */
export interface Invoice {
  invoice_id: string;
  customer_id: string;
  contract_id: string;
  /** First day of the month billed (yyyy-mm-01). */
  reference_month: string;
  issue_date: string;
  due_date: string;
  amount_brl: number;
  discount_brl: number;
  tax_brl: number;
  status: "paid" | "open" | "overdue" | "cancelled" | "disputed";
}

export interface InvoiceItem {
  line_no: number;
  /** plan, extra_data, roaming, pro_rata, price_adjustment, discount, fine, late_fee, tax, … */
  item_type: string;
  description: string;
  amount_brl: number;
}

export interface InvoiceDetail extends Invoice {
  items: InvoiceItem[];
}

/** A second copy in the Brazilian formats: boleto (linha digitável, FEBRABAN) and Pix copia e cola (EMV BR Code). */
export interface InvoiceCopy {
  copy_id: string;
  invoice_id: string;
  customer_id: string;
  /** What to pay: the invoice amount, plus late charges when it is overdue. */
  amount_brl: number;
  /** The invoice's own amount. */
  original_amount_brl: number;
  /** Late fine (2%) and interest (1% a month, pro rata die) up to the copy's due date; 0 when not overdue. */
  late_charges_brl: number;
  /** The invoice's due date, or a new one (business date + 3 days) for an overdue invoice. */
  due_date: string;
  /** 47 digits, formatted in the five usual groups. */
  linha_digitavel: string;
  /** The 44-digit bar code the linha digitável encodes. */
  barcode: string;
  pix_copia_e_cola: string;
  issued_at: string;
}

export interface Payment {
  payment_id: string;
  invoice_id: string;
  customer_id: string;
  due_date: string;
  paid_date: string | null;
  amount_brl: number;
  method: string;
  days_late: number | null;
}

export interface Dispute {
  dispute_id: string;
  invoice_id: string;
  customer_id: string;
  opened_date: string;
  reason: string;
  status: string;
  resolved_date: string | null;
}

export interface UsageMonth {
  /** yyyy-mm-01 */
  month: string;
  data_gb: number;
  voice_minutes: number;
  sms: number;
  roaming_mb: number;
}

export interface BillingSystem {
  /** Newest reference month first. */
  listInvoices(customerId: string, opts?: { limit?: number }): Promise<Invoice[]>;
  getInvoice(invoiceId: string): Promise<InvoiceDetail | null>;
  issueCopy(invoiceId: string, opts: WriteOptions): Promise<InvoiceCopy>;
  listPayments(customerId: string): Promise<Payment[]>;
  listDisputes(customerId: string): Promise<Dispute[]>;
  openDispute(
    input: { invoice_id: string; customer_id: string; reason: string },
    opts: WriteOptions,
  ): Promise<Dispute>;
  /** Newest month first. */
  listUsage(customerId: string, opts?: { months?: number }): Promise<UsageMonth[]>;
}
