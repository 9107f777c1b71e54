import type { Language } from "../conversation/commands.ts";

/**
 * Safe replies of the guardrails, in both languages, written to policy-tom-de-voz: acknowledge, say
 * plainly what cannot be done, and end with what can (the assistant keeps helping). No amounts, dates
 * or offers: nothing here needs a tool result to be true.
 */

type Pair = Record<Language, string>;

const HELP_PT =
  "Posso ajudar com internet, fatura, segunda via, troca de plano, cancelamento ou falar com um atendente.";
const HELP_EN =
  "I can help with your internet, your bill, a copy of a bill, changing plans, cancelling, or talking to an agent.";

export const TEMPLATES = {
  blocked: {
    "pt-BR": `Desculpe, não posso ajudar com isso por aqui. ${HELP_PT}`,
    en: `Sorry, I can't help with that here. ${HELP_EN}`,
  },
  failClosed: {
    "pt-BR": `Desculpe, não consegui processar essa mensagem com segurança. ${HELP_PT}`,
    en: `Sorry, I couldn't process that message safely. ${HELP_EN}`,
  },
  promptInjection: {
    "pt-BR": `Não consigo mudar a forma como atendo nem compartilhar instruções internas. ${HELP_PT} O que você precisa?`,
    en: `I can't change how I work or share internal instructions. ${HELP_EN} What do you need?`,
  },
  authority: {
    "pt-BR": `Por aqui eu atendo como canal do cliente e não consigo confirmar autorizações da equipe da Aurora; pedidos internos seguem pelos sistemas internos. ${HELP_PT}`,
    en: `Here I serve customers and can't verify authorisations from Aurora staff; internal requests go through internal systems. ${HELP_EN}`,
  },
  oneTimeCode: {
    "pt-BR":
      "Por segurança, o código de acesso só é enviado por SMS ao celular cadastrado, e nunca é informado nem reenviado para outro número por aqui. Se você é o titular, posso confirmar a sua identidade agora.",
    en: "For security, the access code is only sent by SMS to the phone on file, and it is never read out or sent to another number here. If you are the account holder, I can confirm your identity now.",
  },
  simSwap: {
    "pt-BR":
      "Troca de chip, portabilidade e transferência de titularidade só são feitas pelo próprio titular, com documento com foto, em uma loja Aurora ou pelo 0800-000-1234. Se você suspeita de fraude na sua linha, posso te transferir para um atendente agora.",
    en: "SIM swaps, number porting and changes of account holder are only done by the account holder, with photo ID, in an Aurora store or at 0800-000-1234. If you suspect fraud on your line, I can transfer you to an agent now.",
  },
  thirdParty: {
    "pt-BR":
      "Por segurança, só posso tratar dos dados do titular desta conversa. Dados, ligações ou registros de outra pessoa, só com ela mesma, pelos nossos canais.",
    en: "For security, I can only handle the account holder's data in this conversation. Another person's data, calls or records only with that person, through our channels.",
  },
  bulkExport: {
    "pt-BR": `Não compartilho dados de clientes: cada pessoa só acessa a própria conta. ${HELP_PT}`,
    en: `I don't share customer data: each person can only access their own account. ${HELP_EN}`,
  },
  claimedApproval: {
    "pt-BR":
      "Não consigo confirmar promessas ou aprovações feitas fora desta conversa: descontos, isenções e condições só valem quando estão registrados nos nossos sistemas. Posso verificar o que está disponível para a sua conta agora ou te transferir para um atendente, que consulta o histórico do seu atendimento.",
    en: "I can't confirm promises or approvals made outside this conversation: discounts, waivers and terms only apply once they are recorded in our systems. I can check what is available for your account now or transfer you to an agent, who can look at your contact history.",
  },
  scope: {
    "pt-BR": `Isso foge do que consigo fazer por aqui: só atendo os serviços da Aurora Telecom. ${HELP_PT}`,
    en: `That's outside what I can do here: I only handle Aurora Telecom's services. ${HELP_EN}`,
  },
  legal: {
    "pt-BR":
      "Não posso redigir petições nem dar orientação jurídica. Se você tem uma reclamação sobre a Aurora, posso registrá-la ou te transferir para um atendente agora; você também pode procurar a Anatel, o Procon ou a Defensoria Pública.",
    en: "I can't draft petitions or give legal advice. If you have a complaint about Aurora, I can register it or transfer you to an agent now; you can also contact Anatel, Procon or the Public Defender's Office.",
  },
  security: {
    "pt-BR": `Não posso ajudar com invasão de redes, vírus ou acesso a contas de outras pessoas. Se a sua rede ou conta foi invadida, posso te ajudar a protegê-la ou te transferir para um atendente. ${HELP_PT}`,
    en: `I can't help with breaking into networks, malware or other people's accounts. If your network or account was broken into, I can help you secure it or transfer you to an agent. ${HELP_EN}`,
  },
  abuse: {
    "pt-BR":
      "Entendo a sua frustração e quero resolver. Me conte em uma frase o que aconteceu; se preferir, posso te transferir para um atendente.",
    en: "I understand your frustration and I want to fix this. Tell me in one sentence what happened; if you prefer, I can transfer you to an agent.",
  },
  grounding: {
    "pt-BR":
      "Não consegui confirmar esses valores e condições nos nossos sistemas agora. Posso verificar o que está disponível para a sua conta ou te transferir para um atendente.",
    en: "I couldn't confirm those amounts and terms in our systems right now. I can check what is available for your account or transfer you to an agent.",
  },
  promises: {
    "pt-BR":
      "Não posso prometer isso: isenções, descontos, reembolsos e condições só valem quando registrados nos nossos sistemas. Posso verificar o que está disponível para a sua conta ou te transferir para um atendente.",
    en: "I can't promise that: waivers, discounts, refunds and terms only apply once they are recorded in our systems. I can check what is available for your account or transfer you to an agent.",
  },
  citations: {
    "pt-BR":
      "Não consegui confirmar essa informação na nossa documentação. Se preferir, posso te transferir para um atendente.",
    en: "I couldn't confirm that in our documentation. If you prefer, I can transfer you to an agent.",
  },
  piiInput: {
    "pt-BR": `Por segurança, não envie número de cartão, código de segurança ou validade por aqui: eu nunca preciso deles. ${HELP_PT}`,
    en: `For security, please don't send card numbers, security codes or expiry dates here: I never need them. ${HELP_EN}`,
  },
  pii: {
    "pt-BR": "Por segurança, não posso mostrar esses dados por aqui.",
    en: "For security, I can't show that data here.",
  },
  promptLeak: {
    "pt-BR": `Desculpe, não posso compartilhar isso. ${HELP_PT}`,
    en: `Sorry, I can't share that. ${HELP_EN}`,
  },
  escalating: {
    "pt-BR": "Vou passar o seu atendimento para uma pessoa da nossa equipe.",
    en: "I'm passing your conversation to a person on our team.",
  },
} satisfies Record<string, Pair>;

export type TemplateKey = keyof typeof TEMPLATES;

export function template(key: TemplateKey, lang: Language): string {
  return TEMPLATES[key][lang];
}

/** The message the assistant gets when a guardrail escalates: what a customer asking for a person says. */
export const HANDOFF_REQUEST: Pair = {
  "pt-BR": "quero falar com um atendente",
  en: "I want to talk to an agent",
};
