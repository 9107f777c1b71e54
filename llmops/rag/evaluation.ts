import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import type { RagConfig } from "../../platform/config/sections/rag.ts";
import { NotFoundError, ValidationError } from "../../platform/errors.ts";
import type { RagIndex, RetrievalMode, SearchOptions } from "./search.ts";

/** One golden question: which documents a correct retrieval must surface. */
export const goldenQuestionSchema = z.object({
  id: z.string().min(1),
  question: z.string().min(1),
  lang: z.enum(["pt-BR", "en"]),
  style: z.enum(["formal", "colloquial", "misspelled"]),
  relevant_doc_ids: z.array(z.string().min(1)).min(1),
  relevant_sections: z.array(z.string()).optional(),
});
export type GoldenQuestion = z.infer<typeof goldenQuestionSchema>;

/** Reads a JSONL golden set; a bad line is a ValidationError naming the file and line. */
export function loadGoldenSet(file: string): GoldenQuestion[] {
  if (!existsSync(file)) throw new NotFoundError(`golden set ${file}`, { hint: "Pass --golden FILE" });
  const out: GoldenQuestion[] = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (!line.trim()) return;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        throw new ValidationError(`${file}:${i + 1}`, "not valid JSON");
      }
      const parsed = goldenQuestionSchema.safeParse(json);
      if (!parsed.success)
        throw new ValidationError(
          `${file}:${i + 1}`,
          parsed.error.issues.map((x) => `${x.path.join(".") || "(line)"}: ${x.message}`).join("; "),
        );
      out.push(parsed.data);
    });
  if (out.length === 0) throw new ValidationError(file, "golden set is empty");
  return out;
}

/** Retrieval quality of one mode over a golden set (document-level relevance). */
export interface RetrievalMetrics {
  recall_at_1: number;
  recall_at_5: number;
  /** Share of all relevant docs in the first 5 chunks (stricter than recall@5). */
  doc_recall_at_5: number;
  mrr: number;
  ndcg_at_10: number;
  questions: number;
}

/**
 * Metrics for one ranked list of doc ids (one entry per retrieved chunk, in rank order).
 * Every listed relevant document answers the question, so recall@k is answer recall: 1 when
 * any relevant doc is among the first k chunks (a.k.a. hit rate/success@k). `doc_recall_at_5`
 * is the stricter share of all relevant docs found in the first 5. MRR = 1/rank of the first
 * relevant chunk; nDCG@10 with binary gains, each relevant doc counted once at its best rank.
 */
