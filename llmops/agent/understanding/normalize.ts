/**
 * Text normalisation shared by the classifier, entity extraction and language detection: how
 * customers of a Brazilian operator write in chat (no accents, repeated letters, "vc", "pq", "net").
 */

const foldCache = new Map<string, string>();

/**
 * Lower-cases and removes accents one UTF-16 unit at a time, so offsets into the folded text are
 * offsets into the input ("Março" → "marco"). The input should be NFC (precomposed accents).
 */
export function foldKeepLength(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = ch.charCodeAt(0);
    if (code < 128) {
      out += code >= 65 && code <= 90 ? String.fromCharCode(code + 32) : ch;
      continue;
    }
    let f = foldCache.get(ch);
    if (f === undefined) {
      const base = ch.normalize("NFD")[0].toLowerCase();
      f = base.length === 1 ? base : ch;
      foldCache.set(ch, f);
    }
    out += f;
  }
  return out;
}

/** NFC, lower case, accents folded: "Não tá" → "nao ta". */
export function fold(text: string): string {
  return foldKeepLength(text.normalize("NFC"));
}

/** "siiim" → "sim", "lentaaa" → "lenta", "kkkk" → "k": three or more repeats collapse to one. */
export function collapseRepeats(word: string): string {
  return word.replace(/(.)\1{2,}/g, "$1");
}

/**
 * Chat spellings → the word they stand for. Only unambiguous ones: "to" (tô / English "to") and
 * "ta" in English contexts are left alone, the classifier learns them from examples.
 */
export const CHAT_ABBREVIATIONS: Readonly<Record<string, string>> = {
  vc: "voce",
  vcs: "voces",
  ce: "voce",
  pq: "porque",
  pk: "porque",
  q: "que",
  oq: "o que",
  ta: "esta",
  tah: "esta",
  tao: "estao",
  n: "nao",
  tb: "tambem",
  tbm: "tambem",
  hj: "hoje",
  kd: "cade",
  mt: "muito",
  mto: "muito",
  td: "tudo",
  blz: "beleza",
  vlw: "valeu",
  obg: "obrigado",
  brigado: "obrigado",
  brigada: "obrigada",
  brigadao: "obrigadao",
  qro: "quero",
  kero: "quero",
  dnv: "de novo",
  msm: "mesmo",
  pfv: "por favor",
  pfvr: "por favor",
  pf: "por favor",
  pra: "para",
  pro: "para o",
  net: "internet",
  internete: "internet",
  intenet: "internet",
  internt: "internet",
  whats: "whatsapp",
  zap: "whatsapp",
  wpp: "whatsapp",
  cel: "celular",
  cod: "codigo",
  nasc: "nascimento",
  "2via": "segunda via",
  "2a": "segunda",
  plz: "please",
  pls: "please",
  thx: "thanks",
  ty: "thanks",
  tysm: "thanks",
  u: "you",
  ur: "your",
  cant: "can not",
  dont: "do not",
  isnt: "is not",
  didnt: "did not",
  im: "i am",
  wifi: "wi fi",
};

const WORD_RE = /[a-z0-9]+/g;

/** One word of the folded text with its offsets in the input. */
export interface Token {
  /** Normalised form (repeats collapsed, abbreviation expanded: may hold a space, "de novo"). */
  norm: string;
  /** Folded surface form. */
  raw: string;
  start: number;
  end: number;
}

/** Folded words with offsets; `norm` collapses repeats and expands chat abbreviations. */
export function tokenize(folded: string): Token[] {
  const out: Token[] = [];
  for (const m of folded.matchAll(WORD_RE)) {
    const raw = m[0];
    const collapsed = collapseRepeats(raw);
    const norm = CHAT_ABBREVIATIONS[collapsed] ?? collapsed;
    out.push({ norm, raw, start: m.index, end: m.index + raw.length });
  }
  return out;
}

/** Normalised words only: "Vc tá lentaaa" → ["voce", "esta", "lenta"]. */
export function normalizedWords(text: string): string[] {
  const out: string[] = [];
  for (const t of tokenize(fold(text))) for (const w of t.norm.split(" ")) out.push(w);
  return out;
}

/** FNV-1a 32-bit hash of a string (deterministic split and shuffles). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Deterministic PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
