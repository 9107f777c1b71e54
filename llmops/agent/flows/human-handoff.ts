import type { ESCALATION_REASONS, EscalateToHumanOutput } from "../../tools/escalate-to-human.ts";
import { defineFlow, end, replies } from "./flow.ts";

/**
 * Human hand-off (policy-escalonamento-humano): offered in the same reply the customer asks, without
 * insisting on the assistant, and with a structured summary so the customer does not repeat anything.
 * It needs no identity: an anonymous customer is handed off too (the agent identifies them).
 */
type Reason = (typeof ESCALATION_REASONS)[number];
type Topic = "billing" | "technical" | "retention" | "cancellation" | "other";

const QUEUE_PT: Record<EscalateToHumanOutput["queue"], string> = {
  support: "relacionamento",
  billing: "financeiro",
  technical: "suporte técnico",
  retention: "retenção",
  supervisor: "supervisão",
};
const QUEUE_EN: Record<EscalateToHumanOutput["queue"], string> = {
  support: "customer care",
  billing: "billing",
  technical: "technical support",
  retention: "retention",
  supervisor: "a supervisor",
};

export const handoffReplies = replies({
  "pt-BR": {
    handedOff: (h: EscalateToHumanOutput) =>
      [
        `Vou te transferir para um atendente da equipe de ${QUEUE_PT[h.queue]} e já passei o resumo do seu caso, para você não precisar repetir.`,
        h.protocol ? `Seu protocolo é ${h.protocol}.` : "",
        "A meta de atendimento é de até 5 minutos; se a espera passar de 15 minutos, oferecemos retorno por telefone.",
      ]
        .filter(Boolean)
        .join(" "),
    failed: () =>
      "Não consegui abrir a transferência agora. Você fala com um atendente pelo 0800-000-1234, 24 horas, todos os dias.",
  },
  en: {
    handedOff: (h: EscalateToHumanOutput) =>
      [
        `I'm transferring you to an agent from ${QUEUE_EN[h.queue]} and I've passed on a summary of your case, so you won't need to repeat anything.`,
        h.protocol ? `Your protocol number is ${h.protocol}.` : "",
        "Our target is to answer within 5 minutes; if the wait goes over 15 minutes, we offer a call back.",
      ]
        .filter(Boolean)
        .join(" "),
    failed: () =>
      "I couldn't open the transfer right now. You can reach an agent at 0800-000-1234, 24 hours a day.",
  },
});

export const humanHandoffFlow = defineFlow({
  name: "human_handoff",
  needsIdentity: false,
  first: "escalate",
  accepts: [],
  steps: {
    async escalate(ctx) {
      const f = ctx.frame.facts;
      const reason = (typeof f.reason === "string" ? f.reason : "customer_request") as Reason;
      const topic = (typeof f.topic === "string" ? f.topic : "other") as Topic;
      const summary =
        typeof f.summary === "string" && f.summary.length >= 3
          ? f.summary
          : "Customer asked to talk to a person.";
      const r = await ctx.call("escalate_to_human", { reason, topic, summary: summary.slice(0, 1000) });
      if (!r.ok) {
        ctx.say(handoffReplies, "failed");
        return end({ outcome: null, summary: `Hand-off failed: ${r.error.code}.` });
      }
      ctx.say(handoffReplies, "handedOff", r.result);
      return end({
        outcome: "escalated",
        summary: `Handed off to ${r.result.queue} (${reason}, ${r.result.handoff_id}): ${summary}`.slice(
          0,
          900,
        ),
        protocol: r.result.protocol,
      });
    },
  },
});
