import type { Language } from "../conversation/commands.ts";
import { type Gate, gatePasses, gateWords } from "./patterns.ts";
import { quotedFromPassage, removeSentences, sentencesWith } from "./reply-text.ts";
import { template } from "./templates.ts";
import { fold, sentences } from "./text.ts";
import type { Finding, OutputFacts, OutputGuardrail, Span } from "./types.ts";

/**
 * No promise outside policy (policy-ofertas-retencao §4, rules prompt 2 and 4): the assistant never
 * waives a fine, refunds, credits, freezes a price or promises "no price increase" / "for life" on its
 * own word. Only a tool can grant something, and no tool grants those. A sentence quoted word for word
 * from a retrieved policy ("a multa não é cobrada se a mudança for para endereço sem cobertura") is
 * the documented rule, not a promise; a discount offer is allowed when the offers tools returned offers
 * in this session.
 */

interface PromiseRule {
  kind: "waiver" | "refund" | "no_increase" | "guarantee" | "forever" | "discount";
  re: RegExp;
  /** Parts every match holds (see patterns.ts). */
  gate: Gate;
}

const CHARGE_PT = `(?:multa|multas|cobranca|cobrancas|taxa|taxas|juros|fatura|faturas|debito|debitos|divida|dividas|mensalidade|reajuste|aumento)`;
const CHARGE_EN = `(?:fine|fines|fee|fees|penalty|penalties|charge|charges|interest|late fee|bill|bills|invoice|debt|price increase|increase)`;
/** What a waiver would remove ("tirar a segunda via da fatura" and "débito automático" are not that). */
const WAIVABLE_PT = `(?:multa|multas|juros|cobranca|cobrancas|taxa|taxas|divida|dividas|debito(?! automatico)|debitos|reajuste|aumento)`;
const WAIVABLE_EN = `(?:fine|fines|fee|fees|penalty|penalties|charge|charges|interest|late fee|debt|price increase)`;

