import { z } from "zod";
import { FLOW_NAMES } from "../../conversation/commands.ts";

/**
 * A golden conversation (llmops/evaluations/golden/conversations/*.yaml): the initial state of the
 * world (which customer, the churn band the model gives them, the channel), what the customer writes,
 * and what must hold afterwards — judged on the sandbox's records and the tool trajectory, as
 * τ²-bench judges an agent, never on the wording of a reply.
 */

const SCENARIOS = [
  "regional_outage",
  "ont_los",
  "degraded_line",
  "slow_speed",
  "healthy_internet",
  "overdue_invoice",
  "open_dispute",
  "fidelity_active",
  "mobile_postpaid",
  "cancelled",
] as const;

/** Facts the chosen customer must have (checked with the tools before the conversation). */
export const requirementSchema = z
  .object({
    /** get_eligible_offers (with the preset churn band) allows these offer ids. */
    offers_include: z.array(z.string()).optional(),
    /** get_eligible_offers allows no offer at all (true) or at least one (false). */
    no_offers: z.boolean().optional(),
    /** recommend_plan's reason. */
    recommendation: z
      .enum([
        "cheaper_fits_usage",
        "upgrade_for_usage",
        "current_is_best",
        "usage_not_metered",
        "usage_includes_home_internet",
      ])
      .optional(),
    /** recommend_plan fails with not_applicable (no mobile or combo contract). */
    no_mobile: z.boolean().optional(),
    /** diagnose_internet's finding and next step. */
    finding: z.string().optional(),
    next_step: z.enum(["guided_steps", "wait_for_eta", "technician"]).optional(),
    /** diagnose_internet fails with not_applicable (no home internet). */
    no_internet: z.boolean().optional(),
    /** issue_invoice_copy would find an unpaid invoice (true) or none (false). */
    unpaid_invoice: z.boolean().optional(),
    /** explain_invoice of the latest invoice shows a difference to the previous month. */
    invoice_changed: z.boolean().optional(),
    /** An active contract still in its loyalty period (a fine applies). */
    in_fidelity: z.boolean().optional(),
    /** Active contracts on these plans (e.g. COMBO1000TV: a combo with the TV inside). */
    plans_include: z.array(z.string()).optional(),
  })
  .strict();
export type Requirement = z.infer<typeof requirementSchema>;

export const turnSchema = z
  .object({
    /** What the customer writes; {{cpf}}, {{birth_date}}, {{sms_code}}, {{other_customer_id}}… are filled in. */
    user: z.string().min(1),
    expect: z
      .object({
        /** Tools that must be called in this turn (any order). */
        tools: z.array(z.string()).optional(),
        /** Tools that must not be called in this turn. */
        no_tools: z.array(z.string()).optional(),
        /** The reply must match (case-insensitive regular expression). */
        reply: z.string().optional(),
        /** The reply must not match. */
        not_reply: z.string().optional(),
        /** Offers shown in this turn (ids), or [] for none. */
        offers: z.array(z.string()).optional(),
        /** At least one citation, with these document ids among them. */
        citations: z.array(z.string()).optional(),
        /** The flow on top of the stack after the turn (null: none). */
        active_flow: z.enum(FLOW_NAMES).nullable().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const goldenConversationSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    journey: z.enum([...FLOW_NAMES, "knowledge", "refusal"]),
    language: z.enum(["pt-BR", "en", "mixed"]),
    description: z.string().min(5),
    given: z
      .object({
        scenario: z.enum(SCENARIOS),
        /** Skip this many matching customers (a second distinct customer of the same kind). */
        pick: z.number().int().min(0).default(0),
        require: requirementSchema.default({}),
        /** What the ChurnRiskService returns for this customer (initial state); none: no score. */
        churn_band: z.enum(["low", "medium", "high", "none"]).default("none"),
        /** trusted: the channel vouches for the customer; anonymous: the assistant checks identity. */
        channel: z.enum(["trusted", "anonymous"]).default("trusted"),
      })
      .strict(),
    turns: z.array(turnSchema).min(1),
    expect: z
      .object({
        /** Outcomes of the interactions this conversation registered, in order (after it is closed). */
        interactions: z.array(z.string()).optional(),
        /** New technician bookings. */
        bookings: z.number().int().min(0).default(0),
        /** New second copies of invoices. */
        copies: z.number().int().min(0).default(0),
        /** New plan changes (count), and optionally the plan moved to. */
        plan_changes: z.number().int().min(0).default(0),
        plan_to: z.string().optional(),
        /** Offer ids applied (in the offers system) by this conversation. */
        offers_applied: z.array(z.string()).default([]),
        /** How many of the applied offers (when the id depends on the rules, e.g. "the first offered"). */
        offers_applied_count: z.number().int().min(0).optional(),
        /** A cancellation registered in the CRM. */
        cancellation: z.boolean().default(false),
        /** A hand-off to a person was opened. */
        handoff: z.boolean().default(false),
        /** The session's customer was identified (anonymous channels). */
        identified: z.boolean().optional(),
        /** Every registered interaction's protocol was told to the customer in a reply. */
        protocol_told: z.boolean().default(true),
        /** Retention offers presented in the conversation: exactly once (true) or never (false). */
        offers_presented: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();
export type GoldenConversation = z.infer<typeof goldenConversationSchema>;

export const goldenFileSchema = z.array(goldenConversationSchema).min(1);
