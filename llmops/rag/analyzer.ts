import { stemmer as englishStemmer } from "@orama/stemmers/english";
import { stemmer as portugueseStemmer } from "@orama/stemmers/portuguese";
import { stopwords as englishStopwords } from "@orama/stopwords/english";
import { stopwords as portugueseStopwords } from "@orama/stopwords/portuguese";

/** Languages the analyzer knows; everything else is analysed as Portuguese (the operator's language). */
export type AnalyzerLanguage = "pt" | "en";

const PT_STOP = new Set(portugueseStopwords.map(foldAccents));
const EN_STOP = new Set(englishStopwords.map(foldAccents));
// Words that are stop words in one language but content words in the other ("a", "no", "do") count
// for neither when guessing a query's language.
const PT_ONLY = new Set([...PT_STOP].filter((w) => !EN_STOP.has(w)));
const EN_ONLY = new Set([...EN_STOP].filter((w) => !PT_STOP.has(w)));

// Letters (incl. accented), digits, and internal hyphens/dots in codes like "5g" or "r$".
const TOKEN_RE = /[\p{L}\p{N}]+/gu;

/** Removes combining accents after NFD decomposition: "ligações" → "ligacoes". */
export function foldAccents(text: string): string {
  return text.normalize("NFD").replace(/\p{M}+/gu, "");
}

/** Lower-cased raw word tokens in order (accents kept: the Portuguese stemmer needs them). */
export function words(text: string): string[] {
  return text.toLowerCase().match(TOKEN_RE) ?? [];
}

/** Guesses pt vs en from language-exclusive stop words; ties (incl. no stop words) go to Portuguese. */
export function detectLanguage(text: string): AnalyzerLanguage {
  let pt = 0;
  let en = 0;
  for (const w of words(text)) {
    const f = foldAccents(w);
    if (PT_ONLY.has(f)) pt++;
    else if (EN_ONLY.has(f)) en++;
  }
  return en > pt ? "en" : "pt";
}

/** Maps a document language tag ("pt-BR", "en", "en-US") to an analyzer language. */
export function analyzerLanguage(tag: string | undefined, text?: string): AnalyzerLanguage {
  if (tag) return tag.toLowerCase().startsWith("en") ? "en" : "pt";
  return text === undefined ? "pt" : detectLanguage(text);
}

/**
 * Queries are often typed without accents ("ligacoes", "cartao"). The Snowball stemmer only
 * strips accented suffixes, so the common -ão/-ões/-ção endings are restored (and plural -ões
 * reduced to -ão, which the stemmer leaves alone) before stemming.
 */
export function restoreNasalEndings(word: string): string {
  return word
    .replace(/(?:ões|oes)$/, "ão")
    .replace(/ao$/, "ão")
    .replace(/cão$/, "ção");
}

/**
 * One index term per content word: lower-case → drop stop words (both languages, so mixed queries
 * behave) → Snowball stem of the given language (on the accented form, as the stemmer expects) →
 * accent folding, so "ligações", "ligacoes" and "ligação" meet.
 */
export function analyze(text: string, lang: AnalyzerLanguage = "pt"): string[] {
  const out: string[] = [];
  for (const w of words(text)) {
    const term = termOf(w, lang);
    if (term) out.push(term);
  }
  return out;
}

// Per-language word → term cache ("" = stop word): analysis is on the ingestion and open hot path.
const ptCache = new Map<string, string>();
const enCache = new Map<string, string>();

/** A word's index term through the per-language cache ("" = stop word). */
function termOf(w: string, lang: AnalyzerLanguage): string {
  const cache = lang === "en" ? enCache : ptCache;
  let term = cache.get(w);
  if (term === undefined) {
    term = analyzeWord(w, lang);
    if (cache.size < 500_000) cache.set(w, term);
  }
  return term;
}

function analyzeWord(w: string, lang: AnalyzerLanguage): string {
  const folded = foldAccents(w);
  if (PT_STOP.has(folded) || EN_STOP.has(folded)) return "";
  const term = foldAccents(lang === "en" ? englishStemmer(w) : portugueseStemmer(restoreNasalEndings(w)));
  // Numbers and 1-letter stems stay as written so "5g" or "4" do not collapse.
  return term.length < 2 ? folded : term;
}

/**
 * Index terms and, aligned with them, the accent-folded words they came from (the corpus's spelling
 * lexicon for typo tolerance). Same terms as analyze(text, lang).
 */
export function analyzeWithSurface(
  text: string,
  lang: AnalyzerLanguage = "pt",
): { terms: string[]; surface: string[] } {
  const terms: string[] = [];
  const surface: string[] = [];
  for (const w of words(text)) {
    const term = termOf(w, lang);
    if (!term) continue;
    terms.push(term);
    let folded = foldCache.get(w);
    if (folded === undefined) {
      folded = foldAccents(w);
      if (foldCache.size < 500_000) foldCache.set(w, folded);
    }
    surface.push(folded);
  }
  return { terms, surface };
}

const foldCache = new Map<string, string>();

/** Folded, stop-word-free surface words (no stemming): the input of character n-gram features. */
export function contentWords(text: string): string[] {
  const out: string[] = [];
  for (const w of words(text)) {
    const folded = foldAccents(w);
    if (!PT_STOP.has(folded) && !EN_STOP.has(folded)) out.push(folded);
  }
  return out;
}
