import { z } from "zod";
import { customerIdArg, defineTool, ToolFailure } from "./core.ts";

export const getEligibleOffersInput = z.object({ customer_id: customerIdArg }).strict();

export const getEligibleOffersOutput = z.object({
  decision_id: z.string(),
  rules_version: z.string(),
  churn_model_version: z.string().nullable(),
  /** Only what the rules engine allows now; apply_offer accepts these ids with this decision_id. */
  offers: z.array(
    z.object({
      offer_id: z.string(),
      rule_id: z.string(),
      /** The terms the rule set (discount, months, contract, approval…). */
      terms: z.record(z.string(), z.unknown()),
      discount_pct: z.number().nullable(),
      months: z.number().nullable(),
      approval: z.enum(["agent", "supervisor"]).nullable(),
    }),
  ),
  /** Offers not allowed, each with the rules' reason codes (for the record, never to negotiate). */
  not_allowed: z.array(z.object({ offer_id: z.string(), reasons: z.array(z.string()) })),
});
export type GetEligibleOffersOutput = z.infer<typeof getEligibleOffersOutput>;

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export const getEligibleOffersTool = defineTool({
  name: "get_eligible_offers",
  description:
    "Retention offers the rules engine allows for the authenticated customer right now (ids, terms, the rule that allowed each); records the decision.",
  input: getEligibleOffersInput,
  output: getEligibleOffersOutput,
  async run(ctx, input) {
    const customerId = ctx.customer(input.customer_id);
    const decision = await ctx.rules().decideOffers(customerId, { sessionId: ctx.session.session_id });
    if (decision.customer_id !== customerId)
      throw new ToolFailure("internal", "the rules engine decided for another customer", { system: "rules" });
    const catalog = await ctx.catalog();
    const byId = new Map(catalog.retention_offers.map((o) => [o.offer_id, o]));
    if (!ctx.session.offer_decisions.some((d) => d.decision_id === decision.decision_id))
      ctx.session.offer_decisions.push({
        decision_id: decision.decision_id,
        customer_id: customerId,
        offer_ids: decision.allowed.map((a) => a.offer_id),
        rules_version: decision.rules_version,
        created_at: decision.created_at,
      });
    return {
      decision_id: decision.decision_id,
      rules_version: decision.rules_version,
      churn_model_version: decision.churn_model_version,
      offers: decision.allowed.map((a) => {
        const c = byId.get(a.offer_id);
        return {
          offer_id: a.offer_id,
          rule_id: a.rule_id,
          terms: a.terms,
          discount_pct: num(a.terms.discount_pct) ?? c?.max_discount_pct ?? null,
          months: num(a.terms.months) ?? c?.months ?? null,
          approval:
            a.terms.approval === "agent" || a.terms.approval === "supervisor"
              ? a.terms.approval
              : (c?.approval ?? null),
        };
      }),
      not_allowed: decision.rejected.map((r) => ({ offer_id: r.offer_id, reasons: r.reasons })),
    };
  },
});
