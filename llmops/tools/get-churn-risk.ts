import { z } from "zod";
import { customerIdArg, defineTool, viaService } from "./core.ts";

export const getChurnRiskInput = z.object({ customer_id: customerIdArg }).strict();

export const getChurnRiskOutput = z.object({
  customer_id: z.string(),
  /** false when the model has no features for the customer (e.g. cancelled, or not in the online store). */
  available: z.boolean(),
  probability: z.number().nullable(),
  band: z.enum(["low", "medium", "high"]).nullable(),
  /** Top reasons, largest contribution first; `label` is in the session's language. */
  reasons: z.array(z.object({ feature: z.string(), label: z.string(), contribution: z.number() })),
  model_name: z.string().nullable(),
  model_version: z.string().nullable(),
  as_of: z.string().nullable(),
});
export type GetChurnRiskOutput = z.infer<typeof getChurnRiskOutput>;

export const getChurnRiskTool = defineTool({
  name: "get_churn_risk",
  description:
    "Churn probability, risk band and top reasons for the authenticated customer, from the champion churn model.",
  input: getChurnRiskInput,
  output: getChurnRiskOutput,
  async run(ctx, input) {
    const customerId = ctx.customer(input.customer_id);
    const risk = await viaService("churn", () =>
      ctx.deps.churn.risk(customerId, { language: ctx.session.language }),
    );
    if (!risk)
      return {
        customer_id: customerId,
        available: false,
        probability: null,
        band: null,
        reasons: [],
        model_name: null,
        model_version: null,
        as_of: null,
      };
    return {
      customer_id: customerId,
      available: true,
      probability: risk.probability,
      band: risk.band,
      reasons: [...risk.reasons]
        .sort((a, b) => b.contribution - a.contribution)
        .map((r) => ({ feature: r.feature, label: r.label, contribution: r.contribution })),
      model_name: risk.model_name,
      model_version: risk.model_version,
      as_of: risk.as_of,
    };
  },
});
