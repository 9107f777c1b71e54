import type {
  BillingSystem,
  Dispute,
  Invoice,
  InvoiceCopy,
  InvoiceDetail,
  InvoiceItem,
  Payment,
  UsageMonth,
} from "../ports/billing.ts";
import type { WriteOptions } from "../ports/operator-systems.ts";
import { clampLimit, reject } from "./crm.ts";
import { addDays, cents, daysBetween, type SandboxStore } from "./store.ts";

const billingReject = (status: number, code: string, message: string) =>
  reject("billing", status, code, message);

/** Catalog rule late_payment: 2% fine plus 1% interest per month, pro rata die. */
const LATE_FINE = 0.02;
const INTEREST_PER_MONTH = 0.01;
/** A second copy of an overdue invoice falls due this many days after the business date. */
const COPY_DUE_DAYS = 3;

/** The operator's receiving data for second copies (simulated). */
export const BILLING_PAYEE = {
  bankCode: "341",
  pixKey: "financeiro@aurora-telecom.com.br",
  merchantName: "AURORA TELECOM",
  merchantCity: "SAO PAULO",
} as const;

/** The sandbox billing system over the shared store. */
export class SandboxBilling implements BillingSystem {
  private readonly store: SandboxStore;
  constructor(store: SandboxStore) {
    this.store = store;
  }

  private requireCustomer(customerId: string): void {
    const r = this.store.get("select 1 as x from customers where customer_id = ?", String(customerId));
    if (!r) throw billingReject(404, "customer_not_found", `no customer ${customerId}`);
  }

  private invoice(invoiceId: string): Invoice | undefined {
    return this.store.get<Invoice>("select * from invoices where invoice_id = ?", String(invoiceId));
  }

  async listInvoices(customerId: string, opts: { limit?: number } = {}): Promise<Invoice[]> {
    this.requireCustomer(customerId);
    return this.store.all<Invoice>(
      "select * from invoices where customer_id = ? order by reference_month desc, invoice_id desc limit ?",
      customerId,
      clampLimit(opts.limit, 12, 120),
    );
  }

  async getInvoice(invoiceId: string): Promise<InvoiceDetail | null> {
    const inv = this.invoice(invoiceId);
    if (!inv) return null;
    const items = this.store.all<InvoiceItem>(
      "select line_no, item_type, description, amount_brl from invoice_items where invoice_id = ? order by line_no",
      inv.invoice_id,
    );
    return { ...inv, items };
  }

  async issueCopy(invoiceId: string, opts: WriteOptions): Promise<InvoiceCopy> {
    // The Brazilian formats are loaded on first use (platform/formats).
    const formats = await import("./copy-formats.ts");
    return this.store.idempotent("billing", "issueCopy", opts.idempotencyKey, { invoiceId }, () => {
      const inv = this.invoice(invoiceId);
      if (!inv) throw billingReject(404, "invoice_not_found", `no invoice ${invoiceId}`);
      if (inv.status === "paid")
        throw billingReject(409, "invoice_paid", `invoice ${invoiceId} is already paid`);
      if (inv.status === "cancelled")
        throw billingReject(409, "invoice_cancelled", `invoice ${invoiceId} was cancelled`);
      if (inv.status === "disputed")
        throw billingReject(
          409,
          "invoice_disputed",
          `invoice ${invoiceId} is under dispute; payment is on hold`,
        );
      const today = this.store.businessDate();
      let amount = inv.amount_brl;
      let due = inv.due_date;
      let lateCharges = 0;
      if (inv.due_date < today) {
        due = addDays(today, COPY_DUE_DAYS);
        const days = daysBetween(inv.due_date, due);
        lateCharges = cents(inv.amount_brl * LATE_FINE + (inv.amount_brl * INTEREST_PER_MONTH * days) / 30);
        amount = cents(inv.amount_brl + lateCharges);
      }
      const n = this.store.nextSeq("copy");
      const copyId = `CPY-${String(n).padStart(9, "0")}`;
      const { barcode, linhaDigitavel } = formats.boleto({
        bankCode: BILLING_PAYEE.bankCode,
        amountBrl: amount,
        dueDate: due,
        ourNumber: String(n).padStart(8, "0"),
      });
      const pix = formats.pix({
        key: BILLING_PAYEE.pixKey,
        amountBrl: amount,
        merchantName: BILLING_PAYEE.merchantName,
        merchantCity: BILLING_PAYEE.merchantCity,
        txid: `${inv.invoice_id.replace(/[^A-Za-z0-9]/g, "")}C${n}`.slice(0, 25),
      });
      const copy: InvoiceCopy = {
        copy_id: copyId,
        invoice_id: inv.invoice_id,
        customer_id: inv.customer_id,
        amount_brl: amount,
        original_amount_brl: inv.amount_brl,
        late_charges_brl: lateCharges,
        due_date: due,
        linha_digitavel: linhaDigitavel,
        barcode,
        pix_copia_e_cola: pix,
        issued_at: this.store.now(),
      };
      this.store.run(
        "insert into invoice_copies values (?, ?, ?, ?, ?)",
        copyId,
        inv.invoice_id,
        inv.customer_id,
        JSON.stringify(copy),
        copy.issued_at,
      );
      return copy;
    });
  }

