import { z } from "zod";
import type { Invoice, InvoiceDetail, InvoiceItem } from "../../platform/ports/billing.ts";
import type { Contract } from "../../platform/ports/crm.ts";
import { brl, customerIdArg, defineTool, ToolFailure } from "./core.ts";

/** Why an amount changed from the previous month, or what a line is. */
export const INVOICE_CHANGE_KINDS = [
  "plan",
  "price_adjustment",
  "plan_change",
  "promotion_ended",
  "discount",
  "extra_data_package",
  "roaming",
  "pro_rata",
  "fine",
  "late_fee",
  "tax",
  "other",
] as const;
export type InvoiceChangeKind = (typeof INVOICE_CHANGE_KINDS)[number];

export const explainInvoiceInput = z
  .object({
    customer_id: customerIdArg,
    invoice_id: z.string().min(1).optional().describe("Invoice id (INV-…); omit for the latest invoice"),
    reference_month: z
      .string()
      .regex(/^\d{4}-\d{2}$/)
      .optional()
      .describe("Month billed, yyyy-mm (e.g. 2026-03), when the customer names a month instead of an id"),
  })
  .strict();

const lineSchema = z.object({
  line_no: z.number().int(),
  item_type: z.string(),
  kind: z.enum(INVOICE_CHANGE_KINDS),
  description: z.string(),
  amount_brl: z.number(),
});

const invoiceSummary = z.object({
  invoice_id: z.string(),
  contract_id: z.string(),
  reference_month: z.string(),
  issue_date: z.string(),
  due_date: z.string(),
  amount_brl: z.number(),
  discount_brl: z.number(),
  tax_brl: z.number(),
  status: z.string(),
});

export const explainInvoiceOutput = z.object({
  invoice: invoiceSummary,
  lines: z.array(lineSchema),
  previous: invoiceSummary.nullable(),
  /** amount − previous amount (0 without a previous invoice). */
  difference_brl: z.number(),
  /** One entry per kind whose total changed, largest absolute change first; they sum to difference_brl. */
  changes: z.array(
    z.object({
      kind: z.enum(INVOICE_CHANGE_KINDS),
      previous_brl: z.number(),
      current_brl: z.number(),
      delta_brl: z.number(),
      line_nos: z.array(z.number().int()),
    }),
  ),
  /** difference_brl − Σ changes (non-zero only when the invoice's lines do not add up to its amount). */
  unexplained_brl: z.number(),
});
export type ExplainInvoiceOutput = z.infer<typeof explainInvoiceOutput>;

/** What a line is, from its item type (the billing system's, plus the synonyms real systems use). */
export function lineKind(item: InvoiceItem): InvoiceChangeKind {
  switch (item.item_type) {
    case "plan":
    case "monthly_fee":
      return "plan";
    case "discount":
    case "promotion":
      return "discount";
    case "extra":
    case "extra_data":
    case "data_package":
      return "extra_data_package";
    case "roaming":
      return "roaming";
    case "pro_rata":
    case "prorata":
      return "pro_rata";
    case "price_adjustment":
    case "reajuste":
      return "price_adjustment";
    case "fine":
    case "fidelity_fine":
      return "fine";
    case "late_fee":
    case "interest":
    case "late_interest":
      return "late_fee";
    case "tax":
      return "tax";
    default:
      return "other";
  }
}

function sumBy(
  items: InvoiceItem[],
): Map<InvoiceChangeKind, { total: number; lines: number[]; descriptions: string[] }> {
  const m = new Map<InvoiceChangeKind, { total: number; lines: number[]; descriptions: string[] }>();
  for (const it of items) {
    const k = lineKind(it);
    const e = m.get(k) ?? { total: 0, lines: [], descriptions: [] };
    e.total += it.amount_brl;
    e.lines.push(it.line_no);
    e.descriptions.push(it.description);
    m.set(k, e);
  }
  return m;
}

/**
 * The difference to the previous month, by kind. A change of the plan line is a plan change when the
 * plan's description changed, pro rata when either month was a partial one (first month of the contract),
 * and otherwise a price adjustment; a discount that disappeared is the end of a promotion.
 */
