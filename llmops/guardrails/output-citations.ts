import type { Language } from "../conversation/commands.ts";
import { passageKey, removeSentences } from "./reply-text.ts";
import { template } from "./templates.ts";
import { alnum } from "./text.ts";
import type { Finding, OutputFacts, OutputGuardrail, Span } from "./types.ts";

/**
 * Cited sources exist and contain the cited text:
 * - every citation of the turn names a document retrieved this turn (not one the model made up);
 * - `[doc-id]` references in a generated reply name a retrieved document;
 * - the quoted lines of an extractive answer, and any quotation in a generated one, appear word for
 *   word (formatting aside) in a passage of a cited document.
 * `mask` removes the unsupported lines and references; a reply left with nothing gets the template.
 */

const BRACKET_REF = /\[([a-z][a-z0-9]*(?:-[a-z0-9]+)+)\]/g;
const QUOTE = /[“"]([^”"\n]{20,400})[”"]/g;
const HEADER =
  /^(?:Veja o que diz a nossa documentação:|Here is what our documentation says \(in Portuguese\):)\s*$/;
const SOURCE = /^\((?:Fonte|Source): .*\)$/;

interface Problem {
  kind: "unknown_document" | "unsupported_quote";
  span: Span | null;
}

function supported(text: string, docIds: Set<string>, facts: OutputFacts): boolean {
  const q = alnum(text);
  if (q.length < 8) return true;
  return facts.passages.some((p) => docIds.has(p.doc_id) && passageKey(p.text).includes(q));
}

/** The quoted lines of an extractive knowledge answer, with their offsets. */
function extractiveLines(reply: string): { start: number; end: number; text: string }[] {
  const out: { start: number; end: number; text: string }[] = [];
  let at = 0;
  let inBody = false;
  for (const line of reply.split("\n")) {
    const t = line.trim();
    if (HEADER.test(t)) inBody = true;
    else if (SOURCE.test(t)) inBody = false;
    else if (inBody && t) out.push({ start: at, end: at + line.length, text: t.replace(/^-\s+/, "") });
    at += line.length + 1;
  }
  return out;
}

export function citationProblems(reply: string, facts: OutputFacts): Problem[] {
  const retrieved = new Set(facts.passages.map((p) => p.doc_id));
  const cited = new Set(facts.citations.map((c) => c.doc_id));
  const problems: Problem[] = [];
  for (const c of facts.citations)
    if (!retrieved.has(c.doc_id)) problems.push({ kind: "unknown_document", span: null });
  for (const m of reply.matchAll(BRACKET_REF))
    if (!retrieved.has(m[1]))
      problems.push({ kind: "unknown_document", span: { start: m.index, end: m.index + m[0].length } });
  const sources = new Set([...cited].filter((d) => retrieved.has(d)));
  if (facts.extractive) {
    for (const l of extractiveLines(reply))
      if (!supported(l.text, sources, facts))
        problems.push({ kind: "unsupported_quote", span: { start: l.start, end: l.end } });
  } else if (cited.size > 0 || BRACKET_REF.test(reply)) {
    BRACKET_REF.lastIndex = 0;
    const refs = new Set([...reply.matchAll(BRACKET_REF)].map((m) => m[1]));
    const docs = new Set([...sources, ...[...refs].filter((r) => retrieved.has(r))]);
    for (const m of reply.matchAll(QUOTE))
      if (!supported(m[1], docs, facts))
        problems.push({ kind: "unsupported_quote", span: { start: m.index, end: m.index + m[0].length } });
  }
  return problems;
}

export function createOutputCitationsGuardrail(): OutputGuardrail {
  return {
    name: "citations",
    check(reply, facts) {
      const p = citationProblems(reply, facts);
      if (p.length === 0) return null;
      const kinds = [...new Set(p.map((x) => x.kind))];
      return {
        reason: kinds
          .map((k) =>
            k === "unknown_document"
              ? "cites a document not retrieved"
              : "quote not found in the cited passages",
          )
          .join("; "),
        spans: p.flatMap((x) => (x.span ? [x.span] : [])),
        category: kinds[0],
        detail: { kinds, count: p.length },
      };
    },
    mask(reply, finding: Finding, facts) {
      // A citation of a document that was never retrieved cannot be repaired by cutting lines.
      if (
        finding.detail &&
        (finding.detail.kinds as string[]).includes("unknown_document") &&
        finding.spans.length === 0
      )
        return "";
      return removeSentences(reply, finding.spans, facts);
    },
    template: (lang: Language) => template("citations", lang),
  };
}
