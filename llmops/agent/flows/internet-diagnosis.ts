import type { Language } from "../../conversation/commands.ts";
import type { DiagnoseInternetOutput, GUIDED_STEPS } from "../../tools/diagnose-internet.ts";
import type { TECHNICIAN_REASONS } from "../../tools/schedule-technician.ts";
import { date, dateTime, num, numbered } from "../format.ts";
import { common } from "../replies.ts";
import { ask, defineFlow, end, type FlowContext, goto, pickOption, replies, yesNo } from "./flow.ts";

/**
 * Internet diagnosis → guided steps → technician visit (policy-diagnostico-internet): the remote checks
 * run first (diagnose_internet: outage, line/ONT, speed tests, line test); a regional outage ends the
 * script with its ETA; home steps are guided one list at a time; a visit is offered only after the
 * diagnosis (or the guided steps) say so, from real free slots, and booked after an explicit yes.
 */

type GuidedStep = (typeof GUIDED_STEPS)[number];
type Finding = DiagnoseInternetOutput["finding"];
type TechnicianReason = (typeof TECHNICIAN_REASONS)[number];

const MAX_SLOTS = 3;

const STEP_TEXT: Record<Language, Record<GuidedStep, string>> = {
  "pt-BR": {
    restart_ont_and_router:
      "Tire a ONT (o aparelho da fibra) e o roteador da tomada, espere 30 segundos, ligue de novo e aguarde 3 minutos.",
    check_fiber_and_power_cables:
      "Confira se o cabo da fibra (o fino, que vem da rua) e a fonte da ONT estão bem encaixados e sem dobras.",
    test_wired_connection: "Faça um teste de velocidade num computador ligado por cabo ao roteador.",
    use_5ghz_wifi_near_router: "No Wi-Fi, use a rede de 5 GHz e fique perto do roteador.",
    disconnect_other_devices: "Durante o teste, desconecte os outros aparelhos da rede.",
  },
  en: {
    restart_ont_and_router:
      "Unplug the ONT (the fibre box) and the router, wait 30 seconds, plug them back in and wait 3 minutes.",
    check_fiber_and_power_cables:
      "Check that the fibre cable (the thin one coming from the street) and the ONT's power supply are firmly plugged in and not bent.",
    test_wired_connection: "Run a speed test on a computer connected to the router by cable.",
    use_5ghz_wifi_near_router: "On Wi-Fi, use the 5 GHz network and stay close to the router.",
    disconnect_other_devices: "During the test, disconnect the other devices from the network.",
  },
};

function findingText(d: DiagnoseInternetOutput, lang: Language): string {
  const pt = lang === "pt-BR";
  const speed = d.speed;
  switch (d.finding) {
    case "fiber_signal_loss":
      return pt
        ? "A ONT (o aparelho da fibra) não está recebendo sinal óptico: é a luz LOS vermelha."
        : "The ONT (the fibre box) is not receiving an optical signal: that is the red LOS light.";
    case "network_fault":
      return pt
        ? "O teste remoto que fiz na sua linha encontrou uma falha na rede de acesso, fora da sua casa."
        : "The remote test I ran on your line found a fault in the access network, outside your home.";
    case "equipment_offline":
      return pt
        ? "A sua ONT (o aparelho da fibra) aparece desligada ou sem conexão para nós."
        : "Your ONT (the fibre box) shows as off or disconnected on our side.";
    case "customer_side":
      return pt
        ? "A linha até a sua casa está funcionando; o teste remoto aponta para o Wi-Fi ou a instalação interna."
        : "The line to your home is working; the remote test points at the Wi-Fi or the in-home wiring.";
    case "speed_below_contracted":
      return speed && d.contracted_mbps
        ? pt
          ? `Seus últimos ${speed.tests} testes de velocidade deram média de ${num(speed.average_mbps, lang)} Mbps, para ${d.contracted_mbps} Mbps contratados: abaixo do mínimo garantido.`
          : `Your last ${speed.tests} speed tests averaged ${num(speed.average_mbps, lang)} Mbps against ${d.contracted_mbps} Mbps contracted: below the guaranteed minimum.`
        : pt
          ? "Seus últimos testes de velocidade ficaram abaixo do contratado."
          : "Your last speed tests were below your contracted speed.";
    default:
      return pt
        ? "Fiz as verificações remotas e não encontrei falha na linha nem na rede da sua região."
        : "I ran the remote checks and found no fault on your line or in your area's network.";
  }
}

