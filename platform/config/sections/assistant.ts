import { z } from "zod";

/** The support and retention assistant: understanding engine, sessions, languages. */
export const assistantConfigSchema = z
  .object({
    /** local: offline classifier + entity extraction; llm: structured output through the configured LLM. */
    understanding: z.enum(["local", "llm"]).default("local"),
    /** A session with no message for this long is closed and its interaction registered. */
    idleTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .default(15 * 60_000),
    defaultLanguage: z.enum(["pt-BR", "en"]).default("pt-BR"),
  })
  .strict();

export type AssistantConfig = z.infer<typeof assistantConfigSchema>;
