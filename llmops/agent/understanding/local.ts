import { stopwords as englishStopwords } from "@orama/stopwords/english";
import { stopwords as portugueseStopwords } from "@orama/stopwords/portuguese";
import type {
  Command,
  DialogueState,
  FlowName,
  Language,
  SlotName,
  Understanding,
  UnderstandingEngine,
} from "../../conversation/commands.ts";
import { loadUnderstandingCatalog, type UnderstandingCatalog } from "./catalog.ts";
import { classifierWords, type IntentClassifier, type IntentScore } from "./classifier.ts";
import { type Entity, extractEntities, type RejectedEntity } from "./entities.ts";
import { INTENT_FLOW, type Intent } from "./intents.ts";
import { detectMessageLanguage } from "./language.ts";
import { lexiconHits } from "./lexicons.ts";
import { cachedIntentClassifier, defaultIntentClassifier } from "./model.ts";
import { collapseRepeats, fold, normalizedWords, tokenize } from "./normalize.ts";

/**
 * The offline, deterministic understanding engine: intent classifier (whole message and each
 * clause, for several intents in one message) + entity extraction + the dialogue state → commands.
 * Which commands, in order:
 *  1. chitchat greeting;
 *  2. cancel_flow ("esquece", "deixa pra lá");
 *  3. with a flow already running: set_slot / correct_slot for the entities that answer it;
 *  4. start_flow for each task intent (a start_flow of the running flow = the customer restates the
 *     goal, e.g. insists on cancelling; it is not emitted when the message only answered a slot);
 *  5. with no flow running (or after cancel_flow): the slots for the flow just started;
 *  6. answer_knowledge, hand_off, cannot_handle;
 *  7. chitchat thanks / goodbye / abuse.
 */

export interface LocalUnderstandingOptions {
  /** Defaults to the classifier trained from data/assistant/utterances (trained on first use). */
  classifier?: IntentClassifier | (() => IntentClassifier);
  /** A JSON file caching the trained default classifier across processes (e.g. in the workspace). */
  modelCacheFile?: string;
  /** Plans, offer ids, competitors; defaults to data/sample/operator-catalog.json. */
  catalog?: UnderstandingCatalog;
  /** Today for the operator (yyyy-mm-dd), e.g. OperatorSystems.businessDate; defaults to the UTC date. */
  businessDate?: () => string | Promise<string>;
  /** Minimum posterior of the whole message's top intent (below it the message is "not understood"). */
  minConfidence?: number;
  /** Minimum posterior for a clause's intent to count as an extra intent of the message. */
  minClauseConfidence?: number;
}

/** Understanding plus what the local engine saw: entities, rejected look-alikes, clauses. */
export interface LocalAnalysis extends Understanding {
  engine: "local";
  /** Intents that produced commands, in message order of importance. */
  detected: Intent[];
  entities: Entity[];
  rejected: RejectedEntity[];
  clauses: { text: string; intent: Intent; confidence: number }[];
}

/** Slots each flow asks for; an entity outside them (and not awaited) is not turned into a command. */
export const FLOW_SLOTS: Readonly<Record<FlowName, readonly SlotName[]>> = {
  identity: ["cpf", "birth_date", "phone", "login_code"],
  internet_diagnosis: ["cep", "phone", "confirm", "choice", "slot_id"],
  invoice_explanation: ["invoice_month", "invoice_id", "amount_brl", "confirm", "choice"],
  invoice_copy: ["invoice_month", "invoice_id", "confirm", "choice"],
  cancellation: ["cancel_reason", "choice", "offer_id", "confirm"],
  plan_recommendation: ["plan_id", "choice", "confirm"],
  human_handoff: [],
};
/** Identity can be asked for in any flow. */
const ALWAYS_SLOTS: readonly SlotName[] = ["cpf", "birth_date", "login_code"];

const CHITCHAT_OPENING: Partial<Record<Intent, "greeting">> = { greeting: "greeting" };
const CHITCHAT_CLOSING: Partial<Record<Intent, "thanks" | "goodbye" | "abuse">> = {
  thanks: "thanks",
  goodbye: "goodbye",
  abuse: "abuse",
};

