import type { Command, DialogueState, Language } from "../conversation/commands.ts";
import { fold } from "./understanding/normalize.ts";

/**
 * Taking the number to another operator ("quero portar meu número", "port my number out"). Porting is
 * asked at the new operator and the Aurora line ends by itself when it completes (faq-portabilidade);
 * cancelling the line first would lose the number. So a message that asks to port, and names no other
 * way of leaving, gets how portability works; a cancellation stays one message away. Applied to the
 * commands of any understanding engine (local or llm), so the decision lives in one place.
 */
const PORT_WORD_RE = /\b(?:portar|portando|porto|portabilidade|port(?:ing)?(?: out)?|portability)\b/;
/** Leaving in other words as well ("quero cancelar e portar"): the cancellation stays. */
const LEAVE_NOT_PORT_RE =
  /\b(?:cancel\w*|cansel\w*|encerr\w*|rescind\w*|deslig\w*|sair|saio|saindo|dar baixa|da baixa|terminat\w*|leav\w*|quit|discontinue)\b/;

/** What a porting request asks the knowledge base (the section on leaving with the number). */
export const PORT_OUT_QUERY: Record<Language, string> = {
  "pt-BR": "portabilidade para sair da Aurora: levar meu número para outra operadora",
  en: "portabilidade para sair da Aurora: levar meu número para outra operadora (port my number out)",
};

/** Whether the message asks to port the number out and names no other way of leaving. */
export function asksToPortOut(message: string): boolean {
  const folded = fold(message);
  return PORT_WORD_RE.test(folded) && !LEAVE_NOT_PORT_RE.test(folded);
}

/**
 * A cancellation started by a porting request becomes the knowledge question on porting out: the
 * `start_flow cancellation` (and a `cancel_reason` the engine read with it) is dropped and an
 * `answer_knowledge` for faq-portabilidade is added unless the engine already asked one. Inside the
 * cancellation, porting is a reason, not a question ("vou portar pra outra operadora"), and is left alone.
 */
export function portingNotCancellation(
  commands: Command[],
  message: string,
  state: Pick<DialogueState, "active_flow">,
  language: Language,
): Command[] {
  if (state.active_flow === "cancellation") return commands;
  if (!commands.some((c) => c.type === "start_flow" && c.flow === "cancellation")) return commands;
  if (!asksToPortOut(message)) return commands;
  const kept = commands.filter(
    (c) =>
      !(c.type === "start_flow" && c.flow === "cancellation") &&
      !((c.type === "set_slot" || c.type === "correct_slot") && c.slot === "cancel_reason"),
  );
  if (kept.some((c) => c.type === "answer_knowledge")) return kept;
  // Before any closing chitchat ("obrigado"), after what opens the message.
  const close = kept.findIndex((c) => c.type === "chitchat" && c.kind !== "greeting");
  const ask: Command = { type: "answer_knowledge", query: PORT_OUT_QUERY[language] };
  return close < 0 ? [...kept, ask] : [...kept.slice(0, close), ask, ...kept.slice(close)];
}
