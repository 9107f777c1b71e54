import type { Language } from "../conversation/commands.ts";
import type { Citation, KnowledgeAnswer, Passage } from "../conversation/knowledge.ts";
import { analyze } from "../rag/analyzer.ts";
import { expandQuery } from "../rag/query-expansion.ts";

/**
 * Extractive knowledge answers: the best sentences of the retrieved passages, quoted as written, with
 * their citations. Nothing is generated, so nothing can be made up; the sentences are chosen by the
 * query's content words (stemmed as the index stems them) weighted by the passage's rank.
 */

const MAX_SENTENCE_CHARS = 400;
/** A sentence is quoted only if it scores at least this share of the best one (no filler sentences). */
const MIN_RELATIVE_SCORE = 0.5;
/** A maximal run of table cells as the chunker flattens them: "| a | b | | c | d |". */
const TABLE_RUN = /\|(?:[^|]*\|)+/g;

/** Splits a flattened passage into readable units: table rows, list items, sentences. */
export function passageUnits(text: string): string[] {
  const units: string[] = [];
  let last = 0;
  for (const m of text.matchAll(TABLE_RUN)) {
    prose(text.slice(last, m.index), units);
    const rows = m[0]
      .split(/\|\s*\|/)
      .map((r) =>
        r
          .split("|")
          .map((c) => c.trim())
          .filter((c) => c && !/^:?-{3,}:?$/.test(c)),
      )
      .filter((cells) => cells.length > 0);
    // The first row of a table is its header: labels, not facts.
    for (const cells of rows.length > 1 ? rows.slice(1) : rows)
      units.push(`${cells[0]}: ${cells.slice(1).join("; ")}`);
    last = (m.index ?? 0) + m[0].length;
  }
  prose(text.slice(last), units);
  return units.map(clean).filter((u) => u.length >= 12 && u.length <= MAX_SENTENCE_CHARS);
}

function prose(text: string, out: string[]): void {
  for (const item of text.split(/\s+(?=-\s|\d{1,2}\.\s)/)) {
    const body = item.replace(/^(?:-|\d{1,2}\.)\s+/, "");
    for (const s of body.split(/(?<=[.!?])\s+(?=["“(*]?[A-ZÀ-Ý0-9])/)) if (s.trim()) out.push(s.trim());
  }
}

function clean(s: string): string {
  return s
    .replace(/\*\*|__|`/g, "")
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * Picks up to `maxSentences` sentences from the first `maxPassages` passages, each scoring at least half
 * the best one. Null when no sentence shares a word with the question (nothing to quote).
 */
export function extractAnswer(
  query: string,
  passages: Passage[],
  opts: { maxSentences: number; maxPassages: number },
): KnowledgeAnswer | null {
  const top = passages.slice(0, opts.maxPassages);
  if (top.length === 0) return null;
  // The question's words plus what retrieval reads into them (spelled-out abbreviations, the pt-BR words
  // of an English question, telecom synonyms): the documents are in Portuguese.
  const x = expandQuery(query);
  const q = new Set(analyze(`${x.text} ${x.added} ${x.related}`, "pt"));
  const units = top.map((passage) =>
    passageUnits(passage.text).map((text) => ({ text, terms: new Set(analyze(text, "pt")) })),
  );
  // Rarer query words say more about which sentence answers (idf over the candidate sentences).
  const df = new Map<string, number>();
  let n = 0;
  for (const list of units)
    for (const u of list) {
      n++;
      for (const t of q) if (u.terms.has(t)) df.set(t, (df.get(t) ?? 0) + 1);
    }
  const scored: { p: number; i: number; text: string; score: number }[] = [];
  units.forEach((list, p) => {
    const weight = 1 / (1 + 0.35 * p);
    list.forEach((u, i) => {
      let s = 0;
      for (const t of q) if (u.terms.has(t)) s += Math.log(1 + n / (df.get(t) ?? 1));
      if (s > 0) scored.push({ p, i, text: u.text, score: (weight * s) / (u.terms.size + 1) ** 0.3 });
    });
  });
  scored.sort((a, b) => b.score - a.score);
  // Nothing in the passages says anything the question asks about: no answer rather than a guess.
  if (scored.length === 0) return null;
  const floor = scored[0].score * MIN_RELATIVE_SCORE;
  const chosen = scored.filter((c) => c.score >= floor).slice(0, opts.maxSentences);
  chosen.sort((a, b) => a.p - b.p || a.i - b.i);
  const citations: Citation[] = [];
  for (const c of chosen) {
    const p = top[c.p];
    if (!citations.some((x) => x.doc_id === p.doc_id && x.section === p.section))
      citations.push({ doc_id: p.doc_id, title: p.title, section: p.section, source: p.source });
  }
  return { sentences: chosen.map((c) => c.text), citations };
}

/** The reply text of a knowledge answer, with its sources named (policy: say where it comes from). */
export function renderKnowledge(a: KnowledgeAnswer, lang: Language): string {
  const sources = a.citations.map((c) => (c.section ? `${c.title} › ${c.section}` : c.title)).join("; ");
  const body = a.sentences.map((s) => (a.sentences.length > 1 ? `- ${s}` : s)).join("\n");
  return lang === "en"
    ? `Here is what our documentation says (in Portuguese):\n${body}\n(Source: ${sources})`
    : `Veja o que diz a nossa documentação:\n${body}\n(Fonte: ${sources})`;
}
