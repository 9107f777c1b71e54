import { z } from "zod";

/** Retrieval (RAG) settings. */
export const ragConfigSchema = z
  .object({
    embeddings: z.enum(["local", "openai-compatible", "vertex", "transformers"]).default("local"),
  })
  .strict();
