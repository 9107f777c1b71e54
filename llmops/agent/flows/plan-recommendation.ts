import type { Language } from "../../conversation/commands.ts";
import type { ChangePlanOutput } from "../../tools/change-plan.ts";
import type { RecommendPlanOutput } from "../../tools/recommend-plan.ts";
import { date, money, num } from "../format.ts";
import { common } from "../replies.ts";
import { ask, defineFlow, end, type FlowContext, goto, replies, yesNo } from "./flow.ts";

/**
 * Plan recommendation → consent → change: recommend_plan picks the plan that fits the last 3 months of
 * usage; the customer hears the plan, its price and the monthly difference, and only an explicit yes
 * records the consent and calls change_plan. A plan the customer names that is not the recommended one
 * is not priced here (prices come only from tools): the recommendation is offered instead.
 */

function usageLine(r: RecommendPlanOutput, lang: Language): string {
  const u = r.usage;
  return lang === "pt-BR"
    ? `Nos últimos ${u.months.length} meses você usou em média ${num(u.average_data_gb, lang)}GB de internet móvel (no mês de maior uso, ${num(u.max_data_gb, lang)}GB).`
    : `Over the last ${u.months.length} months you used ${num(u.average_data_gb, lang)}GB of mobile data on average (${num(u.max_data_gb, lang)}GB in your heaviest month).`;
}

function diffText(n: number, lang: Language): string {
  if (lang === "pt-BR")
    return n < 0 ? `${money(-n, lang)} a menos por mês` : `${money(n, lang)} a mais por mês`;
  return n < 0 ? `${money(-n, lang)} less per month` : `${money(n, lang)} more per month`;
}

export const planReplies = replies({
  "pt-BR": {
    recommend: (r: RecommendPlanOutput) =>
      [
        usageLine(r, "pt-BR"),
        r.reason === "cheaper_fits_usage"
          ? `O ${r.recommended.name} (${money(r.recommended.monthly_price_brl, "pt-BR")} por mês) cobre esse uso e custa ${diffText(r.monthly_difference_brl, "pt-BR")} que o seu plano atual, ${r.current.name} (${money(r.current.monthly_price_brl, "pt-BR")}).`
          : `Para não faltar internet, o ${r.recommended.name} (${money(r.recommended.monthly_price_brl, "pt-BR")} por mês) combina melhor com o seu uso: ${diffText(r.monthly_difference_brl, "pt-BR")} que o seu plano atual, ${r.current.name} (${money(r.current.monthly_price_brl, "pt-BR")}).`,
        `Quer que eu troque o seu plano para o ${r.recommended.name}?`,
      ].join(" "),
    notThatPlan: (r: RecommendPlanOutput) =>
      `Por aqui consigo fazer a troca para o plano indicado pelo seu uso, o ${r.recommended.name}; para outros planos, use o app Aurora ou fale com um atendente.`,
    currentIsBest: (r: RecommendPlanOutput) =>
      `${usageLine(r, "pt-BR")} O seu plano atual, ${r.current.name} (${money(r.current.monthly_price_brl, "pt-BR")} por mês), já é o mais adequado para esse uso. Posso ajudar em mais alguma coisa?`,
    notMetered: (r: RecommendPlanOutput) =>
      `O seu plano ${r.current.name} não tem franquia de dados para eu comparar com o uso, então não tenho uma recomendação de troca. Posso ajudar em mais alguma coisa?`,
    homeInternet: (r: RecommendPlanOutput) =>
      `Como você também tem internet em casa, o consumo registrado mistura as duas conexões, e não consigo recomendar com segurança uma troca do ${r.current.name}. Posso ajudar em mais alguma coisa?`,
    noMobile: () =>
      "A recomendação por consumo é para planos móveis, e não encontrei um plano móvel ativo no seu cadastro. Posso ajudar em mais alguma coisa?",
    changed: (c: ChangePlanOutput, name: string) =>
      `Pronto! Seu plano mudou para o ${name}, a partir de ${date(c.effective_at, "pt-BR")}. A mensalidade passa de ${money(c.old_price_brl, "pt-BR")} para ${money(c.new_price_brl, "pt-BR")}. Posso ajudar em mais alguma coisa?`,
    kept: () => "Tudo bem, mantive o seu plano como está. Posso ajudar em mais alguma coisa?",
  },
  en: {
    recommend: (r: RecommendPlanOutput) =>
      [
        usageLine(r, "en"),
        r.reason === "cheaper_fits_usage"
          ? `${r.recommended.name} (${money(r.recommended.monthly_price_brl, "en")} a month) covers that and costs ${diffText(r.monthly_difference_brl, "en")} than your current plan, ${r.current.name} (${money(r.current.monthly_price_brl, "en")}).`
          : `So you don't run out of data, ${r.recommended.name} (${money(r.recommended.monthly_price_brl, "en")} a month) fits your usage better: ${diffText(r.monthly_difference_brl, "en")} than your current plan, ${r.current.name} (${money(r.current.monthly_price_brl, "en")}).`,
        `Shall I change your plan to ${r.recommended.name}?`,
      ].join(" "),
    notThatPlan: (r: RecommendPlanOutput) =>
      `Here I can change you to the plan your usage points to, ${r.recommended.name}; for other plans, please use the Aurora app or talk to an agent.`,
    currentIsBest: (r: RecommendPlanOutput) =>
      `${usageLine(r, "en")} Your current plan, ${r.current.name} (${money(r.current.monthly_price_brl, "en")} a month), is already the best fit for that. Anything else I can help with?`,
    notMetered: (r: RecommendPlanOutput) =>
      `Your ${r.current.name} plan has no data allowance to compare with your usage, so I have no change to recommend. Anything else I can help with?`,
    homeInternet: (r: RecommendPlanOutput) =>
      `Since you also have home internet, the recorded usage mixes both connections, so I can't safely recommend changing ${r.current.name}. Anything else I can help with?`,
    noMobile: () =>
      "Usage-based recommendations are for mobile plans, and I couldn't find an active mobile plan on your account. Anything else I can help with?",
    changed: (c: ChangePlanOutput, name: string) =>
      `Done! Your plan is now ${name}, from ${date(c.effective_at, "en")}. Your monthly fee goes from ${money(c.old_price_brl, "en")} to ${money(c.new_price_brl, "en")}. Anything else I can help with?`,
    kept: () => "OK, I've kept your plan as it is. Anything else I can help with?",
  },
});

