import { beforeAll, describe, expect, it } from "vitest";
import { type Command, commandSchema, type DialogueState } from "../../conversation/commands.ts";
import { portingNotCancellation } from "../porting-reading.ts";
import { clauseSpans, LocalUnderstanding } from "./local.ts";
import { defaultIntentClassifier, trainFromUtteranceFiles } from "./model.ts";

const TODAY = "2026-05-15";
const engine = new LocalUnderstanding({ businessDate: () => TODAY });
beforeAll(() => engine.warmUp());

function state(s: Partial<DialogueState> = {}): DialogueState {
  return { active_flow: null, awaiting_slot: null, listed_options: [], language: "pt-BR", ...s };
}

async function commands(text: string, s: Partial<DialogueState> = {}): Promise<Command[]> {
  const u = await engine.understand(text, state(s));
  for (const c of u.commands) commandSchema.parse(c);
  return u.commands;
}

describe("slot answers with the dialogue state", () => {
  it("an ordinal fills choice from the listed options (pt-BR and English, 'the last')", async () => {
    const offers: Partial<DialogueState> = {
      active_flow: "cancellation",
      awaiting_slot: "choice",
      listed_options: ["RET-DESC10", "RET-UPGRADE", "RET-BONUS-GB"],
    };
    expect(await commands("a segunda", offers)).toEqual([{ type: "set_slot", slot: "choice", value: 2 }]);
    expect(await commands("the second one", { ...offers, language: "en" })).toEqual([
      { type: "set_slot", slot: "choice", value: 2 },
    ]);
    expect(await commands("a última", offers)).toEqual([{ type: "set_slot", slot: "choice", value: 3 }]);
    expect(await commands("opção 5", offers)).toEqual([{ type: "cannot_handle", reason: "not_understood" }]);
  });

  it("naming a listed option chooses it", async () => {
    const plans: Partial<DialogueState> = {
      active_flow: "plan_recommendation",
      awaiting_slot: "choice",
      listed_options: ["FIB500", "FIB1000"],
    };
    expect(await commands("o de 1 giga", plans)).toEqual([
      { type: "set_slot", slot: "plan_id", value: "FIB1000" },
      { type: "set_slot", slot: "choice", value: 2 },
    ]);
  });

  it("'sim' / 'nem pensar' / 'yes' fill confirm", async () => {
    const asking: Partial<DialogueState> = { active_flow: "internet_diagnosis", awaiting_slot: "confirm" };
    expect(await commands("sim", asking)).toEqual([{ type: "set_slot", slot: "confirm", value: true }]);
    expect(await commands("pode ser", asking)).toEqual([{ type: "set_slot", slot: "confirm", value: true }]);
    expect(await commands("nem pensar", asking)).toEqual([
      { type: "set_slot", slot: "confirm", value: false },
    ]);
    expect(await commands("yes please", { ...asking, language: "en" })).toEqual([
      { type: "set_slot", slot: "confirm", value: true },
    ]);
  });

  it("a bare value answers the awaited slot and starts nothing, whatever the classifier guessed", async () => {
    const u = await engine.understand(
      "a de março",
      state({ active_flow: "invoice_copy", awaiting_slot: "invoice_month" }),
    );
    expect(u.commands).toEqual([{ type: "set_slot", slot: "invoice_month", value: "2026-03" }]);
    expect(u.intents[0]).toEqual({ intent: "inform", confidence: 1 });
    expect(await commands("529.982.247-25", { active_flow: "invoice_copy", awaiting_slot: "cpf" })).toEqual([
      { type: "set_slot", slot: "cpf", value: "52998224725" },
    ]);
    expect(
      await commands("nasci em 12/03/1985", { active_flow: "identity", awaiting_slot: "birth_date" }),
    ).toEqual([{ type: "set_slot", slot: "birth_date", value: "1985-03-12" }]);
    expect(
      await commands("ta muito caro", { active_flow: "cancellation", awaiting_slot: "cancel_reason" }),
    ).toEqual([{ type: "set_slot", slot: "cancel_reason", value: "price" }]);
  });
});

