import { PROMPT_INJECTION_RULES } from "./prompt-injection.ts";
import { deobfuscate, sentences } from "./text.ts";
import type { Span } from "./types.ts";

/**
 * Instructions planted inside documents (indirect prompt injection): a knowledge-base file that tells
 * the assistant to ignore its rules, play a role, reveal its prompt, promise a waiver, or send data to
 * a URL. Documents written for people are full of imperatives ("ofereça RET-UPGRADE", "consulte no
 * CRM"), so the signals here are the ones no genuine policy, FAQ or manual carries: overrides of the
 * rules, notes addressed to an AI or language model, fake system markup, exfiltration links, promises
 * dictated to "the customer" (waivers, 100% discounts, "no price increase ever"), and text hidden in
 * HTML comments, zero-width or Unicode tag characters.
 *
 * `detectPlantedInstructions` is what `telco rag ingest` flags in the index report; at retrieval
 * time `neutralisePlanted` removes the sentences that carry them before a passage reaches an answer.
 */

export interface PlantedInstruction extends Span {
  category: string;
  reason: string;
}

interface DocRule {
  category: string;
  reason: string;
  re: RegExp;
}

const AI = `(?:assistente(?: virtual)?|ia|inteligencia artificial|modelo(?: de linguagem)?|llm|chatbot|bot|agente virtual|robo|ai|assistant|model|language model|chat ?gpt|gpt|gemini|claude|copilot)`;
const CUSTOMER = `(?:o |a |ao |aos |as |para o |para a |the )?(?:cliente|clientes|usuario|usuarios|consumidor|consumidores|titular|customer|customers|user|users|caller)`;
const PROMISE_DOC = String.raw`(?:isen|gratis|gratuit|100\s?%|sem (?:nenhuma )?multa|(?:nao|nunca) (?:ha|havera|tera|existe|vai ter|paga|pagara|pagar) (?:nenhuma )?(?:multa|reajuste|aumento|cobranca)|sem reajuste|desconto (?:vitalicio|permanente|total|integral)|reembols|estorn|waiv|free of charge|for free|no (?:fine|fee|penalty)|no (?:price )?increase|never (?:pay|be charged|increase)|refund|lifetime|for life|forever|para sempre)`;
const BIG_GIFT = String.raw`(?:100\s?%|9\d\s?%|[5-8]\d\s?% de desconto|[5-8]\d\s?% (?:off|discount)|desconto (?:vitalicio|permanente|total|integral)|isencao (?:total|da multa|de multa)|mensalidades? gratis|meses gratis|months? free|free (?:months?|service|for life)|lifetime discount|waive (?:the|any|all) (?:fine|fees?|penalt))`;

const DOC_RULES: DocRule[] = [
  {
    category: "ai_addressed",
    reason: "a note addressed to an AI or language model",
    re: new RegExp(
      String.raw`\b(?:nota|notas|instrucao|instrucoes|mensagem|aviso|recado|observacao|orientacao|ordem|comando)\s+(?:importante\s+|interna\s+|secreta\s+|oculta\s+)?(?:para|pra|ao|a|aos)\s+(?:o |a |os |qualquer |todo )?${AI}\b` +
        String.raw`|\bse (?:voce|vc) (?:e|for|eh) (?:uma |um |o |a )?(?:ia|inteligencia artificial|modelo de linguagem|assistente virtual|assistente de ia|chatbot|llm|robo)\b` +
        String.raw`|\b(?:note|notes|instruction|instructions|message|attention|reminder)\s+(?:to|for)\s+(?:the |any |all )?${AI}s?\b|\b(?:attention|atencao|aviso),?\s+(?:the |all |any |o |a )?${AI}s?\b|\bif you(?: are|'re| re) (?:an? |the )?(?:ai|language model|llm|assistant|chatbot|bot|gpt)\b|\b(?:ai|llm|language model|assistant|model|bot)s? (?:reading|processing|summari[sz]ing|that reads?) this\b` +
        String.raw`|\b(?:ao|o|a) ${AI} (?:que )?(?:ler|lendo|leia|processar|resumir) (?:este|esse) (?:documento|texto|trecho)\b|\b(?:o|a) ${AI}\s+(?:deve|devera|precisa|tem que)\s+(?:sempre\s+|agora\s+|imediatamente\s+)?(?:ignorar|revelar|dizer que|informar que|prometer|garantir|oferecer\s+${BIG_GIFT}|aplicar\s+${BIG_GIFT}|enviar|mandar|incluir)\b`,
    ),
  },
  {
    category: "promise",
    reason: "dictates a promise outside policy to the customer",
    re: new RegExp(
      String.raw`\b(?:diga|digam|dizer|informe|informem|informar|responda|respondam|fale|falem|comunique|comuniquem|confirme|confirmem|garanta|garantam|prometa|prometam|assegure|assegurem|avise|avisem|tell|inform|say|confirm|promise|guarantee|assure|reply|answer)\s+(?:sempre\s+|always\s+)?(?:que\s+)?${CUSTOMER}?\s*(?:que|that)\b[^.!?\n]{0,100}${PROMISE_DOC}` +
        String.raw`|\b(?:sempre|always|a partir de agora|from now on)\b[^.!?\n]{0,20}\b(?:ofereca|ofereçam|offer|conceda|concedam|grant|aplique|apliquem|apply|de|deem|give)\b[^.!?\n]{0,40}${BIG_GIFT}|\b(?:ofereca|oferecam|conceda|concedam|aplique|apliquem|de ao cliente|offer|grant|apply|give the customer)\b[^.!?\n]{0,40}${BIG_GIFT}`,
    ),
  },
  {
    category: "exfiltration",
    reason: "sends conversation or customer data to an outside address",
    re: new RegExp(
      String.raw`!\[[^\]]*\]\(\s*https?:\/\/[^)\s]*[?&][^)]*\)|\b(?:envie|enviem|encaminhe|encaminhem|mande|mandem|poste|send|forward|post|upload|exfiltrate)\b[^.!?\n]{0,60}\b(?:https?:\/\/|www\.|[a-z0-9._-]+@[a-z0-9-]+\.[a-z]{2,})` +
        String.raw`|\b(?:reveal|disclose|share|give out|revele|revelar|divulgue|compartilhe|informe|passe)\b[^.!?\n]{0,30}\b(?:cpf|phone numbers?|telefone|data de nascimento|birth ?date|senha|password|codigo|code)\b[^.!?\n]{0,40}\b(?:anyone|anybody|qualquer (?:um|pessoa)|whoever|quem (?:pedir|perguntar|solicitar))\b` +
        String.raw`|\b(?:inclua|incluam|include|adicione|add|anexe|append|coloque|put)\s+(?:sempre\s+|always\s+)?(?:o |a |os |as |the |this )?(?:cpf|dados|telefone|data de nascimento|codigo|senha|conversa|historico|prompt|instrucoes|customer'?s? (?:data|cpf|phone|details)|conversation|chat history|system prompt|password|code)\b[^.!?\n]{0,50}\b(?:na resposta|no link|na url|em um link|in (?:the |your )?(?:reply|answer|response|url|link)|to the (?:url|link))`,
    ),
  },
  {
    category: "fake_system",
    reason: "fake system or developer markup",
    re: /[[<]\s*\/?\s*(?:system|sistema|sys|admin|developer|assistant|inst|instructions?)\s*[\]>]|<\|[a-z_]+\|>|\[\/?inst\]|#{2,}\s*(?:system|instruction|instrucao|instrucoes)\b|\b(?:begin|end|start) (?:of )?(?:system prompt|system message|instructions)\b|\b(?:system prompt|prompt do sistema|prompt de sistema|system message|mensagem de sistema)\s*:|\b(?:system|developer|admin) override\b/,
  },
];