export function classifyChanges(
  current: InvoiceDetail,
  previous: InvoiceDetail | null,
  contract: Contract | null,
) {
  if (!previous) return [];
  const cur = sumBy(current.items);
  const prev = sumBy(previous.items);
  const kinds = new Set([...cur.keys(), ...prev.keys()]);
  const out: {
    kind: InvoiceChangeKind;
    previous_brl: number;
    current_brl: number;
    delta_brl: number;
    line_nos: number[];
  }[] = [];
  for (const k of kinds) {
    const c = cur.get(k);
    const p = prev.get(k);
    const delta = brl((c?.total ?? 0) - (p?.total ?? 0));
    if (delta === 0) continue;
    let kind: InvoiceChangeKind = k;
    if (k === "plan") {
      const firstMonth = contract ? contract.start_date.slice(0, 7) : null;
      const partial =
        firstMonth !== null &&
        (previous.reference_month.slice(0, 7) === firstMonth ||
          current.reference_month.slice(0, 7) === firstMonth);
      const sameDescription = (c?.descriptions.join("|") ?? "") === (p?.descriptions.join("|") ?? "");
      if (partial) kind = "pro_rata";
      else if (!sameDescription && c && p) kind = "plan_change";
      else kind = "price_adjustment";
    } else if (k === "discount") {
      kind = c ? "discount" : "promotion_ended";
    }
    const prior = out.find((o) => o.kind === kind);
    if (prior) {
      prior.previous_brl = brl(prior.previous_brl + (p?.total ?? 0));
      prior.current_brl = brl(prior.current_brl + (c?.total ?? 0));
      prior.delta_brl = brl(prior.delta_brl + delta);
      prior.line_nos.push(...(c?.lines ?? []));
    } else
      out.push({
        kind,
        previous_brl: brl(p?.total ?? 0),
        current_brl: brl(c?.total ?? 0),
        delta_brl: delta,
        line_nos: [...(c?.lines ?? [])],
      });
  }
  return out.sort((a, b) => Math.abs(b.delta_brl) - Math.abs(a.delta_brl));
}

function summary(i: Invoice) {
  return {
    invoice_id: i.invoice_id,
    contract_id: i.contract_id,
    reference_month: i.reference_month,
    issue_date: i.issue_date,
    due_date: i.due_date,
    amount_brl: i.amount_brl,
    discount_brl: i.discount_brl,
    tax_brl: i.tax_brl,
    status: i.status,
  };
}

/** The invoice named by id or month (or the latest) among the customer's; another customer's is not found. */
export async function pickInvoice(
  invoices: Invoice[],
  input: { invoice_id?: string; reference_month?: string },
  fallback: (list: Invoice[]) => Invoice | undefined = (l) => l[0],
): Promise<Invoice> {
  let inv: Invoice | undefined;
  if (input.invoice_id) inv = invoices.find((i) => i.invoice_id === input.invoice_id);
  else if (input.reference_month)
    inv = invoices.find((i) => i.reference_month.startsWith(input.reference_month as string));
  else inv = fallback(invoices);
  if (!inv) {
    const what = input.invoice_id ?? input.reference_month;
    const message = what ? `no invoice ${what} for this customer` : "no matching invoice for this customer";
    throw new ToolFailure("not_found", message, {
      system: "billing",
      field: input.invoice_id ? "invoice_id" : input.reference_month ? "reference_month" : undefined,
    });
  }
  return inv;
}

export const explainInvoiceTool = defineTool({
  name: "explain_invoice",
  description:
    "One invoice line by line, with the difference to the previous month classified (price adjustment, end of promotion, extra data package, roaming, pro rata, fine, late fee).",
  input: explainInvoiceInput,
  output: explainInvoiceOutput,
  async run(ctx, input) {
    const customerId = ctx.customer(input.customer_id);
    const [invoices, contracts] = await Promise.all([
      ctx.systems.billing.listInvoices(customerId, { limit: 24 }),
      ctx.systems.crm.listContracts(customerId),
    ]);
    const inv = await pickInvoice(invoices, input);
    const prevRef = invoices
      .filter((i) => i.contract_id === inv.contract_id && i.reference_month < inv.reference_month)
      .sort((a, b) => (a.reference_month < b.reference_month ? 1 : -1))[0];
    const [detail, prevDetail] = await Promise.all([
      ctx.systems.billing.getInvoice(inv.invoice_id),
      prevRef ? ctx.systems.billing.getInvoice(prevRef.invoice_id) : Promise.resolve(null),
    ]);
    if (!detail)
      throw new ToolFailure("not_found", `invoice ${inv.invoice_id} not found`, { system: "billing" });
    const contract = contracts.find((c) => c.contract_id === inv.contract_id) ?? null;
    const changes = classifyChanges(detail, prevDetail, contract);
    const difference = prevDetail ? brl(detail.amount_brl - prevDetail.amount_brl) : 0;
    return {
      invoice: summary(detail),
      lines: [...detail.items]
        .sort((a, b) => a.line_no - b.line_no)
        .map((it) => ({
          line_no: it.line_no,
          item_type: it.item_type,
          kind: lineKind(it),
          description: it.description,
          amount_brl: it.amount_brl,
        })),
      previous: prevDetail ? summary(prevDetail) : null,
      difference_brl: difference,
      changes,
      unexplained_brl: brl(difference - changes.reduce((s, c) => s + c.delta_brl, 0)),
    };
  },
});