describe("corrections, esquece, questions in a flow", () => {
  it("'não, é a de março' corrects the month instead of answering no", async () => {
    expect(
      await commands("não, é a de março", { active_flow: "invoice_explanation", awaiting_slot: "confirm" }),
    ).toEqual([{ type: "correct_slot", slot: "invoice_month", value: "2026-03" }]);
    expect(await commands("na verdade é a de abril", { active_flow: "invoice_copy" })).toEqual([
      { type: "correct_slot", slot: "invoice_month", value: "2026-04" },
    ]);
    expect(
      await commands("actually, the march bill", { active_flow: "invoice_copy", language: "en" }),
    ).toEqual([{ type: "correct_slot", slot: "invoice_month", value: "2026-03" }]);
  });

  it("'esquece' / 'deixa pra lá' / 'never mind' cancel the flow; with a new request, the new flow starts after", async () => {
    for (const stop of ["esquece", "deixa pra lá", "never mind"])
      expect(
        await commands(stop, { active_flow: "invoice_copy", awaiting_slot: "invoice_month" }),
        stop,
      ).toEqual([{ type: "cancel_flow" }]);
    expect(
      await commands("esquece isso, quero a segunda via da conta de março", {
        active_flow: "plan_recommendation",
      }),
    ).toEqual([
      { type: "cancel_flow" },
      { type: "start_flow", flow: "invoice_copy" },
      { type: "set_slot", slot: "invoice_month", value: "2026-03" },
    ]);
  });

  it("a question in the middle of a flow is answered from the knowledge base; the flow is not cancelled", async () => {
    const mid: Partial<DialogueState> = {
      active_flow: "cancellation",
      awaiting_slot: "choice",
      listed_options: ["RET-DESC10"],
    };
    expect(await commands("quanto é a multa se eu cancelar?", mid)).toEqual([
      { type: "answer_knowledge", query: "quanto é a multa se eu cancelar?" },
    ]);
    expect(await commands("how long does number portability take?", { ...mid, language: "en" })).toEqual([
      { type: "answer_knowledge", query: "how long does number portability take?" },
    ]);
  });

  it("restating the goal of the running flow restarts it (insisting on cancelling)", async () => {
    expect(
      await commands("já falei que quero cancelar", {
        active_flow: "cancellation",
        awaiting_slot: "choice",
        listed_options: ["RET-DESC10"],
      }),
    ).toEqual([{ type: "start_flow", flow: "cancellation" }]);
  });
});

describe("journeys, several intents, chit-chat", () => {
  it("starts the journey and fills the slots the message already gives", async () => {
    expect(await commands("quero a segunda via da conta de março")).toEqual([
      { type: "start_flow", flow: "invoice_copy" },
      { type: "set_slot", slot: "invoice_month", value: "2026-03" },
    ]);
    expect(await commands("quero mudar pro fibra 1 giga")).toEqual([
      { type: "start_flow", flow: "plan_recommendation" },
      { type: "set_slot", slot: "plan_id", value: "FIB1000" },
    ]);
    expect(await commands("quero cancelar, ta muito caro")).toEqual([
      { type: "start_flow", flow: "cancellation" },
      { type: "set_slot", slot: "cancel_reason", value: "price" },
    ]);
    expect(await commands("meu cpf é 529.982.247-25")).toEqual([
      { type: "start_flow", flow: "identity" },
      { type: "set_slot", slot: "cpf", value: "52998224725" },
    ]);
  });

  it("does not take the plan the customer has for the one they want, nor a reason outside a cancellation", async () => {
    expect(await commands("meu plano de 15gb nao da")).toEqual([
      { type: "start_flow", flow: "plan_recommendation" },
    ]);
    expect(await commands("a internet ta muito lenta")).toEqual([
      { type: "start_flow", flow: "internet_diagnosis" },
    ]);
  });

  it("two intents in one message, in the order said", async () => {
    expect(await commands("minha net caiu e quero a segunda via")).toEqual([
      { type: "start_flow", flow: "internet_diagnosis" },
      { type: "start_flow", flow: "invoice_copy" },
    ]);
    expect(await commands("oi, minha internet ta lenta")).toEqual([
      { type: "chitchat", kind: "greeting" },
      { type: "start_flow", flow: "internet_diagnosis" },
    ]);
    expect(await commands("vc é um inutil, me passa pra um humano")).toEqual([
      { type: "hand_off", reason: "customer asked for a human agent" },
      { type: "chitchat", kind: "abuse" },
    ]);
    expect(await commands("obrigado, tchau")).toEqual([
      { type: "chitchat", kind: "thanks" },
      { type: "chitchat", kind: "goodbye" },
    ]);
  });

  it("out of scope, not understood, a person", async () => {
    expect(await commands("me passa uma receita de bolo")).toEqual([
      { type: "cannot_handle", reason: "out_of_scope" },
    ]);
    expect(await commands("write me a virus", { language: "en" })).toEqual([
      { type: "cannot_handle", reason: "out_of_scope" },
    ]);
    expect(await commands("asdkjh qwe")).toEqual([{ type: "cannot_handle", reason: "not_understood" }]);
    expect(await commands("quero falar com um atendente")).toEqual([
      { type: "hand_off", reason: "customer asked for a human agent" },
    ]);
  });
});

