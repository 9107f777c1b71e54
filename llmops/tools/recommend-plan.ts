import { z } from "zod";
import type { CatalogPlan } from "../../platform/ports/offers.ts";
import { brl, customerIdArg, defineTool, ToolFailure } from "./core.ts";

/** Products a customer can move between without changing what they have at home. */
const FAMILIES: Record<string, string[]> = {
  mobile_controle: ["mobile_controle", "mobile_pos"],
  mobile_pos: ["mobile_controle", "mobile_pos"],
  mobile_pre: ["mobile_pre", "mobile_controle"],
};

/** Headroom over the heaviest of the last 3 months, so a normal month does not need extra packages. */
export const USAGE_HEADROOM = 1.1;
const MONTHS = 3;

export const recommendPlanInput = z
  .object({
    customer_id: customerIdArg,
    contract_id: z
      .string()
      .min(1)
      .optional()
      .describe("Contract to recommend for; omit for the customer's mobile or combo"),
  })
  .strict();

const planSchema = z.object({
  plan_id: z.string(),
  name: z.string(),
  product: z.string(),
  monthly_price_brl: z.number(),
  data_gb: z.number().nullable(),
  speed_mbps: z.number().nullable(),
});

export const recommendPlanOutput = z.object({
  contract_id: z.string(),
  current: planSchema,
  usage: z.object({
    months: z.array(
      z.object({ month: z.string(), data_gb: z.number(), voice_minutes: z.number(), roaming_mb: z.number() }),
    ),
    average_data_gb: z.number(),
    max_data_gb: z.number(),
    /** max × headroom: the allowance the recommended plan covers. */
    needed_data_gb: z.number(),
  }),
  recommended: planSchema,
  /** recommended − current monthly price (negative = saves). */
  monthly_difference_brl: z.number(),
  /**
   * usage_not_metered: the plan has no mobile data allowance to fit (fibra, TV, combo);
   * usage_includes_home_internet: the customer also has home internet, whose traffic the usage
   * records include, so mobile usage cannot be told apart (the current plan is kept).
   */
  reason: z.enum([
    "cheaper_fits_usage",
    "upgrade_for_usage",
    "current_is_best",
    "usage_not_metered",
    "usage_includes_home_internet",
  ]),
});
export type RecommendPlanOutput = z.infer<typeof recommendPlanOutput>;

function view(p: CatalogPlan) {
  return {
    plan_id: p.plan_id,
    name: p.name,
    product: p.product,
    monthly_price_brl: p.monthly_price_brl,
    data_gb: p.data_gb,
    speed_mbps: p.speed_mbps,
  };
}

/**
 * The cheapest plan of the same family whose allowance covers the heaviest recent month with headroom;
 * if none does, the largest allowance. Combos must keep at least the current speed.
 */
export function choosePlan(current: CatalogPlan, plans: CatalogPlan[], neededGb: number): CatalogPlan {
  const family = FAMILIES[current.product];
  if (!family || current.data_gb === null) return current;
  const candidates = plans.filter(
    (p) =>
      family.includes(p.product) &&
      p.data_gb !== null &&
      (current.speed_mbps === null || (p.speed_mbps ?? 0) >= current.speed_mbps),
  );
  const fitting = candidates
    .filter((p) => (p.data_gb ?? 0) >= neededGb)
    .sort((a, b) => a.monthly_price_brl - b.monthly_price_brl || (b.data_gb ?? 0) - (a.data_gb ?? 0));
  if (fitting.length) {
    const best = fitting[0];
    // Keep the current plan when it fits and costs the same or less.
    if ((current.data_gb ?? 0) >= neededGb && current.monthly_price_brl <= best.monthly_price_brl)
      return current;
    return best;
  }
  return candidates.reduce((a, b) => ((b.data_gb ?? 0) > (a.data_gb ?? 0) ? b : a), current);
}

export const recommendPlanTool = defineTool({
  name: "recommend_plan",
  description:
    "Best catalog plan for the customer's last 3 months of usage, with the monthly price difference to the current plan.",
  input: recommendPlanInput,
  output: recommendPlanOutput,
  async run(ctx, input) {
    const customerId = ctx.customer(input.customer_id);
    const catalog = await ctx.catalog();
    const byId = new Map(catalog.plans.map((p) => [p.plan_id, p]));
    const contracts = await ctx.systems.crm.listContracts(customerId);
    const active = contracts.filter((c) => c.status === "active");
    const contract = input.contract_id
      ? await ctx.contract(customerId, input.contract_id)
      : (active.find((c) => FAMILIES[c.product] !== undefined) ?? active[0]);
    if (!contract) throw new ToolFailure("not_applicable", "the customer has no active contract");
    const homeInternet = contracts.some(
      (c) => c.status === "active" && (c.product === "fibra" || c.product === "combo"),
    );
    const usage = (await ctx.systems.billing.listUsage(customerId, { months: MONTHS })).slice(0, MONTHS);
    const current = byId.get(contract.plan_id) ?? {
      plan_id: contract.plan_id,
      name: contract.plan_id,
      product: contract.product,
      monthly_price_brl: contract.monthly_price_brl,
      data_gb: null,
      speed_mbps: null,
      fidelity_months: 0,
      fidelity_benefit_brl: 0,
    };
    const gb = usage.map((u) => u.data_gb);
    const max = gb.length ? Math.max(...gb) : 0;
    const avg = gb.length ? gb.reduce((s, x) => s + x, 0) / gb.length : 0;
    const needed = Math.round(max * USAGE_HEADROOM * 10) / 10;
    const metered = current.data_gb !== null && FAMILIES[current.product] !== undefined;
    const best = metered && !homeInternet ? choosePlan(current, catalog.plans, needed) : current;
    // The customer pays the contract's price (it may carry an adjustment); compare against that.
    const currentPrice = contract.monthly_price_brl;
    const diff = best.plan_id === current.plan_id ? 0 : brl(best.monthly_price_brl - currentPrice);
    const reason = !metered
      ? ("usage_not_metered" as const)
      : homeInternet
        ? ("usage_includes_home_internet" as const)
        : best.plan_id === current.plan_id
          ? ("current_is_best" as const)
          : (best.data_gb ?? 0) < (current.data_gb ?? 0) || best.monthly_price_brl < current.monthly_price_brl
            ? ("cheaper_fits_usage" as const)
            : ("upgrade_for_usage" as const);
    return {
      contract_id: contract.contract_id,
      current: { ...view(current), monthly_price_brl: currentPrice },
      usage: {
        months: usage.map((u) => ({
          month: u.month,
          data_gb: u.data_gb,
          voice_minutes: u.voice_minutes,
          roaming_mb: u.roaming_mb,
        })),
        average_data_gb: Math.round(avg * 100) / 100,
        max_data_gb: Math.round(max * 100) / 100,
        needed_data_gb: needed,
      },
      recommended: view(best),
      monthly_difference_brl: diff,
      reason,
    };
  },
});