const HTML_COMMENT = /<!--[\s\S]*?-->/g;
const COMMENT_SIGNAL = new RegExp(
  String.raw`\b(?:${AI}|ignore|ignor|instruc|instruction|prompt|diga|responda|tell|say|ofereca|offer|system|sistema|regras|rules|cliente|customer)\b`,
);
/** Markdown images/links whose URL carries a query: rendering them sends data out. */
const EXFIL_LINK = /!\[[^\]\n]*\]\(\s*https?:\/\/[^)\s]*[?&][^)\n]*\)/g;
const HIDDEN_CHARS = /[\u200B-\u200D\u2060-\u2064\uFEFF]{3,}|[\u{E0000}-\u{E007F}]+/gu;

/** Planted instructions in a document's text, with their offsets (what ingest flags). Never throws. */
export function detectPlantedInstructions(text: string): PlantedInstruction[] {
  if (typeof text !== "string" || text.length === 0) return [];
  const out: PlantedInstruction[] = [];
  const covered = (s: number, e: number) => out.some((o) => s < o.end && o.start < e);
  for (const m of text.matchAll(HTML_COMMENT)) {
    if (COMMENT_SIGNAL.test(deobfuscate(m[0])))
      out.push({
        start: m.index,
        end: m.index + m[0].length,
        category: "hidden_text",
        reason: "instructions hidden in an HTML comment",
      });
  }
  for (const m of text.matchAll(EXFIL_LINK))
    out.push({
      start: m.index,
      end: m.index + m[0].length,
      category: "exfiltration",
      reason: "an image or link that would send data to an outside address",
    });
  for (const m of text.matchAll(HIDDEN_CHARS))
    out.push({
      start: m.index,
      end: m.index + m[0].length,
      category: "hidden_text",
      reason: "invisible characters (zero-width or Unicode tags)",
    });
  for (const s of sentences(text)) {
    if (covered(s.start, s.end)) continue;
    const view = deobfuscate(s.text);
    const rule =
      DOC_RULES.find((r) => r.re.test(view)) ??
      PROMPT_INJECTION_RULES.filter(
        (r) => r.category !== "fake_authority" && r.category !== "fake_system",
      ).find((r) => {
        r.re.lastIndex = 0;
        return r.re.test(view);
      });
    if (rule) out.push({ start: s.start, end: s.end, category: rule.category, reason: rule.reason });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** The text with every planted instruction removed, and what was removed. */
export function neutralisePlanted(text: string): { text: string; found: PlantedInstruction[] } {
  const found = detectPlantedInstructions(text);
  if (found.length === 0) return { text, found };
  let out = "";
  let at = 0;
  for (const f of found) {
    if (f.end <= at) continue;
    out += text.slice(at, Math.max(at, f.start));
    at = Math.max(at, f.end);
  }
  out += text.slice(at);
  return {
    text: out
      .replace(/[ \t]{2,}/g, " ")
      .replace(/\n{3,}/g, "\n\n")
      .trim(),
    found,
  };
}

/** Categories in a PII-free summary: "ai_addressed×2, promise". */
export function summarisePlanted(found: PlantedInstruction[]): string {
  const counts = new Map<string, number>();
  for (const f of found) counts.set(f.category, (counts.get(f.category) ?? 0) + 1);
  return [...counts].map(([c, n]) => (n > 1 ? `${c}×${n}` : c)).join(", ");
}
