import { ingestBuiltinKnowledgeBase, openWorkspaceIndex } from "../../rag/api.ts";
import {
  configuredGoldenSets,
  evaluateRetrievalSuite,
  retrievalSearchOptions,
} from "../../rag/evaluation.ts";
import type { EvalContext } from "./context.ts";
import { type CaseResult, metric, round, type SuiteResult } from "./types.ts";

/**
 * Retrieval (the suite of `telco rag eval`, llmops/rag/evaluation.ts): both golden sets through
 * bm25, dense and hybrid on the built-in knowledge base indexed in the eval sandbox, with the
 * configured retrieval settings, gated on hybrid recall@5 and MRR by the rag.eval thresholds.
 */
export async function retrievalSuite(ctx: EvalContext): Promise<SuiteResult> {
  const t0 = performance.now();
  const cfg = ctx.app.config.rag;
  await ingestBuiltinKnowledgeBase(ctx.fixture.app);
  const index = await openWorkspaceIndex(ctx.fixture.app);
  const sets = configuredGoldenSets(cfg.eval, ctx.repoRoot);
  const report = await evaluateRetrievalSuite(index, sets, retrievalSearchOptions(cfg.retrieval));
  const metrics = report.sets.flatMap((s) => {
    const h = s.metrics.hybrid;
    const spec = sets.find((x) => x.name === s.name);
    return [
      metric(`${s.name}.hybrid_recall@5`, h.recall_at_5, {
        unit: "rate",
        regression: "absolute",
        threshold: { op: ">=", value: s.thresholds.minRecallAt5, key: spec?.keys.recall ?? "rag.eval" },
      }),
      metric(`${s.name}.hybrid_mrr`, h.mrr, {
        unit: "rate",
        regression: "absolute",
        threshold: { op: ">=", value: s.thresholds.minMrr, key: spec?.keys.mrr ?? "rag.eval" },
      }),
      metric(`${s.name}.hybrid_recall@1`, h.recall_at_1, { unit: "rate", regression: "absolute" }),
      metric(`${s.name}.hybrid_ndcg@10`, h.ndcg_at_10, { unit: "rate", regression: "absolute" }),
    ];
  });
  const cases: CaseResult[] = report.sets.flatMap((s) =>
    s.outcomes
      .filter((o) => o.mode === "hybrid")
      .map((o) => {
        const hit = o.first_relevant_rank !== null && o.first_relevant_rank <= 5;
        return {
          id: `${s.name}:${o.id}`,
          passed: hit,
          failures: hit
            ? []
            : [
                `no relevant document in the top 5 (first at ${o.first_relevant_rank ?? "none"}); top: ${o.top_doc_ids.join(", ")}`,
              ],
          tags: { set: s.name },
        };
      }),
  );
  return {
    suite: "retrieval",
    status: "ran",
    summary: report.sets
      .map(
        (s) =>
          `${s.name}: hybrid recall@5 ${round(s.metrics.hybrid.recall_at_5, 3)}, MRR ${round(s.metrics.hybrid.mrr, 3)} (${s.metrics.hybrid.questions} questions)`,
      )
      .join("; "),
    metrics,
    cases,
    notes: [`index ${report.index_version}: the built-in knowledge base, indexed in the eval sandbox`],
    ms: Math.round(performance.now() - t0),
    details: {
      index_version: report.index_version,
      sets: report.sets.map((s) => ({ name: s.name, metrics: s.metrics, thresholds: s.thresholds })),
    },
  };
}
