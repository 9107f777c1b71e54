import type { IssueInvoiceCopyOutput } from "../../tools/issue-invoice-copy.ts";
import { date, money, monthName } from "../format.ts";
import { common } from "../replies.ts";
import { ask, defineFlow, end, type FlowFrame, goto, replies } from "./flow.ts";

/**
 * Second copy / Pix: issues the boleto (linha digitável) and the Pix copia e cola of an unpaid invoice,
 * the one the customer names or else the oldest unpaid. A second copy changes nothing the customer owes
 * (it is the same invoice, same amount and due date), so it is issued without a confirmation step.
 */
export const invoiceCopyReplies = replies({
  "pt-BR": {
    issued: (c: IssueInvoiceCopyOutput) =>
      [
        `Pronto! Aqui está a segunda via da fatura de ${monthName(c.reference_month, "pt-BR")}: ${money(c.amount_brl, "pt-BR")}, vencimento em ${date(c.due_date, "pt-BR")}${c.invoice_status === "overdue" ? " (fatura já vencida)" : ""}.`,
        `Pix copia e cola:\n${c.pix_copia_e_cola}`,
        `Boleto (linha digitável):\n${c.linha_digitavel}`,
        "O Pix é reconhecido em minutos; o boleto, em até 3 dias úteis.",
      ].join("\n\n"),
    alreadyPaid: (month: string | null) =>
      month
        ? `A fatura de ${monthName(month, "pt-BR")} já está paga, então não há segunda via para pagamento.`
        : "Essa fatura já está paga, então não há segunda via para pagamento.",
    noneOpen: () =>
      "Você não tem nenhuma fatura em aberto agora, está tudo pago. Se quiser ver uma fatura antiga, me diga o mês.",
    notFound: (month: string | null) =>
      month
        ? `Não encontrei fatura de ${monthName(month, "pt-BR")} no seu cadastro.`
        : "Não encontrei essa fatura no seu cadastro.",
    askMonth: () => "De qual mês é a fatura que você precisa? (por exemplo: março)",
  },
  en: {
    issued: (c: IssueInvoiceCopyOutput) =>
      [
        `Done! Here is the copy of your ${monthName(c.reference_month, "en")} bill: ${money(c.amount_brl, "en")}, due ${date(c.due_date, "en")}${c.invoice_status === "overdue" ? " (already overdue)" : ""}.`,
        `Pix copy-and-paste code:\n${c.pix_copia_e_cola}`,
        `Boleto (linha digitável):\n${c.linha_digitavel}`,
        "A Pix payment is recognised within minutes; a boleto within 3 business days.",
      ].join("\n\n"),
    alreadyPaid: (month: string | null) =>
      month
        ? `Your ${monthName(month, "en")} bill is already paid, so there is no copy to pay.`
        : "That bill is already paid, so there is no copy to pay.",
    noneOpen: () =>
      "You have no unpaid bill right now: everything is paid. If you want to see an older bill, tell me the month.",
    notFound: (month: string | null) =>
      month
        ? `I couldn't find a bill for ${monthName(month, "en")} on your account.`
        : "I couldn't find that bill on your account.",
    askMonth: () => "Which month's bill do you need? (for example: March)",
  },
});

export const invoiceCopyFlow = defineFlow({
  name: "invoice_copy",
  needsIdentity: true,
  first: "issue",
  accepts: ["invoice_month", "invoice_id"],
  onCorrect: (slot) => (slot === "invoice_month" || slot === "invoice_id" ? "issue" : null),
  steps: {
    async issue(ctx) {
      const month =
        typeof ctx.frame.slots.invoice_month === "string" ? ctx.frame.slots.invoice_month : undefined;
      const id = typeof ctx.frame.slots.invoice_id === "string" ? ctx.frame.slots.invoice_id : undefined;
      const r = await ctx.call("issue_invoice_copy", {
        ...(id ? { invoice_id: id } : month ? { reference_month: month } : {}),
      });
      if (r.ok) {
        ctx.say(invoiceCopyReplies, "issued", r.result);
        return end({
          outcome: "invoice_copy_issued",
          summary: `Second copy of invoice ${r.result.invoice_id} (${r.result.reference_month.slice(0, 7)}) issued: boleto and Pix.`,
        });
      }
      if (r.error.code === "invalid_state") {
        ctx.say(invoiceCopyReplies, "alreadyPaid", month ?? null);
        clearInvoice(ctx.frame);
        return goto("ask_month");
      }
      if (r.error.code === "not_found") {
        if (!month && !id) {
          ctx.say(invoiceCopyReplies, "noneOpen");
          return end({ outcome: "resolved", summary: "Second copy asked for; no unpaid invoice." });
        }
        ctx.say(invoiceCopyReplies, "notFound", month ?? null);
        clearInvoice(ctx.frame);
        return goto("ask_month");
      }
      ctx.say(common, r.error.code === "system_unavailable" ? "systemDown" : "toolFailed", r.error.system);
      return end({ outcome: "unresolved", summary: `Second copy failed: ${r.error.code}.` });
    },
    async ask_month(ctx) {
      if (ctx.frame.slots.invoice_month !== undefined || ctx.frame.slots.invoice_id !== undefined)
        return goto("issue");
      ctx.say(invoiceCopyReplies, "askMonth");
      return ask("invoice_month");
    },
  },
});

/** Forgets the invoice named, so the next question asks afresh. */
export function clearInvoice(frame: FlowFrame): void {
  delete frame.slots.invoice_month;
  delete frame.slots.invoice_id;
}
