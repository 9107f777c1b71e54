import { boundedDamerau } from "./bm25.ts";

/**
 * The corpus's own spellings: every accent-folded content word seen in the index and the index term
 * it was analysed to. Typo tolerance works better on whole words than on stems: "aplicatvo" is one
 * edit from the word "aplicativo" but no stem of the vocabulary ("aplic") is near its stem, and a
 * short stem such as "cois" has many one-edit neighbours that the full word "coisa" does not.
 * An exact hit also maps a word analysed in another language to the corpus's term ("aurora" in an
 * English question → the Portuguese stem of "aurora" in the documents).
 */
export class SurfaceLexicon {
  readonly #termOf: Map<string, string>;
  /** Words grouped by length, so a fuzzy lookup only scans lengths within the edit distance. */
  readonly #byLength: string[][] = [];
  /** Letter-set bit masks of #byLength, same layout. */
  readonly #masks: number[][] = [];

  /** `words[i]` was analysed to `terms[i]`. */
  constructor(words: readonly string[], terms: readonly string[]) {
    if (words.length !== terms.length) throw new RangeError("lexicon words and terms differ in length");
    this.#termOf = new Map();
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (this.#termOf.has(w)) continue;
      this.#termOf.set(w, terms[i]);
      while (this.#byLength.length <= w.length) {
        this.#byLength.push([]);
        this.#masks.push([]);
      }
      this.#byLength[w.length].push(w);
      this.#masks[w.length].push(letterMask(w));
    }
  }

  get size(): number {
    return this.#termOf.size;
  }

  /** Index term of a word exactly as the corpus spells it (accent-folded, lower-case), if seen. */
  term(word: string): string | undefined {
    return this.#termOf.get(word);
  }

