import type { FastifyInstance } from "fastify";
import { loadRuns, runsDir } from "../../llmops/evaluations/report/store.ts";
import type { EvalRun } from "../../llmops/evaluations/suites/types.ts";
import {
  parseFilter,
  type SearchOptions,
  type SearchResponse,
  searchKnowledgeBase,
} from "../../llmops/rag/api.ts";
import {
  currentVersion,
  type IndexManifest,
  indexDir,
  listVersions,
  readIndex,
} from "../../llmops/rag/store.ts";
import type { RagConfig } from "../../platform/config/sections/rag.ts";
import type { AppContext } from "../../platform/context.ts";
import { NotFoundError } from "../../platform/errors.ts";
import { errorSchema } from "../../platform/http/errors.ts";
import type { ConsoleRoutes } from "./routes.ts";

/** What the console's Knowledge base view reads (built by knowledgeDeps from the app context). */
export interface KnowledgeDeps {
  /** The workspace's RAG folder and the index the assistant searches. */
  ragRoot: string;
  index: string;
  /** rag.retrieval: the settings a playground query starts from. */
  retrieval: RagConfig["retrieval"];
  /** The RAG layer's search with the configured defaults overridden by `opts`. */
  search(query: string, opts: SearchOptions): Promise<SearchResponse>;
  /** Stored eval runs (`telco eval run`), oldest first. */
  evalRuns(): EvalRun[];
}

export function knowledgeDeps(app: AppContext, over: Partial<KnowledgeDeps> = {}): KnowledgeDeps {
  const index = over.index ?? "default";
  return {
    ragRoot: app.paths.rag,
    index,
    retrieval: app.config.rag.retrieval,
    search: (q, opts) => searchKnowledgeBase(app, q, { ...opts, index }),
    evalRuns: () => loadRuns(runsDir(app.paths.assistant)),
    ...over,
  };
}

const embedderOf = (m: IndexManifest) =>
  `${m.embedding.provider}/${m.embedding.model}/${m.embedding.dimension}`;

/** Stored versions of the index, newest first, with the live one (CURRENT) marked and each one's change against its predecessor. */
export async function knowledgeVersions(deps: KnowledgeDeps) {
  const dir = indexDir(deps.ragRoot, deps.index);
  const current = (await currentVersion(dir)) ?? null;
  const manifests = await listVersions(dir);
  return {
    index: deps.index,
    current_version: current,
    versions: manifests.map((m, i) => {
      // The stored predecessor (pruned ones are gone): documents added, removed or with other content.
      const prev = manifests[i + 1] ?? null;
      const before = new Map((prev?.documents ?? []).map((d) => [d.doc_id, d.content_hash]));
      const now = new Set(m.documents.map((d) => d.doc_id));
      return {
        version: m.version,
        current: m.version === current,
        parent_version: m.parent_version,
        created_at: m.created_at,
        documents: m.documents.length,
        chunk_count: m.chunk_count,
        embedder: embedderOf(m),
        chunker: m.chunker,
        changes: prev
          ? {
              against: prev.version,
              added: m.documents.filter((d) => !before.has(d.doc_id)).map((d) => d.doc_id),
              removed: [...before.keys()].filter((id) => !now.has(id)),
              changed: m.documents
                .filter((d) => before.has(d.doc_id) && before.get(d.doc_id) !== d.content_hash)
                .map((d) => d.doc_id),
            }
          : null,
      };
    }),
  };
}

/** Documents of one index version (default: the live one) with their sections in chunk order. */
export async function knowledgeDocuments(deps: KnowledgeDeps, version?: string) {
  const dir = indexDir(deps.ragRoot, deps.index);
  if (!version && !(await currentVersion(dir)))
    return { index: deps.index, index_version: null, documents: [] };
  if (version && !(await listVersions(dir)).some((m) => m.version === version))
    throw new NotFoundError(`index version ${version}`);
  const data = await readIndex(dir, version);
  const sections = new Map<string, string[]>();
  for (const c of data.chunks) {
    const list = sections.get(c.doc_id) ?? [];
    if (c.section && !list.includes(c.section)) list.push(c.section);
    sections.set(c.doc_id, list);
  }
  return {
    index: deps.index,
    index_version: data.manifest.version,
    documents: data.manifest.documents
      .map((d) => ({
        doc_id: d.doc_id,
        title: d.title,
        type: d.type,
        product: d.product,
        language: d.language,
        effective_date: d.effective_date,
        format: d.format,
        chunks: d.chunks,
        sections: sections.get(d.doc_id) ?? [],
        url: `/kb/${encodeURIComponent(d.doc_id)}`,
      }))
      .sort((a, b) => a.doc_id.localeCompare(b.doc_id)),
  };
}

