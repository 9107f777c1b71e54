/**
 * Text views the guardrails match on. Attackers write "ígnore", "1gn0re", "i g n o r e", zero-width
 * spaces and Cyrillic look-alikes; customers write without accents and with repeated letters. Each
 * view keeps one character per input character where it can, so spans found in a view point back at
 * the text as written. Written by hand: no maintained library folds pt-BR text with offsets kept.
 */

const ZERO_WIDTH = /[\u00AD\u200B-\u200F\u2028-\u202F\u2060-\u2064\uFEFF]/g;

/** Cyrillic and Greek letters that look like Latin ones. */
const HOMOGLYPHS: Record<string, string> = {
  а: "a",
  е: "e",
  о: "o",
  р: "p",
  с: "c",
  х: "x",
  у: "y",
  і: "i",
  ј: "j",
  ѕ: "s",
  ԁ: "d",
  ɡ: "g",
  һ: "h",
  ո: "n",
  α: "a",
  ε: "e",
  ι: "i",
  ο: "o",
  ρ: "p",
  τ: "t",
  υ: "u",
  ν: "v",
};

function foldChar(ch: string): string {
  const lower = ch.toLowerCase();
  const mapped = HOMOGLYPHS[lower] ?? lower;
  const base = mapped.normalize("NFD").replace(/\p{M}/gu, "");
  // Keep the length in UTF-16 units so offsets stay valid.
  if (base.length === ch.length) return base;
  if (base.length === 0) return " ".repeat(ch.length);
  return base.slice(0, 1).padEnd(ch.length, " ");
}

/** foldChar per distinct non-ASCII character: the per-character normalize is what folding costs. */
const FOLDED_CHARS = new Map<string, string>();
const NON_ASCII = /[\u0080-\uffff]/;

/** Lower case, accents and zero-width characters removed, look-alikes mapped; same length as the input. */
export function fold(text: string): string {
  // ASCII folds to its lower case (no homoglyph, accent or zero-width character is ASCII).
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  let out = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code < 0x80) {
      out += ch.toLowerCase();
      continue;
    }
    let f = FOLDED_CHARS.get(ch);
    if (f === undefined) {
      f = foldChar(ch);
      if (FOLDED_CHARS.size < 4096) FOLDED_CHARS.set(ch, f);
    }
    out += f;
  }
  return out.replace(ZERO_WIDTH, (z) => " ".repeat(z.length));
}

const LEET: Record<string, string> = {
  "0": "o",
  "1": "i",
  "3": "e",
  "4": "a",
  "5": "s",
  "7": "t",
  "@": "a",
  $: "s",
  "!": "i",
};

/**
 * The folded text with leetspeak undone inside words ("1gn0r3" → "ignore", "d3sc0nto" → "desconto")
 * and letters spaced out joined ("i g n o r e" → "ignore"). For keyword matching only: offsets are
 * not kept.
 */
export function deobfuscate(text: string): string {
  // Four guardrails deobfuscate the same message and sentences in one turn: remember the latest views.
  const hit = DEOBFUSCATED.get(text);
  if (hit !== undefined) return hit;
  const view = deobfuscateUncached(text);
  if (DEOBFUSCATED.size >= 256) DEOBFUSCATED.clear();
  DEOBFUSCATED.set(text, view);
  return view;
}

const DEOBFUSCATED = new Map<string, string>();

function deobfuscateUncached(text: string): string {
  // "v a i  t o m a r": a double space separates the spaced-out words; join the letters inside each.
  let s = fold(text)
    .split(/ {2,}/)
    .map((part) =>
      /^\s*[a-z](?:[ .\-_*][a-z])+\s*$/.test(part)
        ? part.replace(/[ .\-_*]+/g, "")
        : part.replace(/\b[a-z](?:[ .\-_*]+[a-z]\b){3,}/g, (m) => m.replace(/[ .\-_*]+/g, "")),
    )
    .join(" ");
  // Digits and symbols inside a word with letters: leet ("1d10ta", "d3sc0nto"); not at its edges ("idiota!!").
  s = s.replace(/[a-z0-9@$!]*[a-z][a-z0-9@$!]*/g, (w) => {
    const core = /^([!@$]*)(.*?)([!@$]*)$/.exec(w);
    const body = core ? core[2] : w;
    if (!/[0-9@$!]/.test(body) || !/[a-z]{2}/.test(body) || /^[0-9]+[a-z]{1,3}$/.test(body)) return w;
    return (core?.[1] ?? "") + [...body].map((c) => LEET[c] ?? c).join("") + (core?.[3] ?? "");
  });
  // Repeated letters: "iiiignore" → "ignore", "merdaaaa" → "merda" (two stay: "cc", "rr", "ss").
  return s.replace(/([a-z])\1{2,}/g, "$1");
}

/** Sentence-ish units with their offsets: split at . ! ? ; and line breaks (keeps "R$ 1.234,56" whole). */
export function sentences(text: string): { start: number; end: number; text: string }[] {
  const out: { start: number; end: number; text: string }[] = [];
  const re = /[^\n.!?;]+(?:[.!?;]+(?=\s|$)|(?:[.!?;](?=\S))[^\n.!?;]*)*[.!?;]*/g;
  for (const m of text.matchAll(re)) {
    const raw = m[0];
    const lead = raw.length - raw.trimStart().length;
    const body = raw.trim();
    if (!body) continue;
    const start = m.index + lead;
    out.push({ start, end: start + body.length, text: body });
  }
  return out;
}

/** Letters and digits only, folded: for "does this passage contain that quote" checks across formatting. */
export function alnum(text: string): string {
  return fold(text).replace(/[^a-z0-9]+/g, "");
}

/** Words of a text (folded, letters and digits). */
export function words(text: string): string[] {
  return fold(text).match(/[a-z0-9]+/g) ?? [];
}

/** Removes spans from a text and tidies the whitespace and punctuation left behind. */
export function removeSpans(text: string, spans: { start: number; end: number }[]): string {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  let out = "";
  let at = 0;
  for (const s of sorted) {
    if (s.end <= at) continue;
    out += text.slice(at, Math.max(at, s.start));
    at = Math.max(at, s.end);
  }
  out += text.slice(at);
  return out
    .replace(/[ \t]{2,}/g, " ")
    .replace(/\s+([,.;!?])/g, "$1")
    .replace(/^[\s,;:.!?-]+/, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** Word count of what is left after masking: "nothing meaningful left" is under 2 words. */
export function contentWords(text: string): number {
  return words(text).filter((w) => w.length > 1).length;
}

/**
 * A quick language guess for templates (pt-BR unless English function words clearly dominate). The
 * understanding engine decides the language of the conversation; this only picks the template of a
 * turn the assistant never saw.
 */
export function guessLanguage(text: string, fallback: "pt-BR" | "en" = "pt-BR"): "pt-BR" | "en" {
  const w = words(text);
  let en = 0;
  let pt = 0;
  for (const x of w) {
    if (EN_WORDS.has(x)) en++;
    if (PT_WORDS.has(x)) pt++;
  }
  if (en === 0 && pt === 0) return fallback;
  return en > pt ? "en" : "pt-BR";
}

const EN_WORDS = new Set(
  "the you your i my me is are was were be to of and in it that this what how why can could would please with for on not don't dont do does have has will all any previous instructions ignore".split(
    " ",
  ),
);
const PT_WORDS = new Set(
  "o os as voce vc seu sua meu minha e de do da dos das que nao um uma para pra por com no na como qual quero preciso esta ta eu instrucoes anteriores".split(
    " ",
  ),
);