  async listPayments(customerId: string): Promise<Payment[]> {
    this.requireCustomer(customerId);
    return this.store.all<Payment>(
      "select * from payments where customer_id = ? order by due_date desc, payment_id desc",
      customerId,
    );
  }

  async listDisputes(customerId: string): Promise<Dispute[]> {
    this.requireCustomer(customerId);
    return this.store.all<Dispute>(
      "select * from disputes where customer_id = ? order by opened_date desc, dispute_id desc",
      customerId,
    );
  }

  async openDispute(
    input: { invoice_id: string; customer_id: string; reason: string },
    opts: WriteOptions,
  ): Promise<Dispute> {
    return this.store.idempotent("billing", "openDispute", opts.idempotencyKey, input, () => {
      this.requireCustomer(input.customer_id);
      const inv = this.invoice(input.invoice_id);
      if (!inv) throw billingReject(404, "invoice_not_found", `no invoice ${input.invoice_id}`);
      if (inv.customer_id !== input.customer_id)
        throw billingReject(422, "invoice_not_owned", `invoice ${input.invoice_id} is not this customer's`);
      const reason = String(input.reason ?? "").trim();
      if (!reason || reason.length > 500)
        throw billingReject(422, "invalid_reason", "reason: 1 to 500 characters");
      const open = this.store.get(
        "select 1 as x from disputes where invoice_id = ? and status = 'open'",
        inv.invoice_id,
      );
      if (open)
        throw billingReject(
          409,
          "dispute_already_open",
          `invoice ${inv.invoice_id} already has an open dispute`,
        );
      const d: Dispute = {
        dispute_id: `DSP-${String(this.store.nextSeq("dispute")).padStart(9, "0")}`,
        invoice_id: inv.invoice_id,
        customer_id: inv.customer_id,
        opened_date: this.store.businessDate(),
        reason,
        status: "open",
        resolved_date: null,
      };
      this.store.run(
        "insert into disputes values (?, ?, ?, ?, ?, ?, ?)",
        d.dispute_id,
        d.invoice_id,
        d.customer_id,
        d.opened_date,
        d.reason,
        d.status,
        d.resolved_date,
      );
      if (inv.status === "open" || inv.status === "overdue")
        this.store.run("update invoices set status = 'disputed' where invoice_id = ?", inv.invoice_id);
      return d;
    });
  }

  async listUsage(customerId: string, opts: { months?: number } = {}): Promise<UsageMonth[]> {
    this.requireCustomer(customerId);
    return this.store.all<UsageMonth>(
      "select month, data_gb, voice_minutes, sms, roaming_mb from usage where customer_id = ? order by month desc limit ?",
      customerId,
      clampLimit(opts.months, 12, 60),
    );
  }
}
