import { z } from "zod";
import { customerIdArg, defineTool, ToolFailure } from "./core.ts";

export const applyOfferInput = z
  .object({
    customer_id: customerIdArg,
    offer_id: z.string().min(1).describe("An offer id get_eligible_offers returned in this conversation"),
    decision_id: z
      .string()
      .min(1)
      .optional()
      .describe("The decision that allowed it (from get_eligible_offers); omit for the latest one"),
    contract_id: z
      .string()
      .min(1)
      .optional()
      .describe("Contract to apply it to; omit for the one the decision named"),
  })
  .strict();

export const applyOfferOutput = z.object({
  application_id: z.string(),
  offer_id: z.string(),
  decision_id: z.string(),
  contract_id: z.string(),
  consent_id: z.string(),
  /** pending_approval: needs a supervisor (not active yet). */
  status: z.enum(["applied", "pending_approval"]),
  applied_at: z.string(),
  ends_at: z.string(),
});
export type ApplyOfferOutput = z.infer<typeof applyOfferOutput>;

export const applyOfferTool = defineTool({
  name: "apply_offer",
  description:
    "Applies one retention offer that get_eligible_offers returned in this conversation, after the customer's recorded consent; refuses any other offer.",
  input: applyOfferInput,
  output: applyOfferOutput,
  async run(ctx, input) {
    const customerId = ctx.customer(input.customer_id);
    const mine = ctx.session.offer_decisions.filter((d) => d.customer_id === customerId);
    const decision = input.decision_id
      ? mine.find((d) => d.decision_id === input.decision_id)
      : [...mine].reverse().find((d) => d.offer_ids.includes(input.offer_id));
    if (!decision?.offer_ids.includes(input.offer_id)) {
      ctx.audit({
        kind: "refused",
        code: "offer_not_allowed",
        detail: { offer_id: input.offer_id, decision_id: input.decision_id ?? null },
      });
      throw new ToolFailure(
        "offer_not_allowed",
        `offer ${input.offer_id} was not allowed by ${input.decision_id ? `decision ${input.decision_id} of this session` : "any decision of this session"}`,
        { field: "offer_id" },
      );
    }
    const consent = ctx.consent("apply_offer", input.offer_id);
    // The contract: the one asked for, else the one the rule's terms name, else the customer's main contract.
    let contractId = input.contract_id;
    if (!contractId) {
      const recorded = await ctx.systems.offers.getDecision(decision.decision_id);
      const terms = recorded?.allowed.find((a) => a.offer_id === input.offer_id)?.terms;
      if (typeof terms?.contract_id === "string") contractId = terms.contract_id;
    }
    const contract = contractId
      ? (await ctx.contract(customerId, contractId)).contract_id
      : await mainContract(ctx, customerId);
    const applied = await ctx.systems.offers.applyOffer(
      {
        customer_id: customerId,
        contract_id: contract,
        offer_id: input.offer_id,
        decision_id: decision.decision_id,
        consent_id: consent.consent_id,
      },
      { idempotencyKey: ctx.onceKey(input.offer_id) },
    );
    ctx.audit({
      kind: "write",
      detail: { application_id: applied.application_id, offer_id: input.offer_id },
    });
    return {
      application_id: applied.application_id,
      offer_id: applied.offer_id,
      decision_id: applied.decision_id,
      contract_id: applied.contract_id,
      consent_id: applied.consent_id,
      status: applied.status,
      applied_at: applied.applied_at,
      ends_at: applied.ends_at,
    };
  },
});

async function mainContract(
  ctx: Parameters<typeof applyOfferTool.run>[0],
  customerId: string,
): Promise<string> {
  const contracts = (await ctx.systems.crm.listContracts(customerId)).filter((c) => c.status === "active");
  if (contracts.length === 0) throw new ToolFailure("not_applicable", "the customer has no active contract");
  return contracts.reduce((a, b) => (b.monthly_price_brl > a.monthly_price_brl ? b : a)).contract_id;
}
