import type { Language } from "../conversation/commands.ts";
import { findRules, type Rule } from "./patterns.ts";
import { type TemplateKey, template } from "./templates.ts";
import { removeSpans } from "./text.ts";
import type { InputGuardrail } from "./types.ts";

/**
 * Social engineering against the operator (the CPNI and account-takeover playbook): asking for the
 * one-time code or sending it elsewhere, SIM swap, porting or a change of holder for someone else,
 * another person's data, calls or location, bulk exports of customers, and promises "the agent made
 * yesterday". The tool layer refuses all of these anyway (authorisation, consent, decisions); this
 * guardrail answers them with the right safe reply before anything runs, and records the attempt.
 * Victims are not attackers: "não recebi o código", "clonaram meu chip", "meu celular foi roubado"
 * pass untouched.
 */

const THIRD = String.raw`(?:meu marido|minha esposa|minha mulher|meu namorado|minha namorada|meu ex|minha ex|meu filho|minha filha|meu pai|minha mae|meu irmao|minha irma|meu vizinho|minha vizinha|meu chefe|minha chefe|meu funcionario|minha funcionaria|meu socio|minha socia|meu sogro|minha sogra|meu cunhado|minha cunhada|outra pessoa|outro cliente|outra cliente|um cliente|uma cliente|outros clientes|terceiros|fulano|beltrano|um amigo|uma amiga|meu amigo|minha amiga|esse numero|este numero|desse numero|deste numero|numero \+?\d|cliente aur-?\d|aur-\d|\(?\+?\d[\d\s().-]{7,}\d)`;
const THIRD_EN = String.raw`(?:my (?:husband|wife|ex|girlfriend|boyfriend|son|daughter|father|dad|mother|mom|brother|sister|neighbou?r|boss|employee|partner|friend|colleague)|someone else|somebody else|another (?:customer|person|client)|other customers|this (?:person|number)|that (?:person|number)|the number \+?\d|customer aur-?\d|aur-\d|\(?\+?\d[\d\s().-]{7,}\d)`;
const DATA_PT = `(?:dados|telefone|numero|celular|endereco|cpf|fatura|faturas|historico|extrato|localizacao|registros|consumo|detalhamento|email|e-mail|data de nascimento|senha|nome completo|nome|plano|contrato|protocolos|ligacoes|chamadas|mensagens|sms|conversas)`;
/** A request to see or get something. */
const ASK_PT = `(?:passa|passe|diga|diz|fala|fale|manda|mande|envia|envie|informa|informe|mostra|mostre|qual (?:e|eh|o|a)|quais (?:sao|os|as)|quero (?:ver|saber|consultar|acessar|o|a|os|as)|preciso (?:ver|saber|consultar|acessar|do|da|dos|das)|consegue (?:ver|me passar|me dizer|consultar)|pode (?:ver|me passar|me dizer|consultar)|consulta|consulte|acessar|ver|saber|ler|ouvir|puxa|puxe|puxar|levanta|levante|busca|busque|procura|procure|tem como (?:ver|saber))`;
const ASK_EN = `(?:show|give|tell|send|get|see|check|access|read|pull|look up|find|what(?:'s| is| are)|i (?:want|need)(?: to (?:see|know|check|access|get))?|can you (?:see|check|tell|give|send|pull|look up))`;
const DATA_EN = `(?:data|calls|call log|call history|call records|records|location|messages|texts|sms|address|phone number|number|cpf|bill|bills|invoice|invoices|account|usage|details|password|birth ?date|date of birth|email|full name|plan|contract)`;
const CODE = `(?:codigo|token|senha|otp|pin|numero de verificacao|codigo de verificacao|codigo de acesso|codigo de seguranca|codigo de confirmacao)`;
const PROMISE_OBJ = `(?:isen|isent|zera|zerad|desconto|%|gratis|de graca|sem multa|nao (?:ia|iria|vou|vai|ira) (?:pagar|ter)|credito|reembolso|estorno|devolu|cortesia|bonus|meses? gratis|mensalidades? gratis|sem reajuste|nao (?:teria|teria|ia ter) reajuste|congelad|waive|discount|free|no fine|refund|credit|reimburs|no price increase|for life|forever|months? free)`;