export interface PlaygroundQuery {
  q: string;
  k?: number;
  mode?: "hybrid" | "bm25" | "dense";
  rerank?: "none" | "coverage" | "features";
  /** MMR's λ (1 = off); default rag.retrieval.mmrLambda. */
  mmr?: number;
  type?: string;
  intent?: string;
}

/**
 * A playground search: the RAG layer's ranked chunks with the score that ordered them (MMR's value
 * when MMR ran, else the rerank's, else the retrieval score) and the retrieval (fused) score apart.
 */
export async function knowledgeQuery(deps: KnowledgeDeps, p: PlaygroundQuery) {
  const r = deps.retrieval;
  const settings = {
    k: p.k ?? r.k,
    mode: p.mode ?? r.mode,
    rerank: p.rerank ?? r.rerank,
    mmr_lambda: p.mmr ?? r.mmrLambda,
  };
  const res = await deps.search(p.q, {
    k: settings.k,
    mode: settings.mode,
    rerank: settings.rerank,
    mmrLambda: settings.mmr_lambda,
    ...(p.type ? { filters: [parseFilter(`type=${p.type}`)] } : {}),
    ...(p.intent ? { intent: p.intent } : {}),
  });
  const orderedBy = settings.mmr_lambda < 1 ? "mmr" : settings.rerank !== "none" ? "rerank" : "retrieval";
  return {
    index_version: res.index_version,
    settings,
    ordered_by: orderedBy,
    results: res.results.map((x, i) => ({
      rank: i + 1,
      doc_id: x.doc_id,
      chunk_id: x.chunk_id,
      title: x.title,
      section: x.section,
      score: x.score,
      fused_score: x.fused_score,
      text: x.text,
      url: `/kb/${encodeURIComponent(x.doc_id)}${x.section ? `#${encodeURIComponent(x.section)}` : ""}`,
    })),
  };
}

type SetDetail = {
  name: string;
  metrics: Record<string, Record<string, number>>;
  thresholds?: { minRecallAt5: number; minMrr: number };
};

/** Each stored eval run's retrieval suite: per golden set, recall@1/@5, MRR and nDCG@10 per mode; oldest first. */
export function retrievalEvalResults(deps: KnowledgeDeps, limit: number) {
  const runs = deps
    .evalRuns()
    .map((run) => {
      const suite = run.suites.find((s) => s.suite === "retrieval" && s.status === "ran");
      const details = suite?.details as { index_version?: string; sets?: SetDetail[] } | undefined;
      if (!suite || !Array.isArray(details?.sets)) return null;
      return {
        run_id: run.run_id,
        created_at: run.created_at,
        engine: run.engine,
        git_commit: run.git.commit,
        index_version: details.index_version ?? null,
        passed: suite.metrics.every(
          (m) => !m.threshold || (m.value !== null && m.value >= m.threshold.value),
        ),
        sets: details.sets.map((s) => ({
          name: s.name,
          thresholds: s.thresholds ?? null,
          modes: Object.fromEntries(
            Object.entries(s.metrics).map(([mode, m]) => [
              mode,
              {
                recall_at_1: m.recall_at_1 ?? null,
                recall_at_5: m.recall_at_5 ?? null,
                mrr: m.mrr ?? null,
                ndcg_at_10: m.ndcg_at_10 ?? null,
                questions: m.questions ?? null,
              },
            ]),
          ),
        })),
      };
    })
    .filter((r) => r !== null);
  return { runs: runs.slice(-limit) };
}

const looseObject = { type: "object", additionalProperties: true } as const;
const looseArray = { type: "array", items: looseObject } as const;
const VERSION = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$";

/**
 * The Knowledge base view's reads: index versions (the live pointer and the stored ones), the
 * documents of a version, a search playground with its scores, and the retrieval eval results of
 * the stored eval runs. Every console role; registered in the console scope (role check, audit).
 */
