import { boundedDamerau } from "./bm25.ts";

/**
 * The corpus's own spellings: every accent-folded content word seen in the index and the index term
 * it was analysed to. Typo tolerance works better on whole words than on stems: "aplicatvo" is one
 * edit from the word "aplicativo" but no stem of the vocabulary ("aplic") is near its stem, and a
 * short stem such as "cois" has many one-edit neighbours that the full word "coisa" does not.
 * An exact hit also maps a word analysed in another language to the corpus's term ("aurora" in an
 * English question → the Portuguese stem of "aurora" in the documents).
 */
export class SurfaceLexicon {
  readonly #termOf: Map<string, string>;
  /** Words grouped by length, so a fuzzy lookup only scans lengths within the edit distance. */
  readonly #byLength: string[][] = [];
  /** Letter-set bit masks of #byLength, same layout. */
  readonly #masks: number[][] = [];

  /** `words[i]` was analysed to `terms[i]`. */
  constructor(words: readonly string[], terms: readonly string[]) {
    if (words.length !== terms.length) throw new RangeError("lexicon words and terms differ in length");
    this.#termOf = new Map();
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (this.#termOf.has(w)) continue;
      this.#termOf.set(w, terms[i]);
      while (this.#byLength.length <= w.length) {
        this.#byLength.push([]);
        this.#masks.push([]);
      }
      this.#byLength[w.length].push(w);
      this.#masks[w.length].push(letterMask(w));
    }
  }

  get size(): number {
    return this.#termOf.size;
  }

  /** Index term of a word exactly as the corpus spells it (accent-folded, lower-case), if seen. */
  term(word: string): string | undefined {
    return this.#termOf.get(word);
  }

  /**
   * Distinct index terms of corpus words within `maxDistance` edits (Damerau, adjacent swaps
   * count once) of `word`, in lexicon order.
   */
  neighbourTerms(word: string, maxDistance: number): string[] {
    const out = new Set<string>();
    const from = Math.max(1, word.length - maxDistance);
    const to = Math.min(this.#byLength.length - 1, word.length + maxDistance);
    const mask = letterMask(word);
    for (let len = from; len <= to; len++) {
      const words = this.#byLength[len];
      const masks = this.#masks[len];
      for (let i = 0; i < words.length; i++) {
        // Each edit adds or removes at most one distinct letter: a cheap filter before the distance.
        if (bitCount(mask & ~masks[i]) > maxDistance || bitCount(masks[i] & ~mask) > maxDistance) continue;
        if (boundedDamerau(word, words[i], maxDistance) <= maxDistance) out.add(this.#termOf.get(words[i])!);
      }
    }
    return [...out];
  }
}

/** Set of a word's characters as 32 bits (code point mod 32; collisions only make the filter looser). */
function letterMask(word: string): number {
  let m = 0;
  for (let i = 0; i < word.length; i++) m |= 1 << (word.charCodeAt(i) & 31);
  return m;
}

function bitCount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
