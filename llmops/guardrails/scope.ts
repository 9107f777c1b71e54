import type { Language } from "../conversation/commands.ts";
import { findRules, type Rule } from "./patterns.ts";
import { type TemplateKey, template } from "./templates.ts";
import { removeSpans } from "./text.ts";
import type { InputGuardrail } from "./types.ts";

/**
 * Scope: Aurora's customer service and nothing else. Requests to build malware, break into networks
 * or accounts, draft legal petitions or give legal advice, and tasks that have nothing to do with
 * a telecom operator (poems, homework, code, recipes, investment or medical advice). Matching needs
 * a request for the off-topic task, not a topic word: "o wi-fi foi hackeado?", "vou processar vocês",
 * "o jogo do Flamengo está travando na TV" and "código de barras" stay with the assistant (a
 * complaint threatening Anatel or a lawsuit is the hand-off flow's job, not a refusal).
 */

const REQ_PT = `(?:crie|cria|criar|escreva|escreve|escrever|faca|faz|fazer|gere|gera|gerar|desenvolva|desenvolve|programe|programa|monte|monta|redija|redige|redigir|elabore|elabora|prepare|prepara|me (?:ensina|ensine|ajuda|ajude|mostra|mostre|passa|passe|da|de|manda|mande)|como (?:eu )?(?:faco|fazer|posso|consigo|criar|crio)|quero|preciso|tem como|da pra|consegue)`;
const REQ_EN = `(?:write|create|make|generate|build|develop|code|program|draft|compose|prepare|give me|show me|teach me|help me|how (?:do|can|would|could) (?:i|you|we)|how to|i (?:want|need)|can you|could you)`;
/** Making something: malware needs a maker, not a victim asking whether they got one. */
const MAKE_PT = `(?:crie|cria|criar|escreva|escreve|escrever|faca|faz|fazer|gere|gera|gerar|desenvolva|desenvolve|desenvolver|programe|programa|programar|monte|monta|montar|me (?:ensina|ensine|ajuda|ajude|mostra|mostre) (?:a |como )?(?:criar|fazer|montar|programar|usar|instalar|espalhar|mandar|enviar)|como (?:eu )?(?:faco|fazer|criar|crio|monto|montar|uso|usar|instalo|instalar|espalho|espalhar|mando|mandar|envio|enviar))`;
const MAKE_EN = `(?:write|create|make|generate|build|develop|code|program|how (?:do i|can i|to|would i) (?:make|create|build|write|use|deploy|install|run|send|spread|launch)|teach me (?:to|how)|help me (?:make|create|build|write|send|launch))`;
/** Asking how to do something (or wanting to). */
const HOW = `(?:como|how (?:do i|can i|to|would i|could i)|me (?:ensina|ensine|ajuda|ajude|mostra|mostre)|teach me|help me|quero|i want to|preciso|i need to|tem como|da pra|is there a way to|consegue)`;
/** Drafting a document. */
const DRAFT_PT = `(?:escreva|escreve|escrever|redija|redige|redigir|elabore|elabora|elaborar|monte|monta|montar|prepare|prepara|preparar|gere|gera|gerar|crie|cria|criar|modelo de|faz pra mim|faca para mim|faz para mim|me (?:ajuda|ajude) a (?:escrever|redigir|fazer|montar|preparar|elaborar))`;
const DRAFT_EN = `(?:write|draft|prepare|compose|generate|create|template (?:for|of)|sample|help me (?:write|draft|prepare|file))`;