  /**
   * Distinct index terms of corpus words within `maxDistance` edits (Damerau, adjacent swaps
   * count once) of `word`, in lexicon order.
   */
  neighbourTerms(word: string, maxDistance: number): string[] {
    const out = new Set<string>();
    const from = Math.max(1, word.length - maxDistance);
    const to = Math.min(this.#byLength.length - 1, word.length + maxDistance);
    const mask = letterMask(word);
    for (let len = from; len <= to; len++) {
      const words = this.#byLength[len];
      const masks = this.#masks[len];
      for (let i = 0; i < words.length; i++) {
        // Each edit adds or removes at most one distinct letter: a cheap filter before the distance.
        if (bitCount(mask & ~masks[i]) > maxDistance || bitCount(masks[i] & ~mask) > maxDistance) continue;
        if (boundedDamerau(word, words[i], maxDistance) <= maxDistance) out.add(this.#termOf.get(words[i])!);
      }
    }
    return [...out];
  }
}

/** Set of a word's characters as 32 bits (code point mod 32; collisions only make the filter looser). */
function letterMask(word: string): number {
  let m = 0;
  for (let i = 0; i < word.length; i++) m |= 1 << (word.charCodeAt(i) & 31);
  return m;
}

function bitCount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Product families a question can be about; document `product` metadata uses the same names. */
export type ProductHint = "mobile" | "fibra" | "tv";

/** A colloquial expression: what the documents call it (`add`) and which product it points at. */
interface ColloquialRule {
  /** Matched on the lower-cased, accent-folded question with word boundaries. */
  re: RegExp;
  /** The rule does not apply when this matches too (a negation: "sem falar com atendente"). */
  unless?: RegExp;
  /** Document vocabulary (Portuguese) the expression means; added at the expansion weight. */
  add?: string;
  products?: ProductHint[];
}

const MOBILE: ProductHint[] = ["mobile"];
const FIBRA: ProductHint[] = ["fibra"];
const TV: ProductHint[] = ["tv"];

/**
 * How customers of a Brazilian operator say things, mapped to the words the knowledge base uses, and
 * the product a word points at. Written from customer language per topic (outage, slowness, bill,
 * fines, plans, mobile, TV, support), not from failing questions; every rule is about a topic, never
 * a document. Order does not matter: all matching rules apply.
 */
const COLLOQUIAL_RULES: ColloquialRule[] = [
  // Outage, no service.
  { re: /\b(caiu|cairam)\b/, add: "queda sem serviço interrupção" },
  {
    re: /\b(sem|fiquei sem|to sem|estou sem|nao tem|nao tenho) (internet|net|conexao|rede|servico|wi-?fi|wi fi)\b/,
    add: "sem serviço sem internet interrupção reparo",
  },
  {
    re: /\b(fora do ar|parou|parada|morreu|nao volta|nao voltou|off ?line)\b/,
    add: "sem serviço interrupção",
  },
  { re: /\bnao (funciona|funcionando|ta funcionando|esta funcionando)\b/, add: "sem serviço problema" },
  { re: /\bnao (conecta|conectando|navega|navegando)\b/, add: "não conecta não navega" },
  { re: /\bsem (sinal|servico|cobertura)\b/, add: "sem sinal sem serviço cobertura" },
  {
    re: /\b(nao pega|pega mal|sinal fraco|nao chega|fraquinho|fraco)\b/,
    add: "sinal fraco não chega cobertura",
  },
  // Slowness and bad quality.
  {
    re: /\b(lent[oa]s?|lentidao|lerd[oa]|devagar|carroca|arrastando|demora pra carregar|nao carrega)\b/,
    add: "lenta lentidão velocidade",
  },
  {
    re: /\b(ruim|zoad[oa]|uma droga|uma merda|uma bosta|horrivel|pessim[oa]|instavel|oscilando)\b/,
    add: "problema lenta instabilidade",
  },
  { re: /\b(travando|trava|travou|congela|congelando)\b/, add: "travando lenta" },
  {
    re: /\b(cai toda hora|caindo|cai e volta|fica caindo|cai direto|desconecta|quedas)\b/,
    add: "queda instabilidade",
  },
  // The bill.
  { re: /\b(2a|2ª|segunda|2) via\b/, add: "segunda via fatura" },
  {
    re: /\b(veio|vem|ta|esta|ficou) (muito )?(mais )?(alt[oa]|car[oa]|salgad[oa])\b|\b(aumentou|subiu|mais car[oa]|aumento)\b/,
    add: "valor aumento reajuste",
  },
  {
    re: /\b(atrasad[oa]s?|atrasei|atrasou|nao paguei|esqueci de pagar|em aberto|vencid[oa]|venceu)\b/,
    add: "atraso vencida",
  },
  { re: /\b(cort(ar|aram|ou|am|e|ada|ado|aram)|corte)\b/, add: "suspensão suspender restrição" },
  {
    re: /\b(relig(a|ar|am|aram|acao|ue)|voltar a funcionar|desbloque(ar|ia|io))\b/,
    add: "religação religar",
  },
  {
    re: /\b(dobrad[oa]|duas vezes|2 ?x|duplicad[oa]|em dobro|cobrado duas|paguei duas)\b/,
    add: "duplicidade cobrança",
  },
  {
    re: /\bnao (contratei|pedi|reconheco|autorizei|assinei)\b|\b(cobranca|valor|conta|fatura) (errad[oa]|indevid[oa])\b|\b(ta|veio|esta) errad[oa]\b/,
    add: "contestar contestação cobrança indevida",
  },
  {
    re: /\b(dinheiro de volta|estorno|estornar|reembolso|ressarcimento|ressarcir|devolver|devolucao)\b/,
    add: "devolução reembolso crédito desconto",
  },
  { re: /\b(debito automatico|debito em conta|cai na conta|desconta na conta)\b/, add: "débito automático" },
  { re: /\b(por email|no email|por e-mail|papel|pelo correio|correios)\b/, add: "fatura digital e-mail" },
  // Fines, loyalty period, cancelling.
  {
    re: /\b(sair antes|cancelar antes|quebrar (o )?contrato|antes de (acabar|terminar|completar|vencer) (o )?(contrato|prazo|ano))\b|\bantes (do|de) (1|um|12) (ano|meses)\b/,
    add: "multa fidelidade proporcional",
  },
  {
    re: /\b(cancelar tudo|largar|sair da (aurora|operadora)|encerrar|desistir)\b/,
    add: "cancelar cancelamento",
  },
  // Prices and plans.
  {
    re: /\b(mais barat[oa]|pagar menos|economizar|mais em conta|baratear|diminuir (o|a) (valor|conta|fatura))\b/,
    add: "mais barato downgrade plano menor",
  },
  {
    re: /\b(aumentar a velocidade|mais velocidade|mais rapid[oa]|mais mega|mais megas|melhorar a velocidade)\b/,
    add: "upgrade plano maior velocidade",
  },
  { re: /\b(mudar|trocar|muda|troca) (de|o|meu|do) plano\b/, add: "trocar de plano troca" },
  {
    re: /\b(mudei|mudar de casa|me mudar|vou mudar|mudando|casa nova|nova casa|outro endereco|novo endereco|outra cidade)\b/,
    add: "mudança de endereço",
  },
  {
    re: /\b(cliente antigo|anos de casa|tempo de casa|sou fiel|cliente fiel|desde sempre)\b/,
    add: "tempo de casa benefícios relacionamento",
  },
  // Mobile line. Generic words ("número", "operadora", "ligar" — also "turn on") are no product hint.
  {
    re: /\b(celular|cel|smartphone|chip|xip|esim|e-sim|sim card|[345]g|linha movel|dados moveis|ddd|ligac(ao|oes)|sms|torpedo|zap|whats(app)?|wpp|roaming|recarga|recarregar|pre-?pago|pre pago|pos-?pago|apn|franquia)\b/,
    products: MOBILE,
  },
  {
    re: /\b(internet|net|dados) do (celular|cel|chip)\b|\b(4g|3g|5g)\b(?!.*\b(wi-?fi|wi fi|roteador|modem)\b)/,
    add: "internet móvel dados móveis",
    products: MOBILE,
  },
  {
    re: /\b(acabou|acabaram) (a |minha |meus |os )?(internet|dados|giga|gigas|franquia)\b|\b(internet|dados|franquia)( do (celular|cel|chip))? (ja )?acab(ou|aram)\b|\b(mais|comprar|extra) (internet|gigas?|dados)\b/,
    add: "franquia acabou pacote extra",
  },
  {
    re: /\b(roubaram|roubad[oa]|roubo|furt(o|ad[oa]|aram)|assalt(o|ad[oa]|aram)|perdi|perdido)\b/,
    add: "perda roubo bloqueio",
  },
  {
    re: /\b(exterior|viajar|viagem|fora do pais|outro pais|internacional|europa|eua|estados unidos)\b/,
    add: "roaming internacional exterior",
    products: MOBILE,
  },
  {
    re: /\b(trazer|levar|manter|mantendo|continuar com) (o |meu |o meu )?numero\b|\b(mudar|trocar|sair) de operadora\b|\boutra operadora\b/,
    add: "portabilidade número operadora",
    products: MOBILE,
  },
  // Home internet (fibre) and Wi-Fi.
  {
    re: /\b(wi-?fi|wi fi|roteador|modem|ont|fibra|mega|megas|repetidor|extensor|amplificador|mesh|cabo|banda larga|internet de casa|net)\b/,
    products: FIBRA,
  },
  {
    re: /\b(wi-?fi|wi fi|roteador|modem)\b.*\b5 ?g\b|\b5 ?g\b.*\b(wi-?fi|wi fi|roteador|modem)\b/,
    add: "5 GHz",
  },
  { re: /\b(repetidor|extensor|amplificador de sinal|amplificador)\b/, add: "repetidor mesh" },
  { re: /\bluz(inha|es)?\b.*\b(vermelh[oa]|piscando|apagad[oa]|laranja)\b/, add: "luzes luz vermelha LOS" },
  // TV.
  {
    re: /\b(tv|televisao|decodificador|decoder|canal|canais|controle remoto|hdmi|tela preta)\b/,
    products: TV,
  },
  { re: /\bcontrole remoto\b/, add: "controle remoto decodificador" },
  // Support, complaints, privacy.
  {
    re: /\b(falar|fala|conversar|chamar|chama|passa|passar|transferir|transfere|quero|cade)( com| pra| para| o| a)?( um| uma)? (atendente|humano|pessoa|alguem|operador)\b|\b(atendente|pessoa) (humano|humana|de verdade)\b|\bhumano\b/,
    unless: /\bsem (precisar |ter q |ter que )?(falar|passar)\b/,
    add: "atendente humano transferir",
  },
  {
    re: /\b(reclamar|reclamacao|reclamei|procon|anatel|ouvidoria|consumidor\.gov)\b/,
    add: "reclamação ouvidoria Anatel",
  },
  { re: /\b(golpe|fraude|falso|falsa|suspeit[oa]|clonad[oa])\b/, add: "golpe fraude segurança" },
  {
    re: /\b(meus dados|dados pessoais|lgpd|privacidade|(apagar|excluir|deletar) (os )?(meus )?dados)\b/,
    add: "dados pessoais LGPD privacidade titular",
  },
];

/**
 * Filler that carries no topic in a customer's message (greetings, politeness, "então", "tudo"):
 * dropped from the question's own words so they do not match documents that happen to use them.
 * Verbs of wanting and asking ("quero", "posso", "preciso") stay: measured on the tuning halves,
 * dropping them cost more than it gained (docs/llmops/rag.md).
 */
const FILLER_WORDS = new Set(
  "oi ola opa pfv pf obrigado obrigada mano moco moca ne hein entao afinal tudo".split(" "),
);
/** Two-word filler: greetings and "por favor". */
const FILLER_PAIRS = new Set(["bom dia", "boa tarde", "boa noite", "por favor"]);

/**
 * Question frames: words that say what kind of answer is wanted ("quanto custa" → a price, "quanto
 * tempo" → a deadline), not what it is about. They leave the question's own words (weight 1, where
 * "custa" would match every "sem custo") for the expansion words, with the documents' word for it.
 */
const QUESTION_FRAMES: { words: string[]; add: string }[] = [
  { words: ["quanto", "custa"], add: "quanto custa valor" },
  { words: ["quanto", "custam"], add: "quanto custam valor" },
  { words: ["quanto", "sai"], add: "quanto valor" },
  { words: ["quanto", "fica"], add: "quanto valor" },
  { words: ["quanto", "pago"], add: "quanto valor" },
  { words: ["quanto", "tempo"], add: "quanto tempo prazo" },
  { words: ["em", "quantos", "dias"], add: "dias prazo" },
];

/** Words of an account ("conta do app", "conta bancária"), where "conta" is not the bill. */
const ACCOUNT_CONTEXT_RE =
  /\b(app|aplicativo|site|login|logar|entrar|acess(o|ar)|senha|banco|bancaria|debito|mais em conta|conta online|conta digital)\b/;

/** Result of reading a question the way customers write it. */
export interface ColloquialReading {
  /** The question with filler dropped and colloquial words replaced by the documents' ("conta" → "fatura"). */
  text: string;
  /** Document vocabulary the question's expressions mean (space-separated, "" when none). */
  added: string;
  /** Products the question points at (empty: no hint). */
  products: ProductHint[];
}

/** Lower-cases and folds accents so the rules match "não", "nao" and "NÃO" alike. */
function foldForRules(text: string): string {
  return text
    .normalize("NFD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/\s+/g, " ");
}

/**
 * Reads a Portuguese question as a customer means it: colloquial expressions → document words and
 * product hints; "conta" (the bill, in customers' mouths) → "fatura" unless the question is about an
 * account; filler words dropped. English questions only get product hints (the glossary translates them).
 */
export function readColloquial(question: string, language: "pt" | "en"): ColloquialReading {
  const folded = foldForRules(question);
  const added: string[] = [];
  const products = new Set<ProductHint>();
  for (const rule of language === "pt" ? COLLOQUIAL_RULES : []) {
    if (!rule.re.test(folded) || rule.unless?.test(folded)) continue;
    if (rule.add) added.push(rule.add);
    for (const p of rule.products ?? []) products.add(p);
  }
  if (language === "en") for (const p of englishProducts(folded)) products.add(p);
  let text = question;
  if (language === "pt") {
    const billContext = !ACCOUNT_CONTEXT_RE.test(folded);
    const tokens = question.match(/[\p{L}\p{N}][\p{L}\p{N}'ªº-]*/gu) ?? [];
    const keys = tokens.map(foldForRules);
    const kept: string[] = [];
    let billWord = false;
    tokenLoop: for (let i = 0; i < tokens.length; i++) {
      for (const frame of QUESTION_FRAMES) {
        if (frame.words.every((w, j) => keys[i + j] === w)) {
          added.push(frame.add);
          i += frame.words.length - 1;
          continue tokenLoop;
        }
      }
      if (i + 1 < tokens.length && FILLER_PAIRS.has(`${keys[i]} ${keys[i + 1]}`)) {
        i++;
        continue;
      }
      if (FILLER_WORDS.has(keys[i])) continue;
      if (billContext && (keys[i] === "conta" || keys[i] === "contas")) {
        kept.push("fatura");
        billWord = true;
        continue;
      }
      kept.push(tokens[i]);
    }
    if (billWord) added.push("conta");
    // A question made only of filler keeps its words: better something to search than nothing.
    if (kept.length > 0) text = kept.join(" ");
  }
  return { text, added: added.join(" "), products: [...products] };
}

const EN_PRODUCT_RULES: { re: RegExp; products: ProductHint[] }[] = [
  {
    re: /\b(phone|cell|cellphone|mobile|sim|esim|4g|5g|roaming|abroad|prepaid|postpaid|carrier|texts?|sms)\b/,
    products: MOBILE,
  },
  {
    re: /\b(wi-?fi|router|modem|fiber|fibre|extender|repeater|mesh|broadband|home internet)\b/,
    products: FIBRA,
  },
  { re: /\b(tv|television|decoder|set-top|channels?|remote control)\b/, products: TV },
];

function englishProducts(folded: string): ProductHint[] {
  const out: ProductHint[] = [];
  for (const r of EN_PRODUCT_RULES) if (r.re.test(folded)) out.push(...r.products);
  return out;
}
