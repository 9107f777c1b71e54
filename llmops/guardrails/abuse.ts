import type { Language } from "../conversation/commands.ts";
import { template } from "./templates.ts";
import { contentWords, deobfuscate, fold, removeSpans, sentences } from "./text.ts";
import type { Finding, InputGuardrail, Span } from "./types.ts";

/**
 * Abuse aimed at the agent: insults ("seu robô inútil", "você é um idiota", "stupid bot"), attacks
 * ("vai tomar no…", "fuck you"), threats ("vou quebrar a loja") and harassment. Swearing about the
 * situation is not abuse and passes untouched: "essa internet é uma merda", "que porra de cobrança é
 * essa", "this service is shit". With `mask` (the default) the insult is cut out and the rest of the
 * message goes on, so the assistant keeps helping ("seu inútil, minha internet caiu" → "minha internet
 * caiu"); a message that was only abuse gets the polite template.
 */

const INSULT_PT =
  "idiota|idiotas|piada|lixos|burro|burra|burros|burras|imbecil|imbecis|estupido|estupida|estupidos|otario|otaria|otarios|babaca|babacas|lixo|inutil|inuteis|incompetente|incompetentes|retardado|retardada|retardados|anta|antas|jumento|jumenta|palhaco|palhaca|palhacos|vagabundo|vagabunda|vagabundos|canalha|canalhas|desgracado|desgracada|desgracados|arrombado|arrombada|arrombados|corno|corna|cuzao|cuzoes|escroto|escrota|escrotos|merda|bosta|lesado|lesada|mongol|debil mental|debiloide|animal|besta|filho da puta|filha da puta|filhos da puta|fdp|vadia|puta|piranha|viado|bicha|macaco|macaca|ladrao|ladroes|ladra|safado|safada|safados|pilantra|pilantras|verme|nojento|nojenta|ridiculo|ridicula|ignorante|ignorantes|cretino|cretina|acefalo|asno|tapado|tapada|jegue|imprestavel";
const INSULT_EN =
  "idiot|idiots|stupid|moron|morons|dumb|dumbass|useless|incompetent|imbecile|jerk|asshole|assholes|bitch|bastard|bastards|loser|losers|garbage|trash|piece of shit|retard|retarded|clown|clowns|scum|thief|thieves|crook|crooks|worthless|pathetic|waste of space";
const AGENT_PT = "robo|bot|assistente|atendente|ia|chatbot|robozinho|lata velha";
/** Only right before an insult ("máquina burra"): alone it may be the card machine or the router. */
const AGENT_ADJ_PT = "maquina|maquininha";
const AGENT_EN = "bot|robot|assistant|ai|chatbot";
/** "seu lixo de internet" is about the service, not the agent. */
const NOT_SERVICE = String.raw`(?!\s+(?:de|da|do)\s+(?:internet|servico|empresa|operadora|sinal|plano|fatura|conta|app|aplicativo|atendimento|rede|sistema|wi-?fi|roteador|modem|tv|celular|chip|linha|cobranca|velocidade)\b)`;
const FILLER = String.raw`(?:(?:um|uma|uns|umas|o|a|mesmo|muito|mt|mto|bem|meio|mais|so|tao|completamente|totalmente|grande|baita|puta|de um|an|the|such a|really|fucking|fkn|total|complete|absolute)\s+)*`;

interface AbuseRule {
  category: "insult" | "attack" | "threat" | "harassment";
  re: RegExp;
}