function technicianReason(f: Finding): TechnicianReason {
  switch (f) {
    case "fiber_signal_loss":
      return "fiber_signal_loss";
    case "equipment_offline":
      return "equipment";
    case "speed_below_contracted":
    case "customer_side":
      return "slow_connection";
    case "network_fault":
    case "regional_outage":
      return "no_connection";
    default:
      return "other";
  }
}

interface Slot {
  slot_id: string;
  date: string;
  window: string;
}

function slotText(s: Slot, lang: Language): string {
  return lang === "en"
    ? `${date(s.date, lang)}, ${s.window.replace("-", " to ")}`
    : `${date(s.date, lang)}, das ${s.window.replace("-", " às ")}`;
}

export const internetReplies = replies({
  "pt-BR": {
    outage: (d: DiagnoseInternetOutput) =>
      [
        `Ficar sem internet é muito chato, e já identifiquei o motivo: há uma falha na rede em ${d.outage?.city ?? "sua região"} desde ${dateTime(d.outage?.started_at ?? "", "pt-BR")}.`,
        d.eta
          ? `A previsão de normalização é ${dateTime(d.eta, "pt-BR")}. Nossa equipe já está trabalhando nisso, e não é preciso visita técnica.`
          : "A equipe já está trabalhando nisso, e não é preciso visita técnica.",
        "Como a falha é da Aurora, você tem direito a desconto proporcional ao tempo sem serviço, que aparece na próxima fatura.",
      ].join(" "),
    noInternet: () =>
      "Não encontrei um plano de internet fixa ativo no seu cadastro. Se o problema é na linha móvel, me conte o que está acontecendo.",
    guide: (d: DiagnoseInternetOutput) =>
      [
        `${findingText(d, "pt-BR")} Vamos tentar resolver por aí:`,
        numbered(d.guided_steps.map((s) => STEP_TEXT["pt-BR"][s])),
        "Depois de fazer esses passos, a internet voltou ao normal?",
      ].join("\n\n"),
    guideAgain: () => "Depois dos passos que te passei, a internet voltou ao normal?",
    fixed: () => "Que bom que voltou! Se acontecer de novo, é só chamar. Posso ajudar em mais alguma coisa?",
    needsVisit: (d: DiagnoseInternetOutput) =>
      `${findingText(d, "pt-BR")} Isso não se resolve em casa: precisa de um técnico.`,
    stillBroken: () => "Entendo, vamos resolver com uma visita técnica.",
    chooseSlot: (slots: Slot[]) =>
      `Tenho estes horários para a visita:\n${numbered(slots.map((s) => slotText(s, "pt-BR")))}\n\nQual prefere?`,
    noSlots: () =>
      "Não encontrei horário de visita livre nos próximos dias. Vou te transferir para o suporte técnico, que agenda com você.",
    confirmVisit: (s: Slot) => `Confirmo a visita técnica em ${slotText(s, "pt-BR")}?`,
    booked: (b: { booking_id: string; date: string; window: string }) =>
      `Visita agendada! O técnico vai à sua casa em ${slotText({ slot_id: "", ...b }, "pt-BR")}. O número do agendamento é ${b.booking_id}. Alguém maior de idade precisa estar em casa.`,
    declined: () => "Tudo bem, não agendei a visita. Se o problema continuar, é só chamar.",
    slotGone: () => "Esse horário acabou de ser ocupado. Vou buscar os horários livres de novo.",
  },
  en: {
    outage: (d: DiagnoseInternetOutput) =>
      [
        `Being without internet is really annoying, and I've found why: there is a network outage in ${d.outage?.city ?? "your area"} since ${dateTime(d.outage?.started_at ?? "", "en")}.`,
        d.eta
          ? `Service is expected back by ${dateTime(d.eta, "en")}. Our team is already on it, and no technician visit is needed.`
          : "Our team is already on it, and no technician visit is needed.",
        "Since the outage is Aurora's, you are entitled to a discount proportional to the time without service, shown on your next bill.",
      ].join(" "),
    noInternet: () =>
      "I couldn't find an active home internet plan on your account. If the problem is with your mobile line, tell me what is happening.",
    guide: (d: DiagnoseInternetOutput) =>
      [
        `${findingText(d, "en")} Let's try to fix it from your side:`,
        numbered(d.guided_steps.map((s) => STEP_TEXT.en[s])),
        "After these steps, is your internet back to normal?",
      ].join("\n\n"),
    guideAgain: () => "After the steps I sent, is your internet back to normal?",
    fixed: () => "Great, glad it's back! If it happens again, just write. Anything else I can help with?",
    needsVisit: (d: DiagnoseInternetOutput) =>
      `${findingText(d, "en")} That can't be fixed from home: it needs a technician.`,
    stillBroken: () => "I see, let's fix it with a technician visit.",
    chooseSlot: (slots: Slot[]) =>
      `These are the times available for the visit:\n${numbered(slots.map((s) => slotText(s, "en")))}\n\nWhich one do you prefer?`,
    noSlots: () =>
      "I couldn't find a free visit slot in the next few days. I'll transfer you to technical support to schedule it with you.",
    confirmVisit: (s: Slot) => `Shall I book the technician visit for ${slotText(s, "en")}?`,
    booked: (b: { booking_id: string; date: string; window: string }) =>
      `Visit booked! The technician will come on ${slotText({ slot_id: "", ...b }, "en")}. Your booking number is ${b.booking_id}. An adult needs to be at home.`,
    declined: () => "OK, I haven't booked a visit. If the problem continues, just write.",
    slotGone: () => "That time was just taken. Let me look up the free times again.",
  },
});