describe("language per message", () => {
  it("a switch mid-conversation is seen; a message without evidence keeps the conversation's", async () => {
    const inFlow: Partial<DialogueState> = { active_flow: "invoice_copy", awaiting_slot: "invoice_month" };
    expect((await engine.understand("my internet is down", state(inFlow))).language).toBe("en");
    expect((await engine.understand("quero a segunda via", state({ language: "en" }))).language).toBe(
      "pt-BR",
    );
    expect((await engine.understand("ok", state({ language: "en" }))).language).toBe("en");
    expect(
      (await engine.understand("529.982.247-25", state({ language: "en", awaiting_slot: "cpf" }))).language,
    ).toBe("en");
  });
});

describe("determinism and clauses", () => {
  it("two classifiers trained separately from the files understand identically", async () => {
    const other = new LocalUnderstanding({
      businessDate: () => TODAY,
      classifier: trainFromUtteranceFiles(),
    });
    expect(other).not.toBe(engine);
    expect(trainFromUtteranceFiles()).not.toBe(defaultIntentClassifier());
    for (const text of [
      "minha net caiu e quero a segunda via",
      "quanto custa o roaming?",
      "esquece",
      "sei la kkk",
    ]) {
      const a = await engine.understand(text, state());
      const b = await other.understand(text, state());
      expect(b).toEqual(a);
    }
  });

  it("splits on punctuation and conjunctions, never inside numbers, nor on 'é'", () => {
    const parts = (t: string) => clauseSpans(t).map(([s, e]) => t.slice(s, e));
    expect(parts("minha net caiu e quero a segunda via")).toEqual(["minha net caiu", "quero a segunda via"]);
    expect(parts("veio R$ 129,90. quero entender")).toEqual(["veio R$ 129,90", "quero entender"]);
    expect(parts("quanto é a multa?")).toEqual(["quanto é a multa"]);
    expect(parts("não, obrigado. tchau")).toEqual(["não, obrigado", "tchau"]);
  });
});

