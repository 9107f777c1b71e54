import { resolve } from "node:path";
import type { Command } from "commander";
import pc from "picocolors";
import { action, commandGroup, intOption } from "../../platform/cli/runtime.ts";
import { UsageError } from "../../platform/errors.ts";
import type { GoldenSetReport } from "./evaluation.ts";
import { parseFilter } from "./filters.ts";
import type { IngestReport } from "./ingest.ts";
import type { RerankKind, RetrievalMode, SearchResponse } from "./search.ts";
import { indexDir, listVersions } from "./store.ts";

const MODES = ["hybrid", "bm25", "dense"];
const RERANKS = ["none", "coverage", "features"];

function modeOption(value: string): RetrievalMode {
  if (!MODES.includes(value))
    throw new UsageError(`--mode must be one of ${MODES.join(", ")}, got "${value}"`);
  return value as RetrievalMode;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function renderIngest(r: IngestReport): string {
  const d = r.documents;
  const lines = [
    `${pc.bold(`index ${r.index}`)} → version ${r.index_version}${r.changed ? "" : " (unchanged)"}`,
    `  documents: ${d.total} (added ${d.added}, updated ${d.updated}, unchanged ${d.unchanged}, removed ${d.removed})`,
    `  chunks: ${r.chunks.total} (embedded ${r.chunks.embedded}, reused ${r.chunks.reused}, deduplicated ${r.chunks.deduplicated})`,
    `  embeddings: ${r.embedding.provider}/${r.embedding.model} (${r.embedding.dimension} dims)`,
  ];
  if (r.skipped.length) {
    lines.push(pc.yellow(`  skipped ${r.skipped.length} file(s):`));
    for (const s of r.skipped) lines.push(`    ${s.source}: ${s.reason}`);
  }
  if (r.flagged.length) {
    // Indexed, but answers neutralise these passages: a person should look at the documents.
    lines.push(pc.red(`  flagged ${r.flagged.length} document(s) carrying planted instructions:`));
    for (const f of r.flagged) lines.push(`    ${f.doc_id} (${f.source}): ${f.reasons.join("; ")}`);
  }
  return lines.join("\n");
}

/** Ranked results in the order returned, each with the score that ordered it and the retrieval score. */
export function renderResults(r: SearchResponse): string {
  if (r.results.length === 0) return `no results (index version ${r.index_version})`;
  const lines = [
    pc.dim(
      `index version ${r.index_version} · score = what ordered the list (MMR/rerank) · fused = retrieval score`,
    ),
  ];
  r.results.forEach((x, i) => {
    const where = x.section ? `${x.title} › ${x.section}` : x.title;
    lines.push(
      `${pc.bold(`${i + 1}.`)} ${where}  ${pc.dim(`score ${x.score.toFixed(4)} · fused ${x.fused_score.toFixed(4)}`)}`,
    );
    const snippet = x.text.length > 240 ? `${x.text.slice(0, 240)}…` : x.text;
    lines.push(`   ${snippet}`);
    lines.push(pc.dim(`   [${x.doc_id}] ${x.source}${x.section ? ` § ${x.section}` : ""}`));
  });
  return lines.join("\n");
}

function renderSet(set: Omit<GoldenSetReport, "outcomes">): string[] {
  const cols = ["recall@1", "recall@5", "MRR", "nDCG@10", "docRecall@5"];
  const header = `${"mode".padEnd(8)}${cols.map((c) => c.padStart(12)).join("")}`;
  const rows = Object.entries(set.metrics).map(
    ([mode, m]) =>
      `${mode.padEnd(8)}${[m.recall_at_1, m.recall_at_5, m.mrr, m.ndcg_at_10, m.doc_recall_at_5]
        .map((x) => x.toFixed(3).padStart(12))
        .join("")}`,
  );
  const n = Object.values(set.metrics)[0]?.questions ?? 0;
  const sliceRows = Object.entries(set.slices.hybrid ?? {}).map(
    ([name, m]) =>
      `  ${`${name} (${m.questions})`.padEnd(22)}${[m.recall_at_1, m.recall_at_5, m.mrr]
        .map((x) => x.toFixed(3).padStart(10))
        .join("")}`,
  );
  const sliceHeader = `  ${"hybrid by slice".padEnd(22)}${["recall@1", "recall@5", "MRR"].map((c) => c.padStart(10)).join("")}`;
  const gate = `gate: hybrid recall@5 ≥ ${set.thresholds.minRecallAt5}, MRR ≥ ${set.thresholds.minMrr}`;
  return [
    pc.bold(`${set.name}: ${n} questions (${set.golden})`),
    header,
    ...rows,
    ...(sliceRows.length ? [pc.dim(sliceHeader), ...sliceRows] : []),
    set.failures.length ? pc.red(`FAIL (${gate}): ${set.failures.join("; ")}`) : pc.green(`PASS (${gate})`),
  ];
}

function renderEval(value: unknown): string {
  const v = value as { index_version: string; sets: Omit<GoldenSetReport, "outcomes">[]; failures: string[] };
  return [`index version ${v.index_version}`, ...v.sets.flatMap((s) => ["", ...renderSet(s)])].join("\n");
}

/** `telco rag …`: ingest documents, query with citations, evaluate retrieval, list versions. */
export function registerRagCommands(program: Command): void {
  const rag = commandGroup(program, "rag", "knowledge base: ingest, query, evaluate retrieval");

  rag
    .command("ingest")
    .description(
      "index documents (Markdown, HTML, PDF, text); no PATH or --builtin = the built-in knowledge base",
    )
    .argument("[paths...]", "files or folders to ingest")
    .option("--index <name>", "index name", "default")
    .option("--builtin", "ingest the built-in knowledge base (generates its PDFs first)")
    .option("--rebuild", "ignore the previous version: re-chunk and re-embed everything")
    .action(
      action(async (rt, paths: string[], opts: { index: string; builtin?: boolean; rebuild?: boolean }) => {
        const { ingestBuiltinKnowledgeBase, ingestIntoWorkspace } = await import("./api.ts");
        const app = rt.app();
        const progress = rt.progress("ingest");
        const onProgress = (e: { phase: string; done: number; total: number }) =>
          progress.update(e.done, e.total);
        const report =
          opts.builtin || paths.length === 0
            ? await ingestBuiltinKnowledgeBase(app, {
                index: opts.index,
                rebuild: opts.rebuild,
                warn: rt.warn,
              })
            : await ingestIntoWorkspace(app, paths, { index: opts.index, rebuild: opts.rebuild, onProgress });
        progress.done();
        rt.result(report, (v) => renderIngest(v as IngestReport));
      }),
    );

  rag
    .command("query")
    .description("search the knowledge base; prints ranked chunks with citations")
    .argument("<text>", "the question")
    .option("--k <n>", "number of results", intOption("--k", 1, 100))
    .option(
      "--filter <field=value>",
      "metadata filter: type, product, language, doc_id, date (>=, <=); repeatable",
      collect,
    )
    .option("--mode <mode>", "hybrid | bm25 | dense", modeOption)
    .option("--rerank <kind>", "none | coverage | features (default rag.retrieval.rerank)")
    .option(
      "--intent <name>",
      "the dialogue's intent, a prior on document type/product (e.g. internet_problem, invoice_explanation)",
    )
    .option("--index <name>", "index name", "default")
    .action(
      action(
        async (
          rt,
          text: string,
          opts: {
            k?: number;
            filter?: string[];
            mode?: RetrievalMode;
            rerank?: string;
            intent?: string;
            index: string;
          },
        ) => {
          if (opts.rerank !== undefined && !RERANKS.includes(opts.rerank))
            throw new UsageError(`--rerank must be one of ${RERANKS.join(", ")}, got "${opts.rerank}"`);
          const filters = (opts.filter ?? []).map(parseFilter);
          const { searchKnowledgeBase } = await import("./api.ts");
          const response = await searchKnowledgeBase(rt.app(), text, {
            index: opts.index,
            filters,
            ...(opts.k !== undefined && { k: opts.k }),
            ...(opts.mode !== undefined && { mode: opts.mode }),
            ...(opts.rerank !== undefined && { rerank: opts.rerank as RerankKind }),
            ...(opts.intent !== undefined && { intent: opts.intent }),
          });
          rt.result(response, (v) => renderResults(v as SearchResponse));
        },
      ),
    );

  rag
    .command("eval")
    .description(
      "recall@1/@5, MRR and nDCG@10 for bm25, dense and hybrid on both golden sets (rag.eval); exit 1 below a set's thresholds",
    )
    .option("--golden <file>", "evaluate only this golden set (JSONL), gated by rag.eval.minRecallAt5/minMrr")
    .option("--index <name>", "index name", "default")
    .action(
      action(async (rt, opts: { golden?: string; index: string }) => {
        const { openWorkspaceIndex } = await import("./api.ts");
        const { configuredGoldenSets, evaluateRetrievalSuite, retrievalSearchOptions } = await import(
          "./evaluation.ts"
        );
        const app = rt.app();
        const cfg = app.config.rag;
        let sets = configuredGoldenSets(cfg.eval, resolve(import.meta.dirname, "../.."));
        if (opts.golden) sets = [{ ...sets[0], name: "golden", file: resolve(opts.golden) }];
        const index = await openWorkspaceIndex(app, opts.index);
        const report = await evaluateRetrievalSuite(index, sets, retrievalSearchOptions(cfg.retrieval));
        rt.result(
          {
            index_version: report.index_version,
            sets: report.sets.map(({ outcomes: _outcomes, ...set }) => set),
            failures: report.failures,
          },
          renderEval,
        );
        if (report.failures.length) process.exitCode = 1;
      }),
    );

  rag
    .command("versions")
    .description("list the stored versions of an index (newest first)")
    .option("--index <name>", "index name", "default")
    .action(
      action(async (rt, opts: { index: string }) => {
        const manifests = await listVersions(indexDir(rt.app().paths.rag, opts.index));
        const rows = manifests.map((m) => ({
          version: m.version,
          parent_version: m.parent_version,
          created_at: m.created_at,
          documents: m.documents.length,
          chunks: m.chunk_count,
          embedding: `${m.embedding.provider}/${m.embedding.model}/${m.embedding.dimension}`,
        }));
        rt.result({ index: opts.index, versions: rows }, () =>
          rows.length
            ? rows
                .map(
                  (r) =>
                    `${r.version}  ${r.created_at}  ${r.documents} docs  ${r.chunks} chunks  ${r.embedding}`,
                )
                .join("\n")
            : `index ${opts.index} has no versions (telco rag ingest …)`,
        );
      }),
    );
}
