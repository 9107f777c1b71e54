import { z } from "zod";
import { brl, customerIdArg, defineTool, ToolFailure } from "./core.ts";

export const changePlanInput = z
  .object({
    customer_id: customerIdArg,
    to_plan_id: z.string().min(1).describe("Catalog plan id to move to (e.g. from recommend_plan)"),
    contract_id: z
      .string()
      .min(1)
      .optional()
      .describe("Contract to change; omit for the one of the same product"),
  })
  .strict();

export const changePlanOutput = z.object({
  change_id: z.string(),
  contract_id: z.string(),
  from_plan_id: z.string(),
  to_plan_id: z.string(),
  old_price_brl: z.number(),
  new_price_brl: z.number(),
  /** new − old (negative = the customer pays less). */
  monthly_difference_brl: z.number(),
  consent_id: z.string(),
  effective_at: z.string(),
});
export type ChangePlanOutput = z.infer<typeof changePlanOutput>;

const MOBILE = new Set(["mobile_pre", "mobile_controle", "mobile_pos"]);

export const changePlanTool = defineTool({
  name: "change_plan",
  description:
    "Changes a contract to another catalog plan after the customer's recorded consent for that plan; returns the old and new prices.",
  input: changePlanInput,
  output: changePlanOutput,
  async run(ctx, input) {
    const customerId = ctx.customer(input.customer_id);
    const catalog = await ctx.catalog();
    const target = catalog.plans.find((p) => p.plan_id === input.to_plan_id);
    if (!target)
      throw new ToolFailure("not_found", `plan ${input.to_plan_id} is not in the catalog`, {
        system: "offers",
        field: "to_plan_id",
      });
    const consent = ctx.consent("change_plan", input.to_plan_id);
    const sameKind = (product: string) =>
      product === target.product || (MOBILE.has(product) && MOBILE.has(target.product));
    const contract = await ctx.contract(customerId, input.contract_id, (c) => sameKind(c.product));
    if (contract.status !== "active")
      throw new ToolFailure("invalid_state", `contract ${contract.contract_id} is ${contract.status}`, {
        field: "contract_id",
      });
    // "Already on that plan" is left to the offers system: a retried turn whose first write was applied
    // must reach it with the same key and get that write's result back.
    if (!sameKind(contract.product))
      throw new ToolFailure(
        "invalid_state",
        `a ${contract.product} contract cannot move to a ${target.product} plan`,
        {
          field: "to_plan_id",
        },
      );
    const change = await ctx.systems.offers.changePlan(
      {
        customer_id: customerId,
        contract_id: contract.contract_id,
        to_plan_id: target.plan_id,
        consent_id: consent.consent_id,
      },
      { idempotencyKey: ctx.onceKey(`${contract.contract_id}:${target.plan_id}`) },
    );
    ctx.audit({ kind: "write", detail: { change_id: change.change_id, to_plan_id: target.plan_id } });
    return {
      change_id: change.change_id,
      contract_id: change.contract_id,
      from_plan_id: change.from_plan_id,
      to_plan_id: change.to_plan_id,
      old_price_brl: change.old_price_brl,
      new_price_brl: change.new_price_brl,
      monthly_difference_brl: brl(change.new_price_brl - change.old_price_brl),
      consent_id: change.consent_id,
      effective_at: change.effective_at,
    };
  },
});