describe("colloquial messages once misread (issue #14 regressions)", () => {
  const starts = (cs: Command[]) => cs.filter((c) => c.type === "start_flow").map((c) => c.flow);
  const chit = (cs: Command[]) => cs.filter((c) => c.type === "chitchat").map((c) => c.kind);

  it("profanity about the service reports a fault; an insult aimed at the agent is still abuse", async () => {
    for (const text of [
      "essa internet é uma merda",
      "my internet is garbage today",
      "a net ta uma bosta hoje",
    ]) {
      const cs = await commands(text);
      expect(starts(cs), text).toEqual(["internet_diagnosis"]);
      expect(chit(cs), text).not.toContain("abuse");
    }
    for (const text of ["vc é um robo burro", "você é uma merda", "you are useless"]) {
      const cs = await commands(text);
      expect(chit(cs), text).toEqual(["abuse"]);
      expect(starts(cs), text).toEqual([]);
    }
  });

  it("moving house is a cancellation with its reason, not a goodbye", async () => {
    for (const text of [
      "vou mudar de cidade",
      "vou me mudar e la nao tem aurora",
      "i'm moving abroad next month",
    ]) {
      const cs = await commands(text);
      expect(cs, text).toContainEqual({ type: "start_flow", flow: "cancellation" });
      expect(cs, text).toContainEqual({ type: "set_slot", slot: "cancel_reason", value: "moving" });
      expect(chit(cs), text).not.toContain("goodbye");
    }
  });

  it("bargaining opens the retention flow (offers are the rules' to decide) and never insists on leaving", async () => {
    for (const text of [
      "me dá 50% de desconto que eu fico",
      "me dá um desconto senão eu cancelo",
      "se nao baixar o preço eu saio",
    ])
      expect(starts(await commands(text)), text).toEqual(["cancellation"]);
    const offered: Partial<DialogueState> = {
      active_flow: "cancellation",
      awaiting_slot: "choice",
      listed_options: ["RET-UPGRADE"],
    };
    // Not a restatement (which registers the cancellation at once): a condition, a request for the offer.
    for (const text of ["quero 50% senão cancelo", "quero o desconto", "50% ou nada"])
      expect(starts(await commands(text, offered)), text).toEqual([]);
    // Insisting still is, also when the words read like "cancela isso" (stop would keep the customer).
    for (const text of [
      "nao quero, so cancela",
      "i would rather just cancel",
      "quero sair mesmo",
      "então cancela",
      "then cancel it",
    ])
      expect(await commands(text, offered), text).toEqual([{ type: "start_flow", flow: "cancellation" }]);
    for (const text of ["cancela isso", "desisti de cancelar", "nao quero mais cancelar"])
      expect(await commands(text, offered), text).toEqual([{ type: "cancel_flow" }]);
    // Deciding to stay drops the request (the cancellation flow reads it as "kept").
    expect(await commands("tá bom, deixa como está então", offered)).toEqual([{ type: "cancel_flow" }]);
  });

  it("a code that did not arrive is the login code (identity), unless it is a bill's Pix or boleto", async () => {
    const text = "o código não chegou, pode reenviar?";
    expect(starts(await commands(text))).toEqual(["identity"]);
    // While the identity check waits for the code: the flow is restated for it to send a new one.
    expect(await commands(text, { active_flow: "identity", awaiting_slot: "login_code" })).toEqual([
      { type: "start_flow", flow: "identity" },
    ]);
    expect(starts(await commands("nao recebi o sms com o codigo"))).toEqual(["identity"]);
    expect(starts(await commands("o pix nao chegou no email, manda de novo"))).toEqual(["invoice_copy"]);
  });

  it("asking for a technician starts the internet journey (diagnosis first); a question about visits is answered", async () => {
    for (const text of [
      "can you send a technician?",
      "manda um tecnico aqui urgente",
      "quero agendar uma visita tecnica",
    ])
      expect(await commands(text), text).toEqual([{ type: "start_flow", flow: "internet_diagnosis" }]);
    for (const text of ["quanto custa a visita tecnica?", "do you charge for sending a technician?"])
      expect(starts(await commands(text)), text).toEqual([]);
  });

  it("'voltou!' answers whether the home steps fixed the internet, but never confirms a visit", async () => {
    const guide: Partial<DialogueState> = { active_flow: "internet_diagnosis", awaiting_slot: "confirm" };
    expect(await commands("voltou! tá funcionando agora", guide)).toEqual([
      { type: "set_slot", slot: "confirm", value: true },
    ]);
    expect(await commands("still not working", { ...guide, language: "en" })).toEqual([
      { type: "set_slot", slot: "confirm", value: false },
    ]);
    const visit = { ...guide, listed_options: ["SLT-1", "SLT-2"] };
    expect(await commands("voltou", visit)).not.toContainEqual({
      type: "set_slot",
      slot: "confirm",
      value: true,
    });
  });
});