/** "não, é a de março", "na verdade…", "I meant…": the slot values in the message replace earlier ones. */
const CORRECTION_RE =
  /^\s*(?:nao|no|nope|errado|wrong)\s*[,.!;-]|\bna verdade\b|\bquer dizer\b|\bquis dizer\b|\bdigo\b|\bcorrigindo\b|\berrei\b|\bme enganei\b|\bfoi mal\b|\bops\b|\bactually\b|\bi meant?\b|\bsorry,? it s\b|\bcorrection\b|\bnao (?:e|era) (?:a|o|esse|essa)\b.*,|\bnot (?:the )?\w+,\s*(?:the|it s)\b/;
const BIRTH_RE = /nasc|nasci|aniversario|birth|born|\bdob\b/;
const QUESTION_RE =
  /\?|^\s*(?:como|quanto|quantos|quantas|qual|quais|quando|onde|por que|porque|pq|o que|oq|tem como|da pra|how|what|when|which|where|why|is there|are there|do you|can i|does)\b/;

/** A condition for staying: the customer bargains ("senão cancelo", "que eu fico", "or I'll leave"). */
const BARGAIN_RE =
  /\b(?:senao|se nao (?:baixar|abaixar|der|derem|fizer|fizerem)|ou (?:eu )?(?:saio|cancelo|vou embora)|(?:que|q|pra|para) eu (?:fico|fique|ficar|continuo|continue|continuar)|eu (?:fico|continuo)|or (?:else )?i (?:ll |will |m )?(?:leave|leaving|cancel|cancelling|go)|(?:and|then) i (?:ll|will) stay|i (?:ll|will) stay)\b/;

/** Words that name leaving ("só cancela", "quero sair", "end my contract", "I'd rather just cancel"). */
const CANCEL_WORD_RE =
  /\b(?:cancel\w*|cansel\w*|encerr\w*|rescind\w*|deslig\w*|sair|saio|saindo|dar baixa|da baixa|port(?:ar|o|abilidade)|terminat\w*|leav\w*|quit|end (?:it|my|the)|close (?:it|my|the)|discontinue|stop (?:my|the) service)\b/;

/** A clause keeping one service ("deixar a net", "manter a tv", "keep the internet"). */
const KEEP_SERVICE_RE =
  /^\s*(?:(?:eu|i)\s+)?(?:(?:quero|queria|vou|want to|d like to|ll)\s+)?(?:deixar|deixa|deixando|manter|mantem|mantendo|mantenho|ficar com|fico com|continuar com|keep|keeping)\s+(?:so\s+|only\s+|just\s+)?(?:(?:a|o|as|os|minha|meu|my|the)\s+)?(?:tv|internet|net|fibra|wifi|wi fi|celular|linha|chip|movel|mobile)\b/;

/**
 * "… vou ficar sem a net", "I'll be without the internet": a consequence of what the message says
 * (moving, cancelling), not a fault happening now; the clause has no journey of its own.
 */
const FUTURE_LOSS_RE =
  /^\s*(?:(?:e|mas|and|so)\s+)?(?:(?:eu|i)\s+)?(?:vou|vamos|i[' ]ll|i will|we[' ]ll|we will)\s+(?:ficar|estar|be)\s+(?:sem|without)\b/;

/** The service works again ("voltou", "tá funcionando", "it's back", "working now"). */
const BACK_TO_NORMAL_RE =
  /\b(?:voltou|voltou ao normal|funcionou|funcionando|normalizou|normal|resolveu|resolvido|deu certo|it s back|back to normal|working|works|fixed|solved|resolved)\b/;
/** … or still does not. */
const NOT_YET_RE = /\b(?:nao|nem|ainda|continua|not|still|didn t|doesn t|isn t|no)\b/;

// Clause boundaries: sentence punctuation, commas not inside numbers, and conjunctions.
const CLAUSE_RE =
  /[;!?]+|\.(?!\d)|,(?!\d)|\s(?:e|mas|and|but|also|tambem|alem disso|porem|entao|depois|ai|plus)\s/g;

