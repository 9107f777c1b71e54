import { alnum, contentWords, sentences } from "./text.ts";
import type { OutputFacts, Span } from "./types.ts";

/**
 * Helpers the output guardrails share: the sentences of a reply that hold a span, removing them while
 * keeping the reply readable, and whether a sentence is a verbatim quote of a retrieved passage.
 */

/** The sentence units of `reply` that overlap any of `spans`. */
export function sentencesWith(reply: string, spans: Span[]): Span[] {
  return sentences(reply)
    .filter((s) => spans.some((x) => x.start < s.end && s.start < x.end))
    .map((s) => ({ start: s.start, end: s.end }));
}

const KNOWLEDGE_HEADER =
  /^(?:Veja o que diz a nossa documentação:|Here is what our documentation says \(in Portuguese\):)\s*$/;
const SOURCE_LINE = /^\((?:Fonte|Source): .*\)$/;

/**
 * Removes sentences from a reply; returns "" when nothing worth sending is left (under three content
 * words, or a knowledge answer left with its header and sources only).
 */
export function removeSentences(reply: string, spans: Span[], facts: OutputFacts): string {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  let out = "";
  let at = 0;
  for (const s of sorted) {
    if (s.end <= at) continue;
    out += reply.slice(at, Math.max(at, s.start));
    at = Math.max(at, s.end);
  }
  out += reply.slice(at);
  const lines = out
    .split("\n")
    .map((l) => l.replace(/[ \t]{2,}/g, " ").trimEnd())
    .filter((l) => !/^\s*(?:[-*•]|\d{1,2}\.)?\s*$/.test(l) || l === "");
  const text = lines
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  if (facts.extractive) {
    const body = text
      .split("\n")
      .filter((l) => l.trim() && !KNOWLEDGE_HEADER.test(l.trim()) && !SOURCE_LINE.test(l.trim()));
    if (body.length === 0) return "";
  }
  return contentWords(text) >= 3 ? text : "";
}

/** A passage as letters and digits, Markdown links read as their text (as the knowledge answer quotes them). */
export function passageKey(text: string): string {
  return alnum(text.replace(/\[([^\]]+)\]\([^)]*\)/g, "$1"));
}

/** Whether `sentence` appears word for word in a passage retrieved this turn (formatting aside). */
export function quotedFromPassage(sentence: string, facts: OutputFacts): boolean {
  const q = alnum(sentence.replace(/^[-*•]\s+/, ""));
  // The extractive answer quotes by construction; a generated reply must copy a long stretch to count
  // (a short "você não vai pagar multa" inside a conditional policy clause is not the policy).
  if (q.length < (facts.extractive ? 12 : 60)) return false;
  return facts.passages.some((p) => passageKey(p.text).includes(q));
}
