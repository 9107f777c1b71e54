import type { Language } from "../../conversation/commands.ts";
import type { GetCustomerProfileOutput } from "../../tools/get-customer-profile.ts";
import type { GetEligibleOffersOutput } from "../../tools/get-eligible-offers.ts";
import { date, dateTime, money, numbered } from "../format.ts";
import { common } from "../replies.ts";
import {
  ask,
  defineFlow,
  end,
  type FlowContext,
  goto,
  pickOption,
  replies,
  type Transition,
  yesNo,
} from "./flow.ts";

/**
 * Cancellation with retention (policy-ofertas-retencao §1, faq-cancelamento, Anatel RGC): the offers are
 * only those get_eligible_offers allows, presented once per contact; accepting one needs an explicit yes
 * (a consent record) before apply_offer. A customer who declines or insists gets the cancellation
 * registered at once with a protocol number: nothing here can loop, haggle or delay it.
 */

type Offer = GetEligibleOffersOutput["offers"][number];

/** Reasons in the customer's words, as policy-ofertas-retencao §3 reads them. */
const REASON_WORDS = {
  quality:
    /lent|devagar|cai|caindo|qualidade|ruim|p[eé]ssim|sinal|velocidade|instabil|slow|quality|drops|signal|bad service/i,
  data: /franquia|acaba|dados|\bgb\b|internet (?:do celular|m[oó]vel)|run(?:s)? out|data/i,
  competitor:
    /concorr|competi|estrela net|r[aá]pida fibra|onda m[oó]vel|outra operadora|another (?:operator|provider)/i,
  price: /car[oa]|pre[cç]o|barat|valor|pagar menos|expensive|price|cheaper|afford/i,
  moving:
    /mud(?:ar|ando|ança|anca)|outr[ao] (?:cidade|estado|pa[ií]s|endere[cç]o)|exterior|\bmoving\b|\bmove\b|relocat|abroad/i,
};

/**
 * The one offer to present (policy-tom-de-voz §4: "no máximo uma oferta"; policy-ofertas-retencao §3:
 * the offer follows the reason): quality → speed upgrade, data → data bonus, competitor → the largest
 * discount (a supervisor's, if allowed), price → the largest discount an agent may grant; otherwise the
 * first allowed. Only offers the rules allowed are candidates.
 */
function isMoving(ctx: FlowContext): boolean {
  return REASON_WORDS.moving.test(String(ctx.frame.slots.cancel_reason ?? ""));
}

/** A service the customer can name: what to cancel, what to keep. */
export type Service = "tv" | "internet" | "mobile";
const SERVICE =
  "(tv|televis[aã]o|canais|internet|net|fibra|wi-?fi|banda larga|celular|linha(?: m[oó]vel)?|chip|m[oó]vel|mobile(?: line)?|phone line|cell ?phone)";
const DET = "(?:(?:s[oó]|apenas|somente|only|just)\\s+)?(?:(?:a|o|as|os|da|do|minha|meu|my|the)\\s+)?";
/** "cancela a tv", "cancelar só a linha", "cancel just the TV", "tirar a TV". */
const CANCEL_TARGET = new RegExp(
  `(?:cancel\\w*|cansel\\w*|tirar|tira|desligar|encerrar|remove|drop)\\s+${DET}${SERVICE}\\b`,
  "i",
);
/** "deixar a net", "manter a internet", "fico com o celular", "keep the internet". */
const KEEP_TARGET = new RegExp(
  `(?:deix\\w*|mant\\w*|fic\\w* com|continu\\w* com|keep\\w*|leave)\\s+${DET}${SERVICE}\\b`,
  "i",
);
const ONLY =
  /\b(?:s[oó]|apenas|somente|only|just)\s+(?:(?:a|o|the|my)\s+)?(?:tv|internet|net|fibra|celular|linha|chip|mobile)/i;

function serviceOf(word: string): Service {
  if (/^(?:tv|televis|canais)/i.test(word)) return "tv";
  if (/^(?:internet|net|fibra|wi|banda)/i.test(word)) return "internet";
  return "mobile";
}

/** What the message asks to cancel and to keep ("quero cancelar a tv mas deixar a net"). */
export function serviceTarget(text: string): { cancel: Service; keep: Service[]; only: boolean } | null {
  const c = CANCEL_TARGET.exec(text);
  if (!c) return null;
  const cancel = serviceOf(c[1]);
  const keep: Service[] = [];
  const k = KEEP_TARGET.exec(text);
  if (k && serviceOf(k[1]) !== cancel) keep.push(serviceOf(k[1]));
  return { cancel, keep, only: ONLY.test(text) };
}

type ProfileContract = GetCustomerProfileOutput["contracts"][number];

