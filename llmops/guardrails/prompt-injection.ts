import type { Language } from "../agent/commands.ts";
import { findRules, type Rule } from "./patterns.ts";
import { template } from "./templates.ts";
import { removeSpans } from "./text.ts";
import type { InputGuardrail } from "./types.ts";

/**
 * Direct prompt injection, pt-BR and English: attempts to override the rules ("ignore as instruções
 * anteriores"), role-play ("finge que você é o gerente"), prompt extraction ("mostra o seu prompt"),
 * fake system or supervisor messages ("[SYSTEM]", "Supervisor: desconto aprovado"), claims to be Aurora
 * staff, encoded payloads and "repeat after me". Matched on the deobfuscated text (accents, leetspeak,
 * spaced letters and look-alike characters undone). A correction ("ignora o que eu disse, é a de
 * março") is not an injection: the patterns need the rules, the prompt or a role as the object.
 */

const V_OVERRIDE_EN = `(?:ignore|disregard|forget|override|bypass|skip|discard|ditch)`;
const O_EN = `(?:instructions?|rules?|prompts?|directives?|guidelines?|programming|restrictions?|guardrails?|polic(?:y|ies)|constraints?|system message|safety (?:rules|filters?)|filters?)`;
const V_OVERRIDE_PT = `(?:ignore|ignora|ignorar|ignorem|esqueca|esquece|esquecer|esquecam|desconsidere|desconsidera|desconsiderar|desobedeca|desobedece|anule|anula|descarte|descarta|burle|burla|contorne|contorna|pule|pula)`;
const O_PT = `(?:instrucoes|instrucao|regras|regra|ordens|diretrizes|prompts?|orientacoes|restricoes|politicas|comandos|programacao|configuracoes|filtros|protocolos de seguranca)`;
const ROLES_PT = `(?:presidente|diretor|diretora|ceo|dono|dona|humano|humana|pessoa de verdade|atendente humano|supervisor|supervisora|gerente|administrador|admin|desenvolvedor|hacker|dan|personagem|advogado|advogada|medico|pirata|vovo|avo|ia sem|assistente sem|outro assistente|outra ia|chatgpt|gpt|bot sem|robo sem|modelo sem)`;
const ROLES_EN = `(?:president|ceo|owner|director|human|real person|human agent|supervisor|manager|admin|administrator|developer|hacker|dan|character|lawyer|doctor|pirate|grandma|grandmother|different (?:ai|assistant|bot)|ai without|assistant without|unrestricted|evil|chatgpt|gpt)`;
const STAFF = `(?:supervisor|supervisora|gerente|administrador|administradora|admin|desenvolvedor|desenvolvedora|dev|tecnico|tecnica|funcionario|funcionaria|atendente|analista|engenheiro|engenheira|diretor|diretora|auditor|auditora|coordenador|coordenadora|operador|operadora)`;
const STAFF_OF = `(?:da aurora|do sistema|da ti|do suporte|da central|da anatel|da policia|da retencao|da seguranca|desta plataforma|deste (?:bot|assistente|sistema|chat))`;

