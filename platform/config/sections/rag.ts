import { z } from "zod";

/** Retrieval (RAG) settings: embedding provider, chunking, retrieval defaults and eval thresholds. */
export const ragConfigSchema = z
  .object({
    embeddings: z
      .enum(["local", "openai-compatible", "vertex", "transformers"])
      .default("local")
      .describe("Embedding provider; local = offline hashed n-gram features (no weights)"),
    providers: z
      .object({
        local: z
          .object({ dimension: z.number().int().min(16).max(4096).default(256) })
          .strict()
          .default({ dimension: 256 }),
        openaiCompatible: z
          .object({
            baseURL: z.string().default("http://127.0.0.1:11434"),
            model: z.string().default("text-embedding-3-small"),
            dimension: z.number().int().positive().default(1536),
            apiKeyEnv: z
              .string()
              .default("EMBEDDINGS_API_KEY")
              .describe("Variable holding the API key (not TELCO_*: those are config keys)"),
          })
          .strict()
          .prefault({}),
        vertex: z
          .object({
            location: z.string().default("us-central1"),
            model: z.string().default("text-multilingual-embedding-002"),
            dimension: z.number().int().positive().default(768),
            baseURL: z.string().optional(),
          })
          .strict()
          .prefault({}),
        transformers: z
          .object({
            modelDir: z.string().optional().describe("Local ONNX sentence-embedding model folder"),
            dimension: z.number().int().positive().default(384),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    chunking: z
      .object({
        maxTokens: z.number().int().min(8).default(200),
        overlapTokens: z.number().int().min(0).default(30),
      })
      .strict()
      .prefault({}),
    /** Limits of `telco rag ingest`: only regular files inside the given folders, up to this size. */
    ingest: z
      .object({
        maxFileBytes: z
          .number()
          .int()
          .min(1024)
          .default(20 * 1024 * 1024)
          .describe("Larger files are skipped with the reason (a manual or policy is well under this)"),
      })
      .strict()
      .prefault({}),
    retrieval: z
      .object({
        k: z.number().int().min(1).max(100).default(5),
        mode: z.enum(["hybrid", "bm25", "dense"]).default("hybrid"),
        candidates: z
          .number()
          .int()
          .min(5)
          .max(1000)
          .default(50)
          .describe("Per-retriever depth before fusion"),
        rrfK: z.number().positive().default(60),
        denseWeight: z
          .number()
          .min(0)
          .default(0.25)
          .describe("RRF weight of the embedder's dense list (BM25 = 1)"),
        latentWeight: z
          .number()
          .min(0)
          .default(0.75)
          .describe("RRF weight of the corpus-fitted LSA list (0 = off)"),
        documentWeight: z
          .number()
          .min(0)
          .default(1)
          .describe("RRF weight of a document-level BM25 ranking added to each chunk (0 = off)"),
        mmrLambda: z
          .number()
          .min(0)
          .max(1)
          .default(0.7)
          .describe("1 = no diversity, 0 = only diversity (0.7: tuned on odd golden ids)"),
        expansionWeight: z
          .number()
          .min(0)
          .max(1)
          .default(0.5)
          .describe(
            "BM25 weight of words added by query normalisation (abbreviations, translations, synonyms) vs the question's own (0.5: tuned on odd golden ids)",
          ),
        rerank: z
          .enum(["none", "coverage", "features"])
          .default("features")
          .describe(
            "Second stage: features = heading match + product/intent priors (llmops/rag/rerank.ts), coverage = term share, none",
          ),
        titleWeight: z
          .number()
          .min(0)
          .default(0.05)
          .describe(
            "features rerank: weight of the question's share found in the chunk's title/section heading",
          ),
        productWeight: z
          .number()
          .min(0)
          .default(0.2)
          .describe("features rerank: penalty weight for a chunk about another product than the question's"),
        intentWeight: z
          .number()
          .min(0)
          .default(0.1)
          .describe(
            "features rerank: weight of the dialogue intent's document-type prior (llmops/rag/priors.ts)",
          ),
      })
      .strict()
      .prefault({}),
    eval: z
      .object({
        golden: z.string().default("llmops/evaluations/golden/retrieval.jsonl"),
        minRecallAt5: z
          .number()
          .min(0)
          .max(1)
          .default(0.95)
          .describe("Gate for hybrid recall@5 on the first golden set: the goal (docs/llmops/rag.md)"),
        minMrr: z
          .number()
          .min(0)
          .max(1)
          .default(0.85)
          .describe("Gate for hybrid MRR: the goal (docs/llmops/rag.md)"),
        colloquialGolden: z
          .string()
          .default("llmops/evaluations/golden/retrieval-colloquial.jsonl")
          .describe(
            "Second golden set: questions written from customer intents before reading the documents",
          ),
        colloquialMinRecallAt5: z
          .number()
          .min(0)
          .max(1)
          .default(0.95)
          .describe("Gate for hybrid recall@5 on the colloquial set"),
        colloquialMinMrr: z
          .number()
          .min(0)
          .max(1)
          .default(0.85)
          .describe("Gate for hybrid MRR on the colloquial set: the goal of issue 14"),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type RagConfig = z.infer<typeof ragConfigSchema>;
