import { z } from "zod";

/** The support and retention assistant: understanding engine, sessions, languages, logins. */
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
    /** How often the API server looks for idle sessions to close (the CLI checks on each turn). */
    idleSweepIntervalMs: z.number().int().min(1000).default(60_000),
    defaultLanguage: z.enum(["pt-BR", "en"]).default("pt-BR"),
    /** Steps of the AI SDK tool loop for questions no flow covers (generative providers only). */
    maxToolSteps: z.number().int().min(1).max(10).default(4),
    /** Past messages a generative model sees when it phrases an answer. */
    historyMessages: z.number().int().min(0).max(50).default(8),
    /** Lifetime of a customer session token from `POST /v1/assistant/login`. */
    loginTokenTtlMs: z
      .number()
      .int()
      .min(60_000)
      .default(60 * 60_000),
    /** Passages the knowledge answer reads, and sentences it quotes from them. */
    knowledge: z
      .object({
        passages: z.number().int().min(1).max(10).default(3),
        sentences: z.number().int().min(1).max(6).default(3),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type AssistantConfig = z.infer<typeof assistantConfigSchema>;