function rec(ctx: FlowContext): RecommendPlanOutput {
  return ctx.frame.facts.recommendation as RecommendPlanOutput;
}

export const planRecommendationFlow = defineFlow({
  name: "plan_recommendation",
  needsIdentity: true,
  first: "recommend",
  accepts: ["plan_id"],
  steps: {
    async recommend(ctx) {
      const r = await ctx.call("recommend_plan", {});
      if (!r.ok) {
        if (r.error.code === "not_applicable") {
          ctx.say(planReplies, "noMobile");
          return end({ outcome: "resolved", summary: "Plan recommendation asked; no mobile contract." });
        }
        ctx.say(common, r.error.code === "system_unavailable" ? "systemDown" : "toolFailed", r.error.system);
        return end({ outcome: "unresolved", summary: `Plan recommendation failed: ${r.error.code}.` });
      }
      const res = r.result;
      ctx.frame.facts.recommendation = res;
      const base = `Plan recommendation for ${res.current.plan_id}: ${res.reason}, recommended ${res.recommended.plan_id}`;
      if (res.reason === "current_is_best" || res.recommended.plan_id === res.current.plan_id) {
        const key =
          res.reason === "usage_not_metered"
            ? "notMetered"
            : res.reason === "usage_includes_home_internet"
              ? "homeInternet"
              : "currentIsBest";
        ctx.say(planReplies, key, res);
        return end({ outcome: "resolved", summary: `${base}; current plan kept.` });
      }
      const named = ctx.frame.slots.plan_id;
      if (typeof named === "string" && named !== res.recommended.plan_id && named !== res.current.plan_id)
        ctx.say(planReplies, "notThatPlan", res);
      return goto("confirm");
    },
    async confirm(ctx) {
      const res = rec(ctx);
      const answer = yesNo(ctx.take("confirm"));
      if (answer === undefined) {
        ctx.say(planReplies, "recommend", res);
        return ask("confirm");
      }
      const base = `Plan recommendation for ${res.current.plan_id}: ${res.reason}, recommended ${res.recommended.plan_id}`;
      if (answer === false) {
        ctx.say(planReplies, "kept");
        return end({ outcome: "resolved", summary: `${base}; customer declined.` });
      }
      const consent = await ctx.consent("change_plan", res.recommended.plan_id);
      if (!consent.ok) {
        ctx.say(
          common,
          consent.error.code === "system_unavailable" ? "systemDown" : "toolFailed",
          consent.error.system,
        );
        return end({ outcome: "unresolved", summary: `${base}; consent not recorded.` });
      }
      const r = await ctx.call("change_plan", {
        to_plan_id: res.recommended.plan_id,
        contract_id: res.contract_id,
      });
      if (!r.ok) {
        ctx.say(common, r.error.code === "system_unavailable" ? "systemDown" : "toolFailed", r.error.system);
        return end({ outcome: "unresolved", summary: `${base}; change failed: ${r.error.code}.` });
      }
      ctx.say(planReplies, "changed", r.result, res.recommended.name);
      return end({
        outcome: "plan_changed",
        summary: `${base}; changed ${r.result.from_plan_id} → ${r.result.to_plan_id} (change ${r.result.change_id}).`,
      });
    },
  },
});
