import { z } from "zod";
import { defineTool, viaService } from "./core.ts";

export const searchKnowledgeBaseInput = z
  .object({
    query: z.string().min(2).max(500).describe("The customer's question, as asked"),
    k: z.number().int().min(1).max(10).default(4).describe("How many passages"),
    type: z
      .enum(["faq", "manual", "policy", "catalog", "regulation"])
      .optional()
      .describe("Only this document type"),
  })
  .strict();

export const searchKnowledgeBaseOutput = z.object({
  index_version: z.string(),
  /** Passages best first; `citation` (doc id # chunk id prefix) with title and section is what to cite. */
  results: z.array(
    z.object({
      citation: z.string(),
      doc_id: z.string(),
      chunk_id: z.string(),
      title: z.string(),
      section: z.string(),
      /** The document's file as ingested (what a citation links to). */
      source: z.string(),
      score: z.number(),
      text: z.string(),
    }),
  ),
});
export type SearchKnowledgeBaseOutput = z.infer<typeof searchKnowledgeBaseOutput>;

export const searchKnowledgeBaseTool = defineTool({
  name: "search_knowledge_base",
  description:
    "Searches the operator's knowledge base (FAQ, manuals, policies, catalog, regulation) and returns passages with citations.",
  input: searchKnowledgeBaseInput,
  output: searchKnowledgeBaseOutput,
  async run(ctx, input) {
    const res = await viaService("knowledge", () =>
      ctx.deps.knowledge.search(input.query, { k: input.k, ...(input.type ? { type: input.type } : {}) }),
    );
    return {
      index_version: res.index_version,
      results: res.results.slice(0, input.k).map((r) => ({
        citation: `${r.doc_id}#${r.chunk_id.slice(0, 12)}`,
        doc_id: r.doc_id,
        chunk_id: r.chunk_id,
        title: r.title,
        section: r.section,
        source: r.source,
        score: r.score,
        text: r.text,
      })),
    };
  },
});