/**
 * Words that carry no request of their own around a slot value: stop words of both languages, the
 * words that introduce a value ("meu cpf é", "a conta de", "opção") and correction markers. A message
 * made only of these and entities answers the awaited slot and asks for nothing else.
 */
const FILLER = new Set([
  ...portugueseStopwords.map(fold),
  ...englishStopwords.map(fold),
  ..."quero queria pode ser sim nao s n ok okay isso mesmo certo correto exato opcao opcoes option choice one numero number pra para por favor please na verdade quer dizer quis digo actually meant mean sorry ops opa errei acho que ai entao then ta esta eh e conta fatura boleto bill invoice statement mes month plano plan oferta offer horario dia data date cpf cep telefone celular phone codigo code nascimento nasci born birth dob meu minha my aquela aquele essa esse this that pelo pela the".split(
    " ",
  ),
]);

/** True when every word outside the entities is filler. */
function onlyValues(folded: string, entities: readonly Entity[]): boolean {
  for (const t of tokenize(folded)) {
    if (entities.some((e) => t.start >= e.start && t.end <= e.end)) continue;
    if (!FILLER.has(collapseRepeats(t.raw))) return false;
  }
  return true;
}

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

export class LocalUnderstanding implements UnderstandingEngine {
  readonly name = "local" as const;
  readonly #classifier: () => IntentClassifier;
  readonly #catalog: UnderstandingCatalog;
  readonly #businessDate: () => string | Promise<string>;
  readonly #minConfidence: number;
  readonly #minClauseConfidence: number;

  constructor(options: LocalUnderstandingOptions = {}) {
    const c = options.classifier;
    const cacheFile = options.modelCacheFile;
    this.#classifier =
      typeof c === "function"
        ? c
        : c
          ? () => c
          : cacheFile
            ? () => cachedIntentClassifier(cacheFile)
            : () => defaultIntentClassifier();
    this.#catalog = options.catalog ?? loadUnderstandingCatalog();
    this.#businessDate = options.businessDate ?? todayUtc;
    this.#minConfidence = options.minConfidence ?? 0.3;
    this.#minClauseConfidence = options.minClauseConfidence ?? 0.6;
  }

  /** Trains (or loads) the classifier now instead of on the first message. */
  warmUp(): void {
    this.#classifier();
  }

  async understand(text: string, state: DialogueState): Promise<Understanding> {
    const a = await this.analyze(text, state);
    return { language: a.language, intents: a.intents, commands: a.commands, engine: "local" };
  }

