import type { FlowName } from "../conversation/commands.ts";
import type { ToolError } from "../tools/toolbox.ts";
import { replies } from "./flows/flow.ts";

/**
 * Replies that belong to no single journey: greetings, the fallback, refusals, tool failures and the
 * "back to where we were" line after a digression. Written to policy-tom-de-voz: short sentences,
 * "você", acknowledge first, end with the next step; no amounts or dates that do not come from a tool.
 */

const SYSTEM_PT: Record<string, string> = {
  crm: "o cadastro",
  billing: "o sistema de faturas",
  network: "o sistema de rede",
  offers: "o sistema de ofertas",
  churn: "o modelo de análise",
  knowledge: "a base de conhecimento",
  rules: "as regras de ofertas",
};
const SYSTEM_EN: Record<string, string> = {
  crm: "the customer records system",
  billing: "the billing system",
  network: "the network system",
  offers: "the offers system",
  churn: "the analysis model",
  knowledge: "the knowledge base",
  rules: "the offers rules",
};

const FLOW_PT: Record<FlowName, string> = {
  identity: "a confirmação de identidade",
  internet_diagnosis: "o problema na sua internet",
  invoice_explanation: "a explicação da sua fatura",
  invoice_copy: "a segunda via da fatura",
  cancellation: "o seu pedido de cancelamento",
  plan_recommendation: "a troca de plano",
  human_handoff: "a transferência para um atendente",
};
/** "Voltando ao/à …": the contraction of "a" with each journey's article. */
const RESUME_PT: Record<FlowName, string> = {
  identity: "à confirmação de identidade",
  internet_diagnosis: "ao problema na sua internet",
  invoice_explanation: "à explicação da sua fatura",
  invoice_copy: "à segunda via da fatura",
  cancellation: "ao seu pedido de cancelamento",
  plan_recommendation: "à troca de plano",
  human_handoff: "à transferência para um atendente",
};
const FLOW_EN: Record<FlowName, string> = {
  identity: "confirming your identity",
  internet_diagnosis: "your internet problem",
  invoice_explanation: "explaining your bill",
  invoice_copy: "the copy of your bill",
  cancellation: "your cancellation request",
  plan_recommendation: "changing your plan",
  human_handoff: "transferring you to an agent",
};

export const common = replies({
  "pt-BR": {
    greeting: (name?: string) =>
      `Olá${name ? `, ${name}` : ""}! Sou o assistente virtual da Aurora. Posso ajudar com internet, fatura, segunda via, troca de plano, cancelamento ou dúvidas sobre os nossos serviços. Como posso ajudar?`,
    thanks: () => "De nada! Posso ajudar em mais alguma coisa?",
    goodbye: (protocol?: string | null) =>
      protocol
        ? `Obrigado pelo contato! Seu protocolo é ${protocol}. Até mais.`
        : "Obrigado pelo contato! Se precisar, é só chamar. Até mais.",
    smalltalk: () =>
      "Estou aqui para ajudar com os serviços da Aurora: internet, fatura, segunda via, planos e cancelamento. O que você precisa?",
    abuse: () =>
      "Entendo o seu incômodo e quero resolver. Me conte em uma frase o que aconteceu; se preferir, posso te transferir para um atendente agora.",
    notUnderstood: () =>
      "Não entendi bem. Posso ajudar com: internet sem conexão ou lenta, explicação da fatura, segunda via (boleto ou Pix), troca de plano, cancelamento ou falar com um atendente. O que você precisa?",
    notUnderstoodAgain: () =>
      'Desculpe, ainda não consegui entender. Se preferir, posso te transferir para um atendente: é só dizer "atendente".',
    cancelled: (flow: FlowName) => `Tudo bem, deixei de lado ${FLOW_PT[flow]}.`,
    nothingToCancel: () => "Tudo bem. Posso ajudar em mais alguma coisa?",
    resume: (flow: FlowName) => `Voltando ${RESUME_PT[flow]}:`,
    anythingElse: () => "Posso ajudar em mais alguma coisa?",
    otherCustomer: () =>
      "Por segurança, só posso tratar dos dados do titular desta conversa. Dados de outra pessoa só com ela mesma, pelos nossos canais.",
    systemDown: (system?: string) =>
      `Não consegui consultar ${SYSTEM_PT[system ?? ""] ?? "o sistema"} agora. Tente de novo em alguns minutos; se preferir, posso te transferir para um atendente.`,
    toolFailed: () =>
      "Não consegui concluir essa operação agora. Se preferir, posso te transferir para um atendente.",
    needIdentityFirst: () => "Para isso, preciso primeiro confirmar a sua identidade.",
    identityUnavailable: () =>
      "Sem confirmar a identidade não consigo acessar os dados da conta. Você pode ligar no 0800-000-1234 ou usar o app Aurora.",
  },
  en: {
    greeting: (name?: string) =>
      `Hi${name ? `, ${name}` : ""}! I'm Aurora's virtual assistant. I can help with your internet, your bill, a copy of a bill, changing plans, cancelling, or questions about our services. How can I help?`,
    thanks: () => "You're welcome! Is there anything else I can help with?",
    goodbye: (protocol?: string | null) =>
      protocol
        ? `Thanks for reaching out! Your protocol number is ${protocol}. Bye for now.`
        : "Thanks for reaching out! Just write again whenever you need. Bye for now.",
    smalltalk: () =>
      "I'm here to help with Aurora's services: internet, bills, copies of bills, plans and cancellation. What do you need?",
    abuse: () =>
      "I understand this is frustrating, and I want to fix it. Tell me in one sentence what happened; if you prefer, I can transfer you to an agent right now.",
    notUnderstood: () =>
      "Sorry, I didn't quite get that. I can help with: internet down or slow, explaining your bill, a copy of a bill (boleto or Pix), changing plans, cancelling, or talking to an agent. What do you need?",
    notUnderstoodAgain: () =>
      'Sorry, I still didn\'t get that. If you prefer, I can transfer you to an agent: just say "agent".',
    cancelled: (flow: FlowName) => `OK, I've dropped ${FLOW_EN[flow]}.`,
    nothingToCancel: () => "OK. Is there anything else I can help with?",
    resume: (flow: FlowName) => `Back to ${FLOW_EN[flow]}:`,
    anythingElse: () => "Is there anything else I can help with?",
    otherCustomer: () =>
      "For security, I can only handle the account holder's data in this conversation. Another person's data only with that person, through our channels.",
    systemDown: (system?: string) =>
      `I couldn't reach ${SYSTEM_EN[system ?? ""] ?? "the system"} right now. Please try again in a few minutes; if you prefer, I can transfer you to an agent.`,
    toolFailed: () => "I couldn't complete that right now. If you prefer, I can transfer you to an agent.",
    needIdentityFirst: () => "For that, I first need to confirm your identity.",
    identityUnavailable: () =>
      "Without confirming your identity I can't access the account. You can call 0800-000-1234 or use the Aurora app.",
  },
});

/** The reply for a failed tool call that the flow does not handle itself. */
export function failureKey(error: ToolError): { key: "systemDown" | "toolFailed"; system?: string } {
  if (error.code === "system_unavailable") return { key: "systemDown", system: error.system };
  return { key: "toolFailed" };
}
