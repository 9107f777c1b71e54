import type { Command, FlowName } from "../conversation/commands.ts";
import type { FlowFrame } from "./flows/flow.ts";
import { fold } from "./understanding/normalize.ts";

/**
 * Whether a message at a pending yes/no answers the question or says something else. A "não" answers
 * "Confirma que quer cancelar?" when it stands alone ("não", "não, deixa", "acho que não") or negates
 * the proposition asked ("não quero mais", "não cancela", "não precisa"); a negated clause about
 * something else ("não entende nada", "não resolve nada isso", "vocês não prestam", "it doesn't work")
 * is a complaint, and reading it as the answer would drop (or, read as a yes, register) a cancellation
 * the customer never decided. Written by hand: a closed list of the words a negated answer is made of
 * is what tells the two apart, and no model feature of the classifier separates them (both are `deny`).
 */

/** Negation words that negate the next word ("não", "nunca", "don't"); "nem pensar" is left to the classifier. */
const NEGATION =
  /\b(?:nao|n|nunca|not|never|dont|don t|doesnt|doesn t|didnt|didn t|wont|won t|cant|can t|cannot)\s+(?:(?:me|se|te|nos|lhe|lhes|vou|vai|ta|esta|to|estou|i m|im|am|is)\s+)?([a-z]+)/g;

/**
 * What a negated answer to a yes/no goes on with: wanting, confirming, cancelling, needing, agreeing,
 * "mais", "agora", thanks, "certo", "interessado" — the proposition asked or the answer's own words
 * ("não quero mais", "não concordo", "não rola", "não tá certo", "not interested", "não, não").
 */
const ANSWER_WORDS: ReadonlySet<string> = new Set(
  (
    "quero queria quer quis querer quiser desejo aceito aceita concordo confirmo confirma confirmar confirmado " +
    "confirmada cancela cancele cancelar cancelo cancelem cancelamento cancelado cancelada precisa preciso " +
    "precisamos pode podem posso vamos rola mais agora ainda obrigado obrigada brigado brigada valeu agradeco " +
    "sim nao n no senhor senhora e eh era que por pra para mesmo assim desse dessa isso esse essa tenho " +
    "interesse interessado interessada certo correto bom ok legal faca mexe mexa topo compensa vale hoje dar " +
    "acho curti " +
    "want wanna need needed agree accept confirm cancel do thanks thank now today anymore yet please i it " +
    "this that sure really interested right ok okay good fine correct think for worth"
  ).split(" "),
);

/** "não", "não, deixa", "no." — a no standing alone at the start answers the question. */
const LEADING_NO = /^\s*(?:nao|n|no|nope|negativo)\s*(?:[,.!;:]|$)/;
/**
 * "sim, …", "pode cancelar", "yes …" — a yes at the start answers the question. An acknowledgement
 * ("ok, vocês não prestam", "beleza, …") does not: next to a complaint it says nothing about cancelling.
 */
const LEADING_YES = /^\s*(?:sim|s|claro|pode|confirmo|yes|yeah|yep)\b/;

/** The clause the message negates when it is not the proposition asked ("entende" in "não entende nada"), or null. */
export function negatedOtherClause(message: string): string | null {
  const folded = fold(message).replace(/['’]/g, " ");
  NEGATION.lastIndex = 0;
  for (const m of folded.matchAll(NEGATION)) if (!ANSWER_WORDS.has(m[1])) return m[1];
  return null;
}

/**
 * At a pending confirmation, a message that negates something other than the proposition asked is a
 * complaint, not the answer: a `confirm` read from it is dropped and the complaint is answered as
 * abuse is (a calm acknowledgement, sentiment negative), so the flow asks its question again. A yes or
 * a no standing at the start of the message still answers ("não, vocês não resolvem nada" is a no). The
 * internet diagnosis is left alone: there "não funciona", "não voltou" answer "voltou?".
 */
export function complaintNotAnswer(
  commands: Command[],
  message: string,
  top: FlowFrame | undefined,
): Command[] {
  if (top?.awaiting !== "confirm" || top.flow === "internet_diagnosis") return commands;
  if (negatedOtherClause(message) === null) return commands;
  const folded = fold(message);
  let dropped = false;
  const kept = commands.filter((c) => {
    if (!((c.type === "set_slot" || c.type === "correct_slot") && c.slot === "confirm")) return true;
    const answers = c.value === false ? LEADING_NO.test(folded) : LEADING_YES.test(folded);
    if (!answers) dropped = true;
    return answers;
  });
  if (!dropped) return commands;
  const rest = kept.filter((c) => !(c.type === "chitchat" && c.kind === "smalltalk"));
  return rest.some((c) => c.type === "chitchat" && c.kind === "abuse")
    ? rest
    : [...rest, { type: "chitchat", kind: "abuse" }];
}

/**
 * Words that name each journey's object ("a conta", "the bill", "a internet", "o plano"). A complaint at a
 * pending confirmation starts another journey only when it names that journey's object: "you don't
 * understand" (read as `invoice_explain`, "I don't understand my bill") and "não funciona" (read as a
 * fault) name none. Written by hand: a closed list per journey is the check; the classifier's confidence
 * is high on both readings, so it cannot tell them apart.
 */
const JOURNEY_WORDS: Partial<Record<FlowName, RegExp>> = {
  internet_diagnosis:
    /\b(?:internet|net|wi ?fi|sinal|conex\w*|conect\w*|rede|modem|roteador|fibra|caiu|cai|lent\w*|offline|connection|signal|router|slow|down)\b/,
  invoice_explanation:
    /\b(?:conta|contas|fatura\w*|boleto\w*|cobran\w*|cobrad\w*|cobrando|cobraram|valor|pix|bill\w*|invoice\w*|charg\w*)\b/,
  invoice_copy:
    /\b(?:conta|contas|fatura\w*|boleto\w*|segunda via|2a via|pix|codigo de barras|bill\w*|invoice\w*|copy)\b/,
  plan_recommendation: /\b(?:plano|planos|plan|plans|upgrade|downgrade|gb|mega|giga)\b/,
  identity: /\b(?:codigo|code|cpf|senha|login|sms)\b/,
};

/**
 * At a pending confirmation, a complaint (a negated clause that is not the answer: "it doesn't work, you
 * don't understand", "não funciona, você não entende") starts no other journey unless it names that
 * journey's object ("não entendi a conta" still explains the bill). Dropped starts leave the calm answer
 * (chitchat abuse), so the flow asks its question again and nothing unrelated is recorded.
 */
export function complaintStartsNothing(
  commands: Command[],
  message: string,
  top: FlowFrame | undefined,
): Command[] {
  if (top?.awaiting !== "confirm") return commands;
  if (negatedOtherClause(message) === null) return commands;
  const folded = fold(message).replace(/['’-]/g, " ");
  let dropped = false;
  const kept = commands.filter((c) => {
    if (c.type !== "start_flow" || c.flow === top.flow) return true;
    const named = JOURNEY_WORDS[c.flow]?.test(folded) ?? true;
    if (!named) dropped = true;
    return named;
  });
  if (!dropped) return commands;
  const rest = kept.filter((c) => !(c.type === "chitchat" && c.kind === "smalltalk"));
  return rest.some((c) => c.type === "chitchat" && c.kind === "abuse")
    ? rest
    : [...rest, { type: "chitchat", kind: "abuse" }];
}