export function scoreRanking(ranked: string[], relevant: string[]) {
  const rel = new Set(relevant);
  const recallAt = (k: number) => (ranked.slice(0, k).some((d) => rel.has(d)) ? 1 : 0);
  const docRecallAt5 = new Set(ranked.slice(0, 5).filter((d) => rel.has(d))).size / rel.size;
  const first = ranked.findIndex((d) => rel.has(d));
  const seen = new Set<string>();
  let dcg = 0;
  ranked.slice(0, 10).forEach((d, i) => {
    if (rel.has(d) && !seen.has(d)) {
      seen.add(d);
      dcg += 1 / Math.log2(i + 2);
    }
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(rel.size, 10); i++) ideal += 1 / Math.log2(i + 2);
  return {
    recall_at_1: recallAt(1),
    recall_at_5: recallAt(5),
    doc_recall_at_5: docRecallAt5,
    reciprocal_rank: first < 0 ? 0 : 1 / (first + 1),
    ndcg_at_10: ideal > 0 ? dcg / ideal : 0,
  };
}

/** Per-question outcome, for finding what fails. */
export interface QuestionOutcome {
  id: string;
  mode: RetrievalMode;
  first_relevant_rank: number | null;
  top_doc_ids: string[];
}

/** Metrics of one slice of the golden set (a language, a style, a half). */
export interface SliceMetrics {
  questions: number;
  recall_at_1: number;
  recall_at_5: number;
  mrr: number;
}

/**
 * Slices a question belongs to: `lang:…`, `style:…` and, when its id ends in a number, `half:odd`
 * or `half:even` — tuning happens on odd ids, even ids are the held-out half (docs/llmops/rag.md).
 */
export function questionSlices(q: GoldenQuestion): string[] {
  const out = [`lang:${q.lang}`, `style:${q.style}`];
  const n = /(\d+)$/.exec(q.id);
  if (n) out.push(Number(n[1]) % 2 === 1 ? "half:odd" : "half:even");
  return out;
}

/** Runs every golden question through each mode and averages the metrics. */
export async function evaluateRetrieval(
  index: RagIndex,
  golden: GoldenQuestion[],
  modes: RetrievalMode[] = ["bm25", "dense", "hybrid"],
  options: Omit<SearchOptions, "mode" | "k"> = {},
): Promise<{
  index_version: string;
  metrics: Record<string, RetrievalMetrics>;
  /** mode → slice → metrics (see questionSlices). */
  slices: Record<string, Record<string, SliceMetrics>>;
  outcomes: QuestionOutcome[];
}> {
  const metrics: Record<string, RetrievalMetrics> = {};
  const slices: Record<string, Record<string, SliceMetrics>> = {};
  const outcomes: QuestionOutcome[] = [];
  for (const mode of modes) {
    const sum = { recall_at_1: 0, recall_at_5: 0, doc_recall_at_5: 0, mrr: 0, ndcg_at_10: 0 };
    const bySlice: Record<string, SliceMetrics> = {};
    for (const q of golden) {
      const { results } = await index.search(q.question, { ...options, mode, k: 10 });
      const ranked = results.map((r) => r.doc_id);
      const s = scoreRanking(ranked, q.relevant_doc_ids);
      sum.recall_at_1 += s.recall_at_1;
      sum.recall_at_5 += s.recall_at_5;
      sum.doc_recall_at_5 += s.doc_recall_at_5;
      sum.mrr += s.reciprocal_rank;
      sum.ndcg_at_10 += s.ndcg_at_10;
      for (const name of questionSlices(q)) {
        bySlice[name] ??= { questions: 0, recall_at_1: 0, recall_at_5: 0, mrr: 0 };
        const m = bySlice[name];
        m.questions++;
        m.recall_at_1 += s.recall_at_1;
        m.recall_at_5 += s.recall_at_5;
        m.mrr += s.reciprocal_rank;
      }
      outcomes.push({
        id: q.id,
        mode,
        first_relevant_rank: s.reciprocal_rank > 0 ? Math.round(1 / s.reciprocal_rank) : null,
        top_doc_ids: [...new Set(ranked)].slice(0, 5),
      });
    }
    const n = golden.length;
    const round = (v: number) => Number((v / n).toFixed(4));
    metrics[mode] = {
      recall_at_1: round(sum.recall_at_1),
      recall_at_5: round(sum.recall_at_5),
      doc_recall_at_5: round(sum.doc_recall_at_5),
      mrr: round(sum.mrr),
      ndcg_at_10: round(sum.ndcg_at_10),
      questions: n,
    };
    slices[mode] = {};
    for (const name of Object.keys(bySlice).sort()) {
      const m = bySlice[name];
      const avg = (v: number) => Number((v / m.questions).toFixed(4));
      slices[mode][name] = {
        questions: m.questions,
        recall_at_1: avg(m.recall_at_1),
        recall_at_5: avg(m.recall_at_5),
        mrr: avg(m.mrr),
      };
    }
  }
  return { index_version: index.version, metrics, slices, outcomes };
}

/** Threshold failures for the hybrid mode (empty = pass); `names` are the config keys quoted in messages. */
export function checkThresholds(
  hybrid: RetrievalMetrics,
  thresholds: { minRecallAt5: number; minMrr: number },
  names: { recall: string; mrr: string } = { recall: "rag.eval.minRecallAt5", mrr: "rag.eval.minMrr" },
): string[] {
  const failures: string[] = [];
  if (hybrid.recall_at_5 < thresholds.minRecallAt5)
    failures.push(`hybrid recall@5 ${hybrid.recall_at_5} < ${names.recall} ${thresholds.minRecallAt5}`);
  if (hybrid.mrr < thresholds.minMrr)
    failures.push(`hybrid MRR ${hybrid.mrr} < ${names.mrr} ${thresholds.minMrr}`);
  return failures;
}

/** Search options of the configured retrieval (rag.retrieval) without `k` and `mode`, which the eval sets. */
export function retrievalSearchOptions(r: RagConfig["retrieval"]): Omit<SearchOptions, "mode" | "k"> {
  return {
    candidates: r.candidates,
    rrfK: r.rrfK,
    denseWeight: r.denseWeight,
    latentWeight: r.latentWeight,
    documentWeight: r.documentWeight,
    expansionWeight: r.expansionWeight,
    mmrLambda: r.mmrLambda,
    rerank: r.rerank,
    titleWeight: r.titleWeight,
    productWeight: r.productWeight,
    intentWeight: r.intentWeight,
  };
}

/** One golden set the retrieval suite runs, with the thresholds that gate it and their config keys. */
export interface GoldenSetSpec {
  name: string;
  /** Absolute path of the JSONL file. */
  file: string;
  thresholds: { minRecallAt5: number; minMrr: number };
  keys: { recall: string; mrr: string };
}

/**
 * The configured golden sets: `first` (rag.eval.golden, written by reading each document) and
 * `colloquial` (rag.eval.colloquialGolden, written from customer intents before reading the
 * documents). Relative paths are resolved against `root` (the repository).
 */
export function configuredGoldenSets(ev: RagConfig["eval"], root: string): GoldenSetSpec[] {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(root, p));
  return [
    {
      name: "first",
      file: abs(ev.golden),
      thresholds: { minRecallAt5: ev.minRecallAt5, minMrr: ev.minMrr },
      keys: { recall: "rag.eval.minRecallAt5", mrr: "rag.eval.minMrr" },
    },
    {
      name: "colloquial",
      file: abs(ev.colloquialGolden),
      thresholds: { minRecallAt5: ev.colloquialMinRecallAt5, minMrr: ev.colloquialMinMrr },
      keys: { recall: "rag.eval.colloquialMinRecallAt5", mrr: "rag.eval.colloquialMinMrr" },
    },
  ];
}

