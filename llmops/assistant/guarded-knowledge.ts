import { AsyncLocalStorage } from "node:async_hooks";
import type { GuardrailsConfig } from "../../platform/config/sections/guardrails.ts";
import { neutralisePlanted, summarisePlanted } from "../guardrails/planted-instructions.ts";
import type { GuardrailTrigger } from "../guardrails/types.ts";
import type { KnowledgeSearch } from "../tools/knowledge.ts";

/**
 * The retrieved-content guardrail: a KnowledgeSearch that neutralises planted instructions in every
 * passage before search_knowledge_base hands it to the dialogue (and so before any answer quotes it
 * or a model reads it). With `mask` the sentences carrying them are removed (a passage left empty is
 * dropped); with any other action the whole passage is dropped. A passage the detector fails on is
 * dropped too (fail closed). Triggers go to the guarded turn running at the time (AsyncLocalStorage,
 * set by guardChat), so they appear in that turn's trigger list.
 */

const turnScope = new AsyncLocalStorage<GuardrailTrigger[]>();
const GUARDED = Symbol.for("telco.guardrails.knowledge");

/** Runs `fn` with `sink` receiving the retrieved-content triggers raised inside it. */
export function withTurnTriggers<T>(sink: GuardrailTrigger[], fn: () => Promise<T>): Promise<T> {
  return turnScope.run(sink, fn);
}

export function guardKnowledgeSearch(
  inner: KnowledgeSearch,
  config: GuardrailsConfig["retrieved"]["plantedInstructions"],
): KnowledgeSearch {
  if (!config.enabled || (inner as { [GUARDED]?: boolean })[GUARDED]) return inner;
  const guarded: KnowledgeSearch & { [GUARDED]: boolean } = {
    [GUARDED]: true,
    async search(query, opts) {
      const res = await inner.search(query, opts);
      const sink = turnScope.getStore();
      const results: typeof res.results = [];
      for (const r of res.results) {
        let cleaned: ReturnType<typeof neutralisePlanted>;
        try {
          cleaned = neutralisePlanted(r.text);
        } catch (err) {
          sink?.push({
            guardrail: "plantedInstructions",
            stage: "retrieved",
            action: "block",
            reason: `guardrail error, passage dropped: ${err instanceof Error ? err.message : String(err)}`,
            detail: { doc_id: r.doc_id, chunk_id: r.chunk_id },
          });
          continue;
        }
        if (cleaned.found.length === 0) {
          results.push(r);
          continue;
        }
        const keep = config.action === "mask" && cleaned.text.trim().length > 0;
        sink?.push({
          guardrail: "plantedInstructions",
          stage: "retrieved",
          action: config.action,
          reason: `planted instructions (${summarisePlanted(cleaned.found)}) in ${r.doc_id}: ${keep ? "removed from the passage" : "passage dropped"}`,
          detail: {
            doc_id: r.doc_id,
            chunk_id: r.chunk_id,
            categories: [...new Set(cleaned.found.map((f) => f.category))],
          },
        });
        if (keep) results.push({ ...r, text: cleaned.text });
      }
      return { ...res, results };
    },
  };
  return guarded;
}

/** The knowledge search as the composition root builds it: guarded unless `guardrails.enabled` is off. */
export function guardedKnowledge(inner: KnowledgeSearch, config: GuardrailsConfig): KnowledgeSearch {
  return config.enabled ? guardKnowledgeSearch(inner, config.retrieved.plantedInstructions) : inner;
}
