import { detectPii, MASK_STYLES, type PiiKind, type PiiMatch } from "../../platform/pii/index.ts";
import type { Language } from "../conversation/commands.ts";
import { template } from "./templates.ts";
import type { Finding, InputGuardrail } from "./types.ts";

/**
 * Input PII (platform/pii: the one Brazilian detector, shared with the API access log). Two views of
 * each message leave this guardrail:
 * - for logs, traces and hosted models: every kind masked (`maskForLogs`, and the LLM shield masks the
 *   prompts themselves, see llm-shield.ts);
 * - for the assistant, inside the trusted boundary: only the kinds it never needs are masked (card
 *   number, CVV, expiry by default), so a customer's own CPF, phone or CEP still reaches the local
 *   understanding engine and, through it, the identity and diagnosis tools. The tools check whose
 *   data it is; the output guardrail keeps anyone else's out of the reply.
 * Only the second view changing counts as a trigger (action `mask`): giving your CPF to identify
 * yourself is ordinary and passes untouched.
 */

const KIND_NAMES: Record<PiiKind, string> = {
  cpf: "CPF",
  cnpj: "CNPJ",
  phone: "phone number",
  cep: "CEP",
  card: "card number",
  cvv: "card security code",
  card_expiry: "card expiry",
  email: "e-mail",
  imei: "IMEI",
  iccid: "ICCID",
  name: "name",
};

export function createInputPiiGuardrail(opts: { maskBeforeAssistant: readonly PiiKind[] }): InputGuardrail {
  const kinds = new Set<PiiKind>(opts.maskBeforeAssistant);
  const selected = (text: string): PiiMatch[] => detectOnce(text).filter((m) => kinds.has(m.kind));
  return {
    name: "pii",
    check(text) {
      const found = selected(text);
      if (found.length === 0) return null;
      const names = [...new Set(found.map((m) => m.kind))];
      return {
        reason: `${names.map((k) => KIND_NAMES[k]).join(", ")} masked before the assistant (never needed in a chat)`,
        spans: found.map((m) => ({ start: m.start, end: m.end })),
        category: "sensitive_pii",
        detail: { kinds: names },
      };
    },
    mask(text, _finding: Finding) {
      return maskSelected(text, selected(text));
    },
    template(lang: Language) {
      return template("piiInput", lang);
    },
  };
}

function maskSelected(text: string, matches: readonly PiiMatch[]): string {
  let out = "";
  let at = 0;
  for (const m of matches) {
    out += text.slice(at, m.start) + MASK_STYLES[m.kind](m.value);
    at = m.end;
  }
  return out + text.slice(at);
}

/**
 * The message as logs, traces and metrics may hold it: every kind of personal data masked (what
 * `maskPii` writes, from the same detection the guardrail then reads).
 */
export function maskForLogs(text: string): string {
  return maskSelected(text, detectOnce(text));
}

// The pipeline masks a message for logs and then checks the same message: detect it once.
let lastText: string | undefined;
let lastMatches: readonly PiiMatch[] = [];
function detectOnce(text: string): readonly PiiMatch[] {
  if (text !== lastText) {
    lastMatches = detectPii(text);
    lastText = text;
  }
  return lastMatches;
}