export function knowledgeRoutes(deps: KnowledgeDeps): ConsoleRoutes {
  return (api: FastifyInstance, { secured }) => {
    const resp = (ok: object) => ({ 200: ok, "4xx": errorSchema, "5xx": errorSchema });

    api.get(
      "/v1/portal/knowledge/versions",
      {
        schema: {
          ...secured,
          description:
            "The RAG index's stored versions, newest first: the live one (the CURRENT pointer the assistant searches), build time, documents, chunk count, embedder and chunker, and the documents added, removed or changed against the previous stored version.",
          response: resp({
            type: "object",
            properties: {
              index: { type: "string" },
              current_version: { anyOf: [{ type: "string" }, { type: "null" }] },
              versions: looseArray,
            },
          }),
        },
      },
      async () => knowledgeVersions(deps),
    );

    api.get<{ Querystring: { version?: string } }>(
      "/v1/portal/knowledge/documents",
      {
        schema: {
          ...secured,
          description:
            "The documents of an index version (default: the live one): id, title, type, product, language, chunks, sections, and the link to the document's page.",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: { version: { type: "string", pattern: VERSION } },
          },
          response: resp({
            type: "object",
            properties: {
              index: { type: "string" },
              index_version: { anyOf: [{ type: "string" }, { type: "null" }] },
              documents: looseArray,
            },
          }),
        },
      },
      async (req) => knowledgeDocuments(deps, req.query.version),
    );

    api.get<{
      Querystring: {
        q: string;
        k?: string;
        mode?: PlaygroundQuery["mode"];
        rerank?: PlaygroundQuery["rerank"];
        mmr?: string;
        type?: string;
        intent?: string;
      };
    }>(
      "/v1/portal/knowledge/query",
      {
        schema: {
          ...secured,
          description:
            "Search playground over the live index with the configured retrieval settings, each overridable: ranked chunks with `score` (what ordered the list: MMR, rerank or retrieval — see `ordered_by`) and `fused_score` (the retrieval stage's score).",
          querystring: {
            type: "object",
            additionalProperties: false,
            required: ["q"],
            properties: {
              q: { type: "string", minLength: 1, maxLength: 500 },
              k: {
                type: "string",
                pattern: "^([1-9]|1[0-9]|20)$",
                description: "1–20 (default rag.retrieval.k)",
              },
              mode: { type: "string", enum: ["hybrid", "bm25", "dense"] },
              rerank: { type: "string", enum: ["none", "coverage", "features"] },
              mmr: {
                type: "string",
                pattern: "^(0(\\.[0-9]{1,3})?|1(\\.0{1,3})?)$",
                description: "MMR λ, 0–1 (1 = off)",
              },
              type: { type: "string", enum: ["faq", "manual", "policy", "catalog", "regulation"] },
              intent: { type: "string", pattern: "^[a-z][a-z_]{0,63}$" },
            },
          },
          response: resp({
            type: "object",
            properties: {
              index_version: { type: "string" },
              settings: looseObject,
              ordered_by: { type: "string", enum: ["mmr", "rerank", "retrieval"] },
              results: looseArray,
            },
          }),
        },
      },
      async (req) =>
        knowledgeQuery(deps, {
          q: req.query.q,
          ...(req.query.k ? { k: Number(req.query.k) } : {}),
          ...(req.query.mode ? { mode: req.query.mode } : {}),
          ...(req.query.rerank ? { rerank: req.query.rerank } : {}),
          ...(req.query.mmr ? { mmr: Number(req.query.mmr) } : {}),
          ...(req.query.type ? { type: req.query.type } : {}),
          ...(req.query.intent ? { intent: req.query.intent } : {}),
        }),
    );

    api.get<{ Querystring: { limit?: string } }>(
      "/v1/portal/knowledge/evals",
      {
        schema: {
          ...secured,
          description:
            "Retrieval eval results of the stored eval runs (`telco eval run`), oldest first: per golden set, recall@1, recall@5, MRR and nDCG@10 of bm25, dense and hybrid, with the set's gate.",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              limit: { type: "string", pattern: "^[1-9][0-9]{0,2}$", description: "1–999 (default 50)" },
            },
          },
          response: resp({ type: "object", properties: { runs: looseArray } }),
        },
      },
      async (req) => retrievalEvalResults(deps, Number(req.query.limit ?? 50)),
    );
  };
}