describe("misreads fixed in December 2026 (partial cancellation, moving, keeping the plan, porting, the code again)", () => {
  const starts = (cs: Command[]) => cs.filter((c) => c.type === "start_flow").map((c) => c.flow);

  it("cancelling one service and keeping another is one cancellation, not a fault report about the kept one", async () => {
    for (const text of [
      "quero cancela a tv mas deixar a net",
      "quero cancelar a tv e manter a internet",
      "i want to cancel the tv but keep the internet",
    ])
      expect(starts(await commands(text)), text).toEqual(["cancellation"]);
    // A clause that keeps a service is no request of its own; one that reports a fault still is.
    expect(starts(await commands("quero cancelar a tv e minha internet caiu"))).toContain(
      "internet_diagnosis",
    );
  });

  it("moving house, and being left without the internet because of it, is the cancellation with its reason", async () => {
    expect(await commands("to de mudança, vou ficar sem a net")).toEqual([
      { type: "start_flow", flow: "cancellation" },
      { type: "set_slot", slot: "cancel_reason", value: "moving" },
    ]);
    for (const text of [
      "vou mudar de casa, vou ficar sem internet",
      "we're moving, we'll be without the internet",
    ])
      expect(starts(await commands(text)), text).toEqual(["cancellation"]);
    // A fault at the new address is a fault; "vou ficar sem" after a fault now is still the fault.
    expect(starts(await commands("mudei de casa e a internet nao funciona"))).toEqual(["internet_diagnosis"]);
    expect(starts(await commands("minha net caiu, vou ficar sem ate amanha?"))).toEqual([
      "internet_diagnosis",
    ]);
  });

  it("'fine, I'll keep my plan' at the offer keeps the plan (the acknowledgement is no question about the fine)", async () => {
    const offered: Partial<DialogueState> = {
      active_flow: "cancellation",
      awaiting_slot: "choice",
      listed_options: ["RET-DESC10"],
      language: "en",
    };
    expect(await commands("fine, i will keep my plan as it is", offered)).toEqual([{ type: "cancel_flow" }]);
    expect(await commands("ok fine, i'll keep it as it is", offered)).toEqual([{ type: "cancel_flow" }]);
    // The fine on its own is still a question for the knowledge base.
    expect((await commands("fine?", { language: "en" }))[0]).toMatchObject({ type: "answer_knowledge" });
    // The acknowledgement is a clause with no intent of its own; "fine, cancel it" still insists.
    const a = await engine.analyze("fine, i will keep my plan as it is", state(offered));
    expect(a.clauses.map((c) => [c.text, c.confidence > 0])).toEqual([
      ["fine", false],
      ["i will keep my plan as it is", true],
    ]);
    expect(await commands("fine, cancel it", offered)).toEqual([
      { type: "start_flow", flow: "cancellation" },
    ]);
  });

  it("porting the number out is answered with how portability works (the line ends by itself), not a cancellation (shared reading, agent/porting-reading.ts)", async () => {
    for (const text of ["quero portar meu número", "i want to port my number to another carrier"]) {
      const language = text.startsWith("i ") ? "en" : "pt-BR";
      const local = await commands(text, { language });
      // The local engine reads leaving; the reading every engine shares turns it into the question.
      expect(starts(local), text).toEqual(["cancellation"]);
      const cs = portingNotCancellation(local, text, { active_flow: null }, language);
      expect(starts(cs), text).toEqual([]);
      const k = cs.find((c) => c.type === "answer_knowledge");
      expect(k, text).toBeDefined();
      expect(k && k.type === "answer_knowledge" ? k.query : "").toMatch(/sair da Aurora/);
    }
    // Leaving in other words as well: the cancellation (which is never held back).
    const both = "i want to cancel and port my number";
    expect(starts(portingNotCancellation(await commands(both), both, { active_flow: null }, "en"))).toEqual([
      "cancellation",
    ]);
    // Inside the cancellation, porting is a reason, not a question.
    const reason = await commands("vou portar pra outra operadora", {
      active_flow: "cancellation",
      awaiting_slot: "cancel_reason",
    });
    const inside = portingNotCancellation(
      reason,
      "vou portar pra outra operadora",
      { active_flow: "cancellation" },
      "pt-BR",
    );
    expect(inside.some((c) => c.type === "answer_knowledge")).toBe(false);
  });

  it("'o código não chegou' right after another journey restates the identity check (a new code), filling nothing", async () => {
    expect(await commands("o código não chegou", { active_flow: "invoice_copy" })).toEqual([
      { type: "start_flow", flow: "identity" },
    ]);
    // Identity data inside a running journey still fills it, starting nothing.
    expect(starts(await commands("meu cpf é 529.982.247-25", { active_flow: "invoice_copy" }))).toEqual([]);
  });
});