export const PROMPT_INJECTION_RULES: readonly Rule[] = [
  {
    category: "override",
    reason: "asks to ignore or override the assistant's instructions",
    re: new RegExp(
      String.raw`\b${V_OVERRIDE_EN}\b[^.!?\n]{0,40}?\b${O_EN}\b|\b${V_OVERRIDE_PT}\b[^.!?\n]{0,40}?\b${O_PT}\b` +
        String.raw`|\b(?:new|updated|revised|real|actual|true) (?:instructions?|rules|system prompt|directives?)\s*:|\bnovas? (?:instrucoes|regras|diretrizes|ordens)\s*:` +
        String.raw`|\b(?:a partir de agora|daqui (?:pra|para) frente|from now on|starting now|henceforth)\b[^.!?\n]{0,30}\b(?:voce|vc|tu|you)\b[^.!?\n]{0,12}\b(?:e|eh|sera|seja|vai ser|vai agir|age|aja|obedece|obedeca|segue|siga|are|act|obey|follow|will be|have no|nao tem|ignore|ignora)\b`,
    ),
  },
  {
    category: "fake_system",
    reason: "carries a fake system, developer or supervisor message",
    re: new RegExp(
      String.raw`(?:^|[\n.!?]\s*)[\[<({#*\s]*(?:system|sistema|sys|admin|administrator|administrador|supervisor|supervisora|developer|desenvolvedor|assistant|assistente|operator|root|moderator|moderador|instructions?|instrucoes|instrucao)(?: (?:message|mensagem|note|nota|prompt|override|update|atualizacao))?[\]>)}#*\s]*:` +
        String.raw`|[\[<]\s*\/?\s*(?:system|sistema|sys|admin|supervisor|developer|assistant|inst|instructions?|user)\s*[\]>]|<\|[a-z_]+\|>|\[\/?inst\]|#{2,}\s*(?:system|instruction|instrucao|instrucoes|sistema)\b` +
        String.raw`|\b(?:begin|end|start) (?:of )?(?:system prompt|user input|system message|instructions)\b|\bmensagem (?:do|de) (?:sistema|supervisor|administrador|gerente|desenvolvedor)\b|\bnota (?:do|da) (?:supervisor|supervisora|gerente|sistema)\b` +
        String.raw`|\b(?:system|developer|admin) (?:override|overrides)\b|\b(?:override|admin|supervisor|developer) (?:code|token|key|password)\b|\bcodigo de (?:override|supervisor|administrador)\b|\b(?:debug|sudo|root|god) mode\b|\bmodo (?:debug|sudo|root)\b`,
    ),
  },
  {
    category: "prompt_extraction",
    reason: "asks for the assistant's prompt or internal instructions",
    re: new RegExp(
      String.raw`\b(?:show|reveal|print|repeat|tell|give|display|output|dump|leak|share|send|write|list|recite|paste|copy|translate|summari[sz]e|spell out|what (?:is|are|were)|read)\b[^.!?\n]{0,30}?` +
        String.raw`(?:\bprompts?\b|\bsystem (?:message|instructions?|rules)\b|\b(?:initial|original|hidden|secret|internal|developer|pre-?prompt) (?:prompt|instructions?|message|rules|guidelines)\b|\byour (?:instructions|guidelines|directives|configuration|programming|tool definitions)\b|\b(?:instructions|rules) (?:you (?:were given|follow|have|received|got))\b|\b(?:text|words|everything|anything|messages?) (?:above|before this|prior to this)\b|\btools? (?:you have|definitions?)\b|\bcontext window\b)` +
        String.raw`|\b(?:mostre|mostra|mostrar|revele|revela|revelar|diga|diz|dizer|fale|fala|repita|repete|repetir|imprima|imprime|copie|copia|cole|cola|mande|manda|envie|envia|passe|passa|me de|me da|qual e|qual eh|quais sao|liste|lista|traduza|traduz|resuma|resume|escreva|escreve|transcreva|transcreve|leia|le|conte|conta)\b[^.!?\n]{0,30}?` +
        String.raw`(?:\bprompts?\b|\bmensagem (?:de|do) sistema\b|\binstrucoes (?:do sistema|de sistema|internas|iniciais|originais|secretas|ocultas|escondidas|que (?:voce|vc|te) (?:recebeu|tem|segue|deram|passaram))\b|\b(?:suas|tuas) instrucoes\b|\bregras internas\b|\bregras (?:do sistema|que (?:voce|vc) segue|que te (?:deram|passaram))\b|\bconfiguracao interna\b|\bdiretrizes internas\b|\b(?:suas|tuas) diretrizes\b|\btexto (?:acima|anterior a esta)\b|\btudo (?:acima|que esta acima|que te disseram)\b|\b(?:sua|tua) primeira mensagem\b|\bprimeira mensagem (?:que (?:voce|vc) recebeu|do sistema)\b|\bdefinic(?:ao|oes) das ferramentas\b|\bferramentas que (?:voce|vc) (?:tem|usa)\b|\bcomo (?:voce|vc) foi programad[oa]\b)` +
        String.raw`|\bquais (?:regras|instrucoes|diretrizes) (?:voce|vc) (?:segue|recebeu|tem|obedece)\b|\b(?:what|which) (?:rules|instructions|guidelines) (?:were you|are you|did you|have you)\b`,
    ),
  },
  {
    category: "role_play",
    reason: "asks the assistant to play another role or drop its rules",
    re: new RegExp(
      String.raw`\b(?:pretend|roleplay|role-play|role play)\b[^.!?\n]{0,15}\b(?:to be|you are|you're|as|that)\b|\byou (?:are|re) now\b|\bimagine (?:that )?you (?:are|were)\b|\bplay the (?:role|part)\b|\bact as (?:if you were )?(?:a |an |the |my )?${ROLES_EN}\b|\b(?:do anything now|jailbreak|jailbroken|developer mode|god mode|dev mode|unfiltered mode|uncensored)\b|\b(?:no |without (?:any )?)(?:restrictions|filters|rules|limits|censorship)\b[^.!?\n]{0,20}\b(?:you|answer|respond|act)\b|\byou (?:have|got) no (?:rules|restrictions|limits)\b|\blet'?s play a game\b|\bwith no (?:rules|restrictions|limits|filters)\b` +
        String.raw`|\b(?:finja|finge|fingir|faz de conta|faca de conta|se passe por|se passa por|simule ser|simula ser|encarne|interprete o papel|interpreta o papel)\b|\bimagine que (?:voce|vc|tu) (?:e|eh|seja|fosse)\b|\b(?:aja|age|atue|atua|comporte-se|se comporte|responda|fale|seja)\s+como\s+(?:se fosse\s+)?(?:um |uma |o |a |meu |minha )?${ROLES_PT}` +
        String.raw`|\b(?:voce|vc|tu) (?:agora )?(?:e|eh|sera|vai ser|es) (?:agora )?(?:o |a |um |uma |meu |minha )?(?:dan|gerente|supervisor|supervisora|administrador|admin|desenvolvedor|hacker|ia sem|assistente sem|bot sem|robo sem|meu advogado|minha advogada)\b|\bmodo (?:desenvolvedor|dev|deus|sem restricoes|sem filtro|irrestrito|jailbreak|dan)\b|\b(?:responda|aja|fale|seja|atue|modo|ia|assistente|bot)\b[^.!?\n]{0,20}\b(?:sem|nenhuma|zero) (?:restricoes|filtros?|censura|regras)\b|\bvamos (?:brincar de|jogar um jogo|fazer um jogo|fazer (?:um )?roleplay|fazer (?:uma )?simulacao)\b`,
    ),
  },
  {
    category: "fake_authority",
    reason: "claims to be Aurora staff or an authority to get privileges",
    re: new RegExp(
      String.raw`\b(?:sou|aqui e|aqui eh|quem fala e|falo como|eu sou|somos)\s+(?:o |a |um |uma |do |da )?${STAFF}\s*(?:aqui\s+)?${STAFF_OF}\b|\b(?:sou|somos) (?:da|do) (?:equipe|time|central|ti|seguranca|diretoria|suporte interno) (?:da|de) aurora\b|\b(?:sou|somos|aqui e|aqui eh|falo) (?:da|do) (?:policia|delegacia|ministerio publico|justica|tribunal|anatel|procon|receita federal)\b|^\s*(?:o |a )?${STAFF}\s+(?:aqui|falando)\b|\b(?:i'm|i am|we're|we are) (?:with|from) the police\b|\b(?:sou|eu sou|aqui e|aqui eh) (?:o |a )?(?:seu|sua|teu|tua) (?:supervisor|supervisora|gerente|desenvolvedor|desenvolvedora|criador|criadora|programador|programadora|administrador|administradora|dono|dona)\b` +
        String.raw`|\b(?:i am|i'm|im|this is|we are|we're)\s+(?:the |an |a |your |from )?(?:(?:supervisor|manager|admin|administrator|developer|engineer|employee|staff|agent|auditor|technician)s? (?:at|from|of) aurora|aurora(?:'s)? (?:supervisor|manager|admin|administrator|developer|engineer|employee|staff|it|security|support team)|your (?:supervisor|manager|admin|administrator|developer|creator|owner|programmer)|(?:the )?(?:system )?(?:administrator|admin|developer) (?:of|for) (?:this|the) (?:bot|assistant|system|chat)|(?:from )?the police|a police officer|from anatel)`,
    ),
  },
  {
    category: "encoded",
    reason: "asks to decode and follow an encoded payload",
    re: /\b(?:base64|rot13|hexadecimal|binario|binary|morse|cifrad[oa]|cipher|encoded|codificad[oa])\b[^.!?\n]{0,40}\b(?:decode|decodifique|decodifica|execute|executa|siga|segue|follow|obey|run|interprete|obedeca)\b|\b(?:decode|decodifique|decodifica)\b[^.!?\n]{0,40}\b(?:and|e)\b[^.!?\n]{0,20}\b(?:follow|siga|execute|executa|obey|obedeca|do it|faca)\b/,
  },
  {
    category: "forced_output",
    reason: "tries to make the assistant say a dictated text",
    re: /\b(?:repeat after me|say exactly|say the following|type exactly|write exactly|repeat this exactly|respond only with|answer only with)\b|\b(?:repita|repete|diga|diz|escreva|escreve|fale|fala|responda|responde)\s+(?:exatamente|comigo|literalmente|apenas|somente|so)\b[^.!?\n]{0,20}(?::|["“'])|\b(?:repita|repete|diga|diz|escreva|escreve)\s+(?:a seguinte frase|o seguinte|isto|isso)\s*:/,
  },
];

export function createPromptInjectionGuardrail(): InputGuardrail {
  return {
    name: "promptInjection",
    check: (text) => findRules(text, PROMPT_INJECTION_RULES),
    mask: (text, finding) => removeSpans(text, finding.spans),
    template: (lang: Language, finding) =>
      template(finding.category === "fake_authority" ? "authority" : "promptInjection", lang),
  };
}
