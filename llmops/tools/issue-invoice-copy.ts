import { z } from "zod";
import { customerIdArg, defineTool, ToolFailure } from "./core.ts";
import { pickInvoice } from "./explain-invoice.ts";

export const issueInvoiceCopyInput = z
  .object({
    customer_id: customerIdArg,
    invoice_id: z
      .string()
      .min(1)
      .optional()
      .describe("Invoice id (INV-…); omit for the oldest unpaid invoice"),
    reference_month: z
      .string()
      .regex(/^\d{4}-\d{2}$/)
      .optional()
      .describe("Month billed, yyyy-mm"),
  })
  .strict();

export const issueInvoiceCopyOutput = z.object({
  copy_id: z.string(),
  invoice_id: z.string(),
  reference_month: z.string(),
  invoice_status: z.string(),
  /** What to pay with this copy: the invoice amount plus late charges when overdue. */
  amount_brl: z.number(),
  original_amount_brl: z.number(),
  /** Late fine and interest included in amount_brl (0 when not overdue). */
  late_charges_brl: z.number(),
  /** The copy's due date (a new one for an overdue invoice). */
  due_date: z.string(),
  /** Boleto linha digitável (47 digits, FEBRABAN check digits), formatted in its five groups. */
  linha_digitavel: z.string(),
  barcode: z.string(),
  /** Pix copia e cola (EMV BR Code with CRC16). */
  pix_copia_e_cola: z.string(),
  issued_at: z.string(),
});
export type IssueInvoiceCopyOutput = z.infer<typeof issueInvoiceCopyOutput>;

const PAYABLE = new Set(["open", "overdue"]);

export const issueInvoiceCopyTool = defineTool({
  name: "issue_invoice_copy",
  description:
    "Second copy of an unpaid invoice: boleto linha digitável and Pix copia e cola, with amount and due date.",
  input: issueInvoiceCopyInput,
  output: issueInvoiceCopyOutput,
  async run(ctx, input) {
    const customerId = ctx.customer(input.customer_id);
    const invoices = await ctx.systems.billing.listInvoices(customerId, { limit: 24 });
    // Without an id or month: the oldest invoice still to pay (the one that blocks service first).
    const inv = await pickInvoice(
      invoices,
      input,
      (list) =>
        list.filter((i) => PAYABLE.has(i.status)).sort((a, b) => (a.due_date < b.due_date ? -1 : 1))[0],
    );
    if (!PAYABLE.has(inv.status))
      throw new ToolFailure(
        "invalid_state",
        `invoice ${inv.invoice_id} is ${inv.status}; only open or overdue invoices have a payable copy`,
        {
          system: "billing",
          field: "invoice_id",
        },
      );
    const copy = await ctx.systems.billing.issueCopy(inv.invoice_id, {
      idempotencyKey: ctx.onceKey(inv.invoice_id),
    });
    ctx.audit({ kind: "write", detail: { invoice_id: inv.invoice_id, copy_id: copy.copy_id } });
    return {
      copy_id: copy.copy_id,
      invoice_id: copy.invoice_id,
      reference_month: inv.reference_month,
      invoice_status: inv.status,
      amount_brl: copy.amount_brl,
      original_amount_brl: copy.original_amount_brl ?? inv.amount_brl,
      late_charges_brl: copy.late_charges_brl ?? 0,
      due_date: copy.due_date,
      linha_digitavel: copy.linha_digitavel,
      barcode: copy.barcode,
      pix_copia_e_cola: copy.pix_copia_e_cola,
      issued_at: copy.issued_at,
    };
  },
});