/** Whether a contract holds the service: a contract of that product, or a combo that includes it. */
function holds(c: ProfileContract, service: Service): "alone" | "bundle" | null {
  const name = c.plan_name ?? c.plan_id;
  if (c.product === "combo") {
    if (service === "tv") return /\btv\b/i.test(name) ? "bundle" : null;
    if (service === "internet") return /fibra|internet/i.test(name) ? "bundle" : null;
    return /p[oó]s|m[oó]vel|controle|gb\b/i.test(name) ? "bundle" : null;
  }
  if (service === "tv") return c.product === "tv" ? "alone" : null;
  if (service === "internet") return c.product === "fibra" ? "alone" : null;
  return c.product.startsWith("mobile") ? "alone" : null;
}

/**
 * Which contracts a targeted cancellation concerns (the CRM cancels whole contracts: CrmSystem
 * requestCancellation takes contract ids). "whole": the usual request (nothing targeted, or the target is
 * all there is); "partial": only these contracts; "bundle": the service is one part of a combo contract,
 * which cannot be cancelled apart here; "absent": the customer has no active contract with it.
 */
export function resolveTarget(
  target: NonNullable<ReturnType<typeof serviceTarget>>,
  contracts: ProfileContract[],
):
  | { kind: "whole" }
  | { kind: "partial"; contract_ids: string[] }
  | { kind: "bundle"; contract: ProfileContract }
  | { kind: "absent" } {
  const live = contracts.filter((c) => c.status === "active" || c.status === "suspended");
  const alone = live.filter((c) => holds(c, target.cancel) === "alone");
  const bundle = live.find((c) => holds(c, target.cancel) === "bundle");
  const others = live.filter((c) => !alone.includes(c) && c !== bundle);
  const explicit = target.keep.length > 0 || target.only;
  if (alone.length && !bundle)
    return others.length
      ? { kind: "partial", contract_ids: alone.map((c) => c.contract_id) }
      : { kind: "whole" };
  if (bundle && explicit) return { kind: "bundle", contract: bundle };
  if (!alone.length && !bundle && explicit) return { kind: "absent" };
  return { kind: "whole" };
}

export function offerForReason(offers: Offer[], reason: string): Offer | undefined {
  const by = (id: string) => offers.find((o) => o.offer_id === id);
  const discounts = offers
    .filter((o) => (term<string>(o, "kind") ?? "discount") === "discount" && (o.discount_pct ?? 0) > 0)
    .sort((a, b) => (b.discount_pct ?? 0) - (a.discount_pct ?? 0));
  const agentDiscount = discounts.find((o) => o.approval !== "supervisor");
  if (REASON_WORDS.quality.test(reason) && by("RET-UPGRADE")) return by("RET-UPGRADE");
  if (REASON_WORDS.data.test(reason) && by("RET-BONUS-GB")) return by("RET-BONUS-GB");
  if (REASON_WORDS.competitor.test(reason) && discounts[0]) return discounts[0];
  if (REASON_WORDS.price.test(reason) && agentDiscount) return agentDiscount;
  return agentDiscount ?? offers.find((o) => o.approval !== "supervisor") ?? offers[0];
}
/** Haggling beyond the offers ("quero 50%", "faz por 50 reais", "a concorrência dá mais"). */
const HAGGLE =
  /\d+\s*%|\d+\s*(?:reais|conto)|desconto maior|mais desconto|bigger discount|more discount|better (?:deal|price)|concorr|competitor|\bmatch\b/i;
/** A question rather than an answer (the reason question is then answered, not filled with it). */
const QUESTION =
  /\?\s*$|^\s*(?:como|quanto|qual|quando|onde|por que|posso|how|what|when|can i|do i|is there)\b/i;

/** A refusal in the message: it is never read as taking an offer. */
const REFUSE = /\b(?:n[aã]o|nenhum[a]?|nem|no|not|don'?t|won'?t|never)\b/i;
/** Taking the one offer presented without naming it ("aceito", "pode aplicar", "I'll take it"). */
const ACCEPT =
  /aceit|\bquero sim\b|quero (?:essa|esse|a oferta|a condi)|pode (?:ser|aplicar)|fechado|beleza|\btake (?:it|the offer|your offer|that)\b|i'?ll take|\baccept|\bdeal\b|sounds good/i;

/**
 * At "Confirma que quer cancelar?": a cancel word the customer negates ("não quero cancelar", "I don't
 * want to cancel anymore", "cancela isso" aimed at the request) is a no; any other cancel word ("não
 * quero nenhuma, quero cancelar mesmo", "não, pode cancelar") is a yes, whatever "não" came before it.
 * Read from the words because the classifier scores "não" and "cancelar" both high in such messages.
 */
