import type { Language } from "../conversation/commands.ts";
import { listPrompts, loadPrompt, PROMPTS_DIR } from "../prompts/loader.ts";
import { template } from "./templates.ts";
import { words } from "./text.ts";
import type { Finding, OutputFacts, OutputGuardrail, Span } from "./types.ts";

/**
 * No prompt text in a reply: words of a prompt template
 * (llmops/prompts/templates: system, rules, phrasing, command generation, RAG context) running on for
 * LEAK_RUN words or more is a leak,
 * unless the same words are in a passage retrieved this turn (the tone-of-voice policy is a public
 * document the system prompt summarises). Quoted examples inside the prompts ("Sua fatura de R$ …",
 * "Entendo o seu incômodo.") are sample replies, not secrets, and are left out; so are variables.
 * Prompts are read once per process; a changed prompt file is picked up on restart (and by the
 * prompts lock, which makes every change a new version).
 */

export const SHINGLE = 7;
/** Consecutive prompt words that make a leak (templates share short phrases with the prompts by design). */
export const LEAK_RUN = 12;

function shinglesOf(ws: string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= ws.length; i++) out.push(ws.slice(i, i + n).join(" "));
  return out;
}

/** The prompt bodies as word runs: variables and quoted examples removed. */
export function promptShingles(dir: string = PROMPTS_DIR, n = SHINGLE): Set<string> {
  const set = new Set<string>();
  for (const name of listPrompts(dir)) {
    let body: string;
    try {
      body = loadPrompt(name, dir).template;
    } catch {
      continue;
    }
    const parts = body
      .replace(/\{\{[^}]*\}\}/g, "\n")
      .replace(/"[^"\n]*"|“[^”\n]*”|'[^'\n]{3,}'/g, "\n")
      .split(/\n+/);
    for (const p of parts) for (const s of shinglesOf(words(p), n)) set.add(s);
  }
  return set;
}

let cached: Set<string> | null = null;

export function createOutputPromptLeakGuardrail(opts: { shingles?: Set<string> } = {}): OutputGuardrail {
  const get = () => {
    if (opts.shingles) return opts.shingles;
    cached ??= promptShingles();
    return cached;
  };
  return {
    name: "promptLeak",
    check(reply: string, facts: OutputFacts): Finding | null {
      const set = get();
      if (set.size === 0) return null;
      const ws = words(reply);
      if (ws.length < SHINGLE) return null;
      // The passages' words only when a prompt shingle turns up (most replies have none).
      let passageText: string | undefined;
      const inPassages = (sh: string) => {
        passageText ??= facts.passages.map((p) => words(p.text).join(" ")).join(" | ");
        return passageText.includes(sh);
      };
      // A coincidence of a few words between a template and a prompt is not a leak: a leak is a run
      // of at least LEAK_RUN consecutive prompt words.
      let run = 0;
      let longest = 0;
      let hits = 0;
      for (const s of shinglesOf(ws, SHINGLE)) {
        if (set.has(s) && !inPassages(s)) {
          hits++;
          run++;
          longest = Math.max(longest, run);
        } else run = 0;
      }
      const words_ = longest > 0 ? longest + SHINGLE - 1 : 0;
      if (words_ < LEAK_RUN) return null;
      const spans: Span[] = [{ start: 0, end: reply.length }];
      return {
        reason: `reply repeats prompt text (${words_} consecutive words)`,
        spans,
        category: "prompt_text",
        detail: { longest_run_words: words_, shingles: hits },
      };
    },
    // A leak is not masked word by word: the whole reply goes.
    mask: () => "",
    template: (lang: Language) => template("promptLeak", lang),
  };
}
