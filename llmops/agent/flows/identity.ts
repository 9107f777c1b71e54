import { ask, defineFlow, end, type FlowContext, goto, replies, type Transition } from "./flow.ts";

/**
 * Identity check, for channels without an authenticated customer (an anonymous web chat, a WhatsApp
 * number not on file): CPF + birth date, or a one-time code sent by SMS to the phone on file (the
 * sandbox CRM shows it). The toolbox verifies and sets the session's customer; this flow only asks.
 * After MAX_FAILURES the flows that need a customer are dropped (the tools lock after five anyway).
 */
const MAX_FAILURES = 3;
/** "prefiro receber um código", "send me a code", "não lembro a data". */
const WANTS_CODE = /c[oó]digo|sms|\bcode\b|n[aã]o (?:sei|lembro)|don'?t (?:know|remember)/i;
/** "o código não chegou, pode reenviar?", "manda outro", "didn't get the code": send a new one. */
const WANTS_RESEND =
  /n[aã]o (?:chegou|veio|recebi)|reenvi|manda (?:outro|de novo|novamente)|envia (?:outro|de novo|novamente)|cad[eê]|didn'?t (?:get|receive|come)|never (?:came|arrived)|not (?:received|arrived)|resend|send (?:it |the code |another )?again|another code|new code|outro c[oó]digo|novo c[oó]digo/i;

export const identityReplies = replies({
  "pt-BR": {
    askCpf: () => "Para sua segurança, preciso confirmar a sua identidade. Qual é o CPF do titular da conta?",
    askCpfAgain: () => "Vamos tentar de novo: qual é o CPF do titular da conta?",
    askBirthDate: () =>
      'Obrigado. Agora me informe a data de nascimento do titular (dd/mm/aaaa). Se preferir, posso enviar um código por SMS: é só dizer "código".',
    askCode: (sentTo: string, again = false) =>
      `Enviei ${again ? "um novo código" : "um código"} de 6 dígitos por SMS para o celular terminado em ${sentTo.replace(/\D/g, "")}. Qual é o código?`,
    askCodeAgain: () => "Confira o SMS e me diga o código de 6 dígitos.",
    verified: (name: string) => `Obrigado, ${name}! Identidade confirmada.`,
    alreadyVerified: () => "Sua identidade já está confirmada nesta conversa. Como posso ajudar?",
    failed: () => "Não consegui confirmar esses dados.",
    wrongCode: () => "Esse código não confere.",
    notFound: () => "Não encontrei um cadastro com esse dado.",
    gaveUp: () =>
      "Não consegui confirmar a sua identidade. Por segurança, não posso acessar os dados da conta por aqui. Você pode ligar no 0800-000-1234 ou entrar no app Aurora.",
  },
  en: {
    askCpf: () => "For your security, I need to confirm your identity. What is the account holder's CPF?",
    askCpfAgain: () => "Let's try again: what is the account holder's CPF?",
    askBirthDate: () =>
      'Thanks. Now the account holder\'s date of birth (dd/mm/yyyy). If you prefer, I can text you a code: just say "code".',
    askCode: (sentTo: string, again = false) =>
      `I've sent ${again ? "a new 6-digit code" : "a 6-digit code"} by SMS to the phone ending in ${sentTo.replace(/\D/g, "")}. What is the code?`,
    askCodeAgain: () => "Please check the SMS and tell me the 6-digit code.",
    verified: (name: string) => `Thank you, ${name}! Identity confirmed.`,
    alreadyVerified: () => "Your identity is already confirmed in this conversation. How can I help?",
    failed: () => "I couldn't confirm those details.",
    wrongCode: () => "That code doesn't match.",
    notFound: () => "I couldn't find an account with that.",
    gaveUp: () =>
      "I couldn't confirm your identity. For security, I can't access the account here. You can call 0800-000-1234 or use the Aurora app.",
  },
});

function failures(ctx: FlowContext): number {
  return typeof ctx.frame.facts.failures === "number" ? ctx.frame.facts.failures : 0;
}

/** Counts a failed check; after MAX_FAILURES gives up, else asks again from `step`. */
function failed(ctx: FlowContext, why: "failed" | "wrongCode" | "notFound", step: string): Transition {
  const n = failures(ctx) + 1;
  ctx.frame.facts.failures = n;
  if (n >= MAX_FAILURES) {
    ctx.say(identityReplies, "gaveUp");
    return end({ outcome: null, summary: "Identity not verified.", identityFailed: true });
  }
  ctx.say(identityReplies, why);
  return goto(step);
}

function locked(ctx: FlowContext): Transition {
  ctx.say(identityReplies, "gaveUp");
  return end({ outcome: null, summary: "Identity checks locked.", identityFailed: true });
}