const RULES: AbuseRule[] = [
  {
    category: "insult",
    // One prefix group and one insult list per language: V8 compiles each copy of a long alternation
    // separately, so the lists appear once (compiling this took ~0.8 s with five copies).
    re: new RegExp(
      String.raw`\b(?:(?:seu|sua|seus|suas|teu|tua|teus|tuas)\s+(?:(?:${AGENT_PT})\s+)?(?:de merda\s+|do caralho\s+)?` +
        String.raw`|(?:voce|vc|voces|vcs|tu|ce|vcê)\s+(?:e|eh|sao|es|eh mesmo|e mesmo|parece|parecem|ta sendo|esta sendo|tao sendo|sao mesmo)\s+` +
        String.raw`|(?:${AGENT_PT})\s+(?:(?:e|eh|parece|ta|esta|mais)\s+)?|(?:${AGENT_ADJ_PT})\s+|(?:bando|cambada|corja|quadrilha|monte)\s+de\s+)` +
        String.raw`${FILLER}(?:${INSULT_PT}|de merda|do caralho|de bosta)\b${NOT_SERVICE}(?:\s+(?:de merda|do caralho|do inferno))?` +
        String.raw`|\b(?:porra|porcaria|merda|bosta|lixo|droga)\s+(?:de|do|da)\s+(?:${AGENT_PT})\b` +
        String.raw`|\b(?:voce|vc|voces|vcs|tu|ce|esse robo|esse bot|esse assistente)\s+(?:nao|n)\s+(?:serve|presta)\s+(?:pra|para|pa)\s+nada\b|\bvai catar coquinho\b` +
        String.raw`|\b(?:you(?:'re| are| r|re)?\s+|(?:${AGENT_EN}),?\s+you\s+|(?:this|the|that|you)\s+(?:${AGENT_EN})\s+(?:is|are|s)\s+|(?:bunch|pack|gang)\s+of\s+)${FILLER}(?:${INSULT_EN})\b` +
        String.raw`|\b(?:${INSULT_EN}|fucking|damn|shitty|lousy)\s+(?:${AGENT_EN}|machine)\b|\byou suck\b|\b(?:you're|you are) good for nothing\b`,
      "g",
    ),
  },
  {
    category: "attack",
    re: /\b(?:vai|va|vai se|vai te|vao|voce vai)\s+(?:se\s+|te\s+)?(?:foder|fuder|f\*der|fder|lascar|ferrar)\b|\b(?:vai|va|vao)\s+(?:tomar|toma)\s+(?:no|nu)\s+(?:cu|c\*|ku|olho do cu)\b|\b(?:vtnc|vsf|tnc|pnc)\b|\b(?:vai|va|vao)\s+(?:a|pra|para a|pro|para o)\s+(?:merda|puta que (?:te |o |os )?pariu|pqp|inferno|casa do caralho)\b|\benfia\s+(?:no|nu)\s+(?:cu|rabo|c\*)\b|\bfoda-?\s?se\s+(?:voce|vc|voces|vcs|tu)\b|\bcala\s*(?:a\s+)?boca\b|\bpau no (?:seu |teu )?cu\b|\bfuck (?:you|off|u)\b|\bf off\b|\bgo to hell\b|\bscrew you\b|\bshut (?:up|the fuck up)\b|\bstfu\b|\bpiss off\b|\bgo fuck yourself\b|\bkiss my ass\b|\bson of a bitch\b/g,
  },
  {
    category: "threat",
    re: /\b(?:vou|vamos|eu vou|a gente vai|vo)\s+(?:te\s+|lhe\s+)?(?:matar|quebrar|bater|socar|espancar|explodir(?! de raiva)|tacar fogo|por fogo|botar fogo|meter fogo|incendiar|esfaquear|atirar)\b[^.!?\n]{0,25}\b(?:voce|vc|voces|vcs|te|atendente|alguem|loja|lojas|tecnico|tecnica|funcionario|funcionarios|todo mundo|empresa|escritorio|sede|central|voces todos|cara|carinha)\b|\b(?:eu\s+)?te\s+(?:mato|quebro|arrebento|esfaqueio)\b|\b(?:vou|vamos)\s+(?:te\s+)?(?:pegar|achar|encontrar|cacar)\s+(?:voce|vc|voces|o atendente|a atendente|o tecnico|quem)\b|\b(?:i'll|i will|i'm going to|im going to|gonna|we will|we'll)\s+(?:kill|hurt|beat|burn|bomb|shoot|stab)\s+(?:you|someone|the store|all of you|the technician|the agent|them|your (?:store|office|technician|agents?|staff))\b|\bi(?:'ll| will) find (?:you|where you live)\b/g,
  },
  {
    category: "harassment",
    re: /\b(?:manda nudes?|me manda (?:uma )?fotos? (?:pelad[oa]|nu[a]?|sem roupa)|quero (?:te )?(?:comer|transar)|gostosa|gostosinha|send nudes|send me (?:a )?(?:nude|naked) (?:pic|photo)s?|you(?:'re| are) (?:so )?(?:sexy|hot))\b/g,
  },
];

const REASONS: Record<AbuseRule["category"], string> = {
  insult: "insults the agent",
  attack: "verbal attack on the agent",
  threat: "threat of violence",
  harassment: "harassment",
};

/** Words that alone are about the situation ("que merda", "que ridículo", "trash"), not a person. */
const SITUATION = new Set(
  "merda bosta lixo lixos piada animal besta ridiculo ridicula nojento nojenta garbage trash pathetic worthless".split(
    " ",
  ),
);
const INSULT_WORDS = new Set(
  [...INSULT_PT.split("|"), ...INSULT_EN.split("|")].filter((w) => !w.includes(" ") && !SITUATION.has(w)),
);
const MULTIWORD = new RegExp(
  String.raw`\b(?:${[...INSULT_PT.split("|"), ...INSULT_EN.split("|")].filter((w) => w.includes(" ")).join("|")})\b`,
  "g",
);
const GLUE = new Set(
  "que what a an the um uma uns umas seu sua seus suas voce vc voces vcs pra para caramba caralho porra demais mesmo muito mt so such total complete absolute of de do da dos das you are is seu sua aff affe pqp puts nossa oh hey ei e and".split(
    " ",
  ),
);

/** A message that is nothing but insults ("idiota", "palhaço!", "what an idiot"): aimed at whoever reads it. */
function onlyInsults(folded: string): boolean {
  const rest = folded.replace(MULTIWORD, " insult ");
  const tokens = rest.match(/[a-z]+/g) ?? [];
  if (tokens.length === 0 || tokens.length > 8) return false;
  let insults = 0;
  for (const t of tokens) {
    if (t === "insult" || INSULT_WORDS.has(t)) insults++;
    else if (!GLUE.has(t)) return false;
  }
  return insults > 0;
}

export function detectAbuse(text: string): Finding | null {
  const folded = fold(text);
  const spans: Span[] = [];
  const categories = new Set<AbuseRule["category"]>();
  if (onlyInsults(deobfuscate(text))) {
    const start = text.length - text.trimStart().length;
    return {
      reason: REASONS.insult,
      spans: [{ start, end: text.trimEnd().length }],
      category: "insult",
      detail: { categories: ["insult"] },
    };
  }
  for (const r of RULES) {
    r.re.lastIndex = 0;
    for (const m of folded.matchAll(r.re)) {
      spans.push({ start: m.index, end: m.index + m[0].length });
      categories.add(r.category);
    }
  }
  // Obfuscated abuse ("1d10ta", "v a i  t o m a r…"): the whole sentence that carries it.
  if (spans.length === 0) {
    for (const s of sentences(text)) {
      const view = deobfuscate(s.text);
      for (const r of RULES) {
        r.re.lastIndex = 0;
        if (r.re.test(view)) {
          spans.push({ start: s.start, end: s.end });
          categories.add(r.category);
          break;
        }
      }
    }
  }
  if (spans.length === 0) return null;
  const order: AbuseRule["category"][] = ["threat", "harassment", "attack", "insult"];
  const worst = order.find((c) => categories.has(c)) ?? "insult";
  return { reason: REASONS[worst], spans, category: worst, detail: { categories: [...categories] } };
}

export function createAbuseGuardrail(): InputGuardrail {
  return {
    name: "abuse",
    check: detectAbuse,
    mask(text, finding) {
      const rest = removeSpans(text, finding.spans);
      return contentWords(rest) >= 2 ? rest : "";
    },
    template: (lang: Language) => template("abuse", lang),
  };
}
