import type { Language } from "../../conversation/commands.ts";
import type { ExplainInvoiceOutput, InvoiceChangeKind } from "../../tools/explain-invoice.ts";
import { date, money, monthName } from "../format.ts";
import { common } from "../replies.ts";
import { ask, defineFlow, end, goto, replies } from "./flow.ts";
import { clearInvoice } from "./invoice-copy.ts";

/**
 * Invoice explanation: the invoice the customer names (or the latest), line by line, and what changed
 * from the previous month, every amount straight from explain_invoice.
 */

const KIND: Record<Language, Record<InvoiceChangeKind, string>> = {
  "pt-BR": {
    plan: "mensalidade do plano",
    price_adjustment: "reajuste anual da mensalidade",
    plan_change: "troca de plano",
    promotion_ended: "fim de promoção/desconto",
    discount: "desconto",
    extra_data_package: "pacote extra de internet",
    roaming: "roaming internacional",
    pro_rata: "cobrança proporcional (pro rata)",
    fine: "multa",
    late_fee: "multa e juros por atraso",
    tax: "impostos",
    other: "outros itens",
  },
  en: {
    plan: "plan fee",
    price_adjustment: "yearly price adjustment",
    plan_change: "plan change",
    promotion_ended: "end of a promotion/discount",
    discount: "discount",
    extra_data_package: "extra data package",
    roaming: "international roaming",
    pro_rata: "pro rata charge",
    fine: "fine",
    late_fee: "late fee and interest",
    tax: "taxes",
    other: "other items",
  },
};

const STATUS: Record<Language, Record<string, string>> = {
  "pt-BR": {
    paid: "paga",
    open: "em aberto",
    overdue: "vencida",
    disputed: "em contestação",
    cancelled: "cancelada",
  },
  en: { paid: "paid", open: "open", overdue: "overdue", disputed: "under dispute", cancelled: "cancelled" },
};

const MAX_LINES = 8;

function signed(n: number, lang: Language): string {
  return n >= 0 ? `+ ${money(n, lang)}` : `- ${money(-n, lang)}`;
}

function explain(e: ExplainInvoiceOutput, lang: Language): string {
  const inv = e.invoice;
  const pt = lang === "pt-BR";
  const head = pt
    ? `Sua fatura de ${monthName(inv.reference_month, lang)} é de ${money(inv.amount_brl, lang)}, com vencimento em ${date(inv.due_date, lang)} (${STATUS[lang][inv.status] ?? inv.status}).`
    : `Your ${monthName(inv.reference_month, lang)} bill is ${money(inv.amount_brl, lang)}, due ${date(inv.due_date, lang)} (${STATUS[lang][inv.status] ?? inv.status}).`;
  const shown = e.lines.slice(0, MAX_LINES);
  const items = shown.map((l) => `- ${l.description}: ${money(l.amount_brl, lang)}`);
  if (e.lines.length > shown.length)
    items.push(
      pt
        ? `- e mais ${e.lines.length - shown.length} itens`
        : `- and ${e.lines.length - shown.length} more items`,
    );
  const parts = [head, `${pt ? "Itens" : "Items"}:\n${items.join("\n")}`];
  if (e.previous) {
    const prevMonth = monthName(e.previous.reference_month, lang);
    if (e.difference_brl === 0)
      parts.push(
        pt
          ? `É o mesmo valor da fatura de ${prevMonth}.`
          : `That is the same amount as your ${prevMonth} bill.`,
      );
    else {
      const more = e.difference_brl > 0;
      const diff = money(Math.abs(e.difference_brl), lang);
      const lead = pt
        ? `Em relação a ${prevMonth} (${money(e.previous.amount_brl, lang)}), veio ${diff} ${more ? "a mais" : "a menos"}:`
        : `Compared with ${prevMonth} (${money(e.previous.amount_brl, lang)}), it is ${diff} ${more ? "higher" : "lower"}:`;
      const changes = e.changes.map((c) => `- ${KIND[lang][c.kind]}: ${signed(c.delta_brl, lang)}`);
      parts.push([lead, ...changes].join("\n"));
    }
  }
  parts.push(
    pt
      ? "Se algum item não estiver certo, posso te explicar como contestar. Posso ajudar em mais alguma coisa?"
      : "If an item looks wrong, I can explain how to dispute it. Anything else I can help with?",
  );
  return parts.join("\n\n");
}

export const invoiceExplanationReplies = replies({
  "pt-BR": {
    explained: (e: ExplainInvoiceOutput) => explain(e, "pt-BR"),
    notFound: (month: string | null) =>
      month
        ? `Não encontrei fatura de ${monthName(month, "pt-BR")} no seu cadastro.`
        : "Não encontrei faturas no seu cadastro.",
    askMonth: () => "De qual mês é a fatura que você quer entender? (por exemplo: março)",
  },
  en: {
    explained: (e: ExplainInvoiceOutput) => explain(e, "en"),
    notFound: (month: string | null) =>
      month
        ? `I couldn't find a bill for ${monthName(month, "en")} on your account.`
        : "I couldn't find any bill on your account.",
    askMonth: () => "Which month's bill do you want me to explain? (for example: March)",
  },
});

export const invoiceExplanationFlow = defineFlow({
  name: "invoice_explanation",
  needsIdentity: true,
  first: "explain",
  accepts: ["invoice_month", "invoice_id"],
  onCorrect: (slot) => (slot === "invoice_month" || slot === "invoice_id" ? "explain" : null),
  steps: {
    async explain(ctx) {
      const month =
        typeof ctx.frame.slots.invoice_month === "string" ? ctx.frame.slots.invoice_month : undefined;
      const id = typeof ctx.frame.slots.invoice_id === "string" ? ctx.frame.slots.invoice_id : undefined;
      const r = await ctx.call("explain_invoice", {
        ...(id ? { invoice_id: id } : month ? { reference_month: month } : {}),
      });
      if (r.ok) {
        ctx.say(invoiceExplanationReplies, "explained", r.result);
        const inv = r.result.invoice;
        return end({
          outcome: "resolved",
          summary: `Explained invoice ${inv.invoice_id} (${inv.reference_month.slice(0, 7)}, ${inv.amount_brl} BRL; ${r.result.difference_brl} BRL vs previous).`,
        });
      }
      if (r.error.code === "not_found" && (month || id)) {
        ctx.say(invoiceExplanationReplies, "notFound", month ?? null);
        clearInvoice(ctx.frame);
        return goto("ask_month");
      }
      ctx.say(common, r.error.code === "system_unavailable" ? "systemDown" : "toolFailed", r.error.system);
      return end({ outcome: "unresolved", summary: `Invoice explanation failed: ${r.error.code}.` });
    },
    async ask_month(ctx) {
      if (ctx.frame.slots.invoice_month !== undefined || ctx.frame.slots.invoice_id !== undefined)
        return goto("explain");
      ctx.say(invoiceExplanationReplies, "askMonth");
      return ask("invoice_month");
    },
  },
});
