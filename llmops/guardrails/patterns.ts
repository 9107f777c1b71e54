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
  /**
   * Words (whole) or parts (substrings) at least one of which every match contains. The expression
   * runs only when the gate passes: ordinary messages never pay for it, and V8 compiles a large
   * expression only when a message first needs it (tens of milliseconds each, once per process).
   */
  gate?: Gate;
}

export interface Gate {
  words?: readonly string[];
  parts?: readonly string[];
  /** Passes when the text holds at least this many digits. */
  digits?: number;
}

/** A gate made ready for lookups. */
export interface CompiledGate {
  words: ReadonlySet<string>;
  parts: readonly string[];
  digits: number;
}

const compiled = new WeakMap<Gate, CompiledGate>();

export function compileGate(g: Gate): CompiledGate {
  let c = compiled.get(g);
  if (!c) {
    c = { words: new Set(g.words ?? []), parts: g.parts ?? [], digits: g.digits ?? 0 };
    compiled.set(g, c);
  }
  return c;
}

/** The words of a deobfuscated view, for gates. */
export function gateWords(view: string): Set<string> {
  return new Set(view.split(/[^a-z0-9]+/));
}

export function gatePasses(gate: Gate | undefined, view: string, words: ReadonlySet<string>): boolean {
  if (!gate) return true;
  const g = compileGate(gate);
  for (const w of g.words) if (words.has(w)) return true;
  for (const p of g.parts) if (view.includes(p)) return true;
  if (g.digits > 0) {
    let n = 0;
    for (let i = 0; i < view.length; i++) {
      const c = view.charCodeAt(i);
      if (c >= 48 && c <= 57 && ++n >= g.digits) return true;
    }
  }
  return false;
}

function hit(rule: Rule, text: string, words?: ReadonlySet<string>): boolean {
  if (!gatePasses(rule.gate, text, words ?? gateWords(text))) return false;
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
    const words = gateWords(view);
    for (const r of rules) {
      if (hit(r, view, words)) {
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
    const words = gateWords(whole);
    for (const r of rules)
      if (hit(r, whole, words)) {
        first = r;
        categories.add(r.category);
        spans.push({ start: 0, end: text.length });
        break;
      }
  }
  if (!first) return null;
  return { reason: first.reason, spans, category: first.category, detail: { categories: [...categories] } };
}