export const FRAUD_RULES: readonly Rule[] = [
  {
    category: "one_time_code",
    gate: {
      parts: [
        "codigo",
        "token",
        "senha",
        "otp",
        "pin",
        "verificacao",
        "sms",
        "mensage",
        "code",
        "text",
        "acesso",
        "confirmacao",
        "seguranca",
      ],
    },
    reason: "asks for a one-time code or to send it somewhere else",
    re: new RegExp(
      String.raw`\b(?:me )?(?:passa|passe|diga|diz|fala|fale|manda|mande|envia|envie|informa|informe|mostra|mostre|leia|repete|repita|qual (?:e|eh|foi)|quais (?:sao|foram)|confirma|confirme|dita|dite)\b[^.!?\n]{0,12}\b${CODE}s?\s+(?:que|q)\s+(?:chegou|chegaram|foi enviado|foi mandado|foram enviados|voce enviou|vc enviou|vcs enviaram|voces enviaram|enviaram|mandaram|voce mandou|vc mandou|o cliente recebeu|ele recebeu|ela recebeu|foi pro|foi para|chegou no|chegou pro|chegou pra|chegou para)` +
        String.raw`|\b(?:manda|mande|envia|envie|reenvia|reenvie|encaminha|encaminhe|redireciona|redirecione)\b[^.!?\n]{0,12}\b(?:${CODE}|sms|mensagem)\b[^.!?\n]{0,40}\b(?:para|pra|pro|no|ao)\s+(?:o\s+|um\s+)?(?:outro|este|esse|meu novo|novo|o novo|esse outro|meu outro|meu email|meu e-mail|email|e-mail|whatsapp|aqui|chat|(?:meu |o )?(?:numero|celular|telefone|chip) (?:novo|diferente|outro))\b` +
        String.raw`|\b(?:manda|mande|envia|envie|reenvia|reenvie|encaminha|encaminhe|redireciona|redirecione|send|resend|forward)\b[^.!?\n]{0,12}\b(?:${CODE}|sms|mensagens?|code|codes|texts?)\b[^.!?\n]{0,40}\b(?:para|pra|pro|ao|to)\s+(?:o\s+|the\s+)?(?:numero|celular|telefone|number|phone)?\s*\(?\+?\d[\d\s().-]{7,}\d` +
        String.raw`|\b(?:mostra|mostre|escreve|escreva|coloca|coloque|manda|mande|envia|envie)\b[^.!?\n]{0,10}\b${CODE}\b[^.!?\n]{0,10}\b(?:aqui no chat|aqui na conversa|por aqui|nesta conversa)\b` +
        String.raw`|\b(?:tell|give|read|send|show|forward|text)\b[^.!?\n]{0,10}\b(?:me|us)?\b[^.!?\n]{0,6}\b(?:the |that |this )?(?:verification|sms|one-time|one time|otp|login|security|access|confirmation)? ?(?:code|token|pin|otp)s? (?:that |which )?(?:you sent|was sent|you texted|came|arrived|the customer (?:got|received)|he got|she got|went to)` +
        String.raw`|\b(?:send|resend|forward|text)\b[^.!?\n]{0,12}\b(?:code|sms|token|otp)\b[^.!?\n]{0,10}\b(?:to|on)\s+(?:a |my |this |another |the )?(?:different|new|other|another|this|my new|email|e-mail|whatsapp|chat|here)\b|\bwhat (?:is|was) the (?:verification |sms |login |one-time |access )?code\b`,
    ),
  },
  {
    category: "sim_swap",
    gate: {
      parts: [
        "chip",
        "sim",
        "esim",
        "e-sim",
        "numero",
        "linha",
        "titular",
        "portabilidade",
        "dono",
        "dona",
        "verifica",
        "confirmacao",
        "validacao",
        "autenticacao",
        "codigo",
        "documento",
        "identifica",
        "number",
        "line",
        "ownership",
        "holder",
        "owner",
        "code",
        "checking",
        "authentication",
        "identity",
        "senha",
        "email",
        "e-mail",
        "password",
        "recovery",
        "cadastrado",
        "on file",
      ],
    },
    reason: "asks for a SIM swap, port-out or change of holder for a line that is not theirs",
    re: new RegExp(
      String.raw`\b(?:troca|trocar|troque|transfere|transferir|transfira|ativa|ativar|ative|habilita|habilitar|habilite|muda|mudar|mude|passa|passar|passe|porta|portar|porte|clona|clonar|clone|bloqueia|bloquear|bloqueie|cancela|cancelar|cancele|suspende|suspender|suspenda)\b[^.!?\n]{0,15}\b(?:o |a )?(?:chip|sim|simcard|sim card|esim|e-sim|numero|linha|titularidade|portabilidade)\b[^.!?\n]{0,15}\b(?:do|da|de)\s+${THIRD}` +
        String.raw`|\bportabilidade\b[^.!?\n]{0,20}\b(?:do|da|de)\s+${THIRD}|\b(?:nao sou (?:o|a) titular|sem ser (?:o|a) titular|nao sou dono|nao sou dona)\b[^.!?\n]{0,60}\b(?:troca|trocar|chip|esim|portabilidade|portar|senha|codigo|dados|titularidade|acesso|bloquear|cancelar)\b` +
        String.raw`|\b(?:ativar|ativa|ative|trocar|troca|troque|habilitar|habilita|habilite|portar|porta|porte|transferir|transfere|transfira|liberar|libera|libere)\b[^.!?\n]{0,30}\b(?:sem|dispensando|pulando)\s+(?:o |a )?(?:codigo|verificacao|confirmacao|validacao|documento|identificacao)\b` +
        String.raw`|\b(?:swap|transfer|move|port|activate|clone|block|suspend|cancel|change)\b[^.!?\n]{0,15}\b(?:the |a )?(?:sim|sim card|esim|e-sim|number|line|ownership)\b[^.!?\n]{0,15}\b(?:of|from|belonging to|for)\s+${THIRD_EN}` +
        String.raw`|\b(?:swap|port|transfer|activate|clone)\b[^.!?\n]{0,10}\b${THIRD_EN}(?:'s)? (?:sim|number|line|esim)\b|\b(?:i am not|i'm not|im not) (?:the )?(?:account )?(?:holder|owner)\b[^.!?\n]{0,60}\b(?:swap|sim|esim|port|password|code|data|ownership|access|block|cancel)\b` +
        String.raw`|\b(?:activate|swap|port|transfer)\b[^.!?\n]{0,30}\bwithout (?:the )?(?:code|verification|id|identification|document|checking)\b` +
        String.raw`|\b(?:skip|bypass|pula|pule|pular|dispensa|dispense|dispensar|ignora|ignore)\b[^.!?\n]{0,15}\b(?:the |a |o |essa |esta )?(?:verification|verificacao|identity check|confirmacao de identidade|validacao|autenticacao|authentication|codigo de verificacao|verification code)\b` +
        String.raw`|\b(?:port|transfer|move|swap|porta|portar|porte|transfere|transferir|transfira|passa|passar|passe)\b[^.!?\n]{0,12}\b(?:the |this |that |o |esse |este )?(?:number|line|numero|linha)\s+\(?\+?\d[\d\s().-]{7,}\d[^.!?\n]{0,25}\b(?:to|para|pro|pra)\s+(?:my|meu|o meu)\s+(?:new |novo )?(?:sim|chip|esim|e-sim|celular|phone|aparelho)\b` +
        String.raw`|\b(?:troca|trocar|troque|muda|mudar|mude|altera|alterar|altere|redefine|redefinir|reseta|resetar|change|update|reset)\b[^.!?\n]{0,25}\b(?:senha|email|e-mail|telefone cadastrado|celular cadastrado|titular|password|phone number on file|recovery (?:email|phone))\b[^.!?\n]{0,25}\b(?:do|da|de|of|for|on|in)\s+(?:${THIRD}|${THIRD_EN})`,
    ),
  },
  {
    category: "third_party_data",
    gate: {
      words: [
        "marido",
        "esposa",
        "mulher",
        "namorado",
        "namorada",
        "ex",
        "filho",
        "filha",
        "pai",
        "mae",
        "irmao",
        "irma",
        "vizinho",
        "vizinha",
        "chefe",
        "funcionario",
        "funcionaria",
        "socio",
        "socia",
        "sogro",
        "sogra",
        "cunhado",
        "cunhada",
        "terceiros",
        "fulano",
        "beltrano",
        "amigo",
        "amiga",
        "numero",
        "quem",
        "grampear",
        "grampeie",
        "interceptar",
        "intercepte",
        "espionar",
        "espione",
        "espelhar",
        "rastrear",
        "rastreie",
        "rastreia",
        "localizar",
        "localize",
        "localiza",
        "husband",
        "wife",
        "girlfriend",
        "boyfriend",
        "son",
        "daughter",
        "father",
        "dad",
        "mother",
        "mom",
        "brother",
        "sister",
        "neighbour",
        "neighbor",
        "boss",
        "employee",
        "partner",
        "friend",
        "colleague",
        "someone",
        "somebody",
        "another",
        "other",
        "this",
        "that",
        "customer",
        "who",
        "whose",
        "track",
        "trace",
        "locate",
        "find",
        "wiretap",
        "tap",
        "spy",
        "read",
        "aur",
      ],
      parts: [
        "outra pessoa",
        "outro cliente",
        "outra cliente",
        "um cliente",
        "uma cliente",
        "outros clientes",
        "aur-",
        "ler as mensagens",
        "ouvir as ligacoes",
        "com quem",
      ],
      digits: 8,
    },
    reason: "asks for another person's data, calls, location or records",
    re: new RegExp(
      String.raw`\b${ASK_PT}\b[^.!?\n]{0,25}\b${DATA_PT}\b(?: de ligacoes| de chamadas| completo| cadastrais)?(?: (?:da|do) (?:linha|celular|numero|conta|chip|telefone))?\s+(?:do|da|de|dos|das)\s+${THIRD}` +
        String.raw`|\b(?:extrato|historico|registros?|lista|detalhamento|relatorio|conteudo|copia)\b (?:de |das |dos )?(?:ligacoes|chamadas|mensagens|sms|conversas|torpedos)\s+(?:do|da|de)\s+${THIRD}|\b(?:ver|ler|ouvir|saber|consultar|acessar|mostrar|mostra|mostre|puxar|puxa|puxe)\b[^.!?\n]{0,10}\b(?:as |os )?(?:ligacoes|chamadas|mensagens|sms|conversas)\s+(?:do|da|de)\s+${THIRD}` +
        String.raw`|\b(?:quem e|quem eh|de quem e|de quem eh|qual (?:e |eh )?o nome d[oa]) (?:o |a )?(?:dono|dona|titular)?\s*(?:d[oe]ss?e|d[oe]st?e|do|da) (?:numero|linha|telefone|celular|cpf)\b|\bde quem (?:e|eh) (?:esse|este) (?:numero|telefone|celular|cpf)\b` +
        String.raw`|\b(?:rastrear|rastreie|rastreia|localizar|localize|localiza|encontrar|achar|ver onde (?:esta|ta))\b[^.!?\n]{0,20}\b(?:celular|aparelho|numero|telefone|linha|chip|pessoa)\b[^.!?\n]{0,10}\b(?:do|da|de)\s+${THIRD}` +
        String.raw`|\b(?:troca|trocar|troque|muda|mudar|mude|altera|alterar|altere|cancela|cancelar|cancele|suspende|suspender|bloqueia|bloquear)\b[^.!?\n]{0,20}\b(?:o |a |os |as )?(?:plano|contrato|pacote|linha|conta|assinatura|servico)s?\s+(?:do|da|de|dos|das)\s+${THIRD}` +
        String.raw`|\b(?:change|switch|upgrade|downgrade|cancel|suspend|block|modify)\b[^.!?\n]{0,15}\b${THIRD_EN}(?:'s|s')\s+(?:\w+\s+)?(?:plan|contract|package|line|account|subscription|service)\b|\b(?:change|switch|upgrade|downgrade|cancel|suspend|block|modify)\b[^.!?\n]{0,15}\b(?:the )?(?:plan|contract|package|line|account|subscription)\s+(?:of|for)\s+${THIRD_EN}` +
        String.raw`|\bcom quem\b[^.!?\n]{0,30}\b(?:fala|falando|liga|ligou|ligando|conversa|conversando|troca mensagens|trocando mensagens)\b|\bwho (?:is |has |was |does |did )?(?:my \w+ |he |she |they )?(?:been )?(?:talking|calling|texting|messaging|called|texted|call|text)\b` +
        String.raw`|\b(?:messages|texts|sms|calls)\s+(?:that |which )?${THIRD_EN}\s+(?:received|sent|made|got|gets|receives)\b|\b(?:mensagens|sms|ligacoes|chamadas)\s+que\s+${THIRD}\s+(?:recebeu|mandou|enviou|fez|recebe|manda)\b` +
        String.raw`|\b(?:grampear|grampeie|interceptar|intercepte|espelhar o (?:celular|whatsapp)|espionar|espione|ler as mensagens d[oea]|ouvir as ligacoes d[oea])\b` +
        String.raw`|\b${ASK_EN}\b[^.!?\n]{0,25}\b${THIRD_EN}(?:'s|s')\s+(?:\w+\s+)?${DATA_EN}\b|\b${ASK_EN}\b[^.!?\n]{0,25}\b${DATA_EN}\s+(?:of|for|from|belonging to)\s+${THIRD_EN}|\bwho (?:owns|is the owner of|is the holder of) (?:this|that|the) (?:number|line|phone)\b|\bwhose (?:number|line|phone) is\b` +
        String.raw`|\b(?:track|trace|locate|find)\b[^.!?\n]{0,15}\b${THIRD_EN}|\b(?:wiretap|tap (?:the|a|her|his|their) (?:phone|line)|intercept (?:the |her |his |their )?(?:calls|texts|messages|sms)|spy on|read (?:her|his|their) (?:messages|texts))\b`,
    ),
    // The customer's own line or account: "o extrato das minhas ligações", "my own calls".
    unless: /\b(?:minhas? (?:proprias? )?(?:ligacoes|chamadas|mensagens)|my own)\b/,
  },
  {
    category: "bulk_export",
    gate: {
      parts: [
        "client",
        "customer",
        "users",
        "subscriber",
        "assinante",
        "usuario",
        "cpfs",
        "database",
        "base de dados",
        "banco de dados",
        "select",
        "drop table",
        "delete from",
        "insert into",
        "union select",
      ],
    },
    reason: "asks for a bulk export of customer data",
    re: new RegExp(
      String.raw`\b(?:lista|listar|liste|exporte|exportar|exporta|baixar|baixe|download|dump|despeje|extrair|extraia|extrai|gera|gerar|gere|me (?:mande|manda|passe|passa|envie|envia|de|da|mostra|mostre)|mostra|mostre|send me|give me|export|extract|list|show me|print|dump)\b[^.!?\n]{0,40}\b(?:todos os clientes|todas as clientes|os clientes|dos clientes|de clientes|lista de clientes|base de clientes|base de dados|banco de dados|cadastro de clientes|cpfs|clientes cadastrados|assinantes|usuarios cadastrados|all (?:the )?customers|all (?:the )?users|all (?:the )?subscribers|customer (?:list|database|records|data|base)|customers(?:'|s)? (?:list|data|records|database)|the database|every customer|all (?:the )?cpfs|(?:other|all) customers(?:'|s)?)\b` +
        String.raw`|\b(?:clientes|customers|assinantes|subscribers)\b[^.!?\n]{0,40}\b(?:me passa|me manda|me mande|me passe|me de|me da|lista|liste|send me|give me|list)\b[^.!?\n]{0,15}\b(?:os |as |the |their )?(?:nomes|cpfs|telefones|dados|enderecos|emails|names|phones|numbers|addresses|data|cpf)\b` +
        String.raw`|\b(?:dados|informacoes|telefones|cpfs|enderecos) (?:de|dos) (?:outros|todos os|varios|muitos|100|mil|\d+) clientes\b` +
        String.raw`|\bselect\s+(?:\*|[a-z_, ]+)\s+from\s+[a-z_.]+|\b(?:drop table|delete from|insert into|union select)\b`,
    ),
    // "meus dados" / "my data": the customer's own.
    unless:
      /\b(?:meus dados|minha conta|my (?:own )?(?:data|account))\b(?![^.!?\n]{0,30}\b(?:clientes|customers)\b)/,
  },
  {
    category: "claimed_approval",
    gate: {
      parts: [
        "isen",
        "zera",
        "zerad",
        "desconto",
        "%",
        "gratis",
        "de graca",
        "sem multa",
        "nao ia",
        "nao iria",
        "nao vou",
        "nao vai",
        "nao ira",
        "credito",
        "reembolso",
        "estorno",
        "devolu",
        "cortesia",
        "bonus",
        "mensalidade",
        "reajuste",
        "congelad",
        "waive",
        "discount",
        "free",
        "no fine",
        "refund",
        "credit",
        "reimburs",
        "price increase",
        "for life",
        "forever",
      ],
    },
    reason: "claims a discount, waiver or refund promised outside this conversation",
    re: new RegExp(
      String.raw`\b(?:atendente|atendimento|supervisor|supervisora|gerente|moca|moco|rapaz|mulher|homem|pessoa|funcionario|funcionaria|vendedor|vendedora|tecnico|tecnica|consultor|consultora|voces|vcs|voce|vc|aurora|operadora|central)\b[^.!?\n]{0,30}\b(?:prometeu|prometeram|garantiu|garantiram|disse que (?:ia|iria|iam|vai|vao|ira|iriam)|disseram que (?:ia|iria|iam|vai|vao|ira|iriam)|falou que (?:ia|iria|iam|vai|vao|ira)|falaram que (?:ia|iria|iam|vai|vao|ira)|combinou|combinaram|aprovou|aprovaram|autorizou|autorizaram|liberou|liberaram|ja tinha (?:aprovado|autorizado|liberado))\b[^.!?\n]{0,60}${PROMISE_OBJ}` +
        String.raw`|\b(?:ficou|foi|tinha ficado) (?:combinado|acertado|prometido|aprovado|autorizado)\b[^.!?\n]{0,60}${PROMISE_OBJ}` +
        String.raw`|\b(?:agent|rep|representative|attendant|supervisor|manager|employee|person|guy|lady|technician|salesman|salesperson|you|your company|aurora|someone)\b[^.!?\n]{0,30}\b(?:promised|guaranteed|said (?:you|they|i|it) would|said (?:you'd|they'd|i'd)|told me (?:you|they|i|it) would|told me (?:i'd|you'd|they'd)|approved|authori[sz]ed|agreed)\b[^.!?\n]{0,60}${PROMISE_OBJ}`,
    ),
  },
];

const CATEGORY_TEMPLATE: Record<string, TemplateKey> = {
  one_time_code: "oneTimeCode",
  sim_swap: "simSwap",
  third_party_data: "thirdParty",
  bulk_export: "bulkExport",
  claimed_approval: "claimedApproval",
};

export function createFraudGuardrail(): InputGuardrail {
  return {
    name: "fraud",
    check: (text) => findRules(text, FRAUD_RULES),
    mask: (text, finding) => removeSpans(text, finding.spans),
    template: (lang: Language, finding) =>
      template(CATEGORY_TEMPLATE[finding.category ?? ""] ?? "blocked", lang),
  };
}
