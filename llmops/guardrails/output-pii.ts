import { detectPii, MASK_STYLES, type PiiMatch } from "../../platform/pii/index.ts";
import type { Language } from "../conversation/commands.ts";
import { template } from "./templates.ts";
import type { Finding, OutputFacts, OutputGuardrail } from "./types.ts";

/**
 * No personal data of anyone but the session's customer in a reply. A CPF, phone, e-mail, CEP, IMEI
 * or ICCID may appear only when this session's tool results hold it (every tool is authorised to the
 * session's customer, so what they return is theirs); what a message claimed ("meu CPF é …") is not
 * proof. Card numbers, CVVs and expiries never appear, the customer's own included (PCI DSS: at most
 * the last four digits, which the mask keeps). `mask` replaces each value with its mask.
 */

const ALWAYS = new Set<PiiMatch["kind"]>(["card", "cvv", "card_expiry"]);

function owned(m: PiiMatch, facts: OutputFacts): boolean {
  if (ALWAYS.has(m.kind)) return false;
  if (m.kind === "email") return facts.ownData.has(m.value.toLowerCase());
  if (m.kind === "name") return false;
  const d = m.value.replace(/\D/g, "");
  if (d.length < 8) return true;
  // A phone may be written with or without +55 / the area code: compare the last 8 digits.
  const tail = m.kind === "phone" ? d.slice(-8) : d;
  for (const own of facts.ownData) if (own === d || (m.kind === "phone" && own.endsWith(tail))) return true;
  return false;
}

export function foreignPii(reply: string, facts: OutputFacts): PiiMatch[] {
  return detectPii(reply).filter((m) => !owned(m, facts));
}

export function createOutputPiiGuardrail(): OutputGuardrail {
  return {
    name: "pii",
    check(reply, facts) {
      const found = foreignPii(reply, facts);
      if (found.length === 0) return null;
      const kinds = [...new Set(found.map((m) => m.kind))];
      return {
        reason: `personal data not of the session's customer (${kinds.join(", ")})`,
        spans: found.map((m) => ({ start: m.start, end: m.end })),
        category: kinds[0],
        detail: { kinds, count: found.length },
      };
    },
    mask(reply, _finding: Finding, facts) {
      let out = "";
      let at = 0;
      for (const m of foreignPii(reply, facts)) {
        out += reply.slice(at, m.start) + MASK_STYLES[m.kind](m.value);
        at = m.end;
      }
      return out + reply.slice(at);
    },
    template: (lang: Language) => template("pii", lang),
  };
}
