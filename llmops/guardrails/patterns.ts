import { deobfuscate, sentences } from "./text.ts";
import type { Finding, Span } from "./types.ts";

/**
 * Shared machinery of the pattern guardrails: named regular expressions over the deobfuscated text
 * (folded: no accents, lower case, leetspeak undone), tried on each sentence and on the whole
 * message, so a finding points at the sentences that carry it (the `mask` action removes them).
 */

export interface Rule {
  category: string;
  /** What the rule catches, for the trigger's reason (never the customer's words). */
  reason: string;
  re: RegExp;
  /** A sentence that also matches this is not a finding (e.g. the customer's own network). */
  unless?: RegExp;
}

function hit(rule: Rule, text: string): boolean {
  rule.re.lastIndex = 0;
  if (!rule.re.test(text)) return false;
  if (rule.unless) {
    rule.unless.lastIndex = 0;
    if (rule.unless.test(text)) return false;
  }
  return true;
}

/** Runs the rules over a text; the first category found (rules are ordered by priority) and every span. */
export function findRules(text: string, rules: readonly Rule[]): Finding | null {
  const spans: Span[] = [];
  let first: Rule | null = null;
  const categories = new Set<string>();
  for (const s of sentences(text)) {
    const view = deobfuscate(s.text);
    for (const r of rules) {
      if (hit(r, view)) {
        spans.push({ start: s.start, end: s.end });
        categories.add(r.category);
        if (!first || rules.indexOf(r) < rules.indexOf(first)) first = r;
        break;
      }
    }
  }
  // Attacks split over sentences ("ignore. all. previous. instructions"): the whole message as one line.
  if (!first) {
    const whole = deobfuscate(text).replace(/[.!?;\n]+/g, " ");
    for (const r of rules)
      if (hit(r, whole)) {
        first = r;
        categories.add(r.category);
        spans.push({ start: 0, end: text.length });
        break;
      }
  }
  if (!first) return null;
  return { reason: first.reason, spans, category: first.category, detail: { categories: [...categories] } };
}