export const identityFlow = defineFlow({
  name: "identity",
  needsIdentity: false,
  first: "collect",
  accepts: ["cpf", "birth_date", "phone", "login_code"],
  onCorrect: (slot) => (slot === "cpf" || slot === "birth_date" ? "collect" : null),
  // "Me manda um código" while asked for the birth date is the code path, whatever else it reads like.
  // "O código não chegou, pode reenviar?" while asked for the code is about this code, not a bill's.
  claims: (frame, text) =>
    frame.awaiting === "birth_date" && WANTS_CODE.test(text)
      ? { slots: {}, exclusive: true }
      : frame.awaiting === "login_code" && WANTS_RESEND.test(text)
        ? { slots: {} }
        : null,
  steps: {
    async collect(ctx) {
      const s = ctx.frame.slots;
      // The customer is already known (identified earlier, or vouched for by the channel): "o código não
      // chegou" is a new code to the same phone on file, never the CPF again.
      if (ctx.customerId && s.cpf === undefined && s.phone === undefined) {
        if (WANTS_RESEND.test(ctx.text) || WANTS_CODE.test(ctx.text)) {
          ctx.frame.facts.resend = true;
          return goto("send_code");
        }
        ctx.say(identityReplies, "alreadyVerified");
        return end({ outcome: null, summary: "Identity already verified." });
      }
      if (s.phone !== undefined && s.cpf === undefined) return goto("send_code");
      if (s.cpf === undefined) {
        ctx.say(identityReplies, failures(ctx) > 0 ? "askCpfAgain" : "askCpf");
        return ask("cpf");
      }
      if (s.birth_date !== undefined) return goto("verify");
      if (ctx.frame.awaiting === "birth_date" && WANTS_CODE.test(ctx.text)) return goto("send_code");
      ctx.say(identityReplies, "askBirthDate");
      return ask("birth_date");
    },
    async verify(ctx) {
      const cpf = String(ctx.frame.slots.cpf);
      const birth = String(ctx.frame.slots.birth_date);
      delete ctx.frame.slots.cpf;
      delete ctx.frame.slots.birth_date;
      const r = await ctx.authenticate({ cpf, birth_date: birth });
      if (r.ok) {
        ctx.say(identityReplies, "verified", r.result.first_name);
        return end({ outcome: null, summary: "Identity verified (CPF + birth date)." });
      }
      if (r.error.code === "too_many_attempts") return locked(ctx);
      return failed(ctx, "failed", "collect");
    },
    async send_code(ctx) {
      const s = ctx.frame.slots;
      const q =
        s.cpf !== undefined
          ? { cpf: String(s.cpf) }
          : s.phone !== undefined
            ? { phone: String(s.phone) }
            : { resend: true as const };
      const r = await ctx.requestLoginCode(q);
      if (!r.ok) {
        delete s.cpf;
        delete s.phone;
        if (r.error.code === "too_many_attempts") return locked(ctx);
        return failed(ctx, "notFound", "collect");
      }
      ctx.frame.facts.sent_to = r.result.sent_to;
      ctx.frame.facts.code_failures = 0;
      // A code sent before (in this check, or the one the customer is waiting for): this one is new.
      ctx.frame.facts.again = Boolean(ctx.frame.facts.codes_sent) || ctx.frame.facts.resend === true;
      ctx.frame.facts.codes_sent = Number(ctx.frame.facts.codes_sent ?? 0) + 1;
      if (r.result.simulated_sms_code)
        ctx.notice(
          "simulated_sms",
          `Aurora: seu código de acesso é ${r.result.simulated_sms_code}. Não compartilhe com ninguém.`,
        );
      return goto("await_code");
    },
    async await_code(ctx) {
      if (ctx.frame.slots.login_code !== undefined) return goto("verify_code");
      // The SMS did not arrive: a new code (the CRM caps how many; too many locks the check).
      if (ctx.frame.awaiting === "login_code" && WANTS_RESEND.test(ctx.text)) return goto("send_code");
      if (ctx.frame.facts.code_failures) ctx.say(identityReplies, "askCodeAgain");
      else
        ctx.say(
          identityReplies,
          "askCode",
          String(ctx.frame.facts.sent_to ?? ""),
          ctx.frame.facts.again === true,
        );
      return ask("login_code");
    },
    async verify_code(ctx) {
      const code = String(ctx.frame.slots.login_code).replace(/\D/g, "");
      delete ctx.frame.slots.login_code;
      const r = await ctx.authenticate({ code });
      if (r.ok) {
        ctx.say(identityReplies, "verified", r.result.first_name);
        return end({ outcome: null, summary: "Identity verified (one-time code)." });
      }
      if (r.error.code === "too_many_attempts") return locked(ctx);
      ctx.frame.facts.code_failures = Number(ctx.frame.facts.code_failures ?? 0) + 1;
      return failed(ctx, "wrongCode", "await_code");
    },
  },
});