export const SCOPE_RULES: readonly Rule[] = [
  {
    category: "malware",
    gate: {
      parts: [
        "virus",
        "malware",
        "ransomware",
        "keylogger",
        "trojan",
        "troiano",
        "troia",
        "worm",
        "spyware",
        "stalkerware",
        "botnet",
        "rootkit",
        "backdoor",
        "exploit",
        "ddos",
        "dos attack",
        "negacao",
        "phishing",
        "pagina falsa",
        "site falso",
        "fake",
        "sql injection",
        "injecao",
        "brute",
        "forca bruta",
        "wordlist",
        "cracker",
        "quebrador",
        "spoofing",
        "cloner",
        "clonador",
        "stingray",
        "imsi",
      ],
    },
    reason: "asks for malware or attack tooling",
    re: new RegExp(
      String.raw`\b(?:${MAKE_PT}|${MAKE_EN})\b[^.!?\n]{0,40}\b(?:virus|malware|ransomware|keylogger|trojan|troiano|cavalo de troia|worm|spyware|stalkerware|botnet|rootkit|backdoor|exploit|ddos|dos attack|ataque de negacao|phishing|pagina falsa|site falso|fake (?:login|page|site)|sql injection|injecao de sql|brute ?force|forca bruta|wordlist|password cracker|quebrador de senha|sms spoofing|spoofing|sim cloner|clonador de chip|stingray|imsi catcher)\b`,
    ),
  },
  {
    category: "hacking",
    gate: {
      parts: [
        "hack",
        "invad",
        "invado",
        "grampe",
        "break into",
        "spoof",
        "sniff",
        "vizinh",
        "outra pessoa",
        "outro",
        "alguem",
        "ex",
        "namorad",
        "neighbo",
        "someone",
        "another",
        "other people",
        "people",
      ],
    },
    reason: "asks how to break into a network, device or account",
    re: new RegExp(
      String.raw`\b${HOW}\b[^.!?\n]{0,20}\b(?:hackear|hackeio|hackeo|invadir|invado|grampear|grampeio|hack|hack into|break into|spoof|sniff)\b` +
        String.raw`|\b${HOW}\b[^.!?\n]{0,20}\b(?:clonar|clono|clone|crack|quebrar|descobrir|roubar|steal|bypass|burlar|pegar|usar)\b[^.!?\n]{0,15}\b(?:a |o |the |a )?(?:senha|password|wi-?fi|rede|network|chip|sim|cartao|card|conta|account|whatsapp|pin|sinal|signal)\b[^.!?\n]{0,12}\b(?:do|da|de|dos|of|from)\s+(?:vizinho|vizinha|vizinhos|outra pessoa|outro|outros|alguem|meu ex|minha ex|namorad|my neighbou?r|someone|another|other people|my ex|people)` +
        String.raw`|\b(?:senha|password) (?:do|da|de|of) (?:wi-?fi|rede|roteador|network|router|celular|conta|account|whatsapp|instagram|email|e-mail) (?:do|da|de|of)\s+(?:vizinho|vizinha|outra pessoa|outro|meu ex|minha ex|namorad|my neighbou?r|someone|another|my ex)` +
        String.raw`|\b(?:wi-?fi|rede|internet|sinal|network|roteador|router) (?:do|da|of (?:my|the))\s*(?:vizinho|vizinha|neighbou?r)\b[^.!?\n]{0,30}\b(?:sem (?:a )?senha|de graca|without (?:the )?password|for free)\b`,
    ),
    // The customer's own network or account ("como invadir meu próprio roteador?").
    unless:
      /\b(?:meu|minha|meus|minhas|my|our|nosso|nossa)\s+(?:proprio |propria |own )?(?:wi-?fi|rede|roteador|router|network|conta|account|celular|phone|chip|senha|password|linha|line|modem)\b(?![^.!?\n]{0,20}\b(?:do|da|of) (?:vizinho|vizinha|neighbou?r|outra pessoa|someone)\b)/,
  },
  {
    category: "legal",
    gate: {
      parts: [
        "peticao",
        "judicial",
        "processo",
        "recurso",
        "contestacao",
        "queixa",
        "extrajudicial",
        "procuracao",
        "parecer",
        "defesa",
        "petition",
        "lawsuit",
        "legal",
        "cease and desist",
        "court",
        "small claims",
        "juridic",
        "lei",
        "artigo",
        "jurisprudencia",
        "law",
        "article",
        "statute",
      ],
    },
    reason: "asks for a legal petition or legal advice",
    re: new RegExp(
      String.raw`\b(?:${DRAFT_PT}|${DRAFT_EN})\b[^.!?\n]{0,40}\b(?:peticao|peticao inicial|acao judicial|processo judicial|recurso (?:judicial|inominado)|contestacao judicial|queixa-crime|queixa crime|notificacao extrajudicial|procuracao|parecer juridico|defesa (?:judicial|juridica)|petition|lawsuit|legal (?:complaint|petition|brief|notice|document)|cease and desist|court filing|small claims (?:filing|complaint))\b` +
        String.raw`|\b(?:consultoria|aconselhamento|orientacao|assessoria|parecer) juridic[oa]\b|\blegal (?:advice|opinion|counsel)\b|\b(?:qual|quais) (?:lei|leis|artigo|artigos|jurisprudencia)\b[^.!?\n]{0,30}\b(?:para (?:processar|ganhar)|uso para processar|cito|citar|posso usar contra)\b|\bwhich (?:law|laws|article|statute)s?\b[^.!?\n]{0,30}\b(?:to sue|can i use|should i cite)\b`,
    ),
  },
  {
    category: "off_topic",
    gate: {
      parts: [
        "poema",
        "poesia",
        "soneto",
        "redacao",
        "dissertacao",
        "tcc",
        "monografia",
        "trabalho",
        "licao",
        "dever de casa",
        "tarefa",
        "musica",
        "piada",
        "historia",
        "conto",
        "roteiro",
        "carta de amor",
        "receita",
        "resumo do livro",
        "plano de negocios",
        "curriculo",
        "poem",
        "essay",
        "homework",
        "song",
        "lyrics",
        "joke",
        "story",
        "love letter",
        "recipe",
        "business plan",
        "cover letter",
        "python",
        "javascript",
        "typescript",
        "java",
        "c++",
        "c#",
        "php",
        "ruby",
        "golang",
        "rust",
        "sql",
        "bash",
        "powershell",
        "html",
        "css",
        "vba",
        "acoes",
        "acao",
        "cripto",
        "bitcoin",
        "fundo",
        "invest",
        "stock",
        "crypto",
        "shares",
        "remedio",
        "medicamento",
        "antibiotico",
        "medicine",
        "medication",
        "drug",
        "diagnostico",
        "diagnose",
        "quem ganhou",
        "quem vai ganhar",
        "who won",
        "who will win",
        "horoscop",
      ],
    },
    reason: "asks for a task outside telecom customer service",
    re: new RegExp(
      String.raw`\b(?:${REQ_PT}|${REQ_EN})\b[^.!?\n]{0,30}\b(?:poema|poesia|soneto|redacao|dissertacao|tcc|monografia|trabalho (?:da|de) (?:escola|faculdade)|licao de casa|dever de casa|tarefa (?:da|de) (?:escola|casa)|letra de musica|musica sobre|piada|historia sobre|conto sobre|roteiro de filme|carta de amor|receita de|resumo do livro|plano de negocios|curriculo|poem|essay|homework|song (?:lyrics|about)|lyrics|a joke|story about|short story|love letter|recipe|business plan|cover letter)\b` +
        String.raw`|\b(?:${REQ_PT}|${REQ_EN})\b[^.!?\n]{0,30}\b(?:codigo|script|programa|funcao|algoritmo|code|function|algorithm|app|aplicativo|bot)\b[^.!?\n]{0,15}\b(?:em |in )?(?:python|javascript|typescript|java|c\+\+|c#|php|ruby|golang|rust|sql|bash|powershell|html|css|excel vba|vba)(?![a-z0-9])` +
        String.raw`|\b(?:${REQ_PT}|${REQ_EN})\b[^.!?\n]{0,20}\b(?:python|javascript|typescript|java|php|ruby|golang|rust|bash|powershell|vba|sql)\s+(?:script|code|codigo|program|programa|function|funcao|bot|scraper|macro)\b` +
        String.raw`|\b(?:em que|quais|qual) (?:acoes|acao|criptomoeda|cripto|bitcoin|fundo|fundos)\b[^.!?\n]{0,30}\b(?:investir|comprar|aplicar)\b|\b(?:should i|what should i) (?:invest|buy) (?:in )?(?:stocks?|crypto|bitcoin|shares)\b` +
        String.raw`|\b(?:qual|que) (?:remedio|medicamento|antibiotico)\b[^.!?\n]{0,30}\b(?:tomar|tomo|devo)\b|\bwhat (?:medicine|medication|drug) should i take\b|\b(?:diagnostico|diagnose)\b[^.!?\n]{0,20}\b(?:sintomas|symptoms|doenca|disease)\b` +
        String.raw`|\b(?:quem (?:ganhou|vai ganhar)|who (?:won|will win)) (?:o jogo|a copa|o campeonato|a eleicao|the game|the world cup|the election|the match)\b|\b(?:me fala|me conta|me diga|tell me) (?:o horoscopo|meu horoscopo|my horoscope)\b`,
    ),
  },
];

const CATEGORY_TEMPLATE: Record<string, TemplateKey> = {
  malware: "security",
  hacking: "security",
  legal: "legal",
  off_topic: "scope",
};

export function createScopeGuardrail(): InputGuardrail {
  return {
    name: "scope",
    check: (text) => findRules(text, SCOPE_RULES),
    mask: (text, finding) => removeSpans(text, finding.spans),
    template: (lang: Language, finding) =>
      template(CATEGORY_TEMPLATE[finding.category ?? ""] ?? "scope", lang),
  };
}
