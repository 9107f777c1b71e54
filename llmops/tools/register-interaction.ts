import { z } from "zod";
import { customerIdArg, defineTool, digest, ToolFailure } from "./core.ts";

export const INTERACTION_OUTCOMES = [
  "resolved",
  "retained",
  "cancel_requested",
  "escalated",
  "visit_scheduled",
  "plan_changed",
  "invoice_copy_issued",
  "abandoned",
  "unresolved",
] as const;

export const registerInteractionInput = z
  .object({
    customer_id: customerIdArg,
    category: z
      .string()
      .regex(/^[a-z][a-z0-9_]{1,40}$/)
      .describe("snake_case category, e.g. internet_diagnosis, invoice_explanation, cancellation, retention"),
    summary: z.string().min(3).max(1000).describe("What was asked and done, in one or two sentences"),
    sentiment: z.enum(["positive", "neutral", "negative"]),
    outcome: z.enum(INTERACTION_OUTCOMES),
    offers_made: z.array(z.string()).default([]).describe("Offer ids presented (from get_eligible_offers)"),
    offer_accepted: z
      .string()
      .nullable()
      .default(null)
      .describe("The offer id the customer accepted, if any"),
    protocol: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe("Protocol number already given; omit to open one"),
    contract_ids: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        "outcome cancel_requested: only these contracts of the customer (a partial cancellation); omit for all",
      ),
  })
  .strict();

export const registerInteractionOutput = z.object({
  interaction_id: z.string(),
  customer_id: z.string(),
  outcome: z.enum(INTERACTION_OUTCOMES),
  /** The Anatel protocol number to give the customer. */
  protocol: z.string(),
  /** true when this call opened the protocol. */
  protocol_opened: z.boolean(),
  created_at: z.string(),
  /**
   * outcome cancel_requested: the cancellation the CRM registered at once (Anatel RGC: never held back
   * for retention), effective within 48 hours; null for every other outcome.
   */
  cancellation: z
    .object({ contract_ids: z.array(z.string()), requested_at: z.string(), effective_by: z.string() })
    .nullable(),
});
export type RegisterInteractionOutput = z.infer<typeof registerInteractionOutput>;

export const registerInteractionTool = defineTool({
  name: "register_interaction",
  description:
    "Records this conversation in the CRM (category, summary, sentiment, outcome, offers made and accepted) and returns its protocol; outcome cancel_requested also registers the cancellation.",
  input: registerInteractionInput,
  output: registerInteractionOutput,
  async run(ctx, input) {
    const customerId = ctx.customer(input.customer_id);
    // Offers are facts of this session: only ids a decision of this session allowed can have been made.
    const allowed = new Set(
      ctx.session.offer_decisions.filter((d) => d.customer_id === customerId).flatMap((d) => d.offer_ids),
    );
    const unknown = input.offers_made.filter((o) => !allowed.has(o));
    if (unknown.length)
      throw new ToolFailure(
        "invalid_input",
        `offers ${unknown.join(", ")} were not offered in this session`,
        {
          field: "offers_made",
        },
      );
    if (input.offer_accepted !== null && !input.offers_made.includes(input.offer_accepted))
      throw new ToolFailure(
        "invalid_input",
        `offer_accepted ${input.offer_accepted} is not among offers_made`,
        {
          field: "offer_accepted",
        },
      );
    // Same content in the same session = the same interaction (a retried turn never registers twice).
    const subject = digest({ ...input, customer_id: customerId });
    let protocol = input.protocol;
    const opened = protocol === null;
    let cancellation: { contract_ids: string[]; requested_at: string; effective_by: string } | null = null;
    if (input.outcome === "cancel_requested") {
      // The CRM registers the cancellation and gives its protocol; the interaction records that protocol.
      const c = await ctx.systems.crm.requestCancellation(
        {
          customer_id: customerId,
          reason: input.summary,
          ...(input.contract_ids ? { contract_ids: input.contract_ids } : {}),
        },
        { idempotencyKey: ctx.onceKey(`cancellation:${subject}`) },
      );
      cancellation = {
        contract_ids: c.contract_ids,
        requested_at: c.requested_at,
        effective_by: c.effective_by,
      };
      if (protocol === null) protocol = c.protocol;
    }
    if (protocol === null) {
      const p = await ctx.systems.crm.openProtocol(
        { customer_id: customerId, kind: input.category, summary: input.summary },
        { idempotencyKey: ctx.onceKey(`protocol:${subject}`) },
      );
      protocol = p.protocol;
    }
    const rec = await ctx.systems.crm.recordInteraction(
      {
        customer_id: customerId,
        channel: ctx.session.channel,
        category: input.category,
        summary: input.summary,
        sentiment: input.sentiment,
        outcome: input.outcome,
        offers_made: input.offers_made,
        offer_accepted: input.offer_accepted,
        protocol,
        session_id: ctx.session.session_id,
      },
      { idempotencyKey: ctx.onceKey(subject) },
    );
    ctx.audit({ kind: "write", detail: { interaction_id: rec.interaction_id, outcome: rec.outcome } });
    return {
      interaction_id: rec.interaction_id,
      customer_id: customerId,
      outcome: rec.outcome,
      protocol: rec.protocol ?? protocol,
      protocol_opened: opened,
      created_at: rec.created_at,
      cancellation,
    };
  },
});