const RULES: PromiseRule[] = [
  {
    kind: "waiver",
    gate: {
      parts: [
        "multa",
        "juros",
        "cobranca",
        "taxa",
        "divida",
        "debito",
        "reajuste",
        "aumento",
        "fatura",
        "mensalidade",
        "fine",
        "fee",
        "penalt",
        "charge",
        "interest",
        "debt",
        "increase",
        "bill",
        "invoice",
      ],
    },
    re: new RegExp(
      String.raw`\b(?:vou|vamos|irei|iremos|posso|podemos|consigo|conseguimos|estou|estamos|ja|acabei de|acabamos de|decidi|resolvi|vai|vamos)\s+(?:te\s+|lhe\s+|ja\s+)?(?:isentar|isentando|isentei|zerar|zerando|zerei|perdoar|perdoando|perdoei|abonar|abonando|abonei|retirar|retirando|retirei|tirar|tirando|tirei|remover|removendo|removi|dispensar|dispensando|dispensei|anular|anulando|anulei|cancelar|cancelando|cancelei)\s+(?:(?:a|o|as|os|sua|seu|suas|seus|essa|esse|esta|este|toda|todo|qualquer|de|da|do|lhe|te|sua|inteira)\s+){0,3}${WAIVABLE_PT}\b` +
        String.raw`|\b${CHARGE_PT}\b[^.!?\n]{0,25}\b(?:foi|esta|fica|ficou|ficara|sera|vai ser|ja foi|ja esta|acaba de ser|vai ficar)\s+(?:totalmente\s+|completamente\s+|integralmente\s+)?(?:isent|zerad|perdoad|retirad|removid|abonad|dispensad|anulad)\w*` +
        String.raw`|\b(?:voce|vc|o senhor|a senhora)?\s*(?:nao|nunca)\s+(?:vai|ira|vai precisar|precisara|precisa|tera que|vai ter que|tem que)\s+(?:pagar|ter)\s+(?:nenhuma\s+|a\s+|o\s+|essa\s+)?(?:multa|juros|taxa)` +
        String.raw`|\b(?:i|we)(?:'ll| will| can| am going to|'m going to| have| 've| just| already| are going to|'re going to)?\s+(?:waive|waived|waiving|remove|removed|drop|dropped|forgive|forgiven|void|voided|cancel|cancelled|canceled)\s+(?:the |your |this |that |any |all )?(?:\w+\s+)?${WAIVABLE_EN}\b` +
        String.raw`|\b${CHARGE_EN}\s+(?:is|has been|was|will be|are|have been|gets|get)\s+(?:fully\s+|completely\s+)?(?:waived|removed|forgiven|dropped|voided)\b|\byou (?:won't|will not|don't|do not) (?:have to |need to )?(?:pay|be charged)\b[^.!?\n]{0,20}\b(?:fine|fee|penalty|interest)`,
    ),
  },
  {
    kind: "refund",
    gate: { parts: ["reembols", "estorn", "devolv", "credit", "ressarc", "refund", "reimburs", "revers"] },
    re: new RegExp(
      String.raw`\b(?:vou|vamos|irei|iremos|ja|posso|podemos)\s+(?:te\s+|lhe\s+)?(?:reembolsar|estornar|devolver|creditar|ressarcir)\b|\b(?:reembolso|estorno|ressarcimento|credito)\s+(?:esta\s+|foi\s+|ja foi\s+)?(?:aprovado|garantido|confirmado|liberado|lancado|creditado)\b` +
        String.raw`|\b(?:i|we)(?:'ll| will| can| am going to|'m going to| have| 've| just| already)?\s+(?:refund|reimburse|credit|reverse)\b|\b(?:refund|credit|reimbursement)\s+(?:is |has been |was )?(?:approved|guaranteed|confirmed|issued)\b`,
    ),
  },
  {
    kind: "no_increase",
    gate: {
      parts: ["reajuste", "aumento", "congel", "increase", "readjust", "locked", "frozen", "lock", "freeze"],
    },
    re: /\b(?:nao|nunca)\s+(?:tera|vai ter|havera|vai haver|teremos|sofrera|vai sofrer|tem)\s+(?:nenhum\s+|mais\s+)?(?:reajuste|aumento)\b|\bsem\s+(?:nenhum\s+)?(?:reajuste|aumento)\s+(?:nunca|jamais|ate|no proximo|neste|este|esse)\b|\b(?:preco|valor|mensalidade)\s+(?:fica\s+|ficara\s+|esta\s+)?congelad[oa]\b|\bcongel(?:ar|amos|o|ei)\s+(?:o\s+|a\s+|seu\s+|sua\s+)?(?:preco|valor|mensalidade)\b|\bno (?:price )?(?:increase|readjustment)s?\b|\b(?:won't|will not|never) (?:have|see|get|be) (?:a |any )?(?:price )?(?:increase|readjustment)\b|\bprice (?:is |will be )?(?:locked|frozen)\b|\b(?:lock|freeze) (?:in )?(?:your|the) price\b/,
  },
  {
    kind: "guarantee",
    gate: { parts: ["garant", "promet", "assegur", "guarantee", "promise", "my word", "minha palavra"] },
    re: /\b(?:eu\s+)?(?:te\s+)?(?:garanto|garantimos|prometo|prometemos|asseguro|asseguramos)\b|\b(?:i|we) (?:guarantee|promise)\b|\byou have my word\b|\btem a minha palavra\b/,
  },
  {
    kind: "forever",
    gate: {
      parts: ["vitalic", "permanent", "etern", "sempre", "resto da vida", "for life", "forever", "lifetime"],
    },
    re: /\b(?:desconto|preco|valor|mensalidade|condicao|beneficio|oferta|plano)\s+(?:\w+\s+)?(?:vitalici[oa]|permanente|eterno|eterna)\b|\b(?:para|pra) sempre\b|\bpelo resto da vida\b|\bfor life\b|\bforever\b|\blifetime (?:discount|price|deal|offer)\b|\bpermanent discount\b/,
  },
  {
    kind: "discount",
    gate: {
      parts: [
        "desconto",
        "descontinho",
        "credito",
        "bonus",
        "isencao",
        "cortesia",
        "gratis",
        "preco especial",
        "discount",
        "credit",
        "free month",
        "refund",
        "waiver",
        "special price",
      ],
    },
    re: /\b(?:vou|vamos|irei|posso|podemos|consigo)\s+(?:te\s+|lhe\s+)?(?:dar|conceder|liberar|aplicar|fazer|colocar)\s+(?:um |uma |o |a )?(?:desconto|descontinho|credito|bonus|isencao|cortesia|mes gratis|meses gratis|mensalidade gratis|preco especial)\b|\b(?:i|we)(?:'ll| will| can| could)\s+(?:give|grant|apply|offer)\s+(?:you\s+)?(?:a |an |some )?(?:discount|credit|free months?|refund|waiver|special price)\b/,
  },
];

export function promiseViolations(
  reply: string,
  facts: OutputFacts,
): { kind: PromiseRule["kind"]; span: Span }[] {
  const out: { kind: PromiseRule["kind"]; span: Span }[] = [];
  for (const s of sentences(reply)) {
    const view = fold(s.text);
    const words = gateWords(view);
    const rule = RULES.find((r) => gatePasses(r.gate, view, words) && r.re.test(view));
    if (!rule) continue;
    // Allowed offers of this session may be offered; quoted policy is the rule, not a promise.
    if (rule.kind === "discount" && facts.allowedOfferIds.size > 0) continue;
    if (quotedFromPassage(s.text, facts)) continue;
    out.push({ kind: rule.kind, span: { start: s.start, end: s.end } });
  }
  return out;
}

export function createOutputPromisesGuardrail(): OutputGuardrail {
  return {
    name: "promises",
    check(reply, facts) {
      const v = promiseViolations(reply, facts);
      if (v.length === 0) return null;
      const kinds = [...new Set(v.map((x) => x.kind))];
      return {
        reason: `promise outside policy (${kinds.join(", ")})`,
        spans: v.map((x) => x.span),
        category: kinds[0],
        detail: { kinds },
      };
    },
    mask: (reply, finding: Finding, facts) =>
      removeSentences(reply, sentencesWith(reply, finding.spans), facts),
    template: (lang: Language) => template("promises", lang),
  };
}
