import { z } from "zod";
import { defineTool, digest } from "./core.ts";

export const ESCALATION_REASONS = [
  /** The customer asked for a person. */
  "customer_request",
  /** The assistant cannot handle the request. */
  "cannot_handle",
  /** The same step failed repeatedly (misunderstanding, failed identity checks). */
  "repeated_failure",
  "complaint",
  /** A system the request needs is down. */
  "system_unavailable",
  /** An offer needs a supervisor's approval. */
  "supervisor_approval",
  /** Sensitive situation (fraud, threat, vulnerable customer). */
  "sensitive",
] as const;

export const HANDOFF_QUEUES = ["support", "billing", "technical", "retention", "supervisor"] as const;

export const escalateToHumanInput = z
  .object({
    reason: z.enum(ESCALATION_REASONS),
    topic: z
      .enum(["billing", "technical", "retention", "cancellation", "other"])
      .default("other")
      .describe("What the conversation is about, to pick the queue"),
    summary: z.string().min(3).max(1000).describe("What the customer needs and what was already tried"),
  })
  .strict();

export const escalateToHumanOutput = z.object({
  handoff_id: z.string(),
  queue: z.enum(HANDOFF_QUEUES),
  priority: z.enum(["normal", "high"]),
  reason: z.enum(ESCALATION_REASONS),
  /** null when nobody is authenticated (the person will identify the customer). */
  customer_id: z.string().nullable(),
  /** Anatel protocol of the request (only for an authenticated customer). */
  protocol: z.string().nullable(),
});
export type EscalateToHumanOutput = z.infer<typeof escalateToHumanOutput>;

export function handoffQueue(
  reason: (typeof ESCALATION_REASONS)[number],
  topic: z.infer<typeof escalateToHumanInput>["topic"],
): (typeof HANDOFF_QUEUES)[number] {
  if (reason === "supervisor_approval" || reason === "sensitive") return "supervisor";
  if (topic === "cancellation" || topic === "retention") return "retention";
  if (topic === "billing") return "billing";
  if (topic === "technical") return "technical";
  return "support";
}

export const escalateToHumanTool = defineTool({
  name: "escalate_to_human",
  description:
    "Hands the conversation to a human agent with the reason and a summary; returns the hand-off id, queue and protocol.",
  input: escalateToHumanInput,
  output: escalateToHumanOutput,
  async run(ctx, input) {
    const customerId = ctx.session.customer_id;
    const subject = digest({
      reason: input.reason,
      topic: input.topic,
      summary: input.summary,
      customer_id: customerId,
    });
    let protocol: string | null = null;
    if (customerId) {
      const p = await ctx.systems.crm.openProtocol(
        { customer_id: customerId, kind: "handoff", summary: `${input.reason}: ${input.summary}` },
        { idempotencyKey: ctx.onceKey(subject) },
      );
      protocol = p.protocol;
    }
    const queue = handoffQueue(input.reason, input.topic);
    const priority =
      input.reason === "complaint" || input.reason === "sensitive" || input.topic === "cancellation"
        ? ("high" as const)
        : ("normal" as const);
    const handoffId = `HND-${digest({ session: ctx.session.session_id, subject }).toUpperCase()}`;
    ctx.audit({ kind: "write", detail: { handoff_id: handoffId, queue, reason: input.reason } });
    return {
      handoff_id: handoffId,
      queue,
      priority,
      reason: input.reason,
      customer_id: customerId,
      protocol,
    };
  },
});