const NEGATED_CANCEL =
  /\b(?:n[aã]o|nao|no|not|don'?t|dont|never|nunca)\b[^,.;!?]{0,25}\bcancel|\bcancel\w*\s+(?:isso|esse pedido|o pedido|this|that|the request)\b|desist|mudei de ideia|changed my mind/i;
const CANCEL_WORD = /\bcancel/i;

/** Only a clear "esquece" drops the request at the reason question ("não uso mais" is a reason). */
const SURE_STOP = 0.9;

/** Words that name each kind of retention offer when the customer picks one by what it is. */
const KIND_WORDS: Record<string, RegExp> = {
  discount: /desconto|discount|\boff\b|mais barat|cheaper/i,
  speed_upgrade: /upgrade|velocidade|speed|\bmega\b|mais r[aá]pid|faster/i,
  data_bonus: /b[oô]nus|\bgb\b|\d+\s*gb|internet (?:a mais|extra)|mais internet|dados|extra data|\bdata\b/i,
};

/**
 * The listed offer the customer names by what it is ("o bônus de internet", "the 10% discount"), or
 * undefined when the words fit none or more than one.
 */
export function matchOffer(text: string, offers: Offer[]): string | undefined {
  const pct = /(\d{1,2})\s*%/.exec(text)?.[1];
  if (pct) {
    const byPct = offers.filter((o) => (o.discount_pct ?? term<number>(o, "discount_pct")) === Number(pct));
    return byPct.length === 1 ? byPct[0].offer_id : undefined;
  }
  const named = offers.filter((o) => {
    const kind =
      term<string>(o, "kind") ??
      (o.offer_id.includes("UPGRADE")
        ? "speed_upgrade"
        : o.offer_id.includes("GB")
          ? "data_bonus"
          : "discount");
    return KIND_WORDS[kind]?.test(text);
  });
  return named.length === 1 ? named[0].offer_id : undefined;
}

function term<T>(o: Offer, key: string): T | undefined {
  return o.terms[key] as T | undefined;
}

function offerText(o: Offer, lang: Language): string {
  const pt = lang === "pt-BR";
  const months = o.months ?? term<number>(o, "months");
  const supervisor = o.approval === "supervisor";
  const disclose = term<boolean>(o, "disclose_price_before_approval") !== false;
  const price = term<number>(o, "monthly_price_brl");
  const after = term<number>(o, "resulting_monthly_price_brl");
  const kind = term<string>(o, "kind");
  let text: string;
  if (kind === "speed_upgrade" || o.offer_id === "RET-UPGRADE") {
    const from = term<number>(o, "from_speed_mbps");
    const to = term<number>(o, "to_speed_mbps");
    text = pt
      ? `Upgrade gratuito de velocidade${from && to ? ` de ${from} para ${to} Mega` : ""}, pelo mesmo preço, por ${months} meses`
      : `Free speed upgrade${from && to ? ` from ${from} to ${to} Mbps` : ""}, same price, for ${months} months`;
  } else if (kind === "data_bonus" || o.offer_id === "RET-BONUS-GB") {
    const extra = term<number>(o, "extra_data_gb");
    const total = term<number>(o, "resulting_data_gb");
    text = pt
      ? `Mais ${extra ?? ""}GB de internet móvel por mês${total ? ` (sua franquia passa a ${total}GB)` : ""}, por ${months} meses`
      : `An extra ${extra ?? ""}GB of mobile data a month${total ? ` (${total}GB in total)` : ""}, for ${months} months`;
  } else {
    const pct = o.discount_pct ?? term<number>(o, "discount_pct");
    const prices =
      disclose && price !== undefined && after !== undefined
        ? pt
          ? `: a mensalidade passa de ${money(price, lang)} para ${money(after, lang)}`
          : `: your monthly fee goes from ${money(price, lang)} to ${money(after, lang)}`
        : "";
    text = pt
      ? `${pct}% de desconto na mensalidade por ${months} meses${prices}`
      : `${pct}% off your monthly fee for ${months} months${prices}`;
  }
  if (supervisor)
    text += pt
      ? " (precisa de aprovação de um supervisor, com retorno em até 1 dia útil)"
      : " (needs a supervisor's approval, with an answer within 1 business day)";
  return pt ? `${text}, sem nova fidelidade` : `${text}, with no new loyalty period`;
}

function fineText(p: GetCustomerProfileOutput | undefined, lang: Language, only?: string[]): string {
  if (!p) return "";
  const pt = lang === "pt-BR";
  const parts: string[] = [];
  const concerned = p.contracts.filter(
    (c) => c.status === "active" && c.fidelity_fine_brl > 0 && (!only || only.includes(c.contract_id)),
  );
  for (const c of concerned) {
    parts.push(
      pt
        ? `Como ${c.plan_name ?? c.plan_id} ainda está na fidelidade (até ${date(c.fidelity_end_date ?? "", lang)}), há multa proporcional de ${money(c.fidelity_fine_brl, lang)}, cobrada na última fatura.`
        : `Since ${c.plan_name ?? c.plan_id} is still in its loyalty period (until ${date(c.fidelity_end_date ?? "", lang)}), there is a proportional fine of ${money(c.fidelity_fine_brl, lang)} on the last bill.`,
    );
  }
  if (p.open_debts.total_brl > 0)
    parts.push(
      pt
        ? `As faturas em aberto (${money(p.open_debts.total_brl, lang)}) continuam devidas.`
        : `Unpaid bills (${money(p.open_debts.total_brl, lang)}) remain due.`,
    );
  return parts.join(" ");
}

const SERVICE_PT: Record<Service, string> = { tv: "A TV", internet: "A internet", mobile: "A linha móvel" };
const SERVICE_EN: Record<Service, string> = {
  tv: "The TV",
  internet: "The internet",
  mobile: "The mobile line",
};

export const cancellationReplies = replies({
  "pt-BR": {
    askReason: () =>
      "Sinto muito que você queira cancelar. Pode me contar o motivo? Assim vejo se posso fazer algo; se preferir não dizer, tudo bem.",
    offers: (offers: Offer[]) =>
      offers.length === 1
        ? `Antes de registrar, posso te oferecer uma condição: ${offerText(offers[0], "pt-BR")}. Quer aceitar, ou prefere que eu registre o cancelamento agora?`
        : [
            "Antes de registrar, posso te oferecer uma destas condições (escolha uma, se quiser):",
            numbered(offers.map((o) => offerText(o, "pt-BR"))),
            "Quer aceitar uma delas, ou prefere que eu registre o cancelamento agora?",
          ].join("\n\n"),
    offersAgain: () =>
      "Quer aceitar a condição que te passei, ou prefere que eu registre o cancelamento agora?",
    noBetter: () =>
      "Infelizmente não é possível oferecer outras condições: essa é a que as nossas regras permitem para a sua conta.",
    confirmOffer: (o: Offer) =>
      `Confirma que quer ${offerText(o, "pt-BR").replace(/^./, (c) => c.toLowerCase())}? Responda sim para eu aplicar.`,
    applied: (o: Offer, endsAt: string) =>
      `Feito! Apliquei a condição ${o.offer_id}, válida até ${date(endsAt, "pt-BR")}. Seu plano continua ativo e o cancelamento não foi registrado. Posso ajudar em mais alguma coisa?`,
    pending: (o: Offer) =>
      `Registrei o pedido da condição ${o.offer_id}; ela precisa de aprovação de um supervisor, com retorno em até 1 dia útil. Seu plano continua ativo enquanto isso.`,
    moving: () =>
      "Se for mudança, dá para levar a internet e a TV de casa para o novo endereço: é gratuito uma vez a cada 12 meses, o plano e o preço continuam os mesmos e a fidelidade não recomeça (consulte a cobertura no app, em Perfil > Meus serviços > Mudança de endereço). Se não houver cobertura lá, o cancelamento sai sem multa de fidelidade com um comprovante do novo endereço.",
    movingMobile: () =>
      "Se for mudança, a linha móvel não depende de endereço: ela continua funcionando normalmente na nova cidade, com o mesmo número e plano.",
    confirmCancel: (fine: string) =>
      ["Entendi. O cancelamento é processado em até 48 horas.", fine, "Confirma que quer cancelar?"]
        .filter(Boolean)
        .join(" "),
    kept: () =>
      "Certo, não registrei nenhum cancelamento e o seu plano continua ativo. Posso ajudar em mais alguma coisa?",
    partialScope: (cancelled: string, kept: string) =>
      `Vou cancelar só ${cancelled}; ${kept} continua ativo, sem mudança.`,
    bundle: (service: Service, plan: string) =>
      `${SERVICE_PT[service]} faz parte do seu ${plan}, que é um contrato só: por aqui eu consigo registrar o cancelamento do combo inteiro, mas não de um item dele. Cancelar só um item desfaz o combo, e os serviços que ficam passam ao preço individual de tabela. Vou passar o seu pedido para um atendente, que faz essa alteração; nada foi cancelado até aqui.`,
    absent: (service: Service, plans: string) =>
      `Não encontrei ${SERVICE_PT[service].toLowerCase()} entre os seus serviços ativos (${plans}), então não registrei nenhum cancelamento. Se quiser cancelar outro serviço, é só me dizer qual.`,
    cancelled: (protocol: string, effectiveBy: string | null, fine: string) =>
      [
        `Pronto, registrei o seu pedido de cancelamento. O protocolo é ${protocol}.`,
        effectiveBy
          ? `O serviço é desligado em até 48 horas (até ${dateTime(effectiveBy, "pt-BR")}), e a última fatura vem com o valor proporcional aos dias usados.`
          : "O serviço é desligado em até 48 horas, e a última fatura vem com o valor proporcional aos dias usados.",
        fine,
        "Equipamentos em comodato (como a ONT) devem ser devolvidos em até 30 dias, numa loja ou por coleta agendada.",
      ]
        .filter(Boolean)
        .join(" "),
    cancelFailed: () =>
      "Não consegui registrar o cancelamento agora porque o sistema não respondeu. Você pode cancelar pelo app Aurora (Perfil > Meus serviços) ou pelo 0800-000-1234, opção 9, 24 horas; ou posso te transferir para um atendente.",
  },
  en: {
    askReason: () =>
      "I'm sorry you want to cancel. Could you tell me why? That way I can see whether I can help; if you'd rather not say, that's fine.",
    offers: (offers: Offer[]) =>
      offers.length === 1
        ? `Before I register it, I can offer you this: ${offerText(offers[0], "en")}. Would you like it, or shall I register the cancellation now?`
        : [
            "Before I register it, I can offer you one of these (pick one if you like):",
            numbered(offers.map((o) => offerText(o, "en"))),
            "Would you like one of them, or shall I register the cancellation now?",
          ].join("\n\n"),
    offersAgain: () => "Would you like the option I sent, or shall I register the cancellation now?",
    noBetter: () =>
      "Unfortunately I can't offer anything beyond that: it is what our rules allow for your account.",
    confirmOffer: (o: Offer) => `Please confirm: ${offerText(o, "en")}. Reply yes and I'll apply it.`,
    applied: (o: Offer, endsAt: string) =>
      `Done! I've applied ${o.offer_id}, valid until ${date(endsAt, "en")}. Your plan stays active and no cancellation was registered. Anything else I can help with?`,
    pending: (o: Offer) =>
      `I've requested ${o.offer_id}; it needs a supervisor's approval, with an answer within 1 business day. Your plan stays active meanwhile.`,
    moving: () =>
      "If you are moving, your home internet and TV can move with you: free once every 12 months, same plan and price, and the loyalty period does not restart (check coverage in the app: Profile > My services > Change of address). If there is no coverage at the new address, you can cancel without the loyalty fine by showing proof of the new address.",
    movingMobile: () =>
      "If you are moving, a mobile line does not depend on an address: it keeps working in the new city, with the same number and plan.",
    confirmCancel: (fine: string) =>
      ["Understood. Cancellation is processed within 48 hours.", fine, "Do you confirm you want to cancel?"]
        .filter(Boolean)
        .join(" "),
    kept: () =>
      "OK, I haven't registered any cancellation and your plan stays active. Anything else I can help with?",
    partialScope: (cancelled: string, kept: string) =>
      `I'll cancel only ${cancelled}; ${kept} stays active, unchanged.`,
    bundle: (service: Service, plan: string) =>
      `${SERVICE_EN[service]} is part of your ${plan}, which is a single contract: here I can register the cancellation of the whole combo, but not of one item of it. Cancelling one item undoes the combo, and the services you keep go to their individual list prices. I'll pass your request to an agent, who makes that change; nothing has been cancelled so far.`,
    absent: (service: Service, plans: string) =>
      `I couldn't find ${SERVICE_EN[service].toLowerCase()} among your active services (${plans}), so I haven't registered any cancellation. If you want to cancel another service, just tell me which.`,
    cancelled: (protocol: string, effectiveBy: string | null, fine: string) =>
      [
        `Done, I've registered your cancellation request. Your protocol number is ${protocol}.`,
        effectiveBy
          ? `The service is switched off within 48 hours (by ${dateTime(effectiveBy, "en")}), and the last bill is proportional to the days used.`
          : "The service is switched off within 48 hours, and the last bill is proportional to the days used.",
        fine,
        "Loaned equipment (such as the ONT) must be returned within 30 days, at a store or by a scheduled pickup.",
      ]
        .filter(Boolean)
        .join(" "),
    cancelFailed: () =>
      "I couldn't register the cancellation right now because the system didn't answer. You can cancel in the Aurora app (Profile > My services) or at 0800-000-1234, option 9, 24 hours a day; or I can transfer you to an agent.",
  },
});

function offers(ctx: FlowContext): Offer[] {
  return (ctx.frame.facts.offers as Offer[] | undefined) ?? [];
}

function reason(ctx: FlowContext): string {
  const r = ctx.frame.slots.cancel_reason;
  return typeof r === "string" && r.trim() ? r.trim().slice(0, 200) : "not given";
}

/** Registers the cancellation at once (register_interaction opens the protocol in the CRM). */
/** The contracts a partial cancellation concerns (undefined: the whole request). */
function targeted(ctx: FlowContext): string[] | undefined {
  const ids = ctx.frame.facts.contract_ids;
  return Array.isArray(ids) && ids.length ? (ids as string[]) : undefined;
}

async function cancelNow(ctx: FlowContext): Promise<Transition> {
  const made = ctx.conversation.offers_presented;
  const only = targeted(ctx);
  const r = await ctx.call("register_interaction", {
    category: "cancellation",
    summary: `Customer asked to cancel${only ? ` only contract(s) ${only.join(", ")} (${String(ctx.frame.facts.target)}), keeping the rest` : ""} (reason: ${reason(ctx)}).${made.length ? ` Offers presented: ${made.join(", ")}; declined.` : " No offer presented."}`,
    sentiment: "negative",
    outcome: "cancel_requested",
    offers_made: made,
    offer_accepted: null,
    ...(only ? { contract_ids: only } : {}),
  });
  if (!r.ok) {
    ctx.say(cancellationReplies, "cancelFailed");
    return end({ outcome: null, summary: `Cancellation could not be registered: ${r.error.code}.` });
  }
  const profile = ctx.frame.facts.profile as GetCustomerProfileOutput | undefined;
  ctx.say(
    cancellationReplies,
    "cancelled",
    r.result.protocol,
    r.result.cancellation?.effective_by ?? null,
    fineText(profile, ctx.lang, only),
  );
  if (only) ctx.say(cancellationReplies, "partialScope", ...scopeNames(ctx, only));
  return end({
    outcome: "cancel_requested",
    summary: "Cancellation registered.",
    protocol: r.result.protocol,
    registered: r.result.interaction_id,
  });
}

/** The plans being cancelled and the ones kept, as the customer knows them. */
function scopeNames(ctx: FlowContext, only: string[]): [string, string] {
  const p = ctx.frame.facts.profile as GetCustomerProfileOutput | undefined;
  const live = (p?.contracts ?? []).filter((c) => c.status === "active" || c.status === "suspended");
  const name = (c: ProfileContract) => c.plan_name ?? c.plan_id;
  const and = ctx.lang === "pt-BR" ? " e " : " and ";
  return [
    live
      .filter((c) => only.includes(c.contract_id))
      .map(name)
      .join(and) || only.join(and),
    live
      .filter((c) => !only.includes(c.contract_id))
      .map(name)
      .join(and),
  ];
}

/**
 * A cancellation that names one service ("cancela a tv mas deixa a net"): the CRM cancels whole
 * contracts, so a service with a contract of its own is cancelled alone; one inside a combo contract
 * cannot be (a person undoes the combo: hand-off, nothing cancelled); a service the customer does not
 * have is said so. Undefined: the usual whole request goes on.
 */
async function targetService(ctx: FlowContext): Promise<Transition | undefined> {
  if (ctx.frame.facts.target_checked) return undefined;
  ctx.frame.facts.target_checked = true;
  const target = serviceTarget(ctx.text);
  if (!target) return undefined;
  if (!ctx.frame.facts.profile) {
    const p = await ctx.call("get_customer_profile", {});
    if (!p.ok) return undefined;
    ctx.frame.facts.profile = p.result;
  }
  const profile = ctx.frame.facts.profile as GetCustomerProfileOutput;
  const r = resolveTarget(target, profile.contracts);
  switch (r.kind) {
    case "whole":
      return undefined;
    case "partial":
      ctx.frame.facts.contract_ids = r.contract_ids;
      ctx.frame.facts.target = target.cancel;
      return undefined;
    case "bundle": {
      const plan = r.contract.plan_name ?? r.contract.plan_id;
      ctx.say(cancellationReplies, "bundle", target.cancel, plan);
      const keep = target.keep.length ? `, keeping ${target.keep.join(" and ")}` : "";
      return end({
        outcome: null,
        summary: `Partial cancellation asked: ${target.cancel} only, inside combo contract ${r.contract.contract_id}.`,
        handoff: {
          reason: "cannot_handle",
          topic: "cancellation",
          detail: `cancel only the ${target.cancel} of combo ${r.contract.plan_id} (contract ${r.contract.contract_id})${keep}; the CRM cancels whole contracts, so the combo must be undone by an agent (remaining services at list price, faq-cancelamento)`,
        },
      });
    }
    case "absent": {
      const plans = profile.contracts
        .filter((c) => c.status === "active" || c.status === "suspended")
        .map((c) => c.plan_name ?? c.plan_id)
        .join(", ");
      ctx.say(cancellationReplies, "absent", target.cancel, plans);
      return end({
        outcome: "resolved",
        summary: `Asked to cancel the ${target.cancel}, which the customer does not have; nothing cancelled.`,
      });
    }
  }
}

export const cancellationFlow = defineFlow({
  name: "cancellation",
  needsIdentity: true,
  first: "start",
  accepts: ["cancel_reason", "offer_id", "choice"],
  // "Quero cancelar!" again: insisting. Before or after the offers, the request is registered at once.
  onRestart: (frame) => (frame.step === "confirm_offer" ? null : "insist"),
  // "Esquece", "deixa, vou ficar": the customer drops the request and stays (retained, no offer).
  onCancel: () => "kept",
  claims(frame, text, commands, intents) {
    if (commands.some((c) => c.type === "hand_off")) return null;
    if (frame.awaiting === "cancel_reason") {
      // Any words answer "why?" (the reason is optional, never a condition). Not an answer: insisting
      // ("só cancela"), a clear "esquece", or a question (answered, and the flow goes on).
      const insists = commands.some((c) => c.type === "start_flow" && c.flow === "cancellation");
      const stop = intents.find((i) => i.intent === "stop")?.confidence ?? 0;
      if (insists || stop >= SURE_STOP || QUESTION.test(text)) return null;
      return { slots: { cancel_reason: text.trim().slice(0, 200) }, exclusive: true };
    }
    if (frame.step === "confirm_cancel" && frame.awaiting === "confirm" && CANCEL_WORD.test(text))
      return { slots: { confirm: !NEGATED_CANCEL.test(text) }, exclusive: true };
    if (frame.step === "choose_offer" && frame.awaiting === "choice") {
      const offers = (frame.facts.offers as Offer[] | undefined) ?? [];
      // "Não quero o desconto", "quero cancelar": never read as taking the offer.
      if (REFUSE.test(text) || /cancel/i.test(text)) return null;
      const named = matchOffer(text, offers);
      if (named) return { slots: { offer_id: named }, exclusive: true };
      if (offers.length === 1 && ACCEPT.test(text))
        return { slots: { offer_id: offers[0].offer_id }, exclusive: true };
      if (HAGGLE.test(text)) return { slots: {}, exclusive: true };
    }
    return null;
  },
  steps: {
    async start(ctx) {
      const scoped = await targetService(ctx);
      if (scoped) return scoped;
      if (ctx.conversation.offers_presented.length > 0) return goto("cancel_facts");
      if (ctx.frame.slots.cancel_reason !== undefined || ctx.frame.facts.reason_asked) return goto("offers");
      ctx.frame.facts.reason_asked = true;
      ctx.say(cancellationReplies, "askReason");
      return ask("cancel_reason");
    },
    async insist(ctx) {
      const scoped = await targetService(ctx);
      if (scoped) return scoped;
      if (!ctx.frame.facts.profile) {
        const p = await ctx.call("get_customer_profile", {});
        if (p.ok) ctx.frame.facts.profile = p.result;
      }
      return cancelNow(ctx);
    },
    async offers(ctx) {
      // Only part of the services goes: the customer already stays; the retention offers (for the whole
      // account) are not what was asked. Straight to the facts and the confirmation.
      if (targeted(ctx)) return goto("cancel_facts");
      const r = await ctx.call("get_eligible_offers", {});
      // Moving house (faq-mudanca-endereco): a discount does not answer it; the service moves with the
      // customer, and without coverage there the fine is waived. Say so; present no retention offer.
      if (isMoving(ctx)) {
        ctx.frame.facts.moving = true;
        return goto("cancel_facts");
      }
      // No offers (or the rules unavailable): nothing to present, never a reason to hold the request.
      const chosen = r.ok
        ? offerForReason(r.result.offers, String(ctx.frame.slots.cancel_reason ?? ""))
        : undefined;
      if (!r.ok || !chosen) return goto("cancel_facts");
      const presented = [chosen];
      ctx.frame.facts.offers = presented;
      ctx.frame.facts.decision_id = r.result.decision_id;
      ctx.conversation.offers_presented.push(chosen.offer_id);
      ctx.conversation.retention_decision_id = r.result.decision_id;
      ctx.showOffers(
        presented.map((o) => ({
          offer_id: o.offer_id,
          rule_id: o.rule_id,
          discount_pct: o.discount_pct,
          months: o.months,
          approval: o.approval,
          terms: o.terms,
        })),
      );
      ctx.say(cancellationReplies, "offers", presented);
      ctx.frame.facts.presented = true;
      return goto("choose_offer");
    },
    async choose_offer(ctx) {
      const list = offers(ctx);
      ctx.frame.options = list.map((o) => o.offer_id);
      const picked = pickOption(ctx.frame, "offer_id");
      const answer = yesNo(ctx.take("confirm"));
      if (picked) {
        ctx.frame.facts.chosen = picked;
        return goto("confirm_offer");
      }
      if (answer === true && list.length === 1) {
        ctx.frame.facts.chosen = list[0].offer_id;
        return goto("confirm_offer");
      }
      if (answer === false) return goto("insist");
      // Answering the offers with a price or a discount of their own: the offers stand, nothing is invented.
      const answering = ctx.frame.awaiting === "choice";
      if (
        ctx.frame.slots.offer_id !== undefined ||
        ctx.frame.slots.amount_brl !== undefined ||
        (answering && HAGGLE.test(ctx.text))
      ) {
        delete ctx.frame.slots.offer_id;
        delete ctx.frame.slots.amount_brl;
        ctx.say(cancellationReplies, "noBetter");
      }
      // The offers were shown with the step before; later turns only ask again, never re-present.
      if (ctx.frame.facts.presented === "asked") ctx.say(cancellationReplies, "offersAgain");
      ctx.frame.facts.presented = "asked";
      return ask(
        "choice",
        list.map((o) => o.offer_id),
      );
    },
    async confirm_offer(ctx) {
      const offer = offers(ctx).find((o) => o.offer_id === ctx.frame.facts.chosen);
      if (!offer) return goto("choose_offer");
      const answer = yesNo(ctx.take("confirm"));
      if (answer === undefined) {
        ctx.say(cancellationReplies, "confirmOffer", offer);
        return ask("confirm");
      }
      if (answer === false) return goto("cancel_facts");
      const consent = await ctx.consent("apply_offer", offer.offer_id);
      if (!consent.ok) {
        ctx.say(
          common,
          consent.error.code === "system_unavailable" ? "systemDown" : "toolFailed",
          consent.error.system,
        );
        return goto("cancel_facts");
      }
      const r = await ctx.call("apply_offer", {
        offer_id: offer.offer_id,
        ...(typeof ctx.frame.facts.decision_id === "string"
          ? { decision_id: ctx.frame.facts.decision_id }
          : {}),
      });
      if (!r.ok) {
        ctx.say(common, r.error.code === "system_unavailable" ? "systemDown" : "toolFailed", r.error.system);
        return goto("cancel_facts");
      }
      const made = ctx.conversation.offers_presented;
      if (r.result.status === "pending_approval") {
        ctx.say(cancellationReplies, "pending", offer);
        return end({
          outcome: "escalated",
          summary: `Cancellation intent (reason: ${reason(ctx)}); offer ${offer.offer_id} accepted, pending supervisor approval.`,
          offers_made: made,
          offer_accepted: offer.offer_id,
        });
      }
      ctx.say(cancellationReplies, "applied", offer, r.result.ends_at);
      return end({
        outcome: "retained",
        summary: `Cancellation intent (reason: ${reason(ctx)}); retained with ${offer.offer_id} (application ${r.result.application_id}).`,
        offers_made: made,
        offer_accepted: offer.offer_id,
      });
    },
    async kept(ctx) {
      ctx.say(cancellationReplies, "kept");
      // Registered when the contact ends: if the customer asks to cancel again in this contact, that is the record.
      return end({
        outcome: "retained",
        summary: `Cancellation intent (reason: ${reason(ctx)}); the customer decided to stay${ctx.conversation.offers_presented.length ? " without accepting the offer" : ""}.`,
        offers_made: ctx.conversation.offers_presented,
        defer: true,
      });
    },
    async cancel_facts(ctx) {
      if (!ctx.frame.facts.profile) {
        const p = await ctx.call("get_customer_profile", {});
        if (p.ok) ctx.frame.facts.profile = p.result;
      }
      return goto("confirm_cancel");
    },
    async confirm_cancel(ctx) {
      const answer = yesNo(ctx.take("confirm"));
      if (answer === true) return cancelNow(ctx);
      if (answer === false) return goto("kept");
      const profile = ctx.frame.facts.profile as GetCustomerProfileOutput | undefined;
      // Home services move with an address; a mobile line does not depend on one (faq-mudanca-endereco).
      if (ctx.frame.facts.moving && !ctx.frame.facts.moving_said) {
        ctx.frame.facts.moving_said = true;
        const home = profile
          ? profile.contracts.some(
              (c) => c.status === "active" && ["fibra", "tv", "combo"].includes(c.product),
            )
          : true;
        ctx.say(cancellationReplies, home ? "moving" : "movingMobile");
      }
      const only = targeted(ctx);
      if (only) ctx.say(cancellationReplies, "partialScope", ...scopeNames(ctx, only));
      ctx.say(cancellationReplies, "confirmCancel", fineText(profile, ctx.lang, only));
      return ask("confirm");
    },
  },
});