function diagnosis(ctx: FlowContext): DiagnoseInternetOutput {
  return ctx.frame.facts.diagnosis as DiagnoseInternetOutput;
}

function summaryOf(d: DiagnoseInternetOutput): string {
  return `Internet diagnosis: ${d.finding} (checks: ${d.checks.join(", ")}; next: ${d.next_step})`;
}

export const internetDiagnosisFlow = defineFlow({
  name: "internet_diagnosis",
  needsIdentity: true,
  first: "diagnose",
  accepts: ["slot_id", "choice"],
  // The problem restated while asked whether the steps fixed it ("continuo sem internet"): not fixed.
  onRestart: (frame) => (frame.step === "guide" ? "still_broken" : null),
  steps: {
    async diagnose(ctx) {
      const r = await ctx.call("diagnose_internet", {});
      if (!r.ok) {
        if (r.error.code === "not_applicable") {
          ctx.say(internetReplies, "noInternet");
          return end({
            outcome: "unresolved",
            summary: "Internet problem reported; no home internet contract.",
          });
        }
        ctx.say(common, r.error.code === "system_unavailable" ? "systemDown" : "toolFailed", r.error.system);
        return end({ outcome: "unresolved", summary: `Internet diagnosis failed: ${r.error.code}.` });
      }
      const d = r.result;
      ctx.frame.facts.diagnosis = d;
      if (d.next_step === "wait_for_eta") {
        ctx.say(internetReplies, "outage", d);
        return end({
          outcome: "resolved",
          summary: `${summaryOf(d)}; outage ${d.outage?.outage_id ?? ""} ETA ${d.eta ?? "unknown"} informed, no visit.`,
        });
      }
      if (d.next_step === "technician") {
        ctx.say(internetReplies, "needsVisit", d);
        return goto("offer_visit");
      }
      return goto("guide");
    },
    async guide(ctx) {
      const answer = yesNo(ctx.take("confirm"));
      const d = diagnosis(ctx);
      if (answer === true) {
        ctx.say(internetReplies, "fixed");
        return end({ outcome: "resolved", summary: `${summaryOf(d)}; fixed with guided steps.` });
      }
      if (answer === false) {
        ctx.say(internetReplies, "stillBroken");
        return goto("offer_visit");
      }
      if (ctx.frame.facts.guided) ctx.say(internetReplies, "guideAgain");
      else ctx.say(internetReplies, "guide", d);
      ctx.frame.facts.guided = true;
      return ask("confirm");
    },
    async still_broken(ctx) {
      ctx.say(internetReplies, "stillBroken");
      return goto("offer_visit");
    },
    async offer_visit(ctx) {
      const d = diagnosis(ctx);
      const r = await ctx.call("schedule_technician", { reason: technicianReason(d.finding) });
      if (!r.ok) {
        ctx.say(common, r.error.code === "system_unavailable" ? "systemDown" : "toolFailed", r.error.system);
        return end({
          outcome: "unresolved",
          summary: `${summaryOf(d)}; listing visit slots failed: ${r.error.code}.`,
        });
      }
      const slots = r.result.status === "slots_offered" ? r.result.slots.slice(0, MAX_SLOTS) : [];
      if (slots.length === 0) {
        ctx.say(internetReplies, "noSlots");
        return {
          type: "push",
          flow: "human_handoff",
          resume: "after_handoff",
          reason: "no technician slot free",
        };
      }
      ctx.frame.facts.slots = slots;
      delete ctx.frame.slots.choice;
      delete ctx.frame.slots.slot_id;
      return goto("choose_slot");
    },
    async choose_slot(ctx) {
      const slots = ctx.frame.facts.slots as Slot[];
      ctx.frame.options = slots.map((s) => s.slot_id);
      const picked = pickOption(ctx.frame, "slot_id");
      if (picked) {
        ctx.frame.facts.chosen = slots.find((s) => s.slot_id === picked);
        return goto("confirm_visit");
      }
      if (yesNo(ctx.take("confirm")) === false) {
        ctx.say(internetReplies, "declined");
        return end({ outcome: "unresolved", summary: `${summaryOf(d(ctx))}; visit offered and declined.` });
      }
      ctx.say(internetReplies, "chooseSlot", slots);
      return ask(
        "choice",
        slots.map((s) => s.slot_id),
      );
    },
    async confirm_visit(ctx) {
      const slot = ctx.frame.facts.chosen as Slot;
      const answer = yesNo(ctx.take("confirm"));
      if (answer === false) {
        delete ctx.frame.slots.choice;
        delete ctx.frame.slots.slot_id;
        return goto("choose_slot");
      }
      if (answer === undefined) {
        ctx.say(internetReplies, "confirmVisit", slot);
        return ask("confirm");
      }
      const consent = await ctx.consent("schedule_technician", slot.slot_id);
      if (!consent.ok) {
        ctx.say(
          common,
          consent.error.code === "system_unavailable" ? "systemDown" : "toolFailed",
          consent.error.system,
        );
        return end({ outcome: "unresolved", summary: `${summaryOf(d(ctx))}; consent not recorded.` });
      }
      const r = await ctx.call("schedule_technician", {
        slot_id: slot.slot_id,
        reason: technicianReason(d(ctx).finding),
      });
      if (r.ok && r.result.status === "booked") {
        ctx.say(internetReplies, "booked", r.result);
        return end({
          outcome: "visit_scheduled",
          summary: `${summaryOf(d(ctx))}; technician visit ${r.result.booking_id} booked for ${r.result.date} ${r.result.window}.`,
        });
      }
      if (!r.ok && r.error.code === "rejected") {
        ctx.say(internetReplies, "slotGone");
        return goto("offer_visit");
      }
      ctx.say(
        common,
        !r.ok && r.error.code === "system_unavailable" ? "systemDown" : "toolFailed",
        r.error?.system,
      );
      return end({ outcome: "unresolved", summary: `${summaryOf(d(ctx))}; booking failed.` });
    },
    async after_handoff() {
      return end({ outcome: null, summary: "Handed off to technical support (no visit slot)." });
    },
  },
});

const d = diagnosis;