/** One set's result in the retrieval suite. */
export interface GoldenSetReport {
  name: string;
  golden: string;
  metrics: Record<string, RetrievalMetrics>;
  slices: Record<string, Record<string, SliceMetrics>>;
  thresholds: { minRecallAt5: number; minMrr: number };
  failures: string[];
  outcomes: QuestionOutcome[];
}

/** What `telco rag eval` and `telco eval run --suite retrieval` report. */
export interface RetrievalSuiteReport {
  index_version: string;
  sets: GoldenSetReport[];
  /** Every set's threshold failures, prefixed with the set name (empty = pass). */
  failures: string[];
}

/**
 * Runs each golden set through `modes` with the given search options and gates hybrid on each set's
 * thresholds. The entry point of the retrieval suite: `configuredGoldenSets(config.rag.eval, root)`
 * and `retrievalSearchOptions(config.rag.retrieval)` give the shipped configuration.
 */
export async function evaluateRetrievalSuite(
  index: RagIndex,
  sets: GoldenSetSpec[],
  options: Omit<SearchOptions, "mode" | "k">,
  modes: RetrievalMode[] = ["bm25", "dense", "hybrid"],
): Promise<RetrievalSuiteReport> {
  const reports: GoldenSetReport[] = [];
  for (const set of sets) {
    const golden = loadGoldenSet(set.file);
    const r = await evaluateRetrieval(index, golden, modes, options);
    const hybrid = r.metrics.hybrid;
    const failures = hybrid ? checkThresholds(hybrid, set.thresholds, set.keys) : [];
    reports.push({
      name: set.name,
      golden: set.file,
      metrics: r.metrics,
      slices: r.slices,
      thresholds: set.thresholds,
      failures,
      outcomes: r.outcomes,
    });
  }
  return {
    index_version: index.version,
    sets: reports,
    failures: reports.flatMap((s) => s.failures.map((f) => `${s.name}: ${f}`)),
  };
}