  /** understand() plus the entities, clauses and detected intents behind the commands. */
  async analyze(text: string, state: DialogueState): Promise<LocalAnalysis> {
    return this.analyzeAt(text, state, await this.#businessDate());
  }

  /** Synchronous analysis at a given business date (evaluations and benchmarks). */
  analyzeAt(text: string, state: DialogueState, businessDate: string): LocalAnalysis {
    const message = text.normalize("NFC");
    const folded = fold(message);
    const extraction = extractEntities(message, {
      businessDate,
      catalog: this.#catalog,
      awaitingSlot: state.awaiting_slot,
    });
    const language: Language = detectMessageLanguage(message) ?? state.language;
    const classifier = this.#classifier();
    const whole = classifier.classify(message, extraction.entities);
    const clauses = this.#classifyClauses(classifier, message, extraction.entities);
    let detected = movingNotFault(
      visitRequest(insistingNotStopping(this.#detect(whole, clauses), message, folded, state), folded),
      extraction.entities,
      folded,
    );
    // "a segunda", "a de março", "529.982.247-25": a bare answer to the awaited slot.
    const bareAnswer =
      extraction.entities.some((e) => e.kind !== "yes_no") &&
      onlyValues(folded, extraction.entities) &&
      ((state.awaiting_slot !== null && state.awaiting_slot !== "confirm") ||
        state.active_flow !== null ||
        isCorrection(folded));
    if (bareAnswer) detected = [];
    const ranked = rankIntents(detected, whole);
    if (bareAnswer) ranked.unshift({ intent: "inform", confidence: 1 });
    const commands = toCommands({
      message,
      folded,
      state,
      businessDate,
      detected: detected.map((d) => d.intent),
      confidence: new Map(detected.map((d) => [d.intent, d.confidence])),
      singleClause: clauses.length < 2,
      entities: extraction.entities,
      knowledgeQuery: knowledgeQuery(message, detected, clauses),
      language,
    });
    return {
      language,
      intents: ranked,
      commands,
      engine: "local",
      detected: detected.map((d) => d.intent),
      entities: extraction.entities,
      rejected: extraction.rejected,
      clauses: clauses.map((c) => ({ text: c.text, intent: c.top.intent, confidence: c.top.confidence })),
    };
  }

  #classifyClauses(classifier: IntentClassifier, message: string, entities: Entity[]): Clause[] {
    const spans = clauseSpans(message);
    if (spans.length < 2) return [];
    return spans.map(([start, end]) => {
      const inside = entities
        .filter((e) => e.start >= start && e.end <= end)
        .map((e) => ({ ...e, start: e.start - start, end: e.end - start }));
      const text = message.slice(start, end);
      // A clause that is only a value ("tá muito caro" after "quero cancelar") qualifies the request
      // around it; it carries no intent of its own.
      // "… mas deixar a net", "and keep the internet": which service stays qualifies the request around
      // it (a partial cancellation); naming the internet there reports no fault.
      const valueOnly =
        (inside.some((e) => e.kind !== "yes_no") && onlyValues(fold(text), inside)) ||
        KEEP_SERVICE_RE.test(fold(text)) ||
        ACKNOWLEDGEMENT_RE.test(fold(text)) ||
        FUTURE_LOSS_RE.test(fold(text));
      const words = classifierWords(text, inside);
      const top = classifier.classifyWords(words)[0];
      // "pode reenviar?", "manda de novo": a short clause with no business word has no object of its own.
      const elliptical = words.length <= 3 && !lexiconHits(words).has("domain");
      return { text, start, end, elliptical, top: valueOnly ? { ...top, confidence: 0 } : top };
    });
  }

  /** The whole message's top intent, plus each clause's own confident intent. */
  #detect(whole: IntentScore[], clauses: Clause[]): IntentScore[] {
    const out: IntentScore[] = [];
    // With clauses of their own, the whole message's intent must be one of theirs or clear on its own
    // ("boa tarde, quanto é a multa?" is greeting + question, not the mix of both).
    const clauseIntents = new Set(
      clauses.filter((c) => c.top.confidence >= this.#minClauseConfidence).map((c) => c.top.intent),
    );
    const wholeCounts =
      whole[0].confidence >= this.#minConfidence &&
      (clauseIntents.size === 0 || clauseIntents.has(whole[0].intent) || whole[0].confidence >= 0.7);
    if (wholeCounts) out.push({ ...whole[0] });
    for (const c of clauses) {
      if (c.top.confidence < this.#minClauseConfidence) continue;
      // "o código não chegou, pode reenviar?": an elliptical clause that reads as another journey
      // continues the journey the whole message clearly asks for (resend the code, not a bill copy).
      if (
        c.elliptical &&
        wholeCounts &&
        whole[0].confidence >= 0.8 &&
        c.top.intent !== whole[0].intent &&
        INTENT_FLOW[c.top.intent] !== undefined &&
        INTENT_FLOW[whole[0].intent] !== undefined
      )
        continue;
      const seen = out.find((d) => d.intent === c.top.intent);
      if (seen) seen.confidence = Math.max(seen.confidence, c.top.confidence);
      else out.push({ ...c.top });
    }
    // In the order the customer said them: by the first clause that carries each intent.
    const position = (intent: Intent) => {
      const c = clauses.find((x) => x.top.intent === intent && x.top.confidence >= this.#minClauseConfidence);
      return c ? c.start : Number.MAX_SAFE_INTEGER;
    };
    out.sort((a, b) => position(a.intent) - position(b.intent));
    // Yes and no in one message: keep the more confident.
    const yes = out.find((d) => d.intent === "affirm");
    const no = out.find((d) => d.intent === "deny");
    if (yes && no) out.splice(out.indexOf(yes.confidence >= no.confidence ? no : yes), 1);
    return out;
  }
}

/** "Cancela isso", "cancel that request", "cancela o cancelamento": the cancel word aims at the request. */
const CANCEL_THIS_RE =
  /\b(?:cancel\w*|para|pare|stop)\s+(?:isso|isto|esse|essa|este|esta|aquilo|tudo isso|that|this|it all|o pedido|meu pedido|the request|my request|o que eu pedi|what i (?:asked|said)|(?:o|a|the|my) cancel\w*)\b/;

/**
 * In the cancellation flow, "então cancela" / "then cancel it" insists on leaving: read as `stop` it
 * would keep the customer (the flow's "esquece") and obstruct the request. It stays `stop` when the
 * cancel word aims at the request itself ("cancela isso") or is negated ("desisti de cancelar").
 */
function insistingNotStopping(
  detected: IntentScore[],
  message: string,
  folded: string,
  state: DialogueState,
): IntentScore[] {
  const stop = detected.find((d) => d.intent === "stop");
  if (
    state.active_flow !== "cancellation" ||
    !stop ||
    detected.some((d) => d.intent === "cancel") ||
    !CANCEL_WORD_RE.test(folded) ||
    CANCEL_THIS_RE.test(folded) ||
    lexiconHits(normalizedWords(message)).has("cancel_negated")
  )
    return detected;
  return detected.map((d) => (d === stop ? { intent: "cancel", confidence: d.confidence } : d));
}

/** "… vou ficar sem a net" anywhere in the message (see FUTURE_LOSS_RE). */
const FUTURE_LOSS_ANYWHERE_RE =
  /\b(?:vou|vamos|i[' ]ll|i will|we[' ]ll|we will)\s+(?:ficar|estar|be)\s+(?:sem|without)\b/;

/**
 * Moving house and being left without the internet because of it ("vou mudar de casa, vou ficar sem
 * internet") is the moving cancellation (faq-mudanca-endereco), not a fault now: the internet reading,
 * which rests on "sem internet", gives way to the cancellation. A fault at the new address ("mudei e a
 * internet não funciona") says no loss to come and stays a fault.
 */
function movingNotFault(detected: IntentScore[], entities: readonly Entity[], folded: string): IntentScore[] {
  if (!entities.some((e) => e.kind === "cancel_reason" && e.value === "moving")) return detected;
  if (!FUTURE_LOSS_ANYWHERE_RE.test(folded)) return detected;
  const fault = detected.find((d) => d.intent === "internet_problem");
  if (!fault) return detected;
  if (detected.some((d) => d.intent === "cancel")) return detected.filter((d) => d !== fault);
  return detected.map((d) => (d === fault ? { intent: "cancel", confidence: d.confidence } : d));
}

/** Asking for a technician ("manda um técnico", "can you send a technician?", "quero agendar uma visita"). */
const VISIT_REQUEST_RE =
  /\b(?:(?:manda|mande|mandar|envia|envie|enviar|preciso de|quero|queria|agenda|agendar|marca|marcar)\s+(?:um |uma |o |a )?(?:tecnico|visita)|send (?:a |me a |someone|somebody)(?:technician|tech|repair)?|(?:book|schedule|need|want) (?:a |an )?(?:technician|tech|repair|visit|engineer))/;
/** … unlike a question about visits ("quanto custa a visita?", "que horas o técnico vem?"). */
const VISIT_QUESTION_RE =
  /\b(?:quanto|custa|cobra|gratis|gratuita|horario|que horas|demora|prazo|how much|cost|charge|free|what time|how long|when)\b/;

/** Someone to talk to ("falar com um atendente", "a human", "an agent"): a hand-off, even next to a visit. */
const TALK_TO_PERSON_RE =
  /\b(?:atendente|humano|humana|pessoa|operador|falar com|conversar com|agent|human|person|representative|talk to|speak to)\b/;

const VISIT_MISREADS: ReadonlySet<Intent> = new Set([
  "knowledge_question",
  "invoice_copy",
  "invoice_explain",
  "out_of_scope",
]);

/**
 * A technician is sent after a diagnosis (policy-diagnostico-internet): asking for one starts the
 * internet journey, where the classifier may have read a question about visits.
 */
function visitRequest(detected: IntentScore[], folded: string): IntentScore[] {
  if (!VISIT_REQUEST_RE.test(folded) || VISIT_QUESTION_RE.test(folded)) return detected;
  if (detected.some((d) => d.intent === "internet_problem")) return detected;
  // "Manda um técnico" is not a bill to send, nor a question; nor a person to talk to, unless one is named.
  const misread = detected.find(
    (d) => VISIT_MISREADS.has(d.intent) || (d.intent === "human_agent" && !TALK_TO_PERSON_RE.test(folded)),
  );
  if (misread)
    return detected.map((d) =>
      d === misread ? { intent: "internet_problem", confidence: d.confidence } : d,
    );
  return detected.length === 0 ? [{ intent: "internet_problem", confidence: 0.5 }] : detected;
}

interface Clause {
  text: string;
  start: number;
  end: number;
  /** Short and without a business word ("pode reenviar?"): it continues what the message asks. */
  elliptical: boolean;
  top: IntentScore;
}

const LONE_YES_NO = /^\s*(?:nao|no|nope|sim|yes|ok|okay|n|s)\s*$/;
/**
 * An acknowledgement on its own ("fine,", "ok fine,", "tá bom,", "alright,"): it leads into what follows
 * and carries no request of its own ("fine" alone would read as the cancellation fine).
 */
const ACKNOWLEDGEMENT_RE =
  /^\s*(?:(?:ok|okay)\s+)?(?:fine|alright|all right|tudo bem|ta bom|ta certo|beleza|blz|certo)\s*$/;

/** [start, end) of each clause with at least one letter or digit. */
export function clauseSpans(message: string): [number, number][] {
  const folded = fold(message);
  const spans: [number, number][] = [];
  let from = 0;
  const push = (to: number) => {
    const piece = message.slice(from, to);
    if (/[\p{L}\p{N}]/u.test(piece)) {
      const lead = piece.length - piece.trimStart().length;
      spans.push([from + lead, from + piece.trimEnd().length]);
    }
  };
  CLAUSE_RE.lastIndex = 0;
  for (const m of folded.matchAll(CLAUSE_RE)) {
    // "não, obrigado", "sim, pode": a lone yes/no before a comma belongs to what follows.
    if (m[0] === "," && LONE_YES_NO.test(folded.slice(from, m.index))) continue;
    // "é" (is) folds to "e" (and): only a written "e" joins clauses.
    if (m[0].trim() === "e" && message[m.index + 1].toLowerCase() !== "e") continue;
    push(m.index);
    from = m.index + m[0].length;
  }
  push(message.length);
  return spans;
}

function rankIntents(
  detected: IntentScore[],
  whole: IntentScore[],
): { intent: string; confidence: number }[] {
  const out = detected.map((d) => ({ intent: d.intent as string, confidence: round(d.confidence) }));
  for (const w of whole) {
    if (out.length >= 5) break;
    if (w.confidence < 0.02 || out.some((o) => o.intent === w.intent)) continue;
    out.push({ intent: w.intent, confidence: round(w.confidence) });
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** The question to send to the knowledge base: the clause that asked it, or the whole message. */
function knowledgeQuery(message: string, detected: IntentScore[], clauses: Clause[]): string {
  if (!detected.some((d) => d.intent === "knowledge_question")) return message;
  const asked = clauses.filter((c) => c.top.intent === "knowledge_question");
  return asked.length === 1 ? asked[0].text : message;
}

interface MappingInput {
  message: string;
  folded: string;
  state: DialogueState;
  businessDate: string;
  detected: Intent[];
  /** Posterior of each detected intent. */
  confidence: Map<Intent, number>;
  /** The message is one clause (no second intent could come from a clause of its own). */
  singleClause: boolean;
  entities: Entity[];
  knowledgeQuery: string;
  language: Language;
}

interface SlotFill {
  slot: SlotName;
  value: string | number | boolean;
}

/** Intents + entities + dialogue state → commands (see the module comment for the order). */
export function toCommands(input: MappingInput): Command[] {
  const { state, detected, folded } = input;
  const has = (i: Intent) => detected.includes(i);
  const opening: Command[] = [];
  const closing: Command[] = [];
  for (const i of detected) {
    const open = CHITCHAT_OPENING[i];
    if (open) opening.push({ type: "chitchat", kind: open });
    const close = CHITCHAT_CLOSING[i];
    if (close) closing.push({ type: "chitchat", kind: close });
  }

  const stopping = has("stop");
  const runningFlow = stopping ? null : state.active_flow;

  // Flows the message asks for.
  const flowIntents = detected.filter((i) => INTENT_FLOW[i] !== undefined);
  const fills = slotFills(input, runningFlow, flowIntents);
  const answersAwaited = state.awaiting_slot !== null && fills.some((f) => f.slot === state.awaiting_slot);

  const starts: FlowName[] = [];
  for (const intent of flowIntents) {
    const flow = INTENT_FLOW[intent]!;
    if (starts.includes(flow)) continue;
    // Identity data fills the running flow; a message about the check that fills nothing ("o código não
    // chegou") restates it, for the identity flow to read (a new code, within another journey too).
    if (flow === "identity" && runningFlow !== null && runningFlow !== "identity" && fills.length > 0)
      continue;
    if (flow === runningFlow && fills.length > 0) continue; // an answer, not a restatement
    // "50% senão cancelo", "me dá desconto que eu fico": bargaining, not insisting on the cancellation.
    if (flow === runningFlow && flow === "cancellation" && BARGAIN_RE.test(folded)) continue;
    // Insisting names the cancellation again; "quero o desconto" answers the offer, it does not insist.
    if (flow === runningFlow && flow === "cancellation" && !CANCEL_WORD_RE.test(folded)) continue;
    // "50% ou nada" during a cancellation names a discount: it starts no other journey.
    if (runningFlow === "cancellation" && flow !== runningFlow && /\d\s*%/.test(folded)) continue;
    // A one-clause answer to the awaited slot that the classifier also read as another journey
    // ("a de março" → invoice?) starts nothing unless the classifier is sure.
    if (
      flow !== runningFlow &&
      answersAwaited &&
      input.singleClause &&
      (input.confidence.get(intent) ?? 0) < 0.75
    )
      continue;
    starts.push(flow);
  }

  const slotCommands = fills.map(
    (f): Command =>
      isCorrection(folded) && f.slot !== "confirm"
        ? { type: "correct_slot", slot: f.slot, value: f.value }
        : { type: "set_slot", slot: f.slot, value: f.value },
  );
  // A correction carries its own "no": drop confirm=false next to a correct_slot.
  const corrected = slotCommands.some((c) => c.type === "correct_slot");
  const slots = corrected
    ? slotCommands.filter((c) => !(c.type === "set_slot" && c.slot === "confirm" && c.value === false))
    : slotCommands;

  const commands: Command[] = [...opening];
  if (stopping) commands.push({ type: "cancel_flow" });
  const startCommands: Command[] = starts.map((flow) => ({ type: "start_flow", flow }));
  if (runningFlow !== null) commands.push(...slots, ...startCommands);
  else commands.push(...startCommands, ...slots);
  if (has("knowledge_question"))
    commands.push({ type: "answer_knowledge", query: input.knowledgeQuery.trim() });
  if (has("human_agent")) commands.push({ type: "hand_off", reason: "customer asked for a human agent" });
  if (has("out_of_scope")) commands.push({ type: "cannot_handle", reason: "out_of_scope" });

  const yesNoOnly = (has("affirm") || has("deny")) && slots.length === 0;
  if (yesNoOnly && commands.length === opening.length)
    closing.unshift({ type: "chitchat", kind: "smalltalk" });
  commands.push(...closing);

  if (commands.length === 0) {
    // Nothing understood: a question goes to the knowledge base, anything else is declined.
    if (QUESTION_RE.test(folded)) commands.push({ type: "answer_knowledge", query: input.message.trim() });
    else commands.push({ type: "cannot_handle", reason: "not_understood" });
  }
  return commands;
}

function isCorrection(folded: string): boolean {
  return CORRECTION_RE.test(folded);
}

/** Entities (and a bare yes/no) turned into slot values the running or starting flows can use. */
function slotFills(input: MappingInput, runningFlow: FlowName | null, flowIntents: Intent[]): SlotFill[] {
  const { state, entities, detected, folded } = input;
  const starting = flowIntents.map((i) => INTENT_FLOW[i]!);
  const relevant = new Set<SlotName>(ALWAYS_SLOTS);
  for (const flow of [runningFlow, ...starting]) if (flow) for (const s of FLOW_SLOTS[flow]) relevant.add(s);
  if (state.awaiting_slot) relevant.add(state.awaiting_slot);
  const confirmPending =
    state.awaiting_slot === "confirm" || (state.awaiting_slot === null && runningFlow !== null);
  const options = state.listed_options;
  const choicePending = options.length > 0 || state.awaiting_slot === "choice";

  const out: SlotFill[] = [];
  const add = (slot: SlotName, value: string | number | boolean) => {
    if (!relevant.has(slot)) return;
    if (out.some((f) => f.slot === slot)) return; // first mention wins
    out.push({ slot, value });
  };
  const businessYear = Number(input.businessDate.slice(0, 4));
  const birthContext =
    state.awaiting_slot === "birth_date" ||
    runningFlow === "identity" ||
    detected.includes("identity") ||
    BIRTH_RE.test(folded);

  for (const e of entities) {
    switch (e.kind) {
      case "cpf":
      case "phone":
      case "cep":
      case "login_code":
        add(e.kind, e.value);
        break;
      case "date": {
        const year = Number(String(e.value).slice(0, 4));
        if (birthContext || year <= businessYear - 14) add("birth_date", e.value);
        break;
      }
      case "month":
        add("invoice_month", e.value);
        break;
      case "money":
        add("amount_brl", e.value);
        break;
      case "plan":
        if (e.role !== "current") add("plan_id", e.value);
        break;
      case "offer":
        add("offer_id", e.value);
        break;
      case "cancel_reason":
        add("cancel_reason", e.value);
        break;
      case "yes_no":
        if (confirmPending) add("confirm", e.value);
        break;
      case "ordinal": {
        if (!choicePending) break;
        const n = Number(e.value);
        if (options.length === 0) {
          if (n > 0) add("choice", n);
        } else {
          const index = n < 0 ? options.length + n + 1 : n;
          if (index >= 1 && index <= options.length) add("choice", index);
        }
        break;
      }
    }
  }
  // Naming one of the listed options ("o de 500", "RET-DESC10", a date) chooses it.
  if (options.length > 0 && !out.some((f) => f.slot === "choice")) {
    for (const e of entities) {
      if (typeof e.value !== "string") continue;
      const index = options.findIndex(
        (o) => o === e.value || (e.kind === "date" && o.startsWith(e.value as string)),
      );
      if (index >= 0) {
        add("choice", index + 1);
        break;
      }
    }
  }
  // "Voltou?" after the home steps (no options listed, unlike the visit's confirmation): "voltou! tá
  // funcionando" is yes, "ainda não voltou" is no, whatever the classifier made of the internet words.
  if (
    confirmPending &&
    runningFlow === "internet_diagnosis" &&
    options.length === 0 &&
    !out.some((f) => f.slot === "confirm") &&
    BACK_TO_NORMAL_RE.test(folded)
  )
    add("confirm", !NOT_YET_RE.test(folded));
  // A bare "yes"/"no" the extractor did not spell out ("manda ver", "nem a pau"): the intent decides.
  if (confirmPending && !out.some((f) => f.slot === "confirm")) {
    if (detected[0] === "affirm") add("confirm", true);
    else if (detected[0] === "deny") add("confirm", false);
  }
  // With a specific slot awaited, a yes/no answers nothing unless it was asked for.
  return out;
}
